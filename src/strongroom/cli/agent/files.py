"""Replacing a file atomically: a reader sees the old content or the new, never a half-written file."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to a temporary file beside ``path`` (created with ``mode``), fsync it, rename it over ``path``.

    The temporary file is in the same folder, so the rename cannot cross file
    systems; the folder is fsynced too, so the rename survives a crash.
    """
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mkstemp creates the file 0600 and O_EXCL: no other user can open it between creation and chmod.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(handle, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view):]
        os.fsync(handle)
        os.close(handle)
        handle = -1
        os.replace(temporary, path)
    except BaseException:
        if handle >= 0:
            os.close(handle)
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    folder = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def digest_of_file(path: Path) -> str | None:
    """SHA-256 of a file's content, or None if it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
