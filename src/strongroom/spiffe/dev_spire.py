"""A development stand-in for SPIRE's JWT side. FOR DEVELOPMENT AND TESTS ONLY.

- ``JwtSvidAuthority`` holds signing keys and mints JWT-SVIDs the way SPIRE
  Server does (``kid`` of 32 alphanumerics, ``typ: JWT``, ``aud`` always an
  array, ``iat``/``exp``, ``iss`` only when an issuer is configured), and rotates
  keys the way SPIRE does: a new key is published before it signs, and the
  old one stays published after.
- ``DiscoveryProvider`` serves the documents of SPIRE's oidc-discovery-provider
  (``/.well-known/openid-configuration`` and ``/keys``) over plain HTTP from a
  thread, counts its requests, and can be told to fail, so tests can watch how
  often and how Strongroom fetches.

The rest of the stand-in builds on these: ``rotation.KeyRotator`` runs SPIRE's
key timetable, ``workload_api.WorkloadApiServer`` serves the SPIFFE Workload
API (JWT-SVIDs and bundle streams) from the same authority, and
``stand_in.SpireStandIn`` puts them together for ``strongroom dev spire``.

Its keys live in memory and are not protected: never trust it in production.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

KEY_TYPES = {
    "ec-p256": "ES256",
    "ec-p384": "ES384",
    "rsa-2048": "RS256",
}


def new_kid() -> str:
    # SPIRE's key ids: 32 random characters from [a-zA-Z0-9].
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))


@dataclass
class AuthorityKey:
    kid: str
    alg: str
    private_key: Any
    # The key's validity (Unix seconds), as SPIRE's key slots have it; None for keys tests make by hand.
    not_before: float | None = None
    not_after: float | None = None

    @classmethod
    def generate(cls, key_type: str = "ec-p256", *, not_before: float | None = None,
                 not_after: float | None = None) -> "AuthorityKey":
        if key_type == "ec-p256":
            private: Any = ec.generate_private_key(ec.SECP256R1())
        elif key_type == "ec-p384":
            private = ec.generate_private_key(ec.SECP384R1())
        elif key_type == "rsa-2048":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            raise ValueError(f"unknown key type {key_type!r}; use one of {', '.join(KEY_TYPES)}")
        return cls(kid=new_kid(), alg=KEY_TYPES[key_type], private_key=private, not_before=not_before,
                   not_after=not_after)

    def public_jwk(self, *, with_use: bool = False) -> dict[str, Any]:
        public = self.private_key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        jwk = {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y", "n", "e")}
        jwk["kid"] = self.kid
        jwk["alg"] = self.alg  # SPIRE's /keys always carries alg (since v1.2.1)
        if with_use:
            jwk["use"] = "sig"  # only with the provider's set_key_use = true
        return jwk

    def workload_jwk(self) -> dict[str, Any]:
        """The key as the Workload API's JWT bundles carry it: key material and ``kid``, no ``alg`` or ``use``."""
        jwk = self.public_jwk()
        jwk.pop("alg", None)
        return jwk


