"""Starting several processes: ``--workers N``, one generated root key, and a replica with the wrong key refused."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from strongroom.crypto.root_key import generate_root_key_text
from tests.replicas.conftest import ReplicaSet, ServerProcess, database_only, free_port, replica_environment

BOOTSTRAP = {"email": "admin@example.org", "password": "correct horse battery staple", "organization": "Example"}


def test_server_with_two_workers_on_the_embedded_default_shares_one_generated_root_key(tmp_path: Path) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRONGROOM_")}
    env.update({"STRONGROOM_DATA_DIR": str(tmp_path), "STRONGROOM_PORT": str(port), "STRONGROOM_LOG_LEVEL": "info"})
    server = ServerProcess.start(env, tmp_path / "server.log", "--workers", "2")
    try:
        server.wait_until_ready()
        deadline = time.monotonic() + 20
        while server.log().count("Application startup complete") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.log().count("Application startup complete") == 2, server.log()

        with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as client:
            bootstrapped = client.post("/api/v1/admin/bootstrap", json=BOOTSTRAP)
            assert bootstrapped.status_code == 200, bootstrapped.text
            token = bootstrapped.json()["identity"]["credentials"]["token"]
        # A new connection each time, so the kernel hands them to either worker: each accepts the other's token.
        for _ in range(30):
            with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as client:
                response = client.get("/api/v1/identities", headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 200, response.text
    finally:
        server.stop()
    assert [path.name for path in tmp_path.iterdir() if "root.key" in path.name] == ["root.key"]
    assert "Traceback" not in server.log(), server.log()


ROOT_KEY_RACE = """
import sys, time
from pathlib import Path
from strongroom.crypto.root_key import load_or_create_root_key
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(load_or_create_root_key(None, Path(sys.argv[1])).material.hex())
"""


def test_processes_starting_together_on_a_fresh_data_folder_all_get_the_same_root_key(tmp_path: Path) -> None:
    moment = str(time.time() + 1.5)  # every process is past its imports by then
    processes = [
        subprocess.Popen([sys.executable, "-c", ROOT_KEY_RACE, str(tmp_path / "data"), moment],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    outputs = [process.communicate(timeout=30) for process in processes]
    assert all(process.returncode == 0 for process in processes), [err for _, err in outputs]
    keys = {out.strip() for out, _ in outputs}
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert sorted(path.name for path in (tmp_path / "data").iterdir()) == ["root.key"]


@database_only
def test_a_replica_given_another_root_key_refuses_to_start(replicas: ReplicaSet, tmp_path: Path) -> None:
    env = replica_environment(replicas.database_url, generate_root_key_text(), tmp_path, free_port(), None)
    server = ServerProcess.start(env, tmp_path / "wrong-key.log")
    try:
        server.process.wait(timeout=30)
    finally:
        server.stop()
    assert server.process.returncode != 0
    assert "RootKeyMismatch" in server.log()
    # The replicas with the right key are unaffected.
    assert replicas.replica(0).get("/api/status").status_code == 200
