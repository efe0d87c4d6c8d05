"""Load-test lepsite under gunicorn with wrk and print the results as a Markdown table.

Run from anywhere with the project's virtualenv: ``.venv/bin/python bench/run.py``. It builds a
throw-away instance (SQLite by default), adds 100,000 applications, starts ``gunicorn -w 2``
on a free loopback port, drives each page with wrk, then the repository's nginx configuration
in front of it (a public page from nginx's cache beside the same bytes from disk), and stops
everything again, also on Ctrl-C. Standard library only; needs ``wrk`` (Debian package
``wrk``), and ``nginx`` for the nginx rows. See bench/README.md.
"""

# Every command below is a fixed argument list run without a shell.
# ruff: noqa: S603

import argparse
import base64
import hmac
import html
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from common import ADMIN, COORDINATOR, PASSWORD, ROOT, SECRET_KEY, flask, load_average, machine

LANGUAGES = ("en", "bs", "uk")
# Sessions are bound to the browser (Flask-Login "strong" protection): wrk must send the same
# User-Agent as the sign-in did, or the cookie is ignored.
USER_AGENT = "lepsite-bench/1"
COORDINATOR_PARTNERSHIP = "kyiv"
# Both accounts sign in with a second factor (admins must): a throw-away TOTP key.
TOTP_SECRET = "LEPSITEBENCHTOTPKEYNOTFORUSE2345"  # noqa: S105
CONFIG = ROOT / "gunicorn.conf.py"
NGINX_CONFIG = ROOT / "deploy" / "nginx" / "lepsite.conf"
NGINX_TURNS = 3


@dataclass
class Target:
    """One row of the table: a page, and who asks for it."""

    label: str
    path: str
    cookie: str = ""


@dataclass
class Result:
    """What wrk measured for one target."""

    target: Target
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    errors: str


# ---------------------------------------------------------------- set-up


def parse_args(argv=None) -> argparse.Namespace:
    """The command line; ``--help`` describes it."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (-c)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (-t)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--applications", type=int, default=100_000, help="applications to seed (0: none)"
    )
    parser.add_argument(
        "--database-uri",
        default="",
        help="SQLAlchemy URI of an EMPTY database to use instead of a temporary SQLite file, "
        "e.g. postgresql+psycopg://lepsite:lepsite@127.0.0.1/lepsite_bench",
    )
    parser.add_argument(
        "--wipe-database",
        action="store_true",
        help="drop every table in --database-uri first, if it is not empty",
    )
    parser.add_argument(
        "--latency-connections",
        type=int,
        default=1,
        help="also measure the admin pages with this few connections (no queueing); 0: skip",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return parser.parse_args(argv)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_is_empty(env: dict, wipe: bool) -> bool:
    """True if the configured database has no tables (after dropping them when ``wipe``)."""
    script = (
        "import sys\n"
        "from sqlalchemy import MetaData, inspect\n"
        "from lepsite import create_app\n"
        "from lepsite.extensions import db\n"
        "with create_app().app_context():\n"
        "    if inspect(db.engine).get_table_names() and sys.argv[1] == 'wipe':\n"
        "        meta = MetaData()\n"
        "        meta.reflect(db.engine)\n"
        "        meta.drop_all(db.engine)\n"
        "    print(len(inspect(db.engine).get_table_names()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "wipe" if wipe else "check"],
        cwd=Path(env["LEPSITE_INSTANCE_PATH"]).parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"cannot reach the database:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1] == "0"


def longest_pages() -> dict[str, str]:
    """Per language, the path of its longest top-level content page (by file size)."""
    chosen = {}
    for lang in LANGUAGES:
        pages = [p for p in (ROOT / "content" / lang).glob("*.md") if p.stem != "index"]
        longest = max(pages, key=lambda page: page.stat().st_size)
        chosen[lang] = f"/{lang}/{longest.stem}"
    return chosen


def prepare(args, env: dict) -> None:
    """Schema, the two accounts, then the applications (routed to those accounts)."""
    flask(env, "db", "upgrade")
    for email, role, extra in (
        (ADMIN, "admin", []),
        (COORDINATOR, "coordinator", ["--partnership", COORDINATOR_PARTNERSHIP]),
    ):
        flask(
            env,
            "users",
            "create",
            "--email",
            email,
            "--name",
            f"Bench {role}",
            "--role",
            role,
            *extra,
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
    turn_on_second_factor(env)
    if args.applications:
        print(f"seeding {args.applications:,} applications …", flush=True)
        output = flask(
            env, "demo", "seed-bulk", "--applications", str(args.applications), debug=True
        )
        print("  " + output.strip().splitlines()[-1], flush=True)


def turn_on_second_factor(env: dict) -> None:
    """Give every account the bench's TOTP key, as a confirmed set-up would."""
    script = (
        "import sys\n"
        "from sqlalchemy import select\n"
        "from lepsite import create_app\n"
        "from lepsite.accounts.two_factor import TwoFactor\n"
        "from lepsite.extensions import db\n"
        "from lepsite.models import User, utcnow\n"
        "with create_app().app_context():\n"
        "    for user in db.session.scalars(select(User)):\n"
        "        row = TwoFactor(user_id=user.id, secret=sys.argv[1], enabled_at=utcnow())\n"
        "        db.session.merge(row)\n"
        "    db.session.commit()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, TOTP_SECRET],
        cwd=Path(env["LEPSITE_INSTANCE_PATH"]).parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"cannot set up the second factor:\n{done.stderr}")


