"""Results: one scenario's runs reduced to medians, the printed table, and the JSON file."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from resources import ResourceUse
from wrk import Load, WrkReport


@dataclass(frozen=True)
class Measurement:
    """One measured run of one scenario (the warm-up is not one)."""

    wrk: WrkReport
    resources: ResourceUse
    hello_requests_per_second: float  # the hello-world's rate in the same round, for the ratio

    def as_json(self) -> dict[str, Any]:
        return {
            "requests_per_second": round(self.wrk.requests_per_second, 1),
            "ratio_to_hello": round(self.ratio_to_hello, 4),
            **asdict(self.wrk),
            **asdict(self.resources),
        }

    @property
    def ratio_to_hello(self) -> float:
        rate = self.hello_requests_per_second
        return self.wrk.requests_per_second / rate if rate else 0.0


@dataclass
class ScenarioResult:
    name: str
    title: str
    server: str
    runs: list[Measurement] = field(default_factory=list)
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)

    def _median(self, values: list[float]) -> float:
        return statistics.median(values) if values else 0.0

    def summary(self) -> dict[str, Any] | None:
        """Medians over the runs, except errors: their total, so that no failure is hidden by a median."""
        if not self.runs:
            return None
        runs = self.runs
        rps = self._median([m.wrk.requests_per_second for m in runs])
        cpu = self._median([m.resources.cpu_seconds for m in runs])
        requests = self._median([m.wrk.requests for m in runs])
        return {
            "requests_per_second": round(rps, 1),
            "p50_ms": round(self._median([m.wrk.p50_ms for m in runs]), 3),
            "p90_ms": round(self._median([m.wrk.p90_ms for m in runs]), 3),
            "p99_ms": round(self._median([m.wrk.p99_ms for m in runs]), 3),
            "errors_total": sum(m.wrk.errors for m in runs),
            "status_errors_total": sum(m.wrk.status_errors for m in runs),
            "socket_errors_total": sum(m.wrk.socket_errors for m in runs),
            "requests_total": sum(m.wrk.requests for m in runs),
            "cpu_seconds": round(cpu, 2),
            "cpu_ms_per_request": round(1000 * cpu / requests, 4) if requests else None,
            "peak_rss_mb": round(max(m.resources.peak_rss_mb for m in runs), 1),
            "ratio_to_hello": round(self._median([m.ratio_to_hello for m in runs]), 4),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "server": self.server,
            "skipped": self.skipped,
            "median": self.summary(),
            "runs": [m.as_json() for m in self.runs],
            "notes": self.notes,
        }


@dataclass
class BackendResult:
    backend: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    complete: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "scenarios": [s.as_json() for s in self.scenarios],
            "notes": self.notes,
        }


_COLUMNS = ("scenario", "req/s", "p50 ms", "p99 ms", "errors", "CPU s", "CPU ms/req", "peak RSS MB", "vs hello")


def _row(result: ScenarioResult) -> list[str]:
    summary = result.summary()
    if summary is None:
        return [result.title, f"skipped: {result.skipped or 'no run finished'}"]
    return [
        result.title,
        f"{summary['requests_per_second']:,.0f}",
        f"{summary['p50_ms']:.2f}",
        f"{summary['p99_ms']:.2f}",
        f"{summary['errors_total']:,}",
        f"{summary['cpu_seconds']:.2f}",
        f"{summary['cpu_ms_per_request']:.3f}" if summary["cpu_ms_per_request"] is not None else "-",
        f"{summary['peak_rss_mb']:.1f}",
        f"{summary['ratio_to_hello']:.2f}",
    ]


def table(result: BackendResult, load: Load, runs: int) -> str:
    rows = [_row(s) for s in result.scenarios]
    full = [r for r in rows if len(r) == len(_COLUMNS)] + [list(_COLUMNS)]
    widths = [max(len(r[i]) for r in full) for i in range(len(_COLUMNS))]
    widths[0] = max(len(r[0]) for r in [*rows, list(_COLUMNS)])

    def line(cells: list[str]) -> str:
        if len(cells) != len(_COLUMNS):  # a skipped scenario: its note spans the number columns
            return f"{cells[0]:<{widths[0]}}  {cells[1]}"
        return "  ".join([f"{cells[0]:<{widths[0]}}"] + [f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:])])

    heading = (
        f"Strongroom on {result.backend}: {load.connections} connections, {load.threads} wrk threads, "
        f"{load.duration_seconds} s per run, medians of {runs} run{'s' if runs != 1 else ''} "
        f"(errors: total over all runs)"
    )
    if not result.complete:
        heading += "; INCOMPLETE: the benchmark was interrupted or failed"
    out = [heading, line(list(_COLUMNS)), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    notes = [f"{s.title}: {n}" for s in result.scenarios for n in s.notes] + result.notes
    if notes:
        out += ["", "notes:"] + [f"  - {n}" for n in notes]
    return "\n".join(out)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
