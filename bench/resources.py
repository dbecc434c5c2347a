"""CPU time and memory of a server process while one scenario runs, read from /proc.

CPU is ``utime + stime`` of the process and every descendant it has (a
uvicorn with several workers counts whole), as a difference between the start
and the end of the measured run. Memory is the peak resident set: the kernel's
own high-water mark (``VmHWM``, reset before each run by writing 5 to
``/proc/<pid>/clear_refs``) when that works, and in every case the highest
``VmRSS`` seen by sampling every 100 ms.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_INTERVAL_SECONDS = 0.1


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    return text.rsplit(")", 1)[1].split()


def _process_tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parents[int(entry.name)] = int(fields[1])  # field 4, ppid
    tree, frontier = [root], [root]
    while frontier:
        children = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += children
        frontier = children
    return tree


def cpu_seconds(root: int) -> float:
    ticks = 0
    for pid in _process_tree(root):
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])  # fields 14 and 15: utime, stime
    return ticks / _CLOCK_TICKS


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(root: int) -> int:
    return sum(_status_kib(pid, "VmRSS") for pid in _process_tree(root))


def high_water_kib(root: int) -> int:
    return sum(_status_kib(pid, "VmHWM") for pid in _process_tree(root))


def reset_high_water(root: int) -> bool:
    try:
        for pid in _process_tree(root):
            Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class ResourceUse:
    cpu_seconds: float
    peak_rss_mb: float
    peak_source: str  # "VmHWM" or "sampled VmRSS"


class ResourceMeter:
    """Measures one process tree between ``start()`` and ``stop()``; samples memory from a thread."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._peak_sampled_kib = 0
        self._cpu_at_start = 0.0
        self._high_water_reset = False

    def start(self) -> None:
        self._high_water_reset = reset_high_water(self._pid)
        self._peak_sampled_kib = rss_kib(self._pid)
        self._cpu_at_start = cpu_seconds(self._pid)
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_SECONDS):
            self._peak_sampled_kib = max(self._peak_sampled_kib, rss_kib(self._pid))

    def stop(self) -> ResourceUse:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        cpu = cpu_seconds(self._pid) - self._cpu_at_start
        peak_kib, source = self._peak_sampled_kib, "sampled VmRSS"
        if self._high_water_reset:
            high_water = high_water_kib(self._pid)
            if high_water >= peak_kib:
                peak_kib, source = high_water, "VmHWM"
        return ResourceUse(cpu_seconds=cpu, peak_rss_mb=peak_kib / 1024, peak_source=source)