def totp(secret: str) -> str:
    """The code an authenticator app shows now (RFC 6238: SHA-1, 30 s, 6 digits)."""
    key = base64.b32decode(secret)
    digest = hmac.digest(key, (int(time.time()) // 30).to_bytes(8, "big"), "sha1")
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


# ---------------------------------------------------------------- the server


class Server:
    """gunicorn in its own process group, so Ctrl-C reaches us first and we stop it cleanly."""

    def __init__(self, env: dict, workers: int, log_path: Path):
        self.port = free_port()
        self.base = f"127.0.0.1:{self.port}"
        self.log = open(log_path, "wb")  # noqa: SIM115 (closed in stop())
        # As production starts it: the factory, and the project's gunicorn.conf.py named
        # explicitly (-w and -b win over it), from a folder outside the project.
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(CONFIG),
                "-w",
                str(workers),
                "-b",
                self.base,
                "lepsite:create_app()",
            ],
            cwd=log_path.parent,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        """Return once /healthz answers 200; fail if gunicorn dies or takes too long."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {self.process.returncode}")
            try:
                if request(self.base, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /healthz in time")

    def worker_pids(self) -> list[int]:
        """The worker processes: the children of the gunicorn master."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The parent pid is the second field after the parenthesised command name.
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                pids.append(int(entry.name))
        return sorted(pids)

    def stop(self) -> None:
        """SIGTERM and wait for a graceful exit; SIGKILL the group if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: workers finish, then exit
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


class Nginx:
    """The repository's nginx configuration in front of the app, as plain HTTP on loopback.

    Only what cannot run here is changed: the ports, TLS (gone: certificates, and the handshake
    costs both nginx rows alike), the site's name (127.0.0.1, the app's LEPSITE_BASE_URL) and
    the folders. /srv/lepsite/static/ becomes a folder of ours holding the page's bytes.
    """

    def __init__(self, folder: Path, app_port: int):
        self.folder = folder
        self.port, redirect_port = free_port(), free_port()
        self.base = f"127.0.0.1:{self.port}"
        for name in ("cache", "temp", "site/static"):
            (folder / name).mkdir(parents=True)
        text = NGINX_CONFIG.read_text()
        text = re.sub(r"^\s*listen \[::\].*\n", "", text, flags=re.MULTILINE)
        text = re.sub(r"^\s*ssl_\w+ .*\n", "", text, flags=re.MULTILINE)
        text = text.replace("listen 443 ssl http2", f"listen 127.0.0.1:{self.port}")
        text = text.replace("listen 80", f"listen 127.0.0.1:{redirect_port}")
        text = text.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
        text = text.replace("lep.example.org", "127.0.0.1")
        text = text.replace("/srv/lepsite/", f"{folder / 'site'}/")
        text = text.replace("/var/lib/nginx/lepsite-cache", str(folder / "cache"))
        text = text.replace("/var/log/nginx/access.log", str(folder / "access.log"))
        # The page's bytes as a file in the same server, with nothing of its own: logged and
        # headed as the public pages are (the /static/ location logs nothing), so the two
        # rows differ only by the cache.
        (folder / "pages" / "bench").mkdir(parents=True)
        text = text.replace(
            "    location /static/ {",
            f"    location = /bench/page.html {{\n        root {folder / 'pages'};\n    }}\n\n"
            "    location /static/ {",
            1,
        )
        (folder / "lepsite.conf").write_text(text)
        temp = "".join(
            f"    {kind}_temp_path {folder / 'temp' / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        # As root, workers run as root too: the cache lives in our private temporary folder.
        user = "user root;\n" if os.geteuid() == 0 else ""
        # The http settings of Debian's /etc/nginx/nginx.conf that change speed.
        (folder / "nginx.conf").write_text(
            f"daemon off;\n{user}worker_processes auto;\npid {folder / 'nginx.pid'};\n"
            f"error_log {folder / 'error.log'} warn;\n"
            "events { worker_connections 1024; }\n"
            f"http {{\n    include /etc/nginx/mime.types;\n{temp}"
            "    sendfile on;\n    tcp_nopush on;\n"
            f"    include {folder / 'lepsite.conf'};\n}}\n"
        )
        self.log = open(folder / "nginx.out", "wb")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [nginx_binary(), "-p", str(folder), "-e", str(folder / "error.log"),
             "-c", str(folder / "nginx.conf")],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def serve_from_disk(self, name: str, body: bytes) -> str:
        """Put ``body`` where nginx serves static files; returns its path."""
        (self.folder / "site" / "static" / name).write_bytes(body)
        return f"/static/{name}"

    def serve_as_page(self, body: bytes) -> str:
        """Put ``body`` in the file location logged like a public page; returns its path."""
        (self.folder / "pages" / "bench" / "page.html").write_bytes(body)
        return "/bench/page.html"

    def wait_ready(self, timeout: float = 20) -> None:
        """Return once nginx listens; fail if it exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.folder / 'error.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start in time")

    def stop(self) -> None:
        """SIGQUIT (graceful), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def nginx_binary() -> str | None:
    """nginx, also where Debian puts it (/usr/sbin, often not on a user's PATH)."""
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if Path(path).exists()), None
    )


