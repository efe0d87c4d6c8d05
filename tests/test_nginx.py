"""The repository's nginx configuration, run for real in front of gunicorn on loopback.

``deploy/nginx/lepsite.conf`` is started as it is, with only its addresses, names, paths and
certificate swapped for test ones: what passes here is what operators install. gunicorn and
``flask`` run from a folder outside the repository, as from an installed package.

Where the app never says what a test needs (a private page marked public, a public page that
sets a cookie, a page that expires within a second), a small stand-in app on loopback says it,
so the configuration's own rules are what is checked.
"""

import contextlib
import html
import http.server
import os
import pwd
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from conftest import free_port, require
from test_production import GUNICORN, start, wait_for_port

pytestmark = pytest.mark.production

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONFIG = REPO / "deploy" / "nginx" / "lepsite.conf"
NAME = "lep.test"
TOKEN = "S3cretStatusToken_" + "x" * 25
PASSWORD = "correct horse battery staple"
COORDINATOR = "kyiv@example.org"
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
# Debian puts nginx in /usr/sbin, which a non-root PATH may lack.
NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx",) if Path(path).exists()), None
)


def site_config(root: Path, app_port: int, http_port: int, https_port: int) -> str:
    """The repository's configuration with test addresses, names and paths."""
    text = CONFIG.read_text()
    text = re.sub(r"^\s*listen \[::\].*\n", "", text, flags=re.MULTILINE)  # loopback v4 only
    text = text.replace("listen 80", f"listen 127.0.0.1:{http_port}")
    text = text.replace("listen 443", f"listen 127.0.0.1:{https_port}")
    text = text.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
    text = text.replace("/etc/letsencrypt/live/lep.example.org", str(root))
    text = text.replace("lep.example.org", NAME)
    text = text.replace("/srv/lepsite/", f"{REPO}/")
    text = text.replace("/var/lib/nginx/lepsite-cache", str(root / "cache"))
    return text.replace("/var/log/nginx/access.log", str(root / "access.log"))


def main_config(root: Path) -> str:
    temp = "\n".join(
        f"    {kind}_temp_path {root / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                          "uwsgi", "scgi")
    )  # fmt: skip
    # Workers run as whoever runs the test (root in CI), so they can enter the test's private
    # temporary folders, where the cache lives.
    user = pwd.getpwuid(os.getuid()).pw_name
    return f"""
daemon off;
user {user};
worker_processes 1;
pid {root / "nginx.pid"};
error_log {root / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {root / "access.log"};
{temp}
    include {root / "lepsite.conf"};
}}
"""


def request(
    port: int,
    host: str,
    path: str,
    sni: str | None = None,
    headers: str = "",
    method="GET",
    body: bytes = b"",
    timeout: float = 5,
):
    """(status, head, body) of a request, or None when nginx closes without answering (444)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if sni:
        context = ssl.create_default_context(cafile=str(ROOT / "fullchain.pem"))
        raw = context.wrap_socket(raw, server_hostname=sni)
    with raw as connection:
        connection.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{headers}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    if not data:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, head.decode(), body


def header(head: str, name: str) -> str | None:
    """The first value of a response header, or None."""
    found = re.search(rf"^{re.escape(name)}: *(.*?)\r?$", head, re.IGNORECASE | re.MULTILINE)
    return found.group(1) if found else None


def cookies(head: str, jar: dict | None = None) -> dict:
    """``jar`` (name: value) updated with the cookies a response sets."""
    found = re.findall(r"^Set-Cookie: *([^=;\s]+)=([^;\r\n]*)", head, re.I | re.M)
    return {**(jar or {}), **dict(found)}


def cookie_line(jar: dict) -> str:
    """The ``Cookie`` request header for ``jar``."""
    return "Cookie: " + "; ".join(f"{name}={value}" for name, value in jar.items()) + "\r\n"


def get(port: int, path: str, headers: str = ""):
    """A GET over HTTPS to the site's name: (status, head, body)."""
    return request(port, NAME, path, sni=NAME, headers=headers)


