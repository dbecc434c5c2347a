"""Signing keys of OIDC issuers: discovery, JWKS parsing and a per-source cache.

Infisical fetches the discovery document and the JWKS on every login. Here a
key set is fetched once and reused until it is ``ttl`` old. A ``kid`` the set
does not hold triggers one refetch (SPIRE publishes a new key hours before it
signs with it, so an unknown ``kid`` usually means "refresh now"), but at most
one fetch per source per ``cooldown``, and concurrent logins share it: a flood
of tokens with made-up ``kid``s cannot hammer the issuer. When the source is
down, the last good set keeps serving for ``max_staleness``.

The cache key is the discovery URL *and* the CA certificate, so changing
either in an auth method's configuration starts from a fresh fetch.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from strongroom.outbound import FetchError, HttpFetcher

WELL_KNOWN_SUFFIXES = ("/.well-known/openid-configuration", "/.well-known/openid_configuration")
MAX_KEYS = 100
MIN_RSA_BITS = 2048

_CURVE_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}


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
class SigningKey:
    kid: str | None
    declared_alg: str | None
    public_key: Any
    family: str  # "RSA" or an EC curve name

    def fits(self, alg: str) -> bool:
        """Whether this key may verify ``alg``: the key type decides, never the token alone."""
        if self.declared_alg is not None and self.declared_alg != alg:
            return False
        if alg[:2] in ("RS", "PS"):
            return self.family == "RSA"
        return _CURVE_ALGORITHMS.get(self.family) == alg


def parse_jwk(jwk: object) -> SigningKey | None:
    """A usable JWT-signing key, or None for entries that must be ignored."""
    if not isinstance(jwk, dict):
        return None
    # "sig" (OIDC JWKS), absent (SPIRE's /keys without set_key_use), "jwt-svid" (SPIFFE bundles).
    if jwk.get("use") not in (None, "sig", "jwt-svid"):
        return None
    kid = jwk.get("kid")
    alg = jwk.get("alg")
    if (kid is not None and not isinstance(kid, str)) or (alg is not None and not isinstance(alg, str)):
        return None
    try:
        if jwk.get("kty") == "RSA":
            key = RSAAlgorithm.from_jwk(jwk)
            if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
                return None
            return SigningKey(kid, alg, key, "RSA")
        if jwk.get("kty") == "EC" and jwk.get("crv") in _CURVE_ALGORITHMS:
            key = ECAlgorithm.from_jwk(jwk)
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return None
            return SigningKey(kid, alg, key, jwk["crv"])
    except Exception:  # noqa: BLE001 - a key that cannot be imported is skipped, as jwks-rsa does
        return None
    return None


def parse_jwks(document: object) -> list[SigningKey]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise FetchError("the JWKS is not a JSON object with a 'keys' array")
    keys = [key for key in (parse_jwk(entry) for entry in document["keys"][:MAX_KEYS]) if key is not None]
    if not keys:
        raise FetchError("the JWKS holds no usable signing keys")
    return keys


@dataclass(frozen=True)
class KeySource:
    """Where an auth method's keys come from: an OIDC discovery URL, trusted through a CA."""

    discovery_url: str
    ca_cert: str = ""

    @property
    def cache_key(self) -> tuple[str, str]:
        return (discovery_base_url(self.discovery_url), hashlib.sha256(self.ca_cert.encode()).hexdigest())

    def describe(self) -> str:
        return discovery_document_url(self.discovery_url)


class KeySourceUnavailable(Exception):
    pass


@dataclass
class _CachedKeySet:
    keys: list[SigningKey] = field(default_factory=list)
    fetched_at: float | None = None  # monotonic time of the last good fetch
    last_attempt: float | None = None
    last_error: str | None = None
    fetch_count: int = 0
    fetching: threading.Lock = field(default_factory=threading.Lock)

    def has_kid(self, kid: str | None) -> bool:
        return kid is None or any(key.kid == kid for key in self.keys)


class JwksCache:
    def __init__(
        self,
        fetcher: HttpFetcher,
        *,
        ttl_seconds: float,
        cooldown_seconds: float,
        max_staleness_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetcher = fetcher
        self._ttl = ttl_seconds
        self._cooldown = cooldown_seconds
        self._max_staleness = max_staleness_seconds
        self._monotonic = monotonic
        self._entries: dict[tuple[str, str], _CachedKeySet] = {}
        self._entries_lock = threading.Lock()

    def _entry(self, source: KeySource) -> _CachedKeySet:
        with self._entries_lock:
            entry = self._entries.get(source.cache_key)
            if entry is None:
                entry = self._entries[source.cache_key] = _CachedKeySet()
            return entry

    def _wants_fetch(self, entry: _CachedKeySet, kid: str | None, now: float) -> bool:
        if entry.last_attempt is not None and now - entry.last_attempt < self._cooldown:
            return False
        if entry.fetched_at is None or now - entry.fetched_at >= self._ttl:
            return True
        return not entry.has_kid(kid)

    def _fetch(self, entry: _CachedKeySet, source: KeySource) -> None:
        entry.last_attempt = self._monotonic()
        entry.fetch_count += 1
        try:
            discovery = self._fetcher.get_json(source.describe(), source.ca_cert)
            if not isinstance(discovery, dict) or not isinstance(discovery.get("jwks_uri"), str):
                raise FetchError(
                    "OIDC discovery document does not contain a jwks_uri. The identity provider may be misconfigured."
                )
            jwks_uri = discovery["jwks_uri"]
            if urlsplit(jwks_uri).scheme not in ("http", "https"):
                raise FetchError(f"jwks_uri {jwks_uri!r} is not an http(s) URL")
            keys = parse_jwks(self._fetcher.get_json(jwks_uri, source.ca_cert))
        except FetchError as exc:
            entry.last_error = str(exc)
            return
        entry.keys = keys
        entry.fetched_at = self._monotonic()
        entry.last_error = None

    def signing_keys(self, source: KeySource, kid: str | None) -> list[SigningKey]:
        """The current keys of ``source``, refreshed first when stale or when ``kid`` is unknown."""
        entry = self._entry(source)
        if self._wants_fetch(entry, kid, self._monotonic()):
            if entry.fetching.acquire(blocking=False):
                try:
                    if self._wants_fetch(entry, kid, self._monotonic()):
                        self._fetch(entry, source)
                finally:
                    entry.fetching.release()
            elif entry.fetched_at is None or not entry.has_kid(kid):
                # Another login is fetching what we need: wait for it rather than fetch again.
                with entry.fetching:
                    pass
        if entry.fetched_at is None:
            raise KeySourceUnavailable(entry.last_error or "no key set has been fetched yet")
        if self._monotonic() - entry.fetched_at > max(self._ttl, self._max_staleness):
            raise KeySourceUnavailable(
                f"the last good key set is older than the allowed staleness; last error: {entry.last_error}"
            )
        return entry.keys

    def fetch_count(self, source: KeySource) -> int:
        return self._entry(source).fetch_count
