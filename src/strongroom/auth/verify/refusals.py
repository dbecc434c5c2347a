"""Every way a login can be refused, each with its own name, status and message.

Messages keep Infisical's wording ("Access denied: ...") where Infisical has
one, so operators can search for them, and always say which check failed.
Only the subject check answers 403, as Infisical does; everything else is 401.
"""

from __future__ import annotations

from enum import Enum

from strongroom.errors import ApiError


class Refusal(Enum):
    TOKEN_TOO_LARGE = (401, "Access denied: the JWT is larger than {limit} bytes")
    TOKEN_MALFORMED = (401, "Access denied: Invalid JWT: {detail}")
    ALGORITHM_NOT_ALLOWED = (
        401,
        "Access denied: JWT algorithm '{alg}' is not allowed; JWT-SVIDs are signed with one of {allowed}",
    )
    KEY_SOURCE_UNAVAILABLE = (401, "Access denied: Failed to fetch OIDC signing keys from {source}. {detail}")
    UNKNOWN_KEY_ID = (
        401,
        "Access denied: Unable to verify JWT signature. The signing key '{kid}' was not found in the OIDC "
        "provider's JWKS endpoint. This may indicate an invalid token or misconfigured OIDC provider.",
    )
    NO_KEY_FOR_ALGORITHM = (401, "Access denied: the OIDC provider has no {alg} signing key{kid_note}")
    TOO_MANY_KEYS_WITHOUT_KID = (
        401,
        "Access denied: OIDC provider has {count} signing keys. Tokens must include 'kid' header when provider "
        "has more than {limit} keys.",
    )
    BAD_SIGNATURE = (401, "Access denied: invalid signature")
    MISSING_EXPIRY = (401, "Access denied: the JWT has no 'exp' claim; JWT-SVIDs must expire")
    EXPIRED = (401, "Access denied: jwt expired")
    NOT_YET_VALID = (401, "Access denied: jwt not active (nbf is in the future)")
    BAD_ISSUED_AT = (401, "Access denied: invalid iat claim: {detail}")
    BAD_CLAIM_TYPE = (401, "Access denied: invalid {claim} claim: {detail}")
    ISSUER_MISSING = (
        401,
        "Access denied: jwt issuer invalid. expected: {expected}, but the token has no 'iss' claim. SPIRE adds "
        "'iss' only when the SPIRE Server sets jwt_issuer; set it, or clear boundIssuer.",
    )
    ISSUER_MISMATCH = (401, "Access denied: jwt issuer invalid. expected: {expected}, got: {actual}")
    SUBJECT_NOT_ALLOWED = (403, "Access denied: OIDC subject not allowed.")
    SPIFFE_ID_NOT_ALLOWED = (403, "Access denied: SPIFFE ID not allowed.")
    SPIFFE_ID_INVALID = (401, "Access denied: the token's sub is not a valid SPIFFE ID: {detail}")
    WRONG_TRUST_DOMAIN = (
        401, "Access denied: the SPIFFE ID belongs to trust domain '{actual}', not to '{expected}'"
    )
    AUDIENCE_MISSING = (401, "Access denied: the JWT has no 'aud' claim; JWT-SVIDs must name their audience")
    AUDIENCE_NOT_ALLOWED = (401, "Access denied: OIDC audience not allowed.")
    CLAIM_MISSING = (401, "Access denied: token has no {claim} field")
    CLAIM_NOT_ALLOWED = (401, "Access denied: OIDC claim not allowed. ({claim})")

    @property
    def status_code(self) -> int:
        return self.value[0]

    @property
    def template(self) -> str:
        return self.value[1]


class LoginRefused(ApiError):
    def __init__(self, refusal: Refusal, **details: object) -> None:
        self.status_code = refusal.status_code
        self.error = "UnauthorizedError" if refusal.status_code == 401 else "ForbiddenError"
        self.refusal = refusal
        super().__init__(refusal.template.format(**details))