# ---------------------------------------------------------------- HTTP with the standard library


def request(base: str, method: str, path: str, headers=None, body: str | None = None):
    """One request; returns (status, headers as a list of pairs, body as text)."""
    host, port = base.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request(
            method, path, body=body, headers={"User-Agent": USER_AGENT, **(headers or {})}
        )
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read().decode("utf-8", "replace")
    finally:
        connection.close()


class Browser:
    """Keeps cookies across requests, as a browser would."""

    def __init__(self, base: str):
        self.base = base
        self.cookies: dict[str, str] = {}

    def cookie_header(self) -> str:
        """The cookies as a ``Cookie`` header value."""
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def send(self, method: str, path: str, form: dict | None = None):
        """One request with the cookies; returns (status, body, whether cookies changed)."""
        headers = {"Cookie": self.cookie_header()} if self.cookies else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, response_headers, text = request(self.base, method, path, headers, body)
        changed = False
        for name, value in response_headers:
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
                changed = True
        return status, text, changed

    def form(self, path: str) -> str:
        """The CSRF token of the form at ``path``."""
        status, page, _ = self.send("GET", path)
        token = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page)
        if status != 200 or not token:
            raise RuntimeError(f"no form at {path} (status {status})")
        return html.unescape(token.group(1))

    def sign_in(self, email: str) -> None:
        """Sign in through the forms (password, then the code), then settle the session (it
        gains a CSRF token on the first admin page, which the browser would store and send
        from then on)."""
        form = {"csrf_token": self.form("/admin/login"), "email": email, "password": PASSWORD}
        status, _, _ = self.send("POST", "/admin/login", form)
        if status != 303:
            raise RuntimeError(f"sign-in as {email} failed with status {status}")
        form = {"csrf_token": self.form("/admin/login/code"), "code": totp(TOTP_SECRET)}
        status, _, _ = self.send("POST", "/admin/login/code", form)
        if status != 303:
            raise RuntimeError(f"the second step of {email}'s sign-in failed ({status})")
        for _ in range(3):
            if not self.send("GET", "/admin/applications/")[2]:
                return
        print(f"warning: the session of {email} changes on every request", file=sys.stderr)


