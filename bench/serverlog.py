"""What the server wrote to its log during a scenario: the lines that show trouble under load."""

from __future__ import annotations

import re
from pathlib import Path

# SQLite's lock timeouts, pool exhaustion, unhandled exceptions and anything logged at warning or above.
TROUBLE = re.compile(
    r"database is locked|QueuePool limit|Traceback|Exception|Error|\bERROR\b|\bWARNING\b|\bCRITICAL\b|timed? ?out",
    re.IGNORECASE,
)


class LogWatcher:
    """Reads a log file from where it last stopped."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0

    def skip_to_end(self) -> None:
        try:
            self._offset = self._path.stat().st_size
        except OSError:
            self._offset = 0

    def troubled_lines(self) -> list[str]:
        """Lines written since the last call that match TROUBLE."""
        try:
            with self._path.open("rb") as log:
                log.seek(self._offset)
                text = log.read()
                self._offset = log.tell()
        except OSError:
            return []
        return [line for line in text.decode(errors="replace").splitlines() if TROUBLE.search(line)]


def summarise(lines: list[str], keep: int = 5) -> list[str]:
    """The distinct lines, most frequent first, with their counts; at most ``keep``."""
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.strip()] = counts.get(line.strip(), 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])[:keep]
    return [f"{count}× {line[:300]}" for line, count in ranked]
