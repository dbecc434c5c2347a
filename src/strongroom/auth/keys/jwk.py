"""JWKs: which entries are JWT signing keys, and what algorithm each key may verify."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from strongroom.outbound import FetchError

MAX_KEYS = 100
MIN_RSA_BITS = 2048

_CURVE_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}

# Which JWK `use` values each kind of document may carry for JWT signing keys.
OIDC_KEY_USES = (None, "sig", "jwt-svid")  # SPIRE's /keys has no `use` unless set_key_use = true
SPIFFE_BUNDLE_KEY_USES = ("jwt-svid",)  # SPIFFE bundle format: x509-svid entries and entries without `use` are ignored


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


def parse_jwk(jwk: object, uses: tuple[str | None, ...] = OIDC_KEY_USES) -> SigningKey | None:
    """A usable JWT-signing key, or None for entries that must be ignored."""
    if not isinstance(jwk, dict) or jwk.get("use") not in uses:
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


def parse_jwks(document: object, uses: tuple[str | None, ...] = OIDC_KEY_USES) -> list[SigningKey]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise FetchError("the key set is not a JSON object with a 'keys' array")
    keys = [key for key in (parse_jwk(entry, uses) for entry in document["keys"][:MAX_KEYS]) if key is not None]
    if not keys:
        raise FetchError("the key set holds no usable JWT signing keys")
    return keys


def signing_key_from_pem(pem: str) -> SigningKey:
    """A PEM public key (RSA ≥2048 bits, or EC on P-256/384/521) given in a configuration."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError:
        raise FetchError("not a PEM-encoded public key") from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= MIN_RSA_BITS:
        return SigningKey(None, None, key, "RSA")
    if isinstance(key, ec.EllipticCurvePublicKey):
        curve = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}.get(key.curve.name)
        if curve is not None:
            return SigningKey(None, None, key, curve)
    raise FetchError("the PEM key is not an RSA (≥2048 bits) or P-256/384/521 EC public key")


def parse_json(text: str) -> object:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise FetchError("the key set is not valid JSON") from None


def parse_static_keys(document: str) -> list[SigningKey]:
    """A JWKS / SPIFFE bundle JSON document, or one or more concatenated PEM public keys."""
    text = document.strip()
    if text.startswith("{"):
        return parse_jwks(parse_json(text))
    blocks = [block + "-----END PUBLIC KEY-----" for block in text.split("-----END PUBLIC KEY-----") if block.strip()]
    if not blocks:
        raise FetchError("no keys given")
    return [signing_key_from_pem(block.strip()) for block in blocks]