# ---------------------------------------------------------------- wrk

LUA = """\
wrk.headers["User-Agent"] = "{user_agent}"
{cookie_line}
done = function(summary, latency, requests)
  io.write(string.format("BENCH p50=%d p95=%d p99=%d requests=%d\\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.requests))
end
"""

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(base: str, target: Target, args, folder: Path, connections: int) -> Result:
    """Drive one page with wrk and read its numbers (percentiles from the Lua ``done``)."""
    script = folder / "bench.lua"
    cookie_line = f'wrk.headers["Cookie"] = "{target.cookie}"' if target.cookie else ""
    script.write_text(LUA.format(user_agent=USER_AGENT, cookie_line=cookie_line))
    threads = min(args.threads, connections)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{args.duration}s",
        "--latency",
        "-s",
        str(script),
        f"http://{base}{target.path}",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    # wrk's own distribution has 50/75/90/99 %; the Lua hook adds 95 % (values in µs).
    lua = re.search(r"BENCH p50=(\d+) p95=(\d+) p99=(\d+) requests=(\d+)", output)
    distribution = {
        int(p): float(v) * UNITS[u]
        for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    }
    p50 = distribution.get(50, int(lua.group(1)) / 1000)
    p99 = distribution.get(99, int(lua.group(3)) / 1000)
    p95 = int(lua.group(2)) / 1000
    problems = re.findall(r"(Socket errors: .*|Non-2xx or 3xx responses: \d+)", output)
    return Result(target, rate, p50, p95, p99, int(lua.group(4)), "; ".join(problems))


# ---------------------------------------------------------------- nginx


def fetch(base: str, path: str) -> tuple[int, dict, bytes]:
    """One GET: (status, headers, body as bytes)."""
    host, port = base.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("GET", path, headers={"User-Agent": USER_AGENT})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def measure_nginx(nginx: Nginx, page: str, args, folder: Path) -> list[Result]:
    """A public page from nginx's cache, beside the same bytes as a file nginx serves."""
    status, _headers, body = fetch(nginx.base, page)  # a MISS: fills the cache
    if status != 200:
        raise RuntimeError(f"{page} through nginx answers {status}; see {nginx.folder}")
    verdict = fetch(nginx.base, page)[1].get("X-Cache-Status")
    if verdict != "HIT":
        raise RuntimeError(f"{page} is not served from nginx's cache ({verdict})")
    static = nginx.serve_from_disk("bench-page.html", body)
    logged = nginx.serve_as_page(body)
    for path in (static, logged):
        if fetch(nginx.base, path)[2] != body:
            raise RuntimeError(f"nginx does not serve {path} as written")
    # The goal's reference comes first: the file logged and headed like a public page.
    targets = (
        Target(f"`{page}`'s bytes from disk, logged like a page", logged),
        Target(f"`{page}` from nginx's cache", page),
        Target(f"`{page}`'s bytes from disk in `/static/` (not logged)", static),
    )
    # The two are compared with each other: taken in turns, three times, the best of each, so
    # a burst of other work on the machine does not land on one of them only.
    best: dict[str, Result] = {}
    for turn in range(1, NGINX_TURNS + 1):
        for target in targets:
            print(f"  wrk nginx ({turn}/{NGINX_TURNS}): {target.label} …", flush=True)
            result = run_wrk(nginx.base, target, args, folder, args.connections)
            kept = best.get(target.path)
            if kept is None or result.requests_per_second > kept.requests_per_second:
                best[target.path] = result
    return [best[target.path] for target in targets]