@dataclass
class JwtSvidAuthority:
    trust_domain: str = "example.org"
    issuer: str | None = None
    key_type: str = "ec-p256"
    published: list[AuthorityKey] = field(default_factory=list)
    active: AuthorityKey | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.active is None:
            self.active = AuthorityKey.generate(self.key_type)
            self.published.append(self.active)
        # Bumped on every change of the published keys or the signing key; the Workload API's
        # FetchJWTBundles streams wait on it to push the new bundle.
        self.generation = 0
        self._changed = threading.Condition(self._lock)

    # -- SPIRE's rotation schedule: prepare (publish), activate (sign), prune (unpublish).
    # strongroom.spiffe.rotation.KeyRotator calls these on SPIRE's timetable; tests call them directly.

    def prepare_key(self, key_type: str | None = None, *, not_before: float | None = None,
                    not_after: float | None = None) -> AuthorityKey:
        key = AuthorityKey.generate(key_type or self.key_type, not_before=not_before, not_after=not_after)
        with self._lock:
            self.published.append(key)
            self._announce()
        return key

    def activate(self, key: AuthorityKey) -> None:
        with self._lock:
            if key not in self.published:
                raise ValueError("a key must be published before it signs")
            self.active = key
            self._announce()

    def prune(self, key: AuthorityKey) -> None:
        with self._lock:
            self.published = [k for k in self.published if k.kid != key.kid]
            self._announce()

    def _announce(self) -> None:
        self.generation += 1
        self._changed.notify_all()

    def wait_for_change(self, seen_generation: int, timeout: float) -> int:
        """Block until the keys change after ``seen_generation`` (or ``timeout`` passes); the current generation."""
        with self._changed:
            self._changed.wait_for(lambda: self.generation != seen_generation, timeout=timeout)
            return self.generation

    def workload_bundle(self) -> tuple[int, dict[str, Any]]:
        """(generation, JWKS) as SPIRE Agent serves JWT bundles on the Workload API: a plain key set."""
        with self._lock:
            return self.generation, {"keys": [key.workload_jwk() for key in self.published]}

    def find_key(self, kid: str) -> AuthorityKey | None:
        with self._lock:
            return next((key for key in self.published if key.kid == kid), None)

    def jwks(self, *, with_use: bool = False) -> dict[str, Any]:
        with self._lock:
            return {"keys": [key.public_jwk(with_use=with_use) for key in self.published]}

    def spiffe_bundle(self, *, refresh_hint: int = 300, sequence: int = 1) -> dict[str, Any]:
        """The trust domain's bundle in SPIFFE format, as SPIRE's bundle endpoint serves it.

        JWT authorities carry ``use: "jwt-svid"``; an X.509 authority entry is
        included too, as in a real bundle, which a JWT validator must ignore.
        """
        with self._lock:
            jwt_keys = []
            for key in self.published:
                jwk = key.public_jwk()
                jwk.pop("alg", None)  # SPIFFE bundles do not name the algorithm
                jwk["use"] = "jwt-svid"
                jwt_keys.append(jwk)
        x509_authority = AuthorityKey.generate("ec-p256").public_jwk()
        x509_authority.pop("alg", None)
        x509_authority.pop("kid", None)
        x509_authority["use"] = "x509-svid"
        x509_authority["x5c"] = ["MIIBdummy"]  # certificate material is irrelevant to JWT validation
        return {
            "keys": [x509_authority, *jwt_keys],
            "spiffe_sequence": sequence,
            "spiffe_refresh_hint": refresh_hint,
        }

    def mint(
        self,
        spiffe_id: str,
        audience: list[str] | str,
        *,
        ttl_seconds: int = 300,
        extra_claims: dict[str, Any] | None = None,
        key: AuthorityKey | None = None,
        now: float | None = None,
    ) -> str:
        key = key or self.active
        assert key is not None
        issued_at = int(now if now is not None else time.time())
        expires_at = issued_at + ttl_seconds
        if key.not_after is not None:
            # As SPIRE: a JWT-SVID never outlives the key that signed it.
            expires_at = min(expires_at, int(key.not_after))
        claims: dict[str, Any] = {
            "sub": spiffe_id,
            "aud": [audience] if isinstance(audience, str) else list(audience),
            "iat": issued_at,
            "exp": expires_at,
        }
        if self.issuer:
            claims["iss"] = self.issuer
        claims.update(extra_claims or {})
        return jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": "JWT"})