def wait_for_app(port: int, process: subprocess.Popen, log: Path) -> None:
    """Return once gunicorn's worker answers (it loads the site after the port opens)."""
    wait_for_port(port, process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if request(port, NAME, "/healthz", timeout=30) is not None:
                return
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer:\n{log.read_text()}")


ROOT: Path = Path()


def app_env(root: Path, app_port: int) -> dict:
    """The environment of the app server behind nginx (one worker)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LEPSITE_")}
    env.update(
        LEPSITE_SECRET_KEY=SECRET_KEY,
        LEPSITE_BASE_URL=f"https://{NAME}",
        LEPSITE_PROXY_COUNT="1",
        LEPSITE_WORKERS="1",
        LEPSITE_BIND=f"127.0.0.1:{app_port}",
        LEPSITE_INSTANCE_PATH=str(root / "instance"),
        # The coordinator signs in with the password alone (tests/test_two_factor.py has codes).
        LEPSITE_TWO_FACTOR_FOR_COORDINATORS="false",
    )
    return env


SECRET_KEY = secrets.token_hex(32)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    """gunicorn and nginx; yields the HTTP and HTTPS ports."""
    global ROOT
    require(bool(NGINX), "nginx (Debian package nginx-light)")
    require(bool(shutil.which("openssl")), "openssl")
    require((BIN / "gunicorn").exists(), "gunicorn in the virtualenv")
    ROOT = root = tmp_path_factory.mktemp("nginx")
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (root / kind).mkdir(mode=0o777)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(root / "privkey.pem"), "-out", str(root / "fullchain.pem"),
         "-subj", f"/CN={NAME}", "-addext", f"subjectAltName=DNS:{NAME}"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    app_port, http_port, https_port = free_port(), free_port(), free_port()
    (root / "lepsite.conf").write_text(site_config(root, app_port, http_port, https_port))
    (root / "nginx.conf").write_text(main_config(root))
    env = app_env(root, app_port)
    with contextlib.ExitStack() as stack:
        # From a folder outside the repository: nothing may depend on the working directory.
        subprocess.run(
            [str(BIN / "flask"), "--app", "lepsite", "db", "upgrade"],
            cwd=root, env=env, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        subprocess.run(
            [str(BIN / "flask"), "--app", "lepsite", "users", "create", "--email", COORDINATOR,
             "--name", "Kyiv Coordinator", "--role", "coordinator", "--partnership", "kyiv",
             "--password-stdin"],
            cwd=root, env=env, input=PASSWORD + "\n", text=True, check=True,
            capture_output=True, timeout=60,
        )  # fmt: skip
        gunicorn = start(stack, GUNICORN, root / "gunicorn.log", cwd=root, env=env)
        nginx = start(
            stack,
            [NGINX, "-p", str(root), "-e", str(root / "error.log"), "-c",
             str(root / "nginx.conf")],
            root / "nginx.out",
        )  # fmt: skip
        wait_for_app(app_port, gunicorn, root / "gunicorn.log")
        wait_for_port(https_port, nginx, root / "error.log")
        yield {"http": http_port, "https": https_port, "root": root}


def test_the_configuration_is_valid(proxy):
    result = subprocess.run(
        [NGINX, "-t", "-p", str(proxy["root"]), "-e", str(proxy["root"] / "error.log"),
         "-c", str(proxy["root"] / "nginx.conf")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_the_site_is_served_over_https(proxy):
    status, head, body = request(proxy["https"], NAME, "/en/about", sni=NAME)
    assert status == 200 and b"<html" in body
    assert "nginx/" not in head  # server_tokens off


def test_a_foreign_host_gets_no_answer(proxy):
    assert request(proxy["https"], "evil.example", "/en/about", sni=NAME) is None
    assert request(proxy["http"], "evil.example", "/en/about") is None


def test_an_unknown_name_gets_no_certificate(proxy):
    with pytest.raises(ssl.SSLError):
        request(proxy["https"], "evil.example", "/en/about", sni="evil.example")


def test_plain_http_goes_to_the_sites_own_address(proxy):
    status, head, _body = request(proxy["http"], NAME, "/en/about?x=1")
    assert status == 301
    assert f"Location: https://{NAME}/en/about?x=1" in head


def written_log(path: Path, last: str) -> str:
    """The access log once ``last`` is in it: nginx writes it in batches, a second late."""
    deadline = time.monotonic() + 5
    while last not in (text := path.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return text


def test_private_paths_keep_queries_referers_and_secret_links_out_of_the_log(proxy):
    referer = f"Referer: https://{NAME}/en/apply/status/{TOKEN}\r\n"
    request(proxy["https"], NAME, "/admin/login?next=/admin/applications/", NAME, referer)
    request(proxy["https"], NAME, f"/en/language?next=/en/apply/status/{TOKEN}", NAME, referer)
    request(proxy["https"], NAME, "/en/apply", NAME, referer)
    request(proxy["https"], NAME, f"/en/apply/status/{TOKEN}", NAME)
    request(proxy["https"], NAME, f"/admin/reset/{TOKEN}", NAME)
    request(proxy["https"], NAME, f"/admin/invite/{TOKEN}", NAME)
    request(proxy["https"], NAME, "/en/about", NAME, "Referer: https://example.org/\r\n")
    log = written_log(proxy["root"] / "access.log", "https://example.org/")
    assert '"GET /admin/login HTTP/1.1" 200' in log
    assert '"GET /en/language HTTP/1.1" 302' in log
    assert '"GET /en/apply HTTP/1.1" 200' in log
    assert TOKEN not in log and "next=" not in log
    assert "https://example.org/" in log  # public pages keep the ordinary log format
    # Every line names its request, as the app's log does.
    assert re.search(r'"GET /en/apply HTTP/1.1" 200 .* id=[0-9a-f]{32}$', log, re.MULTILINE)
    assert re.search(r'"GET /en/about HTTP/1.1" 200 .* id=[0-9a-f]{32} cache=\w+$', log, re.M)


def nginx_in_front_of(stack: contextlib.ExitStack, root: Path, app_port: int, **replace) -> int:
    """Another nginx with the repository's configuration (and the proxy's certificate) in
    front of ``app_port``; ``replace`` swaps text in it. Returns its HTTPS port."""
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (root / kind).mkdir(mode=0o777)
    for name in ("fullchain.pem", "privkey.pem"):
        shutil.copy(ROOT / name, root / name)
    http_port, https_port = free_port(), free_port()
    text = site_config(root, app_port, http_port, https_port)
    for old, new in replace.values():
        assert old in text
        text = text.replace(old, new)
    (root / "lepsite.conf").write_text(text)
    (root / "nginx.conf").write_text(main_config(root))
    nginx = start(
        stack,
        [NGINX, "-p", str(root), "-e", str(root / "error.log"), "-c", str(root / "nginx.conf")],
        root / "nginx.out",
    )
    wait_for_port(https_port, nginx, root / "error.log")
    return https_port


@pytest.fixture(scope="module")
def app_not_answering(proxy, tmp_path_factory):
    """HTTPS ports of nginx in front of an app that is down (502) and one that hangs (504)."""
    with contextlib.ExitStack() as stack:
        # A socket that listens but never accepts: the kernel takes the connection and the
        # request, and no answer ever comes, like a worker stuck on a frozen database.
        hanging = stack.enter_context(socket.create_server(("127.0.0.1", 0)))
        down = nginx_in_front_of(stack, tmp_path_factory.mktemp("nginx-down"), free_port())
        slow = nginx_in_front_of(
            stack,
            tmp_path_factory.mktemp("nginx-slow"),
            hanging.getsockname()[1],
            timeout=("proxy_read_timeout 35s;", "proxy_read_timeout 1s;"),
        )
        yield {"down": down, "slow": slow}


UNAVAILABLE = {
    "en": "The site is not answering at the moment",
    "bs": "Stranica trenutno ne odgovara",
    "uk": "Сайт зараз не відповідає",
}
FORM_ADVICE = {
    "en": "Sending the same application form again is safe",
    "bs": "Ponovno slanje istog obrasca prijave je sigurno",
    "uk": "Повторне надсилання тієї самої форми заяви безпечне",
}


@pytest.mark.parametrize("lang", ["uk", "bs", "en"])
def test_an_app_that_is_down_gets_a_page_in_the_visitors_language(app_not_answering, lang):
    port = app_not_answering["down"]
    status, head, body = request(port, NAME, f"/{lang}/about", sni=NAME)
    page = body.decode()
    assert status == 502
    assert f'<html lang="{lang}">' in page and f"<h1>{UNAVAILABLE[lang]}</h1>" in page
    for other in set(UNAVAILABLE) - {lang}:
        assert UNAVAILABLE[other] not in page
    assert "no-store" in head and "Content-Security-Policy: default-src 'none'" in head
    # A form sent to an app that is down: we cannot tell, and sending it again is safe.
    status, _head, body = request(port, NAME, f"/{lang}/apply", sni=NAME, method="POST")
    assert status == 502 and FORM_ADVICE[lang] in body.decode()


def test_the_admin_and_addresses_without_a_language_get_all_three(app_not_answering):
    for path in ("/admin/login", "/", "/sitemap.xml"):
        status, _head, body = request(app_not_answering["down"], NAME, path, sni=NAME)
        page = body.decode()
        assert status == 502, path
        assert all(heading in page for heading in UNAVAILABLE.values()), path
        assert '<html lang="en">' in page and '<section lang="uk">' in page


def test_an_app_too_slow_to_answer_gets_the_translated_page(app_not_answering):
    status, _head, body = request(app_not_answering["slow"], NAME, "/uk/apply", sni=NAME)
    assert status == 504
    assert UNAVAILABLE["uk"] in body.decode()


def test_the_apps_own_error_pages_pass_through(proxy):
    status, _head, body = request(proxy["https"], NAME, "/uk/no-such-page", sni=NAME)
    assert status == 404 and UNAVAILABLE["uk"] not in body.decode()


# ---------------------------------------------------------------- the cache, with the real app


def test_a_public_page_is_stored_and_the_second_request_is_a_hit(proxy):
    path = f"/en/about?visit={secrets.token_hex(4)}"  # an address no other test has asked for
    status, first, body = get(proxy["https"], path)
    assert status == 200
    # What the app says, and nothing that would keep a shared cache from storing it.
    assert header(first, "Cache-Control") == "public, max-age=300"
    assert header(first, "Set-Cookie") is None
    assert "cookie" not in (header(first, "Vary") or "").lower()
    assert header(first, "X-Cache-Status") == "MISS"
    status, second, again = get(proxy["https"], path)
    assert (status, header(second, "X-Cache-Status"), again) == (200, "HIT", body)
    # Each answer carries its own request's id, never the one that filled the cache.
    ids = [header(head, "X-Request-ID") for head in (first, second)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", value or "") for value in ids)
    assert ids[0] != ids[1]


def test_a_client_cannot_push_a_public_page_out_of_the_cache(proxy):
    path = f"/bs/about?visit={secrets.token_hex(4)}"
    get(proxy["https"], path)
    forced = "Cache-Control: no-cache, max-age=0\r\nPragma: no-cache\r\n"
    assert header(get(proxy["https"], path, forced)[1], "X-Cache-Status") == "HIT"


def sign_in(port: int) -> dict:
    """Sign the coordinator in through nginx; returns the browser's cookies."""
    status, head, body = get(port, "/admin/login")
    assert status == 200
    jar = cookies(head)
    token = html.unescape(CSRF.search(body.decode()).group(1))
    form = {"csrf_token": token, "email": COORDINATOR, "password": PASSWORD}
    status, head, _body = request(
        port, NAME, "/admin/login", sni=NAME, method="POST",
        body=urllib.parse.urlencode(form).encode(),
        headers=cookie_line(jar) + f"Referer: https://{NAME}/admin/login\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n",
    )  # fmt: skip
    assert status == 303, head
    return cookies(head, jar)


