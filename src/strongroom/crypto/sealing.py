"""Sealing secret values at rest: AES-256-GCM under a key derived from the root key.

Every sealed field carries associated data naming exactly where it belongs
(project, environment, folder path, secret key and column). A ciphertext
copied into another row, another column or another folder no longer opens,
so someone who can write to the database but not read the root key cannot
make one secret show another's value.

Layout of a sealed field: one format byte, the 96-bit random nonce, then the
ciphertext with its 128-bit tag. The format byte lets a later scheme (a new
key, another cipher) be told apart from this one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_V1 = b"\x01"
NONCE_BYTES = 12  # 96 bits: GCM's native nonce size; random per seal, so no counter state is needed.
_ASSOCIATED_DATA_LABEL = "strongroom/secret-field/v1"


class SealBroken(Exception):
    """A sealed field does not open: it was altered, or it belongs to another place."""


@dataclass(frozen=True)
class SealBinding:
    """Where a sealed field lives. Any difference makes it fail to open."""

    project_id: str
    environment_id: str
    folder_path: str
    secret_key: str
    column: str

    def associated_data(self) -> bytes:
        # A JSON array, not a joined string: no choice of key or path can make two bindings encode alike.
        return orjson.dumps(
            [_ASSOCIATED_DATA_LABEL, self.project_id, self.environment_id, self.folder_path, self.secret_key,
             self.column]
        )


class SecretSealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the sealing key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, binding: SealBinding) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT_V1 + nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), binding.associated_data())

    def open(self, sealed: bytes, binding: SealBinding) -> str:
        if not isinstance(sealed, bytes):  # a memoryview or bytearray from some drivers
            sealed = bytes(sealed)
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != FORMAT_V1:
            raise SealBroken("not a sealed field of a known format")
        nonce, ciphertext = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            plaintext = self._aead.decrypt(nonce, ciphertext, binding.associated_data())
        except InvalidTag:
            raise SealBroken("the sealed field does not belong here or was altered") from None
        return plaintext.decode("utf-8")
