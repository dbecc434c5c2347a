"""The root key: 32 random bytes from which every other key is derived.

It comes from ``STRONGROOM_ROOT_KEY`` or, on first start of the embedded
default, is generated into ``<data dir>/root.key`` readable by its owner only.
Losing it makes every sealed secret unreadable and every access token invalid.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ROOT_KEY_BYTES = 32
ROOT_KEY_FILE = "root.key"


class RootKeyError(Exception):
    pass


@dataclass(frozen=True)
class RootKey:
    material: bytes

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key bound to one purpose, so no two uses ever share a key."""
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"strongroom/v1", info=purpose.encode()
        ).derive(self.material)


def decode_root_key(text: str) -> RootKey:
    try:
        material = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RootKeyError("STRONGROOM_ROOT_KEY is not valid base64") from exc
    if len(material) != ROOT_KEY_BYTES:
        raise RootKeyError(f"the root key must be {ROOT_KEY_BYTES} bytes, got {len(material)}")
    return RootKey(material)


def generate_root_key_text() -> str:
    return base64.b64encode(secrets.token_bytes(ROOT_KEY_BYTES)).decode()


def load_or_create_root_key(configured: str | None, data_dir: Path) -> RootKey:
    if configured:
        return decode_root_key(configured)
    path = data_dir / ROOT_KEY_FILE
    if path.exists():
        return decode_root_key(path.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    # Written in full under a private name, then linked into place: link() fails if the file
    # exists, so of several processes starting together (`--workers`) exactly one key wins, and
    # no process can read the file while it is still empty or half written.
    draft = data_dir / f".{ROOT_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_root_key_text() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
    finally:
        draft.unlink(missing_ok=True)
    return decode_root_key(path.read_text())