def test_a_signed_in_page_is_never_stored(proxy):
    jar = sign_in(proxy["https"])
    path = "/admin/applications/"
    # A client asking for a shared copy (or forging one's headers) changes nothing.
    forged = "Cache-Control: public, max-age=300\r\nPragma: cache\r\n"
    for extra in ("", forged, forged):
        status, head, body = get(proxy["https"], path, cookie_line(jar) + extra)
        assert status == 200 and b"Kyiv" in body
        assert header(head, "Cache-Control") == "no-store"
        assert header(head, "X-Cache-Status") is None
    # Without the cookie: the sign-in page, not a stored copy of the list.
    status, head, _body = get(proxy["https"], path, forged)
    assert status == 302 and "/admin/login" in header(head, "Location")


def test_the_form_and_the_status_pages_are_never_stored(proxy):
    for path in ("/en/apply", "/uk/apply/status", f"/bs/apply/status/{TOKEN}", "/healthz"):
        answers = [get(proxy["https"], path) for _ in range(2)]
        for status, head, _body in answers:
            assert status in (200, 404), path
            assert header(head, "Cache-Control") == "no-store", path
            assert header(head, "X-Cache-Status") is None, path
    # Each showing of the form has its own one-time key and its own session.
    forms = [get(proxy["https"], "/en/apply") for _ in range(2)]
    keys = [re.search(rb'name="submission_key"[^>]*value="([^"]+)"', body)[1] for *_, body in forms]
    assert keys[0] != keys[1]
    assert all(header(head, "Set-Cookie") for _status, head, _body in forms)


