"""``strongroom run -- command``: secrets in the child's environment, its exit status ours, signals forwarded."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import (
    SQLITE_ONLY,
    STRONGROOM,
    Workload,
    assert_one_line_error,
    strongroom,
    wait_until,
)

pytestmark = SQLITE_ONLY

PYTHON = sys.executable


def test_the_command_sees_the_secrets_and_they_override_inherited_variables(workload: Workload) -> None:
    workload.set_secrets(GREETING="hello", DSN="db://${GREETING}", HOME_OVERRIDE="from-strongroom")
    script = "import os; print(os.environ['GREETING'], os.environ['DSN'], os.environ['HOME_OVERRIDE'], os.environ['KEPT'])"
    result = strongroom("run", *workload.args(), "--", PYTHON, "-c", script,
                        env=workload.env(HOME_OVERRIDE="from-shell", KEPT="inherited"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello db://hello from-strongroom inherited\n"
    assert "injecting 3 secrets" in result.stderr


@pytest.mark.parametrize("status", [0, 3, 42])
def test_the_exit_status_is_passed_through(workload: Workload, status: int) -> None:
    result = strongroom("run", *workload.args(), "--", PYTHON, "-c", f"raise SystemExit({status})",
                        env=workload.env())
    assert result.returncode == status


def test_a_child_killed_by_a_signal_exits_128_plus_the_signal(workload: Workload) -> None:
    result = strongroom("run", *workload.args(), "--", "sh", "-c", "kill -KILL $$", env=workload.env())
    assert result.returncode == 128 + signal.SIGKILL


CHILD = """
import signal, sys, time
def stop(signum, frame):
    print("child got", signal.Signals(signum).name, flush=True)
    sys.exit(7)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
open(sys.argv[1], "w").close()
time.sleep(60)
"""


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT])
def test_signals_are_forwarded_to_the_child(workload: Workload, tmp_path: Path, sent: signal.Signals) -> None:
    ready = tmp_path / "ready"
    process = subprocess.Popen([STRONGROOM, "run", *workload.args(), "--", PYTHON, "-c", CHILD, str(ready)],
                               env=workload.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)
    try:
        wait_until(ready.exists, timeout=30, what="the child to start")
        process.send_signal(sent)  # to strongroom only, as `kill` or a supervisor would send it
        stdout, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert stdout == f"child got {sent.name}\n"
    assert process.returncode == 7


def test_an_unknown_command_is_a_one_line_error(workload: Workload) -> None:
    result = strongroom("run", *workload.args(), "--", "no-such-command-here", env=workload.env())
    assert_one_line_error(result, "command not found", "no-such-command-here")