class DiscoveryProvider:
    """SPIRE's oidc-discovery-provider, served over HTTP on a loopback port from a background thread."""

    def __init__(self, authority: JwtSvidAuthority, *, host: str = "127.0.0.1", port: int = 0,
                 set_key_use: bool = False, mint_endpoint: bool = False,
                 default_spiffe_id: str = "spiffe://example.org/workload/api-server",
                 tls: "ServerCertificate | None" = None) -> None:
        self.authority = authority
        self.set_key_use = set_key_use
        self.mint_endpoint = mint_endpoint
        self.default_spiffe_id = default_spiffe_id
        self.requests: dict[str, int] = {}
        # Failure modes for tests: None, "down" (503), "garbage" (not JSON), "empty" ({"keys": []}),
        # "huge" (a 2 MiB key set), "slow" (answers after slow_seconds).
        self.failure: str | None = None
        self.slow_seconds = 0.0
        # What the discovery document claims as issuer, when it should differ from the SVIDs' (tests).
        self.advertised_issuer: str | None = None
        self.bundle_refresh_hint = 300
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self.tls = tls
        if tls is not None:
            self._server.socket = tls.server_context().wrap_socket(self._server.socket, server_side=True)
        # A short poll interval: stop() waits for one, and the tests start and stop a provider per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="dev-discovery", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    @property
    def issuer(self) -> str:
        return self.authority.issuer or self.url

    def discovery_document(self) -> dict[str, Any]:
        return {
            "issuer": self.advertised_issuer or self.issuer,
            "jwks_uri": f"{self.url}/keys",
            "authorization_endpoint": "",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256", "ES384"],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path = self.path.split("?")[0]
                provider.requests[path] = provider.requests.get(path, 0) + 1
                if provider.failure == "slow":
                    time.sleep(provider.slow_seconds)
                if provider.failure == "down":
                    self._send(503, b"unavailable")
                    return
                if path == "/dev/jwt-svid" and provider.mint_endpoint:
                    # Development only: stands in for `spire-agent api fetch jwt`.
                    query = dict(parse_qsl(self.path.partition("?")[2]))
                    token = provider.authority.mint(
                        query.get("spiffe_id", provider.default_spiffe_id),
                        query.get("audience", "strongroom").split(","),
                    )
                    self._send(200, token.encode())
                    return
                if path == "/.well-known/openid-configuration":
                    document: Any = provider.discovery_document()
                elif path == "/bundle":
                    document = provider.authority.spiffe_bundle(refresh_hint=provider.bundle_refresh_hint)
                elif path == "/keys":
                    document = provider.authority.jwks(with_use=provider.set_key_use)
                    if provider.failure == "empty":
                        document = {"keys": []}
                    elif provider.failure == "huge":
                        document = {"keys": document["keys"], "padding": "x" * (2 * 1024 * 1024)}
                else:
                    self._send(404, b"not found")
                    return
                if provider.failure == "garbage":
                    self._send(200, b"<html>not json</html>")
                    return
                self._send(200, orjson.dumps(document), json=True)

            def _send(self, status: int, payload: bytes, json: bool = False) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if json else "text/plain")
                self.send_header("Cache-Control", "no-cache, no-store, must-revalidate")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def fetches(self, path: str) -> int:
        return self.requests.get(path, 0)

    def start(self) -> "DiscoveryProvider":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def discard(self) -> None:
        """Release the port of a provider that was never started."""
        self._server.server_close()

    def __enter__(self) -> "DiscoveryProvider":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class ServerCertificate:
    """A throwaway CA and a server certificate it signed, for serving the stand-in over HTTPS."""

    ca_pem: str
    cert_pem: str
    key_pem: str

    @classmethod
    def for_hosts(cls, *hosts: str) -> "ServerCertificate":
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import NameOID

        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Strongroom dev SPIRE CA")])
        ca = (
            x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
            .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
            ), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        server_key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        server = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        return cls(
            ca_pem=ca.public_bytes(pem).decode(),
            cert_pem=server.public_bytes(pem).decode(),
            key_pem=server_key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
        )

    def server_context(self) -> "ssl.SSLContext":
        import os
        import ssl
        import tempfile

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as folder:
            cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
            with open(cert_path, "w") as handle:
                handle.write(self.cert_pem)
            with open(key_path, "w") as handle:
                handle.write(self.key_pem)
            context.load_cert_chain(cert_path, key_path)
        return context
