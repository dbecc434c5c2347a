"""The app factory a serving process runs (``strongroom server``, each of its workers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# In a process of its own: freezing is process-wide, and this test process has objects of its own.
FROZEN_AFTER_FACTORY = """
import gc
before = gc.get_freeze_count()
from strongroom.app import app_from_env
app = app_from_env()
print(before, gc.get_freeze_count())
"""


def test_the_objects_made_at_start_up_are_kept_out_of_the_collectors_walks(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRONGROOM_")}
    env["STRONGROOM_DATA_DIR"] = str(tmp_path)
    finished = subprocess.run([sys.executable, "-c", FROZEN_AFTER_FACTORY], env=env, capture_output=True, text=True,
                              timeout=60)
    assert finished.returncode == 0, finished.stderr
    before, after = (int(count) for count in finished.stdout.split())
    assert before == 0
    # The modules, the app and its services: far more than any one request makes.
    assert after > 50_000
