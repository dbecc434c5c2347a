"""Durations on the command line and in config files: ``90``, ``90s``, ``15m``, ``24h``, ``1.5h``, ``500ms``."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_duration(value: str | int | float, *, name: str = "duration") -> float:
    """Seconds; a bare number is seconds. Raises ValueError naming ``name`` for anything else."""
    if isinstance(value, bool):
        raise ValueError(f"{name}: {value!r} is not a duration")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{name}: {value!r} is not a duration (write e.g. 30s, 15m, 24h)")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"{name} must be more than zero")
    return seconds
