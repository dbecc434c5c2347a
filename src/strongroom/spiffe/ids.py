"""SPIFFE IDs and trust domains, checked by the rules of the SPIFFE-ID standard.

Where the standard lets an implementation choose, Strongroom takes the strict
side, as go-spiffe does: an upper-case trust domain is refused rather than
folded to lower case, so a pattern and the ID it matches are always written alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCHEME = "spiffe://"
MAX_ID_BYTES = 2048
MAX_TRUST_DOMAIN_BYTES = 255

_TRUST_DOMAIN = re.compile(r"^[a-z0-9._-]+$")
_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")


class InvalidSpiffeId(ValueError):
    pass


def check_trust_domain(name: str) -> str:
    if not name:
        raise InvalidSpiffeId("the trust domain is empty")
    if len(name.encode()) > MAX_TRUST_DOMAIN_BYTES:
        raise InvalidSpiffeId(f"the trust domain is longer than {MAX_TRUST_DOMAIN_BYTES} bytes")
    if not _TRUST_DOMAIN.match(name):
        raise InvalidSpiffeId(
            f"trust domain {name!r} may hold only lower-case letters, digits, '.', '-' and '_' (no port, no user)"
        )
    return name


@dataclass(frozen=True)
class SpiffeId:
    trust_domain: str
    path: str  # "" or "/seg/seg"

    def __str__(self) -> str:
        return f"{SCHEME}{self.trust_domain}{self.path}"

    @classmethod
    def parse(cls, text: str) -> "SpiffeId":
        if not isinstance(text, str):
            raise InvalidSpiffeId("a SPIFFE ID is a string")
        if len(text.encode()) > MAX_ID_BYTES:
            raise InvalidSpiffeId(f"the SPIFFE ID is longer than {MAX_ID_BYTES} bytes")
        if not text.startswith(SCHEME):
            raise InvalidSpiffeId("a SPIFFE ID starts with 'spiffe://'")
        rest = text[len(SCHEME):]
        trust_domain, slash, path = rest.partition("/")
        check_trust_domain(trust_domain)
        if not slash:
            return cls(trust_domain, "")
        for segment in path.split("/"):
            if segment == "":
                raise InvalidSpiffeId("the path has an empty segment (a doubled or trailing '/')")
            if segment in (".", ".."):
                raise InvalidSpiffeId("the path has a '.' or '..' segment")
            if not _SEGMENT.match(segment):
                raise InvalidSpiffeId(
                    f"path segment {segment!r} may hold only letters, digits, '.', '-' and '_' (no percent-encoding)"
                )
        return cls(trust_domain, "/" + path)
