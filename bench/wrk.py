"""Running wrk with one of the Lua scenarios in bench/lua/ and reading the report its done() hook prints."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from processes import child_environment

LUA_DIR = Path(__file__).resolve().parent / "lua"
REPORT_PREFIX = "BENCH_RESULT "
# How long a single request may take before wrk counts it as a timeout.
REQUEST_TIMEOUT_SECONDS = 10

INSTALL_HINT = (
    "wrk is not installed, and the benchmark needs it: a Python load generator would measure itself, not the server.\n"
    "Install it with:\n"
    "    sudo apt-get update && sudo apt-get install -y wrk     # Debian/Ubuntu (package `wrk`)\n"
    "    brew install wrk                                      # macOS\n"
    "or put a wrk binary on PATH."
)


class WrkMissing(RuntimeError):
    pass


def find_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing(INSTALL_HINT)
    return path


def wrk_version(wrk: str) -> str:
    completed = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
    return (completed.stdout or completed.stderr).splitlines()[0].strip() if (completed.stdout or completed.stderr) else "?"


@dataclass(frozen=True)
class Load:
    threads: int
    connections: int
    duration_seconds: int


@dataclass(frozen=True)
class WrkReport:
    requests: int
    duration_seconds: float
    status_errors: int  # responses with status >= 400
    socket_errors: int  # connect, read, write and timeout errors
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.duration_seconds if self.duration_seconds else 0.0

    @property
    def errors(self) -> int:
        return self.status_errors + self.socket_errors

    @classmethod
    def parse(cls, raw: dict) -> "WrkReport":
        errors, latency = raw["errors"], raw["latency_us"]
        return cls(
            requests=raw["requests"],
            duration_seconds=raw["duration_us"] / 1e6,
            status_errors=errors["status"],
            socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
            p50_ms=latency["p50"] / 1000,
            p90_ms=latency["p90"] / 1000,
            p99_ms=latency["p99"] / 1000,
            max_ms=latency["max"] / 1000,
        )


def run_wrk(wrk: str, script: str, base_url: str, load: Load, values: dict[str, str]) -> WrkReport:
    """Load ``base_url`` with ``bench/lua/<script>``; ``values`` reach the script as environment variables."""
    argv = [
        wrk,
        f"--threads={load.threads}",
        f"--connections={load.connections}",
        f"--duration={load.duration_seconds}s",
        f"--timeout={REQUEST_TIMEOUT_SECONDS}s",
        f"--script={LUA_DIR / script}",
        base_url,
    ]
    # Bounded: wrk stops itself after the duration; the margin covers start-up and in-flight requests.
    completed = subprocess.run(
        argv, env=child_environment(values), capture_output=True, text=True,
        timeout=load.duration_seconds + REQUEST_TIMEOUT_SECONDS + 30, start_new_session=True,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(REPORT_PREFIX)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(
            f"wrk {script} failed (exit {completed.returncode}):\n{completed.stderr.strip()}\n{completed.stdout.strip()}"
        )
    return WrkReport.parse(json.loads(lines[-1][len(REPORT_PREFIX):]))
