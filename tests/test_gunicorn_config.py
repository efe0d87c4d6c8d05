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
        [str(GUNICORN), "lepsite:create_app()", "-c", str(REPO / "gunicorn.conf.py")],
        cwd=tmp_path,
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


def test_the_access_log_keeps_every_secret_link_out():
    """Status, invitation and reset links are keys; the logger cuts the token from each."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gunicorn_conf", REPO / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    token = "s3cret-T0ken_value"
    for path in (f"/uk/apply/status/{token}", f"/admin/reset/{token}", f"/admin/invite/{token}"):
        logger = conf.RedactingLogger.__new__(conf.RedactingLogger)
        line = f"GET {path}?x=1 HTTP/1.1"
        atoms = {"r": line, "U": path, "f": f"https://lep.example.org{path}", "{referer}i": "-"}
        original = conf.Logger.atoms
        conf.Logger.atoms = lambda self, *args, atoms=atoms: dict(atoms)
        try:
            redacted = logger.atoms(None, None, {}, None)
        finally:
            conf.Logger.atoms = original
        assert token not in "".join(redacted.values())
        assert "[token]" in redacted["U"]


@pytest.mark.parametrize("how", ["factory from any folder", "wsgi.py from the project"])
def test_gunicorn_loads_the_app_either_way(tmp_path, how):
    """``gunicorn 'lepsite:create_app()' -c …/gunicorn.conf.py`` from anywhere (as the README
    says), and ``gunicorn wsgi:app`` from the project (the older way, still allowed)."""
    require(GUNICORN.exists(), "gunicorn in the virtualenv (pip install -e '.[test]')")
    if how == "wsgi.py from the project":
        command, folder = [str(GUNICORN), "wsgi:app"], REPO
    else:
        command = [str(GUNICORN), "lepsite:create_app()", "-c", str(REPO / "gunicorn.conf.py")]
        folder = tmp_path
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("LEPSITE_")
    }
    environment.update(
        LEPSITE_SECRET_KEY=secrets.token_hex(32),
        LEPSITE_BASE_URL="http://127.0.0.1",
        LEPSITE_INSTANCE_PATH=str(tmp_path / "instance"),
        LEPSITE_WORKERS="1",
    )
    # --check-config loads the app and exits: 0 when it loaded.
    result = subprocess.run(
        [*command, "--check-config"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
