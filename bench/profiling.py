"""Where the server's time goes during a measured run: py-spy samples, reduced to a short top-N.

``--profile`` attaches ``py-spy record`` to the server for each scenario's
measured run. py-spy samples every thread's Python stack ``rate`` times a
second without pausing the process (``--nonblocking``), and drops threads
that are idle (blocked in a system call, or waiting for the GIL), so the
samples show where CPU is spent. Its raw output (folded stacks, one
``frame;frame;… count`` line per distinct stack) is kept beside the results,
and reduced here to:

- **own**: samples whose innermost frame is the function (time in its own code);
- **cumulative**: samples with the function anywhere on the stack (counted
  once per sample, also when it recurses);
- **by package**: own time grouped by the top-level package of the file.

Each figure is a share of all non-idle samples of the scenario (every run
pooled), and also converted to an estimate in CPU milliseconds per request:
the share times the run's measured CPU ms/req.

py-spy costs the server some CPU even when it does not pause it, so the
req/s of a profiled run reads a little low; compare unprofiled runs for the
figures themselves.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_RATE = 100  # py-spy's own default: 10 ms between samples
TOP_N = 15
# "function (file)" or, for a frame without a file, just the name. File paths are py-spy's short form.
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*)\)$")


class PySpyMissing(RuntimeError):
    pass


def find_py_spy() -> str:
    """py-spy of the harness's own environment (the `bench` extra pins it), or one on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    path = str(beside) if beside.exists() else shutil.which("py-spy")
    if path is None:
        raise PySpyMissing(
            "--profile needs py-spy: `.venv/bin/pip install -e '.[bench]'` installs the pinned version"
        )
    return path


class Recording:
    """One py-spy session on one process, from ``start()`` until ``stop()``."""

    def __init__(self, py_spy: str, pid: int, output: Path, rate: int = DEFAULT_RATE, *, gil_only: bool = False) -> None:
        self.output = output
        self._argv = [
            py_spy, "record", "--pid", str(pid), "--output", str(output), "--format", "raw",
            "--rate", str(rate), "--nonblocking", "--subprocesses", "--nolineno",
        ]
        if gil_only:
            self._argv.append("--gil")
        self._process: subprocess.Popen[bytes] | None = None
        self._log = output.with_suffix(".log")

    def start(self) -> None:
        self.output.parent.mkdir(parents=True, exist_ok=True)
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                self._argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def stop(self, timeout: float = 30.0) -> Path | None:
        """Ends sampling (py-spy writes its file on SIGINT); the file, or None if py-spy wrote none."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if not self.output.exists() or self.output.stat().st_size == 0:
            return None
        return self.output

    def failure(self) -> str:
        try:
            return self._log.read_text(errors="replace").strip()[-500:]
        except OSError:
            return ""


def read_folded(path: Path) -> Counter[tuple[str, ...]]:
    """Stacks (outermost frame first) and their sample counts from a py-spy raw file."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            frames = stack.split(";")
            # --subprocesses roots every stack in a `process <pid>:"<command>"` frame: not a function.
            if frames[0].startswith("process "):
                frames = frames[1:]
            if frames:
                stacks[tuple(frames)] += int(count)
    return stacks


def package_of(frame: str) -> str:
    """The top-level package (or module) a frame's file belongs to, as py-spy names it."""
    match = _FRAME.match(frame)
    if match is None:
        return "(native)"
    file = match.group("file")
    if file.startswith("<"):
        return file  # <frozen ...>, <string>
    head = file.split("/", 1)[0]
    return head.removesuffix(".py") if "/" not in file else head


@dataclass(frozen=True)
class Entry:
    function: str
    samples: int
    share: float  # of all samples
    ms_per_request: float | None  # share × the scenario's CPU ms/req

    def as_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "samples": self.samples,
            "percent": round(100 * self.share, 1),
            "ms_per_request": None if self.ms_per_request is None else round(self.ms_per_request, 3),
        }


@dataclass
class ProfileSummary:
    samples: int = 0
    rate: int = DEFAULT_RATE
    cpu_ms_per_request: float | None = None
    own: list[Entry] = field(default_factory=list)
    cumulative: list[Entry] = field(default_factory=list)
    packages: list[Entry] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "rate_hz": self.rate,
            "cpu_ms_per_request": self.cpu_ms_per_request,
            "own": [e.as_json() for e in self.own],
            "cumulative": [e.as_json() for e in self.cumulative],
            "by_package": [e.as_json() for e in self.packages],
            "raw_files": self.files,
            "problems": self.problems,
        }


def summarise(stacks: Counter[tuple[str, ...]], cpu_ms_per_request: float | None, *, top: int = TOP_N,
              rate: int = DEFAULT_RATE) -> ProfileSummary:
    total = sum(stacks.values())
    summary = ProfileSummary(samples=total, rate=rate, cpu_ms_per_request=cpu_ms_per_request)
    if not total:
        return summary
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    for stack, count in stacks.items():
        own[stack[-1]] += count
        packages[package_of(stack[-1])] += count
        for frame in set(stack):
            cumulative[frame] += count

    def entries(counter: Counter[str], n: int) -> list[Entry]:
        return [
            Entry(name, count, count / total, None if cpu_ms_per_request is None else cpu_ms_per_request * count / total)
            for name, count in counter.most_common(n)
        ]

    summary.own = entries(own, top)
    # The outer frames (thread bootstrap, event loop, worker thread) are in nearly every sample and say
    # nothing; twice the rows keeps the informative ones in view below them.
    summary.cumulative = entries(cumulative, 2 * top)
    summary.packages = entries(packages, top)
    return summary


def format_summary(title: str, summary: ProfileSummary, *, top: int = TOP_N) -> str:
    cost = f", {summary.cpu_ms_per_request:.3f} CPU ms/req" if summary.cpu_ms_per_request is not None else ""
    lines = [f"== {title}: {summary.samples:,} samples at {summary.rate} Hz{cost}"]
    if summary.problems:
        lines += [f"   problem: {p}" for p in summary.problems]
    if not summary.samples:
        return "\n".join(lines)

    def block(heading: str, entries: list[Entry]) -> None:
        lines.append(f"   {heading}")
        lines.append(f"   {'%':>6} {'ms/req':>7}  function")
        for e in entries:
            ms = f"{e.ms_per_request:7.3f}" if e.ms_per_request is not None else f"{'-':>7}"
            lines.append(f"   {100 * e.share:6.1f} {ms}  {e.function}")

    block("by package (own time)", summary.packages[:top])
    block("own time", summary.own[:top])
    block("cumulative (a function and what it calls)", summary.cumulative)
    return "\n".join(lines)


def headline(summary: ProfileSummary, lines: int = 5) -> list[str]:
    """The few lines printed under the results table: the top packages and own-time functions."""
    if not summary.samples:
        return ["no samples" + (f" ({'; '.join(summary.problems)})" if summary.problems else "")]
    packages = ", ".join(f"{e.function} {100 * e.share:.0f}%" for e in summary.packages[:6])
    out = [f"by package: {packages}"]
    out += [f"own {100 * e.share:5.1f}%  {e.function}" for e in summary.own[:lines]]
    return out
