"""Instructions per request: what one request costs Strongroom's code, steady enough to compare two commits.

    .venv/bin/python bench/instructions.py [--scenarios oidc_login,list_secrets,get_secret,status]
                                           [--requests 50,250] [--json PATH]

Requests per second on this kind of machine drift by ±20 % within minutes, more
than most changes move them. This counts instead, with valgrind's callgrind,
the instructions a request costs: the same build, data and request give the
same count whatever else the machine is doing. It sets up an instance on the
embedded default (SQLite) through the public API of a real ``strongroom
server``, exactly as bench/run.py does, stops that server, and then, for each
scenario, runs the app in a Python process under callgrind that sends the
scenario's request straight to the ASGI app (no HTTP: uvicorn's share is left
out; no lifespan: the background flushes, which run by the clock, are left
out too) ``a`` times and, in a second process, ``b`` times. The difference of the
two totals over ``b - a`` is the cost of one request, without start-up.
Every request must answer 2xx. Needs valgrind (Debian's package).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from strongroom.spiffe.dev_spire import JwtSvidAuthority

from processes import local_client
from provision import set_up_instance, set_up_secrets_project
from run import BENCH_DIR, start_key_server, start_strongroom
from scenarios import strongroom_scenarios

DEFAULT_SCENARIOS = "oidc_login,list_secrets,get_secret,status"
DEFAULT_JSON = BENCH_DIR / "results" / "instructions.json"
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


@dataclass(frozen=True)
class CapturedRequest:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: str


def capture(probe: Any) -> CapturedRequest:
    """The request a scenario's probe would send, built by httpx but not sent."""
    captured: list[httpx.Request] = []

    def keep(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200)

    with httpx.Client(base_url="http://strongroom", transport=httpx.MockTransport(keep)) as client:
        probe(client)
    request = captured[0]
    return CapturedRequest(
        method=request.method,
        path=request.url.path,
        query=request.url.query.decode(),
        headers=[(name.decode(), value.decode()) for name, value in request.headers.raw],
        body=request.content.decode(),
    )


# -- inside the process under callgrind ---------------------------------------------------


async def _send(app: Any, request: CapturedRequest) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http",
        "method": request.method, "path": request.path, "raw_path": request.path.encode(),
        "query_string": request.query.encode(), "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in request.headers],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80), "state": {},
    }
    body = request.body.encode()
    received = False
    started: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.append(message["status"])

    await app(scope, receive, send)
    return started[0]


async def _replay(request: CapturedRequest, count: int) -> None:
    from strongroom.app import app_from_env

    # Without the lifespan: its background work (the once-a-second flush of token uses and last logins,
    # the token cleanup) runs by the clock, and under callgrind a second holds a few requests instead
    # of a thousand, so it would add a share that grows with how slow the machine is at that moment.
    app = app_from_env()
    for _ in range(count + 1):  # one more than counted: the first also fills the caches, as a warm-up in run.py would
        status = await _send(app, request)
        if not 200 <= status < 300:
            raise SystemExit(f"{request.method} {request.path} answered {status}")


def replay_main(argv: list[str]) -> None:
    request = CapturedRequest(**json.loads(Path(argv[0]).read_text()))
    import uvloop

    uvloop.run(_replay(request, int(argv[1])))


# -- the harness ---------------------------------------------------------------------------


def instructions(request_file: Path, count: int, environment: dict[str, str], workdir: Path) -> int:
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={workdir / 'callgrind.out'}",
            sys.executable, __file__, "--replay", str(request_file), str(count)]
    finished = subprocess.run(argv, env=environment, capture_output=True, text=True)
    found = COLLECTED.search(finished.stderr)
    if finished.returncode != 0 or found is None:
        raise SystemExit(f"the replay under callgrind failed:\n{finished.stderr[-3000:]}")
    return int(found.group(1))


def checkpoint(database: Path) -> None:
    """Move everything in SQLite's write-ahead log into the database file and empty the log.

    Whether the server's last connection did that on its way out depends on timing; a read
    costs more while the log holds pages, so every set-up starts the replays from an empty log.
    """
    with closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS, help="comma-separated scenario names (run.py's JSON keys)")
    parser.add_argument("--requests", default="50,250", help="a,b: requests in the short and the long replay")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    short, long = (int(part) for part in args.requests.split(","))
    if not 0 <= short < long:
        parser.error("--requests a,b needs 0 <= a < b")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found: sudo apt-get install -y valgrind")

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="strongroom-instructions-")))
        authority = JwtSvidAuthority(trust_domain="example.org")
        key_server = start_key_server(stack, workdir, authority)  # stays up: logins fetch its keys
        server = start_strongroom(stack, workdir, {})
        with local_client(server.url) as client:
            instance = set_up_instance(client, authority, key_server.url)
            project = set_up_secrets_project(client, instance.admin_token)
        server.child.stop()  # the replays open its data folder themselves
        checkpoint(workdir / "data" / "strongroom.db")
        scenarios = {scenario.name: scenario for scenario in strongroom_scenarios(instance, project)}
        environment = {
            **os.environ,
            "STRONGROOM_DATA_DIR": str(workdir / "data"),
            "STRONGROOM_LOG_LEVEL": "warning",
            "STRONGROOM_ALLOW_INTERNAL_ISSUERS": "true",
        }
        # Python salts its string hashes per process, and the layout of every dict and set follows;
        # one fixed seed makes two replays of the same requests execute the same instructions.
        environment["PYTHONHASHSEED"] = "0"
        environment.pop("STRONGROOM_DATABASE_URL", None)
        environment.pop("STRONGROOM_ROOT_KEY", None)

        results: dict[str, dict[str, Any]] = {}
        for name in args.scenarios.split(","):
            if name not in scenarios:
                parser.error(f"unknown scenario {name!r}; known: {', '.join(scenarios)}")
            request = capture(scenarios[name].probe)
            request_file = workdir / f"{name}.json"
            request_file.write_text(json.dumps(asdict(request)))
            counts = [instructions(request_file, count, environment, workdir) for count in (short, long)]
            per_request = (counts[1] - counts[0]) // (long - short)
            results[name] = {"title": scenarios[name].title, "instructions_per_request": per_request,
                             "totals": dict(zip((short, long), counts))}
            print(f"{scenarios[name].title:<28} {per_request:>12,} instructions/request", flush=True)

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"results written to {args.json}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--replay"]:
        replay_main(sys.argv[2:])
    else:
        main()