# ---------------------------------------------------------------- CSV export


def vm_kib(pid: int, field: str) -> int:
    """A memory figure (``VmRSS``, ``VmHWM``) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure_export(server: Server, browser: Browser) -> dict:
    """Download the full CSV export once, watching the workers' memory while it streams."""
    pids = server.worker_pids()
    before = {pid: vm_kib(pid, "VmRSS") for pid in pids}
    hwm_before = {pid: vm_kib(pid, "VmHWM") for pid in pids}
    peaks = dict(before)
    streaming = threading.Event()
    streaming.set()

    def sample() -> None:
        while streaming.is_set():
            for pid in pids:
                peaks[pid] = max(peaks[pid], vm_kib(pid, "VmRSS"))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    host, port = server.base.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    started = time.perf_counter()
    try:
        connection.request(
            "GET",
            "/admin/applications/export.csv",
            headers={"User-Agent": USER_AGENT, "Cookie": browser.cookie_header()},
        )
        response = connection.getresponse()
        size, lines, chunk = 0, 0, b"x"
        while chunk:
            chunk = response.read(64 * 1024)
            size += len(chunk)
            lines += chunk.count(b"\n")
        status = response.status
    finally:
        elapsed = time.perf_counter() - started
        connection.close()
        streaming.clear()
        sampler.join()
    busiest = max(pids, key=lambda pid: peaks[pid] - before[pid])
    return {
        "status": status,
        "seconds": elapsed,
        "megabytes": size / 1e6,
        "lines": lines,
        "rss_before_mb": before[busiest] / 1024,
        "rss_peak_mb": peaks[busiest] / 1024,
        "hwm_before_mb": hwm_before[busiest] / 1024,
        "hwm_after_mb": vm_kib(busiest, "VmHWM") / 1024,
    }


# ---------------------------------------------------------------- report


