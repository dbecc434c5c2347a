"""Results: one scenario's runs reduced to medians, the printed table, and the JSON file."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from profiling import ProfileSummary
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
    profile: ProfileSummary | None = None  # --profile: every measured run's samples pooled

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
            **({"profile": self.profile.as_json()} if self.profile is not None else {}),
        }


@dataclass
class BackendResult:
    backend: str
    dataset: str = "small"  # "small": the benchmark's own instance; "scale": after bench/scale.py loaded its rows
    scenarios: list[ScenarioResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    complete: bool = False
    load: dict[str, Any] | None = None  # scale: what was loaded, and how long it took
    scale: BackendResult | None = None  # --scale: the same scenarios on the same server, after the load

    @property
    def label(self) -> str:
        return self.backend if self.dataset == "small" else f"{self.backend}, --scale"

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "complete": self.complete,
            "dataset": self.dataset,
            "scenarios": [s.as_json() for s in self.scenarios],
            "notes": self.notes,
        }
        if self.load is not None:
            document["load"] = self.load
        if self.scale is not None:
            document["scale"] = self.scale.as_json()
            document["scale_comparison"] = scale_comparison(self, self.scale)
        return document


# Issue 7: with the scale data set, each scenario stays within 15% of its small-database rate.
SCALE_TOLERANCE = 0.15


def scale_comparison(small: BackendResult, scale: BackendResult) -> list[dict[str, Any]]:
    """Per Strongroom scenario: the rate, latency and CPU per request on both data sets, and the change."""
    scaled = {s.name: s for s in scale.scenarios}
    rows = []
    for before in small.scenarios:
        after = scaled.get(before.name)
        a, b = before.summary(), after.summary() if after is not None else None
        if before.server != "strongroom" or a is None or b is None:
            continue
        change = b["requests_per_second"] / a["requests_per_second"] - 1 if a["requests_per_second"] else 0.0
        ratio_change = b["ratio_to_hello"] / a["ratio_to_hello"] - 1 if a["ratio_to_hello"] else 0.0
        rows.append({
            "name": before.name,
            "title": before.title,
            "small_requests_per_second": a["requests_per_second"],
            "scale_requests_per_second": b["requests_per_second"],
            "change": round(change, 4),
            "small_ratio_to_hello": a["ratio_to_hello"],
            "scale_ratio_to_hello": b["ratio_to_hello"],
            "ratio_change": round(ratio_change, 4),
            "small_p99_ms": a["p99_ms"],
            "scale_p99_ms": b["p99_ms"],
            "small_cpu_ms_per_request": a["cpu_ms_per_request"],
            "scale_cpu_ms_per_request": b["cpu_ms_per_request"],
            # Judged on the ratio to the hello-world of the same round: the machine's drift between the
            # two halves of the run (other load on a shared host) is taken out, as for every other figure.
            "within_tolerance": abs(ratio_change) <= SCALE_TOLERANCE,
        })
    return rows


def scale_table(small: BackendResult, scale: BackendResult) -> str:
    rows = scale_comparison(small, scale)
    heading = (
        f"Strongroom on {small.backend}: small database vs --scale ({scale.load.get('description', '') if scale.load else ''})"
    )
    columns = ("scenario", "req/s small", "req/s scale", "change", "vs hello small", "vs hello scale",
               "change", "CPU ms/req small", "CPU ms/req scale", f"within {SCALE_TOLERANCE:.0%}")
    cells = [[
        r["title"], f"{r['small_requests_per_second']:,.0f}", f"{r['scale_requests_per_second']:,.0f}",
        f"{100 * r['change']:+.1f}%", f"{r['small_ratio_to_hello']:.3f}", f"{r['scale_ratio_to_hello']:.3f}",
        f"{100 * r['ratio_change']:+.1f}%",
        f"{r['small_cpu_ms_per_request']:.3f}" if r["small_cpu_ms_per_request"] is not None else "-",
        f"{r['scale_cpu_ms_per_request']:.3f}" if r["scale_cpu_ms_per_request"] is not None else "-",
        "yes" if r["within_tolerance"] else "NO",
    ] for r in rows]
    widths = [max(len(c[i]) for c in [*cells, list(columns)]) for i in range(len(columns))]

    def line(c: list[str]) -> str:
        return "  ".join([f"{c[0]:<{widths[0]}}"] + [f"{v:>{w}}" for v, w in zip(c[1:], widths[1:])])

    return "\n".join([heading, line(list(columns)), line(["-" * w for w in widths]), *map(line, cells)])


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
        f"Strongroom on {result.label}: {load.connections} connections, {load.threads} wrk threads, "
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