@pytest.mark.parametrize(("accept", "lang"), [("uk,en;q=0.5", "uk"), ("hr", "bs"), ("", "en")])
def test_the_language_redirect_at_the_root_is_never_stored(proxy, accept, lang):
    for _ in range(2):
        status, head, _body = get(proxy["https"], "/", f"Accept-Language: {accept}\r\n")
        assert status == 302 and header(head, "Location").endswith(f"/{lang}/")
        assert header(head, "X-Cache-Status") is None


def test_what_a_visitor_with_a_session_is_sent_is_not_stored(proxy):
    path = f"/uk/about?visit={secrets.token_hex(4)}"
    session = "Cookie: __Host-session=eyJhbnl0aGluZyI6dHJ1ZX0\r\n"
    assert header(get(proxy["https"], path, session)[1], "X-Cache-Status") == "MISS"
    assert header(get(proxy["https"], path)[1], "X-Cache-Status") == "MISS"
    # Stored pages are the same for everyone: one with a session is served them too.
    assert header(get(proxy["https"], path, session)[1], "X-Cache-Status") == "HIT"
    # Credentials go past the cache.
    basic = "Authorization: Basic eDp5\r\n"
    assert header(get(proxy["https"], path, basic)[1], "X-Cache-Status") == "BYPASS"


