"""Operators' bad days, for real: a full disk and a database that stops or freezes.

Each test starts gunicorn (``gunicorn.conf.py``, named explicitly) on loopback and breaks
something under it: the instance folder on a tiny tmpfs that fills up (needs root, as in CI),
or a private PostgreSQL server that is frozen with SIGSTOP and then stopped. Every wait is
bounded; the servers are stopped whatever happens.
"""

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest
from conftest import free_port, require, valid_application
from test_production import GUNICORN, Browser, start, wait_for_port

pytestmark = pytest.mark.production

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def app_env(instance: Path, database: str, port: int, **extra: str) -> dict:
    """The environment of a production server (one worker, no shared limits needed)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("LEPSITE_", "FLASK_", "GUNICORN_"))
    }
    env.update(
        LEPSITE_SECRET_KEY=secrets.token_hex(32),
        LEPSITE_BASE_URL=f"http://127.0.0.1:{port}",
        LEPSITE_SQLALCHEMY_DATABASE_URI=database,
        LEPSITE_INSTANCE_PATH=str(instance),
        LEPSITE_BIND=f"127.0.0.1:{port}",
        LEPSITE_WORKERS="1",
        LEPSITE_RATELIMIT_ENABLED="false",
        LEPSITE_SESSION_COOKIE_SECURE="false",
    )
    env.update(extra)
    return env


def flask(env: dict, *args: str) -> None:
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "lepsite", *args],
        cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def worker_pids(master: int) -> list[int]:
    """gunicorn's workers: the master's children."""
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def wait_until(condition, timeout: float = 20, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {message}")


def timed(browser: Browser, url: str, data: dict | None = None):
    started = time.monotonic()
    status, headers, page = browser.request(url, data)
    return status, headers, page, time.monotonic() - started


# ---------------------------------------------------------------- a full disk


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str = "8m"):
    """A tmpfs of ``size`` mounted at ``path`` (root only), unmounted after."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    """Write zeros until the file system is full; return the file to delete to free it."""
    filler = folder / "filler"
    with filler.open("wb") as file, contextlib.suppress(OSError):
        while True:
            file.write(b"\0" * 65536)
            file.flush()
    return filler


def test_a_full_disk_does_not_take_the_site_down(tmp_path):
    require(os.geteuid() == 0, "root, to mount a small tmpfs (CI runs as root)")
    require(bool(shutil.which("mount")), "mount")
    port = free_port()
    with small_tmpfs(tmp_path / "instance") as instance, contextlib.ExitStack() as stack:
        env = app_env(instance, f"sqlite:///{instance / 'lepsite.sqlite'}", port)
        flask(env, "db", "upgrade")
        log = tmp_path / "gunicorn.log"
        master = start(stack, GUNICORN, log, cwd=tmp_path, env=env)
        wait_for_port(port, master, log)
        base = f"http://127.0.0.1:{port}"
        browser = Browser()
        assert browser.request(base + "/healthz")[0] == 200
        token = browser.csrf_token(base + "/en/apply")

        filler = fill(instance)
        status, _headers, body = browser.request(base + "/healthz")
        assert status == 503, body

        # A worker dies; its replacement must boot on the full disk, and the site stay up.
        (worker,) = worker_pids(master.pid)
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: worker_pids(master.pid) not in ([], [worker]), message="new worker")
        assert master.poll() is None, log.read_text()
        assert browser.request(base + "/en/about")[0] == 200, log.read_text()
        assert browser.request(base + "/uk/about")[0] == 200

        # An application sent now is not stored, and the page says so.
        status, _headers, page = browser.request(
            base + "/en/apply", {"csrf_token": token, **valid_application()}
        )
        assert status == 503
        assert "Your application was not stored" in page

        filler.unlink()
        wait_until(lambda: browser.request(base + "/healthz")[0] == 200, message="healthy")
        token = browser.csrf_token(base + "/en/apply")
        status, headers, _page = browser.request(
            base + "/en/apply", {"csrf_token": token, **valid_application()}
        )
        assert status == 303, log.read_text()
        assert not list(instance.rglob("*.tmp")), "a failed write left a temporary file"


# ---------------------------------------------------------------- PostgreSQL stops and freezes

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


def as_postgres(args: list[str], **options) -> subprocess.CompletedProcess:
    """Run a PostgreSQL tool as the postgres user (initdb and postgres refuse root)."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **options)


