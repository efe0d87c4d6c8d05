"""The repository's nginx configuration, run for real in front of gunicorn on loopback.

``deploy/nginx/lepsite.conf`` is started as it is, with only its addresses, names, paths and
certificate swapped for test ones: what passes here is what operators install.
"""

import contextlib
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port, require
from test_production import start, wait_for_port

pytestmark = pytest.mark.production

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONFIG = REPO / "deploy" / "nginx" / "lepsite.conf"
NAME = "lep.test"
TOKEN = "S3cretStatusToken_" + "x" * 25
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
    return text.replace("/var/log/nginx/access.log", str(root / "access.log"))


def main_config(root: Path) -> str:
    temp = "\n".join(
        f"    {kind}_temp_path {root / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                          "uwsgi", "scgi")
    )  # fmt: skip
    return f"""
daemon off;
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
    port: int, host: str, path: str, sni: str | None = None, headers: str = "", method="GET"
):
    """(status, head, body) of a request, or None when nginx closes without answering (444)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    if sni:
        context = ssl.create_default_context(cafile=str(ROOT / "fullchain.pem"))
        raw = context.wrap_socket(raw, server_hostname=sni)
    with raw as connection:
        connection.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Content-Length: 0\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    if not data:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, head.decode(), body


ROOT: Path = Path()


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
    env = {key: value for key, value in os.environ.items() if not key.startswith("LEPSITE_")}
    env.update(
        LEPSITE_SECRET_KEY=secrets.token_hex(32),
        LEPSITE_BASE_URL=f"https://{NAME}",
        LEPSITE_PROXY_COUNT="1",
        LEPSITE_WORKERS="1",
        LEPSITE_BIND=f"127.0.0.1:{app_port}",
        LEPSITE_INSTANCE_PATH=str(root / "instance"),
    )
    with contextlib.ExitStack() as stack:
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
            cwd=REPO, env=env, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        gunicorn = start(stack, [str(BIN / "gunicorn"), "wsgi:app"], root / "gunicorn.log",
                         cwd=REPO, env=env)  # fmt: skip
        nginx = start(
            stack,
            [NGINX, "-p", str(root), "-e", str(root / "error.log"), "-c",
             str(root / "nginx.conf")],
            root / "nginx.out",
        )  # fmt: skip
        wait_for_port(app_port, gunicorn, root / "gunicorn.log")
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


def test_private_paths_keep_queries_referers_and_secret_links_out_of_the_log(proxy):
    referer = f"Referer: https://{NAME}/en/apply/status/{TOKEN}\r\n"
    request(proxy["https"], NAME, "/admin/login?next=/admin/applications/", NAME, referer)
    request(proxy["https"], NAME, f"/en/language?next=/en/apply/status/{TOKEN}", NAME, referer)
    request(proxy["https"], NAME, "/en/apply", NAME, referer)
    request(proxy["https"], NAME, f"/en/apply/status/{TOKEN}", NAME)
    request(proxy["https"], NAME, f"/admin/reset/{TOKEN}", NAME)
    request(proxy["https"], NAME, f"/admin/invite/{TOKEN}", NAME)
    request(proxy["https"], NAME, "/en/about", NAME, "Referer: https://example.org/\r\n")
    log = (proxy["root"] / "access.log").read_text()
    assert '"GET /admin/login HTTP/1.1" 200' in log
    assert '"GET /en/language HTTP/1.1" 302' in log
    assert '"GET /en/apply HTTP/1.1" 200' in log
    assert TOKEN not in log and "next=" not in log
    assert "https://example.org/" in log  # public pages keep the ordinary log format


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