def test_stored_pages_outlive_the_app_server(proxy, tmp_path_factory):
    root = tmp_path_factory.mktemp("nginx-app-stops")
    app_port = free_port()
    with contextlib.ExitStack() as stack:
        # A second app server on the first one's instance (already migrated).
        gunicorn = start(stack, GUNICORN, root / "gunicorn.log", cwd=root,
                         env=app_env(proxy["root"], app_port))  # fmt: skip
        port = nginx_in_front_of(stack, root, app_port)
        wait_for_app(app_port, gunicorn, root / "gunicorn.log")
        stored = get(port, "/uk/about")[2]
        assert header(get(port, "/uk/about")[1], "X-Cache-Status") == "HIT"
        gunicorn.terminate()
        gunicorn.wait(timeout=20)
        status, _head, body = get(port, "/uk/about")
        assert status == 200 and body == stored
        status, _head, body = get(port, "/uk/news/")  # never stored: the translated 502
        assert status == 502 and UNAVAILABLE["uk"] in body.decode()


# ---------------------------------------------------------------- the cache's own rules


class StandIn(http.server.ThreadingHTTPServer):
    """An app that calls every page public, numbers its answers and records request ids.

    ``mode``: "ok"; "failing" (503, as the app with its database down); "gone" (the
    connection closed without an answer, as a worker that died).
    """

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), StandInHandler)
        self.mode = "ok"
        self.answers = 0
        self.request_ids: list[str] = []
        self.lock = threading.Lock()