class PrivateServer:
    """A PostgreSQL server of the test's own, so it can be frozen and stopped at will."""

    def __init__(self, root: Path):
        self.data = root / "pgdata"
        self.sockets = root / "pgsock"
        self.port = free_port()
        self.log = root / "postgres.log"
        self.process: subprocess.Popen | None = None

    def init(self) -> None:
        for folder in (self.data, self.sockets):
            folder.mkdir()
            if os.geteuid() == 0:
                shutil.chown(folder, "postgres", "postgres")
        if os.geteuid() == 0:
            shutil.chown(self.data.parent, "postgres")
        result = as_postgres(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "lep"]
        )
        assert result.returncode == 0, result.stderr

    def start(self) -> None:
        args = [str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port),
                "-k", str(self.sockets), "-c", "listen_addresses=127.0.0.1"]  # fmt: skip
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process, self.log)
        for _ in range(50):
            if as_postgres([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p",
                            str(self.port)]).returncode == 0:  # fmt: skip
                return
            time.sleep(0.1)
        pytest.fail("PostgreSQL did not get ready")

    def processes(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, …)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True
        ).stdout.split()
        return [postmaster, *map(int, children)]

    def signal(self, number: int) -> None:
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, number)

    def stop(self) -> None:
        """A fast shutdown (SIGINT): open connections are cut, as in a real outage."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            self.signal(signal.SIGCONT)
            os.kill(self.processes()[0], signal.SIGINT)
        if self.process is not None:
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    self.signal(signal.SIGKILL)
                self.process.kill()
                self.process.wait()

    @property
    def uri(self) -> str:
        return f"postgresql+psycopg://lep@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def private_postgres(tmp_path):
    require(PG_BIN is not None, "PostgreSQL server binaries (Debian package postgresql)")
    require(os.geteuid() != 0 or bool(shutil.which("runuser")), "runuser, to run postgres")
    # Not under pytest's folder, which only its owner may enter: postgres runs as another user.
    root = Path(tempfile.mkdtemp(prefix="lepsite-pg-"))
    root.chmod(0o755)
    server = PrivateServer(root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_frozen_or_stopped_database_is_told_plainly_and_fast(tmp_path, private_postgres):
    server = private_postgres
    port = free_port()
    env = app_env(tmp_path / "instance", server.uri, port, LEPSITE_DATABASE_TIMEOUT="2")
    flask(env, "db", "upgrade")
    with contextlib.ExitStack() as stack:
        log = tmp_path / "gunicorn.log"
        master = start(stack, GUNICORN, log, cwd=tmp_path, env=env)
        wait_for_port(port, master, log)
        base = f"http://127.0.0.1:{port}"
        browser = Browser()
        assert browser.request(base + "/healthz")[0] == 200
        assert browser.request(base + "/uk/partnerships/kyiv")[0] == 200
        browser.request(base + "/en/about")  # rendered once; later from memory

        server.signal(signal.SIGSTOP)
        try:
            status, _h, _p, seconds = timed(browser, base + "/healthz")
            assert status == 503 and seconds < 2, (status, seconds)
            status, _h, _p, seconds = timed(browser, base + "/en/about")
            assert status == 200 and seconds < 0.5, (status, seconds)
            status, headers, page, seconds = timed(browser, base + "/uk/partnerships/kyiv")
            assert status == 503 and seconds < 6, (status, seconds, log.read_text()[-3000:])
            assert headers["Retry-After"] and 'lang="uk"' in page
        finally:
            server.signal(signal.SIGCONT)
        wait_until(lambda: browser.request(base + "/healthz")[0] == 200, message="healthy")

        server.stop()
        status, _h, _p, seconds = timed(browser, base + "/healthz")
        assert status == 503 and seconds < 2, (status, seconds)
        status, headers, page, _seconds = timed(browser, base + "/bs/partnerships/kyiv")
        assert status == 503 and 'lang="bs"' in page and headers["Retry-After"]
        assert browser.request(base + "/en/about")[0] == 200

        # A quiet restart: the very first request on the worker works (pooled connections
        # are pinged before use).
        server.start()
        assert browser.request(base + "/uk/partnerships/kyiv")[0] == 200, log.read_text()[-3000:]

        # The outage was logged one line per failing request, with few tracebacks.
        text = log.read_text()
        assert text.count("Traceback") <= 3, text[-5000:]
        assert not re.search(r"/apply/status/[\w-]{43}", urllib.parse.unquote(text))


# ---------------------------------------------------------------- a worker killed mid-stream

SUBMISSION_KEY = re.compile(r'name="submission_key"[^>]*?value="([^"]+)"')
APPLICANTS = 24


def answers(url: str) -> bool:
    """True when ``url`` answers 200."""
    with contextlib.suppress(OSError):
        return Browser().request(url)[0] == 200
    return False


def send_application(base: str, number: int) -> int:
    """Fill in and send the form like a person who presses "send" again after an error."""
    browser = Browser()
    status, page = 0, ""
    for _attempt in range(5):  # the worker died while sending the form: load it again
        with contextlib.suppress(OSError):
            status, _headers, page = browser.request(base + "/en/apply")
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200
    data = {
        "csrf_token": re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page).group(1),
        "submission_key": SUBMISSION_KEY.search(page).group(1),
        **valid_application(email=f"applicant{number}@example.org"),
    }
    for _attempt in range(5):
        try:
            status, _headers, _page = browser.request(base + "/en/apply", data)
        except OSError:  # the worker died under the request: the connection was cut
            status = 0
        if status == 303:
            return status
        time.sleep(0.2)
    return status


def test_a_worker_killed_during_submissions_loses_and_doubles_nothing(tmp_path, smtp_server):
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import create_engine, text

    port = free_port()
    database = f"sqlite:///{tmp_path / 'lepsite.sqlite'}"
    env = app_env(
        tmp_path / "instance",
        database,
        port,
        LEPSITE_WORKERS="2",
        LEPSITE_MAIL_SERVER="127.0.0.1",
        LEPSITE_MAIL_PORT=str(smtp_server.port),
    )
    flask(env, "db", "upgrade")
    subprocess.run(
        [str(BIN / "flask"), "--app", "lepsite", "users", "create", "--email", "kyiv@example.org",
         "--name", "Kyiv", "--role", "coordinator", "--partnership", "kyiv", "--password-stdin"],
        cwd=tmp_path, env=env, input="violet tractor under a quiet bridge\n", text=True,
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    with contextlib.ExitStack() as stack:
        log = tmp_path / "gunicorn.log"
        master = start(stack, GUNICORN, log, cwd=tmp_path, env=env)
        start(stack, [str(BIN / "flask"), "--app", "lepsite", "mail", "worker"],
              tmp_path / "mail-worker.log", cwd=tmp_path, env=env)  # fmt: skip
        wait_for_port(port, master, log)
        wait_until(lambda: len(worker_pids(master.pid)) == 2, message="two workers")
        base = f"http://127.0.0.1:{port}"
        # Workers load the site after they start (seconds on a busy machine): wait for it, so
        # the form's requests do not time out before any worker could answer.
        wait_until(lambda: answers(base + "/healthz"), timeout=60, message="the site")

        with ThreadPoolExecutor(max_workers=6) as pool:
            results = [pool.submit(send_application, base, n) for n in range(APPLICANTS)]
            time.sleep(0.3)
            os.kill(worker_pids(master.pid)[0], signal.SIGKILL)
            statuses = [result.result(timeout=60) for result in results]
        assert statuses == [303] * APPLICANTS, log.read_text()[-3000:]

        engine = create_engine(database)
        with engine.connect() as connection:
            emails = connection.execute(text("SELECT email FROM applications")).scalars().all()
        engine.dispose()
        assert sorted(emails) == sorted(f"applicant{n}@example.org" for n in range(APPLICANTS))

        # Each applicant and the coordinator hear once about each application.
        wait_until(lambda: len(smtp_server.messages) >= 2 * APPLICANTS, 60, "all mail")
        time.sleep(1.5)  # and nothing more arrives
        received = [(message["To"], message["Subject"]) for message in smtp_server.messages]
        assert len(received) == len(set(received)) == 2 * APPLICANTS
