"""The processes the harness starts: started in their own session, always stopped, never left behind.

Each child gets its own session (so a Ctrl-C in the terminal reaches only the
harness, which then stops the children in order) and, on Linux, a parent-death
signal (so even a harness killed with SIGKILL does not leave servers running).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A loopback port nobody listens on right now (the child binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def local_client(base_url: str, timeout: float = 30.0) -> httpx.Client:
    """The one HTTP client of the harness: loopback only, so proxy variables are ignored."""
    return httpx.Client(base_url=base_url, timeout=timeout, trust_env=False)


def child_environment(extra: dict[str, str]) -> dict[str, str]:
    """The harness's environment without proxy settings (all traffic is 127.0.0.1), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(extra)
    return env


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the finally blocks still stop the children
        pass


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes]

    @classmethod
    def start(cls, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> "Child":
        log = log_path.open("wb")
        process = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent,
        )
        return cls(name, process, log_path, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_until_ready(self, url: str, timeout: float = 60.0) -> None:
        """Poll ``url`` until it answers 200; fail with the child's log if it exits or time runs out."""
        deadline = time.monotonic() + timeout
        with local_client(url, timeout=2.0) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with status {self.process.returncode} before it was ready; "
                        f"its log ({self.log_path}) ends with:\n{self.log_tail()}"
                    )
                try:
                    if client.get(url).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not answer GET {url} within {timeout:.0f}s:\n{self.log_tail()}")
                time.sleep(0.1)

    def stop(self, grace_seconds: float = 10.0) -> None:
        """SIGTERM to the child's process group, SIGKILL after the grace time, then reap the child.

        The group is signalled while its leader is still an unreaped zombie, so
        its id cannot have been reused by a process the harness did not start.
        """
        try:
            if self.process.returncode is None:
                self._signal_group(signal.SIGTERM)
                if not self._leader_exits_within(grace_seconds):
                    self._signal_group(signal.SIGKILL)
                    self._leader_exits_within(grace_seconds)
                # Whatever the child itself started (uvicorn workers) goes with its group.
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout=grace_seconds)
        finally:
            self._log.close()

    def _leader_exits_within(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                return True
            if state in ("Z", "X"):
                return True
            time.sleep(0.05)
        return False

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass
