"""The scaling summary of ``--workers 1,2,4``: logins/s and secret reads/s for each worker count, side by side.

Each worker count is its own full benchmark (fresh database, fresh server with
``strongroom server --workers N``); this table only lines up their medians.
"cores" is the server's CPU seconds (all its processes) per second of load:
the cores it kept busy, out of what the machine has (wrk and PostgreSQL
share them).
"""

from __future__ import annotations

import os

from report import BackendResult
from wrk import Load

# (scenario name, column title); the names are those in scenarios.py.
COLUMNS = (
    ("oidc_login", "logins/s"),
    ("oidc_login_fresh", "new-SVID logins/s"),
    ("get_secret", "secret reads/s"),
    ("list_secrets", "lists of 50/s"),
    ("get_identity", "bearer GETs/s"),
)


def _cell(result: BackendResult, name: str, load: Load, baseline: float | None) -> tuple[str, float | None]:
    scenario = next((s for s in result.scenarios if s.name == name), None)
    summary = scenario.summary() if scenario is not None else None
    if summary is None:
        return "-", None
    rate = summary["requests_per_second"]
    cores = summary["cpu_seconds"] / load.duration_seconds
    gain = f" x{rate / baseline:.2f}" if baseline else ""
    return f"{rate:,.0f}{gain} ({cores:.1f} cores)", rate


def scaling_table(results: list[tuple[str, int, BackendResult]], load: Load) -> str:
    heading = (
        f"Scaling with worker processes ({os.cpu_count()} CPUs; x = rate relative to the fewest workers; "
        f"cores = server CPU s per s of load)"
    )
    header = ["backend", "workers", *[title for _, title in COLUMNS]]
    rows: list[list[str]] = []
    baselines: dict[tuple[str, str], float] = {}
    for backend, workers, result in results:
        row = [backend, str(workers)]
        for name, _ in COLUMNS:
            text, rate = _cell(result, name, load, baselines.get((backend, name)))
            if rate is not None:
                baselines.setdefault((backend, name), rate)
            row.append(text)
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(f"{cell:<{width}}" if index < 2 else f"{cell:>{width}}"
                         for index, (cell, width) in enumerate(zip(cells, widths)))

    return "\n".join([heading, line(header), line(["-" * w for w in widths]), *[line(r) for r in rows]])
