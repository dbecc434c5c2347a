"""Secret paths (``/``, ``/app/db``) and folder names.

A path is a walk from an environment's root folder through folder names. Only
names made of letters, digits, ``-`` and ``_`` can exist, so a segment such as
``..`` or ``%2F`` never names a folder: such a path simply is not found.
"""

from __future__ import annotations

import re

ROOT = "/"
FOLDER_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
FOLDER_NAME_RULE = "Folder name can only contain alphanumeric, dashes and underscore characters"


def normalise(path: str | None) -> str:
    """Leading slash added, trailing and doubled slashes removed, whitespace trimmed (as Infisical does)."""
    parts = segments(path)
    return ROOT + "/".join(parts)


def segments(path: str | None) -> list[str]:
    return [part for part in (path or ROOT).strip().split("/") if part != ""]


def join(parent: str, name: str) -> str:
    return normalise(f"{parent}/{name}")


def relative(path: str, base: str) -> str:
    """``path`` seen from ``base`` (both normalised; ``path`` inside ``base``), as ``/a/b``."""
    if base == ROOT:
        return path
    return path[len(base):] or ROOT
