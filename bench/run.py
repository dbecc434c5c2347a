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
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import product
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from strongroom.spiffe.dev_spire import JwtSvidAuthority

from databases import BACKENDS, database_settings
import scale
from processes import Child, child_environment, free_port, local_client
from profiling import DEFAULT_RATE, PySpyMissing, Recording, find_py_spy, format_summary, headline, read_folded
from profiling import summarise as summarise_profile
from provision import Instance, SecretsApiUnavailable, SecretsProject, set_up_instance, set_up_secrets_project
from report import BackendResult, Measurement, ScenarioResult, scale_table, table, write_json
from resources import ResourceMeter, ResourceUse
from scaling import scaling_table
from scenarios import HELLO, STRONGROOM, Scenario, Skipped, hello_world, secrets_skipped, strongroom_scenarios
from serverlog import LogWatcher, summarise
from wrk import Load, WrkMissing, WrkReport, find_wrk, run_wrk, wrk_version

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DEFAULT_JSON = BENCH_DIR / "results" / "latest.json"
STRONGROOM_COMMAND = Path(sys.executable).parent / "strongroom"
STARTUP_TIMEOUT_SECONDS = 60


def _worker_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("give worker counts of at least 1, such as 1,2,4")
    return counts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark Strongroom over real HTTP with wrk (see bench/README.md).")
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="sqlite")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each measured run (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before each measured run (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="open HTTP connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--runs", type=int, default=3, help="rounds over all scenarios; medians are reported (default 3)")
    parser.add_argument("--workers", type=_worker_counts, default=[1],
                        help="comma-separated worker process counts, each benchmarked in turn: 1,2,4 (default 1)")
    parser.add_argument("--profile", action="store_true",
                        help="record the server with py-spy during every measured run; a top-N per scenario goes "
                             "into the JSON, a text file beside it, and the output")
    parser.add_argument("--profile-rate", type=int, default=DEFAULT_RATE,
                        help=f"py-spy samples per second with --profile (default {DEFAULT_RATE})")
    parser.add_argument("--profile-gil", action="store_true",
                        help="with --profile: sample only the thread holding the GIL (Python's own CPU; leaves out "
                             "threads waiting in SQLite's busy handler or for a core)")
    parser.add_argument("--scale", action="store_true",
                        help="after the small-database rounds, load 100,000 identities, 1,000,000 live token records "
                             "and 10,000 secrets of other projects into the database, then measure again")
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


def start_strongroom(stack: ExitStack, workdir: Path, database: dict[str, str], workers: int = 1) -> Server:
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
    argv = [str(STRONGROOM_COMMAND), "server", "--workers", str(workers)]
    child = Child.start("strongroom server", argv, env, workdir / "strongroom.log")
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


def measure(wrk: str, scenario: Scenario, server: Server, load: Load, warmup_seconds: int,
            recording: Recording | None = None) -> tuple[WrkReport, ResourceUse]:
    if warmup_seconds:
        run_wrk(wrk, scenario.script, server.url, Load(load.threads, load.connections, warmup_seconds), scenario.values)
    meter = ResourceMeter(server.child.pid)
    if recording is not None:
        recording.start()  # before the meter: py-spy's own start-up is not the server's CPU
    meter.start()
    try:
        report = run_wrk(wrk, scenario.script, server.url, load, scenario.values)
    finally:
        used = meter.stop()
        if recording is not None:
            recording.stop()
    return report, used


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def _recording(args: argparse.Namespace, result: BackendResult, scenario: Scenario, server: Server,
               round_number: int) -> Recording | None:
    """A py-spy session for this measured run, when --profile is on and the server is Strongroom's."""
    if not args.profile or scenario.server != STRONGROOM:
        return None
    name = f"{args.json.stem}-{_slug(result.backend)}-{result.dataset}-{scenario.name}-run{round_number}.txt"
    return Recording(args.py_spy, server.child.pid, args.json.parent / "profiles" / name, rate=args.profile_rate,
                     gil_only=args.profile_gil)


def _summarise_profiles(result: BackendResult, recorded: dict[str, list[Recording]], rate: int) -> None:
    for entry in result.scenarios:
        recordings = recorded.get(entry.name)
        if not recordings:
            continue
        stacks: Counter[tuple[str, ...]] = Counter()
        files: list[str] = []
        problems: list[str] = []
        for recording in recordings:
            if recording.output.exists() and recording.output.stat().st_size:
                stacks.update(read_folded(recording.output))
                files.append(str(recording.output))
            else:
                problems.append(f"py-spy wrote no samples for {recording.output.name}: {recording.failure()}")
        summary = entry.summary()
        entry.profile = summarise_profile(
            stacks, summary["cpu_ms_per_request"] if summary else None, rate=rate,
        )
        entry.profile.files, entry.profile.problems = files, problems


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


@dataclass
class Arm:
    """One Strongroom server and what is measured on it: the scenarios, and where their results go."""

    scenarios: list[Scenario]
    servers: dict[str, Server]
    result: BackendResult
    log: LogWatcher
    recorded: dict[str, list[Recording]]

    @classmethod
    def of(cls, scenarios: list[Scenario], servers: dict[str, Server], result: BackendResult) -> "Arm":
        log = LogWatcher(servers[STRONGROOM].child.log_path)
        log.skip_to_end()
        return cls(scenarios, servers, result, log, {})


def measure_one(arm: Arm, scenario: Scenario, round_number: int, hello_rate: float, wrk: str, load: Load,
                args: argparse.Namespace) -> WrkReport:
    """One measured run of one scenario on one arm, recorded with the hello-world rate of its round."""
    entry = next(entry for entry in arm.result.scenarios if entry.name == scenario.name)
    server = arm.servers[scenario.server]
    recording = _recording(args, arm.result, scenario, server, round_number)
    if recording is not None:
        arm.recorded.setdefault(scenario.name, []).append(recording)
    report, used = measure(wrk, scenario, server, load, args.warmup, recording)
    entry.runs.append(Measurement(report, used, report.requests_per_second if scenario.server == HELLO else hello_rate))
    progress(
        f"[{arm.result.label} run {round_number}/{args.runs}] {scenario.title}: "
        f"{report.requests_per_second:,.0f} req/s, p50 {report.p50_ms:.2f} ms, p99 {report.p99_ms:.2f} ms, "
        f"{report.errors} errors, CPU {used.cpu_seconds:.2f} s, peak RSS {used.peak_rss_mb:.0f} MB"
    )
    if scenario.server == STRONGROOM:
        trouble = arm.log.troubled_lines()  # the warm-up's lines included
        if trouble:
            entry.notes += [f"run {round_number}, server log: {line}" for line in summarise(trouble)]
    if report.errors:
        with local_client(server.url) as client:
            after = scenario.probe(client)
        entry.notes.append(
            f"run {round_number}: {report.status_errors} responses >= 400 and {report.socket_errors} "
            f"socket errors of {report.requests}; one request right after: {_describe(after)}"
        )
    return report


def run_rounds(arms: list[Arm], wrk: str, load: Load, args: argparse.Namespace) -> None:
    """``--runs`` rounds over every scenario, the hello-world first (its rate is the ratio's denominator).

    With several arms (--scale), each scenario is measured on every arm before the next scenario
    starts: the figures compared are taken a few seconds apart, under the same load from the rest
    of the machine, and each arm's ratios use a hello-world rate of their own round.
    """
    names = list(dict.fromkeys(scenario.name for arm in arms for scenario in arm.scenarios))
    for round_number in range(1, args.runs + 1):
        hello_rates = [0.0] * len(arms)
        for name in names:
            for index, arm in enumerate(arms):
                scenario = next((s for s in arm.scenarios if s.name == name), None)
                if scenario is None:
                    continue
                report = measure_one(arm, scenario, round_number, hello_rates[index], wrk, load, args)
                if scenario.server == HELLO:
                    hello_rates[index] = report.requests_per_second
    for arm in arms:
        if arm.recorded:
            _summarise_profiles(arm.result, arm.recorded, args.profile_rate)
        arm.result.complete = True


def database_url(backend: str, workdir: Path, database: dict[str, str]) -> str:
    """The URL of the database the server runs on (the harness writes the --scale rows into it directly)."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'data' / 'strongroom.db'}"
    return database["STRONGROOM_DATABASE_URL"]


@dataclass(frozen=True)
class Provisioned:
    instance: Instance
    project: SecretsProject | None
    skipped: list[Skipped]


def provision(server: Server, authority: JwtSvidAuthority, key_server: Server, result: BackendResult,
              workdir: Path) -> Provisioned:
    with local_client(server.url) as client:
        instance = set_up_instance(client, authority, key_server.url, fresh_svids=workdir / "fresh-svids.txt")
        try:
            project = set_up_secrets_project(client, instance.admin_token)
            if project.listed != len(project.secret_names):
                result.notes.append(
                    f"{len(project.secret_names)} secrets were created but the list answered with {project.listed}"
                )
            return Provisioned(instance, project, [])
        except SecretsApiUnavailable as exc:
            return Provisioned(instance, None, secrets_skipped(str(exc)))


def scale_arm(stack: ExitStack, backend: str, workdir: Path, authority: JwtSvidAuthority, key_server: Server,
              hello: Server, workers: int, result: BackendResult) -> Arm:
    """A second Strongroom, set up as the first, whose database then gets the scale rows (bench/scale.py).

    Both servers are measured in every round, one after the other, so the comparison of their
    figures is not thrown off by other work on the machine coming and going during the benchmark.
    """
    scaled = BackendResult(result.backend, dataset="scale")
    result.scale = scaled
    scale_dir = workdir / "scale"
    scale_dir.mkdir()
    database = stack.enter_context(database_settings(backend))
    server = start_strongroom(stack, scale_dir, database, workers)
    setup = provision(server, authority, key_server, scaled, scale_dir)
    progress(f"[{result.label}] --scale: loading a second server's database directly (bulk inserts, no API)")
    loaded = scale.load(database_url(backend, scale_dir, database), setup.instance.org_id, progress)
    scaled.load = {**loaded.as_json(), "description": loaded.describe()}
    progress(f"[{result.label}] --scale: {loaded.describe()}")
    servers = {STRONGROOM: server, HELLO: hello}
    return Arm.of(plan(setup.instance, setup.project, setup.skipped, servers, scaled), servers, scaled)


def bench_backend(backend: str, wrk: str, load: Load, args: argparse.Namespace, result: BackendResult,
                  workers: int = 1) -> None:
    with ExitStack() as stack:  # unwinds in reverse: servers stopped, database dropped, files removed
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"strongroom-bench-{backend}-")))
        authority = JwtSvidAuthority(trust_domain="example.org")
        progress(f"[{backend}] starting the key server, Strongroom and the hello-world")
        key_server = start_key_server(stack, workdir, authority)
        database = stack.enter_context(database_settings(backend))
        servers = {STRONGROOM: start_strongroom(stack, workdir, database, workers), HELLO: start_hello(stack, workdir)}
        setup = provision(servers[STRONGROOM], authority, key_server, result, workdir)
        arms = [Arm.of(plan(setup.instance, setup.project, setup.skipped, servers, result), servers, result)]
        if args.scale:
            arms.append(scale_arm(stack, backend, workdir, authority, key_server, servers[HELLO], workers, result))
        run_rounds(arms, wrk, load, args)
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
    memory_mb = None
    try:
        memory_mb = next(
            (int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
             if line.startswith("MemTotal:")), None)
    except (OSError, ValueError):
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_mb": memory_mb,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": wrk_version(wrk),
        # Other work on the machine (a test run, another benchmark) slows every figure; ratios to the
        # hello-world absorb much of it, and this says how busy the machine was.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--", "src")),
    }


def write_profiles(args: argparse.Namespace, results: list[BackendResult]) -> str:
    """Writes every scenario's profile summary to <json>.profile.txt; returns the lines worth printing."""
    mode = "GIL holder only" if args.profile_gil else "every active thread"
    full, short = [], [f"py-spy profiles ({args.profile_rate} Hz, {mode}, all measured runs pooled); "
                       f"top functions by own time:"]
    for result in [r for backend in results for r in (backend, backend.scale) if r is not None]:
        for entry in result.scenarios:
            if entry.profile is None:
                continue
            title = f"{result.label}: {entry.title}"
            full.append(format_summary(title, entry.profile))
            short.append(f"  {title}")
            short += [f"    {line}" for line in headline(entry.profile)]
    path = args.json.with_suffix(".profile.txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(full) + "\n")
    return "\n".join(short + [f"full summaries: {path}; raw stacks: {args.json.parent / 'profiles'}"])


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
    args.py_spy = None
    if args.profile:
        try:
            args.py_spy = find_py_spy()
        except PySpyMissing as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_keyboard_interrupt)

    load = Load(threads=args.threads, connections=args.connections, duration_seconds=args.duration)
    backends = list(BACKENDS) if args.backend == "both" else [args.backend]
    document: dict[str, Any] = {
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": {
            "threads": load.threads, "connections": load.connections, "duration_seconds": load.duration_seconds,
            "warmup_seconds": args.warmup, "runs": args.runs, "backends": backends,
            "profile": {"py_spy": args.py_spy, "rate_hz": args.profile_rate, "gil_only": args.profile_gil}
            if args.profile else None,
            "scale": args.scale,
        },
        "environment": environment_description(wrk),
        "complete": False,
        "backends": {},
    }
    # Per scenario and run: warm-up + measured load, plus a few seconds of start-up per backend.
    rounds = len(backends) * len(args.workers)
    rough_minutes = max(1, round(rounds * (6 * args.runs * (args.warmup + args.duration + 1) + 15) / 60))
    if args.scale:  # the rounds again, plus about two minutes of loading per backend
        rough_minutes = 2 * rough_minutes + 2 * rounds
    progress(f"benchmarking {', '.join(backends)}: {rough_minutes} min at most")

    exit_code = 0
    tables: list[str] = []
    scaling: list[tuple[str, int, BackendResult]] = []
    results: list[BackendResult] = []
    started = time.monotonic()
    try:
        for backend, workers in product(backends, args.workers):
            label = backend if args.workers == [1] else f"{backend}, {workers} worker{'s' if workers > 1 else ''}"
            result = BackendResult(label)
            document["backends"][label] = result
            results.append(result)
            scaling.append((backend, workers, result))
            try:
                bench_backend(backend, wrk, load, args, result, workers)
            finally:
                # Even a partial table (a failure half-way) is worth printing.
                if any(s.runs for s in result.scenarios):
                    tables.append(table(result, load, args.runs))
                if result.scale is not None and any(s.runs for s in result.scale.scenarios):
                    tables += [table(result.scale, load, args.runs), scale_table(result, result.scale)]
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
        document["environment"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        document["backends"] = {
            name: value.as_json() if isinstance(value, BackendResult) else value
            for name, value in document["backends"].items()
        }
        write_json(args.json, document)
    if len(args.workers) > 1:
        tables += [scaling_table(scaling, load)]
    if tables:
        print("\n\n".join(tables))
    if args.profile:
        print("\n" + write_profiles(args, results))
    progress(f"results written to {args.json}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
