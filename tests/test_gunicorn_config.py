"""gunicorn.conf.py refuses a set-up whose sign-in limits would not hold."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port, require

pytestmark = pytest.mark.production

REPO = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).parent / "gunicorn"


def run_gunicorn(tmp_path, **env) -> subprocess.CompletedProcess:
    require(GUNICORN.exists(), "gunicorn in the virtualenv (pip install -e '.[test]')")
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("LEPSITE_")
    }
    environment.update(
        LEPSITE_SECRET_KEY=secrets.token_hex(32),
        LEPSITE_BASE_URL="http://127.0.0.1",
        LEPSITE_INSTANCE_PATH=str(tmp_path / "instance"),
        LEPSITE_BIND=f"127.0.0.1:{free_port()}",
        **env,
    )
    return subprocess.run(
        [str(GUNICORN), "wsgi:app"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("storage", [None, "memory://", " MEMORY://"])
def test_several_workers_with_per_worker_counters_are_refused(tmp_path, storage):
    env = {"LEPSITE_RATELIMIT_STORAGE_URI": storage} if storage else {}
    result = run_gunicorn(tmp_path, LEPSITE_WORKERS="2", **env)
    assert result.returncode != 0
    assert "LEPSITE_RATELIMIT_STORAGE_URI" in result.stdout + result.stderr
