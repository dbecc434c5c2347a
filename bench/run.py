"""Strongroom's benchmark: a real server under wrk, next to a bare FastAPI hello-world.

    .venv/bin/python bench/run.py [--backend sqlite|postgresql|both] [--duration 10]
                                  [--connections 16] [--threads 2] [--runs 3] [--json PATH]

For each backend it starts, as separate processes on 127.0.0.1: a static
discovery/JWKS server (keys from ``JwtSvidAuthority``), ``strongroom server``
(temporary data folder, or a fresh PostgreSQL database), and bench/hello.py. It
sets the instance up through the public API, then loads each scenario with wrk
(bench/lua/) for ``--runs`` rounds, each scenario warmed up before it is
measured, and the hello-world measured at the start of every round. It prints
a table of medians and writes every run to JSON. Every process and database it
made is removed at the end, on failure and on Ctrl-C as well. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from strongroom.spiffe.dev_spire import JwtSvidAuthority

from databases import BACKENDS, database_settings
from processes import Child, child_environment, free_port, local_client
from provision import Instance, SecretsApiUnavailable, SecretsProject, set_up_instance, set_up_secrets_project
from report import BackendResult, Measurement, ScenarioResult, table, write_json
from resources import ResourceMeter, ResourceUse
from scenarios import HELLO, STRONGROOM, Scenario, Skipped, hello_world, secrets_skipped, strongroom_scenarios
from serverlog import LogWatcher, summarise
from wrk import Load, WrkMissing, WrkReport, find_wrk, run_wrk, wrk_version

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DEFAULT_JSON = BENCH_DIR / "results" / "latest.json"
STRONGROOM_COMMAND = Path(sys.executable).parent / "strongroom"
STARTUP_TIMEOUT_SECONDS = 60


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark Strongroom over real HTTP with wrk (see bench/README.md).")
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="sqlite")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each measured run (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before each measured run (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="open HTTP connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--runs", type=int, default=3, help="rounds over all scenarios; medians are reported (default 3)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the results (default {DEFAULT_JSON.relative_to(REPO_DIR)})")
    args = parser.parse_args(argv)
    if min(args.duration, args.connections, args.threads, args.runs) < 1 or args.warmup < 0:
        parser.error("--duration, --connections, --threads and --runs must be at least 1; --warmup at least 0")
    if args.threads > args.connections:
        parser.error("wrk needs at least one connection per thread: --threads must not exceed --connections")
    return args


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the processes ------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    child: Child
    url: str


def start_key_server(stack: ExitStack, workdir: Path, authority: JwtSvidAuthority) -> Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # As a SPIRE Server with jwt_issuer set to its discovery provider's URL (the recommended setup).
    authority.issuer = url
    discovery = workdir / "discovery.json"
    keys = workdir / "keys.json"
    discovery.write_text(json.dumps({
        "issuer": url,
        "jwks_uri": f"{url}/keys",
        "authorization_endpoint": "",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "ES384"],
    }))
    keys.write_text(json.dumps(authority.jwks()))
    argv = [sys.executable, str(BENCH_DIR / "keyserver.py"), "--port", str(port),
            "--discovery", str(discovery), "--keys", str(keys)]
    child = Child.start("key server", argv, child_environment({}), workdir / "keyserver.log")
    stack.callback(child.stop)
    child.wait_until_ready(f"{url}/keys", timeout=STARTUP_TIMEOUT_SECONDS)
    return Server(child, url)


def start_strongroom(stack: ExitStack, workdir: Path, database: dict[str, str]) -> Server:
    if not STRONGROOM_COMMAND.exists():
        raise RuntimeError(f"{STRONGROOM_COMMAND} not found: run `make install` (the harness runs under .venv/bin/python)")
    port = free_port()
    env = child_environment({
        "STRONGROOM_DATA_DIR": str(workdir / "data"),
        "STRONGROOM_HOST": "127.0.0.1",
        "STRONGROOM_PORT": str(port),
        "STRONGROOM_LOG_LEVEL": "warning",
        # The key server is on loopback, which Strongroom refuses as an issuer unless told otherwise.
        "STRONGROOM_ALLOW_INTERNAL_ISSUERS": "true",
        **database,
    })
    env.pop("STRONGROOM_ROOT_KEY", None)  # generated into the temporary data folder
    if "STRONGROOM_DATABASE_URL" not in database:
        env.pop("STRONGROOM_DATABASE_URL", None)
    child = Child.start("strongroom server", [str(STRONGROOM_COMMAND), "server"], env, workdir / "strongroom.log")
    stack.callback(child.stop)
    url = f"http://127.0.0.1:{port}"
    child.wait_until_ready(f"{url}/api/status", timeout=STARTUP_TIMEOUT_SECONDS)
    return Server(child, url)


def start_hello(stack: ExitStack, workdir: Path) -> Server:
    port = free_port()
    argv = [sys.executable, str(BENCH_DIR / "hello.py"), "--port", str(port)]
    child = Child.start("hello-world", argv, child_environment({}), workdir / "hello.log")
    stack.callback(child.stop)
    url = f"http://127.0.0.1:{port}"
    child.wait_until_ready(f"{url}/api/status", timeout=STARTUP_TIMEOUT_SECONDS)
    return Server(child, url)


# -- one backend ---------------------------------------------------------------------


def _describe(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path} answered {response.status_code}: {response.text[:300]}"


def preflight(scenario: Scenario, server: Server) -> str | None:
    """Why the scenario cannot be measured (its request does not answer 2xx), or None."""
    with local_client(server.url) as client:
        response = scenario.probe(client)
    if response.status_code // 100 == 2:
        return None
    if response.status_code == 404:
        return f"route not on this server yet ({_describe(response)})"
    return f"its request fails before any load: {_describe(response)}"


def measure(wrk: str, scenario: Scenario, server: Server, load: Load, warmup_seconds: int) -> tuple[WrkReport, ResourceUse]:
    if warmup_seconds:
        run_wrk(wrk, scenario.script, server.url, Load(load.threads, load.connections, warmup_seconds), scenario.values)
    meter = ResourceMeter(server.child.pid)
    meter.start()
    try:
        report = run_wrk(wrk, scenario.script, server.url, load, scenario.values)
    finally:
        used = meter.stop()
    return report, used


def plan(instance: Instance, project: SecretsProject | None, skipped: list[Skipped],
         servers: dict[str, Server], result: BackendResult) -> list[Scenario]:
    """The scenarios to load, hello-world first; every one that cannot be measured is recorded as skipped."""
    runnable: list[Scenario] = []
    for scenario in [hello_world(), *strongroom_scenarios(instance, project)]:
        entry = ScenarioResult(scenario.name, scenario.title, scenario.server)
        result.scenarios.append(entry)
        entry.skipped = preflight(scenario, servers[scenario.server])
        if entry.skipped is None:
            runnable.append(scenario)
    for gone in skipped:
        result.scenarios.append(ScenarioResult(gone.name, gone.title, STRONGROOM, skipped=gone.note))
    if not runnable or runnable[0].server != HELLO:
        raise RuntimeError("the hello-world does not answer; no ratio can be computed")
    return runnable


def run_rounds(scenarios: list[Scenario], servers: dict[str, Server], wrk: str, load: Load,
               args: argparse.Namespace, result: BackendResult) -> None:
    entries = {entry.name: entry for entry in result.scenarios}
    strongroom_log = LogWatcher(servers[STRONGROOM].child.log_path)
    strongroom_log.skip_to_end()
    for round_number in range(1, args.runs + 1):
        hello_rate = 0.0
        for scenario in scenarios:
            server = servers[scenario.server]
            report, used = measure(wrk, scenario, server, load, args.warmup)
            if scenario.server == HELLO:
                hello_rate = report.requests_per_second
            entry = entries[scenario.name]
            entry.runs.append(Measurement(report, used, hello_rate))
            progress(
                f"[{result.backend} run {round_number}/{args.runs}] {scenario.title}: "
                f"{report.requests_per_second:,.0f} req/s, p50 {report.p50_ms:.2f} ms, p99 {report.p99_ms:.2f} ms, "
                f"{report.errors} errors, CPU {used.cpu_seconds:.2f} s, peak RSS {used.peak_rss_mb:.0f} MB"
            )
            if scenario.server == STRONGROOM:
                trouble = strongroom_log.troubled_lines()  # the warm-up's lines included
                if trouble:
                    entry.notes += [f"run {round_number}, server log: {line}" for line in summarise(trouble)]
            if report.errors:
                with local_client(server.url) as client:
                    after = scenario.probe(client)
                entry.notes.append(
                    f"run {round_number}: {report.status_errors} responses >= 400 and {report.socket_errors} "
                    f"socket errors of {report.requests}; one request right after: {_describe(after)}"
                )


def bench_backend(backend: str, wrk: str, load: Load, args: argparse.Namespace, result: BackendResult) -> None:
    with ExitStack() as stack:  # unwinds in reverse: servers stopped, database dropped, files removed
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"strongroom-bench-{backend}-")))
        authority = JwtSvidAuthority(trust_domain="example.org")
        progress(f"[{backend}] starting the key server, Strongroom and the hello-world")
        key_server = start_key_server(stack, workdir, authority)
        database = stack.enter_context(database_settings(backend))
        servers = {STRONGROOM: start_strongroom(stack, workdir, database), HELLO: start_hello(stack, workdir)}

        with local_client(servers[STRONGROOM].url) as client:
            instance = set_up_instance(client, authority, key_server.url)
            try:
                project = set_up_secrets_project(client, instance.admin_token)
                skipped: list[Skipped] = []
                if project.listed != len(project.secret_names):
                    result.notes.append(
                        f"{len(project.secret_names)} secrets were created but the list answered with {project.listed}"
                    )
            except SecretsApiUnavailable as exc:
                project, skipped = None, secrets_skipped(str(exc))

        run_rounds(plan(instance, project, skipped, servers, result), servers, wrk, load, args, result)
        result.complete = True
        progress(f"[{backend}] stopping processes" + (" and dropping the database" if backend == "postgresql" else ""))


# -- the whole benchmark -----------------------------------------------------------------


def _git(*argv: str) -> str:
    try:
        return subprocess.run(["git", *argv], cwd=REPO_DIR, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def environment_description(wrk: str) -> dict[str, Any]:
    cpu_model = ""
    try:
        cpu_model = next(
            (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
             if line.startswith("model name")), "")
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": wrk_version(wrk),
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--", "src")),
    }


def _raise_keyboard_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        wrk = find_wrk()
    except WrkMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # `kill <harness>`, a closed terminal, and Ctrl-C even when started with SIGINT ignored
    # (as `cmd &` in a script is): all clean up the same way.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_keyboard_interrupt)

    load = Load(threads=args.threads, connections=args.connections, duration_seconds=args.duration)
    backends = list(BACKENDS) if args.backend == "both" else [args.backend]
    document: dict[str, Any] = {
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": {
            "threads": load.threads, "connections": load.connections, "duration_seconds": load.duration_seconds,
            "warmup_seconds": args.warmup, "runs": args.runs, "backends": backends,
        },
        "environment": environment_description(wrk),
        "complete": False,
        "backends": {},
    }
    # Per scenario and run: warm-up + measured load, plus a few seconds of start-up per backend.
    rough_minutes = max(1, round(len(backends) * (6 * args.runs * (args.warmup + args.duration + 1) + 15) / 60))
    progress(f"benchmarking {', '.join(backends)}: {rough_minutes} min at most")

    exit_code = 0
    tables: list[str] = []
    started = time.monotonic()
    try:
        for backend in backends:
            result = BackendResult(backend)
            document["backends"][backend] = result
            try:
                bench_backend(backend, wrk, load, args, result)
            finally:
                # Even a partial table (a failure half-way) is worth printing.
                if any(s.runs for s in result.scenarios):
                    tables.append(table(result, load, args.runs))
        document["complete"] = True
    except KeyboardInterrupt:
        progress("interrupted: every process and database the benchmark started has been removed")
        exit_code = 130
    except Exception as exc:  # noqa: BLE001 - reported, then the partial results are still written
        progress(f"error: {exc}")
        exit_code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the writing of the results short
        document["elapsed_seconds"] = round(time.monotonic() - started, 1)
        document["backends"] = {
            name: value.as_json() if isinstance(value, BackendResult) else value
            for name, value in document["backends"].items()
        }
        write_json(args.json, document)
    if tables:
        print("\n\n".join(tables))
    progress(f"results written to {args.json}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
