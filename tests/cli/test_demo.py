"""``strongroom demo`` (what ``make run`` starts) and ``strongroom dev spire``, run as a user runs them."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from spiffe import JwtBundleSet, TrustDomain, WorkloadApiClient

from tests.cli.conftest import STRONGROOM, clean_environment, free_port, wait_until


class Output:
    """A process's output, read as it comes (straight from the pipe, no buffering in between), with deadlines."""

    def __init__(self, process: subprocess.Popen[bytes], stream: str = "stdout") -> None:
        self.process = process
        self.fd = getattr(process, stream).fileno()
        self.text = ""

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        chunk = os.read(self.fd, 65536)
        self.text += chunk.decode(errors="replace")
        return bool(chunk)

    def read_until(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while not (match := re.search(pattern, self.text)):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; output so far:\n{self.text}")
            if not self._read(min(left, 0.5)):
                raise AssertionError(f"output ended before {pattern!r}:\n{self.text}")
        return match

    def rest(self, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while self._read(max(0.0, min(deadline - time.monotonic(), 0.5))):
            if time.monotonic() > deadline:
                raise AssertionError(f"output did not end in {timeout}s:\n{self.text}")
        self.process.wait(timeout=5)
        return self.text


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def run_demo(folder: Path, socket: Path, processes: list[subprocess.Popen[bytes]]) -> tuple[Output, int]:
    port = free_port()
    process = subprocess.Popen(
        [STRONGROOM, "demo", "--port", str(port), "--spire-port", str(free_port()), "--socket", str(socket)],
        cwd=folder, env=clean_environment(COLUMNS="200"), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    processes.append(process)
    return Output(process), port


def test_the_demo_shows_a_workload_reading_its_secrets_then_serves_until_ctrl_c(
        tmp_path: Path, short_tmp: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    output, port = run_demo(tmp_path, short_tmp / "api.sock", processes)
    output.read_until(r"Serving until Ctrl-C", timeout=90)
    text = output.text

    assert "DEVELOPMENT ONLY" in text
    assert "bound to spiffe://example.org/workload/*" in text or "subject spiffe://example.org/workload/*" in text
    assert "JWT-SVID for spiffe://example.org/workload/api-server" in text
    assert "logged in" in text
    # The table of what the workload read: the reference is expanded with the generated password.
    password = re.search(r"│ DB_PASSWORD\s+│ (\S+)\s+│", text)
    assert password, text
    assert re.search(r"│ GREETING\s+│ Hello from Strongroom\s+│", text)
    assert f"postgres://app:{password.group(1)}@db.internal:5432/app" in text
    assert re.search(r"│ PAYMENTS_API_KEY\s+│ sk_demo_[0-9a-f]{16}\s+│", text)
    # Then what to do next: the URL, the admin token, commands to paste.
    assert f"http://127.0.0.1:{port}" in text
    assert re.search(r"Admin token.*\n(eyJ[\w-]+\.[\w-]+\.[\w-]+)\n", text)
    assert "strongroom secrets list" in text and "strongroom run" in text
    assert (tmp_path / ".strongroom-demo" / "strongroom.db").exists()  # the embedded default, in the cwd

    output.process.send_signal(signal.SIGINT)
    rest = output.rest()
    assert output.process.returncode == 0
    assert rest.rstrip().endswith("demo stopped") and "Traceback" not in rest
    assert not (short_tmp / "api.sock").exists()

    # A second run reuses the instance, its project and its identity, and shows the same secrets.
    again, _ = run_demo(tmp_path, short_tmp / "api.sock", processes)
    again.read_until(r"Serving until Ctrl-C", timeout=90)
    assert "reused" in again.text
    assert f"postgres://app:{password.group(1)}@db.internal:5432/app" in again.text
    again.process.send_signal(signal.SIGTERM)
    again.rest()
    assert again.process.returncode == 0


def test_the_demo_reports_a_busy_port_in_one_line(tmp_path: Path, short_tmp: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [STRONGROOM, "demo", "--port", str(port), "--spire-port", str(free_port()),
             "--socket", str(short_tmp / "api.sock")],
            cwd=tmp_path, env=clean_environment(), capture_output=True, text=True, timeout=60,
            stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: cannot listen on 127.0.0.1:{port}: Address already in "
                                                  "use (pick another with --port)"]
    assert "Traceback" not in result.stdout + result.stderr
    assert not (short_tmp / "api.sock").exists()  # the stand-in it had started was stopped


def test_dev_spire_serves_the_workload_api_and_rotates_its_keys(short_tmp: Path,
                                                                processes: list[subprocess.Popen[bytes]]) -> None:
    socket = short_tmp / "api.sock"
    process = subprocess.Popen(
        [STRONGROOM, "dev", "spire", "--port", str(free_port()), "--socket", str(socket), "--key-ttl", "3s"],
        env=clean_environment(COLUMNS="200"), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    processes.append(process)
    output = Output(process, "stderr")
    output.read_until(r"Ctrl-C stops it", timeout=30)
    assert "DEVELOPMENT ONLY" in output.text
    assert f"export SPIFFE_ENDPOINT_SOCKET=unix://{socket}" in output.text

    client = WorkloadApiClient(socket_path=f"unix://{socket}", default_timeout=5)
    bundles: list[JwtBundleSet] = []
    lock = threading.Lock()

    def received(bundle_set: JwtBundleSet) -> None:
        with lock:
            bundles.append(bundle_set)

    stream = client.stream_jwt_bundles(received, lambda error: None)
    try:
        svid = client.fetch_jwt_svid({"strongroom"})
        assert str(svid.spiffe_id) == "spiffe://example.org/workload/api-server"
        output.read_until(r"published the next key (\w+)", timeout=10)
        output.read_until(r"now signing with key (\w+)", timeout=10)
        new_kid = re.search(r"now signing with key (\w+)", output.text)
        assert new_kid is not None
        trust_domain = TrustDomain("example.org")

        def has_new_key() -> bool:
            with lock:
                bundle = bundles[-1].get_bundle_for_trust_domain(trust_domain) if bundles else None
            return bundle is not None and new_kid.group(1) in bundle.jwt_authorities

        wait_until(has_new_key, timeout=5, what="the rotated key on the bundle stream")
        import jwt

        assert jwt.get_unverified_header(client.fetch_jwt_svid({"strongroom"}).token)["kid"] == new_kid.group(1)
    finally:
        stream.cancel()
        client.close()

    process.send_signal(signal.SIGTERM)
    output.rest()
    assert process.returncode == 0 and "dev spire: stopped" in output.text
    assert not socket.exists()