class StandInHandler(http.server.BaseHTTPRequestHandler):
    """Paths choose the answer: ``short`` lives one second, ``sets-cookie`` sets one,
    ``varies`` varies by cookie, ``not-public`` has no "public"."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        server: StandIn = self.server
        if server.mode == "gone":
            self.close_connection = True
            return
        with server.lock:
            server.answers += 1
            number = server.answers
            server.request_ids.append(self.headers.get("X-Request-ID", ""))
        path = urllib.parse.urlsplit(self.path).path
        body = f"{self.path} #{number}".encode()
        self.send_response(503 if server.mode == "failing" else 200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        if server.mode == "failing":
            self.send_header("Cache-Control", "no-store")
        elif "short" in path:
            self.send_header("Cache-Control", "public, max-age=1")
        elif "not-public" in path:
            self.send_header("Cache-Control", "max-age=300")
        else:
            self.send_header("Cache-Control", "public, max-age=300")
        if "sets-cookie" in path:
            self.send_header("Set-Cookie", "session=abc; Path=/; HttpOnly")
        if "varies" in path:
            self.send_header("Vary", "Cookie")
        self.send_header("X-Request-ID", "the-apps-own")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 (http.server's name)
        pass


@pytest.fixture(scope="module")
def stand_in(proxy, tmp_path_factory):
    """nginx with the repository's configuration in front of ``StandIn``."""
    server = StandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with contextlib.ExitStack() as stack:
            root = tmp_path_factory.mktemp("nginx-stand-in")
            port = nginx_in_front_of(stack, root, server.server_address[1])
            yield {"https": port, "server": server}
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def stand_in_ok(stand_in):
    stand_in["server"].mode = "ok"
    yield stand_in
    stand_in["server"].mode = "ok"


def test_the_stand_in_is_stored_where_the_cache_applies(stand_in_ok):
    path = f"/en/page-{secrets.token_hex(4)}"
    first, second = (get(stand_in_ok["https"], path) for _ in range(2))
    assert header(second[1], "X-Cache-Status") == "HIT" and second[2] == first[2]


PRIVATE = [
    "/",
    "/healthz",
    "/admin/",
    "/admin/login?next=/admin/",
    f"/admin/reset/{TOKEN}",
    f"/admin/invite/{TOKEN}",
    "/en/apply",
    "/uk/apply?partnership=kyiv",
    "/bs/apply/status",
    f"/en/apply/status/{TOKEN}",
    "/uk/language?next=/uk/",
]


@pytest.mark.parametrize("path", PRIVATE)
def test_private_addresses_are_never_stored_whatever_the_app_says(stand_in_ok, path):
    first, second = (get(stand_in_ok["https"], path) for _ in range(2))
    assert first[0] == second[0] == 200
    assert header(second[1], "Cache-Control") == "public, max-age=300"
    assert second[2] != first[2]  # the app answered again
    assert header(second[1], "X-Cache-Status") is None


@pytest.mark.parametrize("kind", ["sets-cookie", "varies", "not-public"])
def test_a_response_that_sets_a_cookie_or_is_not_public_is_never_stored(stand_in_ok, kind):
    path = f"/en/{kind}-{secrets.token_hex(4)}"
    first, second = (get(stand_in_ok["https"], path) for _ in range(2))
    assert second[2] != first[2]
    assert header(second[1], "X-Cache-Status") == "MISS"


def test_the_app_gets_the_request_id_the_response_and_the_log_carry(stand_in_ok):
    server = stand_in_ok["server"]
    _status, head, _body = get(stand_in_ok["https"], f"/en/page-{secrets.token_hex(4)}")
    assert header(head, "X-Request-ID") == server.request_ids[-1]
    assert re.fullmatch(r"[0-9a-f]{32}", server.request_ids[-1])
    # A client's own id is not passed on.
    get(stand_in_ok["https"], f"/en/page-{secrets.token_hex(4)}", "X-Request-ID: forged\r\n")
    assert server.request_ids[-1] != "forged"


@pytest.mark.parametrize("mode", ["failing", "gone"])
def test_an_expired_page_is_served_while_the_app_fails(stand_in_ok, mode):
    port, server = stand_in_ok["https"], stand_in_ok["server"]
    path = f"/en/short-{secrets.token_hex(4)}"
    stored = get(port, path)[2]
    time.sleep(2.1)  # the page's max-age=1 is over (nginx counts whole seconds)
    server.mode = mode
    for _ in range(3):
        status, head, body = get(port, path)
        assert (status, body) == (200, stored)
        assert header(head, "X-Cache-Status") in ("STALE", "UPDATING")
    # Pages never stored get the app's own error (503) or the translated page (502).
    status, _head, body = get(port, f"/uk/never-{secrets.token_hex(4)}")
    if mode == "failing":
        assert status == 503
    else:
        assert status == 502 and UNAVAILABLE["uk"] in body.decode()
    # Back up: the stored copy is refreshed in the background.
    server.mode = "ok"
    deadline = time.monotonic() + 5
    while (body := get(port, path)[2]) == stored and time.monotonic() < deadline:
        time.sleep(0.1)
    assert body != stored
