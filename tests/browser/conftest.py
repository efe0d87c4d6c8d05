"""A live site on loopback and Debian's Chromium driven by Playwright.

One server serves the whole browser session (starting Chromium and the app per test would
make these tests slow); each test gets a fresh browser context, so cookies never leak between
tests, and makes its own applications, so no test depends on another's data.
"""

import os
import shutil
import threading
from pathlib import Path

import pytest
from conftest import free_port, require
from werkzeug.serving import WSGIRequestHandler, make_server

from lepsite import create_app
from lepsite.accounts import new_user
from lepsite.extensions import db

from .helpers import enrol_everyone, enter_code

CHROMIUM = os.environ.get("LEPSITE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Who signs in to the admin, in which language, for which partnerships.
ACCOUNTS = {
    "admin": ("admin@example.org", "Ada Admin", "admin", (), "en"),
    "admin_uk": ("admin-uk@example.org", "Іван Адміністратор", "admin", (), "uk"),
    "admin_bs": ("admin-bs@example.org", "Emir Administrator", "admin", (), "bs"),
    "kyiv": ("kyiv@example.org", "Оксана Координатор", "coordinator", ("kyiv",), "uk"),
    "bih": ("bih@example.org", "Amra Koordinator", "coordinator", ("bih-lep2",), "bs"),
}


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without its request log or its ``Server`` banner."""

    def log_request(self, *args, **kwargs):
        pass

    def send_header(self, keyword, value):
        if keyword.lower() != "server":
            super().send_header(keyword, value)


class LiveSite:
    """The running app: its base URL and a way to reach its database."""

    def __init__(self, app, base_url: str):
        self.app = app
        self.url = base_url

    def __call__(self, path: str) -> str:
        return self.url + path

    def account(self, name: str) -> str:
        """The e-mail address of one of the ACCOUNTS."""
        return ACCOUNTS[name][0]


@pytest.fixture(scope="session")
def live_site(tmp_path_factory):
    """The site with its real content on a temporary SQLite file, served in a thread."""
    folder = tmp_path_factory.mktemp("live")
    port = free_port()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEPSITE_INSTANCE_PATH", str(folder / "instance"))
        app = create_app(
            {
                "SECRET_KEY": "browser-tests-secret-key-0123456789abcdef",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'site.sqlite'}",
                "RATELIMIT_ENABLED": False,
                "SESSION_COOKIE_SECURE": False,  # plain http on loopback
                "BASE_URL": f"http://127.0.0.1:{port}",
            }
        )
    with app.app_context():
        db.create_all()
        for email, name, role, keys, language in ACCOUNTS.values():
            new_user(email, name, role, PASSWORD, keys, language)
        db.session.commit()
    enrol_everyone(app)  # admins (and by default coordinators) must use two-factor sign-in
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveSite(app, f"http://127.0.0.1:{port}")
    server.shutdown()
    server.server_close()
    thread.join()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless; never a downloaded browser."""
    require(
        Path(CHROMIUM).is_file() and shutil.which(CHROMIUM) is not None,
        f"Chromium not found at {CHROMIUM} (Debian package 'chromium')",
    )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "Playwright for Python is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so fixtures can see whether it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def new_context(browser, live_site, console_errors: list[str]):
    """A browser context that fails fast and records script errors and failed subresources.

    Documents answered with 4xx are left out: the site answers a form with errors with 400.
    """
    context = browser.new_context(base_url=live_site.url, locale="en-GB")
    context.set_default_timeout(5000)

    def on_console(message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            console_errors.append(message.text)

    def on_response(response):
        if response.status >= 400 and response.request.resource_type != "document":
            console_errors.append(f"{response.status} for {response.url}")

    context.on("console", on_console)
    context.on("weberror", lambda error: console_errors.append(str(error.error)))
    context.on("response", on_response)
    return context


@pytest.fixture
def page(browser, live_site, request):
    """A fresh browser tab; a screenshot lands in test-artifacts/ when the test fails.

    Console errors (a blocked script or style under the CSP, say) fail the test too.
    """
    console_errors: list[str] = []
    context = new_context(browser, live_site, console_errors)
    tab = context.new_page()
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        safe_name = "".join(ch if ch.isalnum() else "_" for ch in request.node.nodeid)
        shot = ARTIFACTS / f"{safe_name}.png"
        tab.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failure: {shot}")
    context.close()
    assert not console_errors, f"browser console errors: {console_errors}"


@pytest.fixture
def another_tab(browser, live_site):
    """Return a function that opens a tab in a separate browser (another person's cookies)."""
    contexts = []
    errors: list[str] = []

    def open_tab():
        context = new_context(browser, live_site, errors)
        contexts.append(context)
        return context.new_page()

    yield open_tab
    for context in contexts:
        context.close()
    assert not errors, f"browser console errors: {errors}"


@pytest.fixture
def sign_in(page, live_site):
    """Return a function that signs one of the ACCOUNTS in through the login form."""

    def sign_in_as(name: str, tab=None):
        tab = tab or page
        tab.goto("/admin/login")
        tab.fill("#email", live_site.account(name))
        tab.fill("#password", PASSWORD)
        tab.locator("form button[type=submit]").click()
        enter_code(tab, live_site, live_site.account(name))
        tab.wait_for_url("**/admin/")
        return tab

    return sign_in_as