def table(results: list[Result], floor: float, against: str = "× floor") -> str:
    """The results as a Markdown table, each rate also as a ratio to the floor's."""
    lines = [
        f"| page | path | req/s | {against} | p50 ms | p95 ms | p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = r.requests_per_second / floor if floor else 0
        note = f" ⚠ {r.errors}" if r.errors else ""
        lines.append(
            f"| {r.target.label}{note} | `{r.target.path}` | {r.requests_per_second:,.0f} "
            f"| {ratio:.2f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p99_ms:.1f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def interrupt(signum, frame) -> None:
    """A polite kill ends the run as cleanly as Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv=None) -> int:
    """Set up, measure, report, clean up; the exit status is 0 when every step worked."""
    args = parse_args(argv)
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian/Ubuntu: apt-get install wrk)")
    signal.signal(signal.SIGTERM, interrupt)
    folder = Path(tempfile.mkdtemp(prefix="lepsite-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEPSITE_", "FLASK_"))}
    env.update(
        LEPSITE_INSTANCE_PATH=str(folder / "instance"),
        LEPSITE_SECRET_KEY=SECRET_KEY,
        # The server's port is chosen later; the host is what requests are checked against.
        LEPSITE_BASE_URL="http://127.0.0.1",
        LEPSITE_RATELIMIT_ENABLED="false",
    )
    database = urllib.parse.urlsplit(args.database_uri).scheme if args.database_uri else "sqlite"
    server = nginx = None
    try:
        if args.database_uri:
            env["LEPSITE_SQLALCHEMY_DATABASE_URI"] = args.database_uri
            if not database_is_empty(env, args.wipe_database):
                sys.exit("the database is not empty; use an empty one or add --wipe-database")
        prepare(args, env)
        server = Server(env, args.workers, folder / "gunicorn.log")
        server.wait_ready()
        admin, coordinator = Browser(server.base), Browser(server.base)
        admin.sign_in(ADMIN)
        coordinator.sign_in(COORDINATOR)
        listing = admin.send("GET", "/admin/applications/")[1]
        shown = re.search(r"([\d,.\s ]+) applications", listing)
        rows = shown.group(1).strip() if shown else "?"
        coordinator_rows = re.search(
            r"([\d,.\s ]+) applications", coordinator.send("GET", "/admin/applications/")[1]
        )
        coordinator_rows = coordinator_rows.group(1).strip() if coordinator_rows else "?"

        # /healthz writes to the database and the disk (fsync) each time: robots.txt is the
        # framework's floor (routing, the response hooks, a tiny answer, no database).
        targets = [
            Target("framework floor", "/robots.txt"),
            Target("health check (writes)", "/healthz"),
        ]
        for lang, path in longest_pages().items():
            targets.append(Target(f"longest content page ({lang})", path))
        targets.append(Target("application form", "/en/apply"))
        admin_targets = [
            Target(f"admin list ({rows} rows)", "/admin/applications/", admin.cookie_header()),
            Target(
                f"coordinator list ({coordinator_rows} of {rows})",
                "/admin/applications/",
                coordinator.cookie_header(),
            ),
            Target("admin dashboard (counts)", "/admin/", admin.cookie_header()),
        ]
        for target in targets + admin_targets:
            headers = {"Cookie": target.cookie} if target.cookie else {}
            status = request(server.base, "GET", target.path, headers)[0]
            if status != 200:
                raise RuntimeError(f"{target.path} answers {status}, not 200; see {folder}")

        print(f"\n{machine()}; {load_average()} before the runs")
        print(
            f"gunicorn -w {args.workers} (sync), {database}, wrk -t{args.threads} "
            f"-c{args.connections} -d{args.duration}s on the same machine\n",
            flush=True,
        )
        results = []
        for target in targets + admin_targets:
            print(f"  wrk {target.label} …", flush=True)
            results.append(run_wrk(server.base, target, args, folder, args.connections))
        floor = results[0].requests_per_second
        quiet = []
        if args.latency_connections:
            for target in admin_targets[:2]:
                print(f"  wrk -c{args.latency_connections} {target.label} …", flush=True)
                quiet.append(run_wrk(server.base, target, args, folder, args.latency_connections))
        edge = []
        if nginx_binary():
            nginx = Nginx(folder / "nginx", server.port)
            nginx.wait_ready()
            edge = measure_nginx(nginx, longest_pages()["en"], args, folder)
        else:
            print("  nginx is not installed (Debian: apt-get install nginx-light): skipped")
        print("  CSV export …", flush=True)
        export = measure_export(server, admin)
        if admin.send("GET", "/admin/applications/")[0] != 200:
            raise RuntimeError("the admin session ended during the run; numbers are invalid")

        print(f"\n{load_average()} after the runs")
        print(f"\n### {database}, {args.connections} connections\n")
        print(table(results, floor))
        if quiet:
            print(f"\n### {database}, admin pages with {args.latency_connections} connection(s)\n")
            print(table(quiet, floor))
        if edge:
            print(f"\n### nginx in front of gunicorn, {args.connections} connections\n")
            print(table(edge, edge[0].requests_per_second, against="× from disk"))
        form, health = (
            next(r for r in results if r.target.path == path).requests_per_second
            for path in ("/en/apply", "/healthz")
        )
        goals = (
            f"application form {form / health:.2f} × /healthz (≥ 0.5), "
            f"{form / floor:.2f} × the floor"
        )
        if edge:
            ratio = edge[1].requests_per_second / edge[0].requests_per_second
            goals += f"; the page from nginx's cache {ratio:.2f} × from disk (≥ 0.8)"
        print(f"\nGoals: {goals}")
        print(
            f"\nCSV export (admin, all rows): status {export['status']}, {export['lines'] - 1:,} "
            f"rows, {export['megabytes']:.1f} MB in {export['seconds']:.1f} s; worker RSS "
            f"{export['rss_before_mb']:.0f} MB before, peak {export['rss_peak_mb']:.0f} MB "
            f"during (VmHWM {export['hwm_before_mb']:.0f} → {export['hwm_after_mb']:.0f} MB)"
        )
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; stopping gunicorn", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip this
        if nginx is not None:
            nginx.stop()
        if server is not None:
            server.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if args.keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
