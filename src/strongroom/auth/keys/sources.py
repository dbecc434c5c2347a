"""Key sources: where an auth method's signing keys come from, and how each is fetched and parsed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Hashable, Protocol, TypeVar
from urllib.parse import urlsplit

from strongroom.auth.keys.jwk import SPIFFE_BUNDLE_KEY_USES, parse_json, parse_jwks, parse_static_keys
from strongroom.outbound import FetchError, HttpFetcher

WELL_KNOWN_SUFFIXES = ("/.well-known/openid-configuration", "/.well-known/openid_configuration")

def discovery_base_url(configured: str) -> str:
    """The issuer base URL, whether the operator pasted the base or the full well-known URL.

    Infisical's SPIRE guide tells users to paste ``…/.well-known/openid_configuration``
    (with an underscore) although Infisical appends the well-known path itself;
    both spellings are accepted here.
    """
    url = configured.strip().rstrip("/")
    for suffix in WELL_KNOWN_SUFFIXES:
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url.rstrip("/")


def discovery_document_url(configured: str) -> str:
    return discovery_base_url(configured) + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class FetchedKeys:
    keys: list[SigningKey]
    origin: str  # where the keys themselves came from (the jwks_uri, the bundle endpoint)
    refresh_hint_seconds: float | None = None


class KeySource(Protocol):
    """Where an auth method's keys come from."""

    @property
    def cache_key(self) -> Hashable: ...

    def describe(self) -> str: ...

    def load(self, fetcher: HttpFetcher) -> FetchedKeys: ...


S = TypeVar("S")


@lru_cache(maxsize=1024)
def configured_source(kind: type[S], *fields: Hashable) -> S:
    """The one ``kind(*fields)`` of a method configuration (sources are frozen), so that its cache key
    is worked out once, not per login."""
    return kind(*fields)


def _ca_digest(ca_cert: str) -> str:
    return hashlib.sha256(ca_cert.encode()).hexdigest()


def _http_url(url: str, what: str) -> str:
    if urlsplit(url).scheme not in ("http", "https"):
        raise FetchError(f"{what} {url!r} is not an http(s) URL")
    return url


@dataclass(frozen=True)
class OidcDiscoverySource:
    """An OIDC issuer: ``<base>/.well-known/openid-configuration`` names the ``jwks_uri``."""

    discovery_url: str
    ca_cert: str = ""
    # The issuer the discovery document must name (None: not checked).
    expected_issuer: str | None = None

    @cached_property  # asked on every login: worked out once per source object
    def cache_key(self) -> Hashable:
        return ("oidc", discovery_base_url(self.discovery_url), _ca_digest(self.ca_cert), self.expected_issuer)

    def describe(self) -> str:
        return discovery_document_url(self.discovery_url)

    def load(self, fetcher: HttpFetcher) -> FetchedKeys:
        discovery = fetcher.get_json(self.describe(), self.ca_cert)
        if not isinstance(discovery, dict) or not isinstance(discovery.get("jwks_uri"), str):
            raise FetchError(
                "OIDC discovery document does not contain a jwks_uri. The identity provider may be misconfigured."
            )
        if self.expected_issuer is not None:
            advertised = discovery.get("issuer")
            if not isinstance(advertised, str) or advertised.rstrip("/") != self.expected_issuer.rstrip("/"):
                raise FetchError(
                    f"the discovery document names issuer {advertised!r}, but {self.expected_issuer!r} is configured "
                    f"(set boundIssuer to SPIRE's jwt_issuer, or STRONGROOM_CHECK_DISCOVERY_ISSUER=false)"
                )
        jwks_uri = _http_url(discovery["jwks_uri"], "jwks_uri")
        return FetchedKeys(parse_jwks(fetcher.get_json(jwks_uri, self.ca_cert)), origin=jwks_uri)


@dataclass(frozen=True)
class JwksUrlSource:
    jwks_url: str
    ca_cert: str = ""

    @cached_property  # asked on every login: worked out once per source object
    def cache_key(self) -> Hashable:
        return ("jwks", self.jwks_url, _ca_digest(self.ca_cert))

    def describe(self) -> str:
        return self.jwks_url

    def load(self, fetcher: HttpFetcher) -> FetchedKeys:
        url = _http_url(self.jwks_url, "JWKS URL")
        return FetchedKeys(parse_jwks(fetcher.get_json(url, self.ca_cert)), origin=url)


def parse_spiffe_bundle(document: object, *, allow_plain_jwks: bool = False) -> FetchedKeys:
    """The JWT authorities of a SPIFFE bundle, and its refresh hint.

    By the bundle standard only ``use: "jwt-svid"`` entries are JWT keys;
    ``x509-svid`` entries and entries without ``use`` are ignored. A bundle
    written into a configuration may also be a plain JWKS, as the Workload
    API's FetchJWTBundles returns it (no ``use`` at all): ``allow_plain_jwks``.
    """
    uses: tuple[str | None, ...] = (None, "jwt-svid") if allow_plain_jwks else SPIFFE_BUNDLE_KEY_USES
    keys = parse_jwks(document, uses)
    hint = document.get("spiffe_refresh_hint") if isinstance(document, dict) else None
    valid_hint = isinstance(hint, (int, float)) and not isinstance(hint, bool) and hint > 0
    return FetchedKeys(keys, origin="", refresh_hint_seconds=float(hint) if valid_hint else None)


@dataclass(frozen=True)
class SpiffeBundleSource:
    """A SPIFFE bundle endpoint (``https_web`` profile)."""

    endpoint_url: str
    ca_cert: str = ""
    # Used when the bundle itself carries no spiffe_refresh_hint.
    default_refresh_hint: float | None = None

    @cached_property  # asked on every login: worked out once per source object
    def cache_key(self) -> Hashable:
        return ("spiffe-bundle", self.endpoint_url, _ca_digest(self.ca_cert))

    def describe(self) -> str:
        return self.endpoint_url

    def load(self, fetcher: HttpFetcher) -> FetchedKeys:
        url = _http_url(self.endpoint_url, "bundle endpoint URL")
        fetched = parse_spiffe_bundle(fetcher.get_json(url, self.ca_cert))
        hint = fetched.refresh_hint_seconds or self.default_refresh_hint or None
        return FetchedKeys(fetched.keys, origin=url, refresh_hint_seconds=hint)


@dataclass(frozen=True)
class StaticKeySource:
    """Keys written into the configuration itself: a JWKS or SPIFFE bundle document, or PEM public keys."""

    document: str
    label: str = "static keys"
    spiffe_bundle: bool = False

    @cached_property  # asked on every login: worked out once per source object
    def cache_key(self) -> Hashable:
        return ("static", hashlib.sha256(self.document.encode()).hexdigest())

    def describe(self) -> str:
        return self.label

    def load(self, fetcher: HttpFetcher) -> FetchedKeys:
        if self.spiffe_bundle:
            keys = parse_spiffe_bundle(parse_json(self.document), allow_plain_jwks=True).keys
        else:
            keys = parse_static_keys(self.document)
        return FetchedKeys(keys, origin=self.label)
