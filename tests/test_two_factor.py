"""Two-factor sign-in: set-up with a server-drawn QR code, codes accepted once, recovery codes,
throttled guesses, who must use it, an admin's reset (issue 14, point 3).

Codes are computed with pyotp at moments fixed with time-machine; these tests never use the
conftest shortcut that forgets a user's last accepted step, so the replay guard is the real one.
"""

import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import segno
import time_machine
from conftest import PASSWORD, csrf_token, sign_in
from sqlalchemy import select

from lepsite.accounts.sessions import LoginSession
from lepsite.accounts.two_factor import RecoveryCode, TwoFactor
from lepsite.audit import AuditEvent
from lepsite.extensions import db

CODE_PAGE = "/admin/login/code"


@pytest.fixture(autouse=True)
def clock():
    """Time stands still at the start of a 30-second step, until a test moves it on.

    The start of the *next* step: in the near future, so no cookie signed before the test
    (all are timestamped) seems to come from a later time than the test's own.
    """
    moment = datetime.fromtimestamp(int(time.time()) // 30 * 30 + 30, UTC)
    with time_machine.travel(moment, tick=False) as traveller:
        yield traveller


def now() -> datetime:
    return datetime.now(UTC)


def secret_of(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(TwoFactor, user_id).secret


def row_of(app, user_id: int) -> TwoFactor | None:
    with app.app_context():
        return db.session.get(TwoFactor, user_id)


def code_at(secret: str, moment: datetime, steps: int = 0) -> str:
    """The app's code at ``moment``, or ``steps`` steps before or after it."""
    return pyotp.TOTP(secret).at(moment, counter_offset=steps)


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def password_step(client, email: str, next_url: str = ""):
    """The first step of sign-in only."""
    url = "/admin/login" + (f"?next={next_url}" if next_url else "")
    data = {"csrf_token": csrf_token(client, "/admin/login"), "email": email, "password": PASSWORD}
    return client.post(url, data=data)


def send_code(client, code: str):
    return client.post(CODE_PAGE, data={"csrf_token": csrf_token(client, CODE_PAGE), "code": code})


def post(client, url: str, data: dict | None = None, page: str = "/admin/security"):
    return client.post(url, data={"csrf_token": csrf_token(client, page), **(data or {})})


def signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def text_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def kyiv(make_user):
    """A coordinator with two-factor sign-in on (make_user's default)."""
    return make_user("kyiv@example.org", partnerships=["kyiv"])


# ---------------------------------------------------------------- set-up


def test_the_set_up_page_draws_the_qr_code_as_inline_svg_and_gives_the_key(app, client, make_user):
    user_id = make_user("new@example.org", role="admin", two_factor=False)
    assert sign_in(client, "new@example.org").location == "/admin/security"
    response = client.get("/admin/security")
    page = text_of(response)
    secret = secret_of(app, user_id)
    assert row_of(app, user_id).enabled_at is None  # pending until a code confirms it

    svg_markup = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    svg = ET.fromstring(svg_markup)
    assert svg.get("role") == "img"
    assert svg.find("title").text == "QR code to scan with your authenticator app"
    assert "<script" not in page and "data:" not in page and "<img" not in svg_markup
    assert "style=" not in svg_markup  # the CSP allows no inline style
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    # The drawing is the QR code of the otpauth address for this key, issuer and account.
    uri = pyotp.TOTP(secret).provisioning_uri(name="new@example.org", issuer_name="LEP")
    expected = segno.make(uri, error="m").svg_inline(
        scale=5, dark="#000", light="#fff", title="x", svgclass="qr-code"
    )
    paths = re.findall(r' d="([^"]+)"', svg_markup)
    assert paths == re.findall(r' d="([^"]+)"', expected)
    assert "secret=" + secret in uri and "issuer=LEP" in uri

    grouped = " ".join(secret[i : i + 4] for i in range(0, 32, 4))
    assert f"<code>{grouped}</code>" in page
    assert "<dd>LEP</dd>" in page and "<dd>new@example.org</dd>" in page
    # The same key on every visit until confirmed, and never in the cookie.
    client.get("/admin/security")
    assert secret_of(app, user_id) == secret
    assert secret not in client.get_cookie("session", domain="lep.test").value


def test_a_wrong_or_malformed_confirmation_code_leaves_it_off(app, client, make_user):
    user_id = make_user("new@example.org", role="admin", two_factor=False)
    sign_in(client, "new@example.org")
    client.get("/admin/security")
    secret = secret_of(app, user_id)
    wrong = post(client, "/admin/security/two-factor", {"code": code_at(secret, now(), 5)})
    assert wrong.status_code == 400
    assert "This code is not right." in text_of(wrong)
    assert 'aria-invalid="true"' in text_of(wrong)
    malformed = post(client, "/admin/security/two-factor", {"code": "12ab56"})
    assert malformed.status_code == 400
    assert "Enter the 6 digits from your app" in text_of(malformed)
    assert row_of(app, user_id).enabled_at is None
    assert actions(app)[-1] == "two_factor.failure"
    assert client.get("/admin/").location == "/admin/security"  # still held on the set-up


def enable(app, client, user_id: int) -> list[str]:
    """Confirm the pending key with the code of the moment; return the recovery codes shown."""
    client.get("/admin/security")  # the key is made when the page is first shown
    secret = secret_of(app, user_id)
    response = post(client, "/admin/security/two-factor", {"code": code_at(secret, now())})
    assert response.status_code == 200, text_of(response)
    return re.findall(r"<code>([a-z0-9-]{19})</code>", text_of(response))


def test_set_up_switches_it_on_and_shows_ten_recovery_codes_once(app, client, make_user):
    user_id = make_user("new@example.org", role="admin", two_factor=False)
    phone = app.test_client()
    sign_in(client, "new@example.org")
    sign_in(phone, "new@example.org")  # a session opened with the password alone
    codes = enable(app, client, user_id)
    assert len(set(codes)) == 10
    assert all(
        re.fullmatch(r"([23456789a-hjkmnp-z]{4}-){3}[23456789a-hjkmnp-z]{4}", c) for c in codes
    )
    with app.app_context():
        stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # hashes only
    assert row_of(app, user_id).enabled_at is not None
    assert "two_factor.enabled" in actions(app)
    assert signed_in(client) and not signed_in(phone)  # the password-only session ended
    page = text_of(client.get("/admin/security"))
    assert not any(code in page for code in codes)  # shown once
    assert "You have 10 unused recovery codes." in page
    assert "<svg" not in page


# ---------------------------------------------------------------- sign-in


def test_sign_in_needs_the_code_after_the_password(app, client, kyiv):
    secret = secret_of(app, kyiv)
    response = password_step(client, "kyiv@example.org", next_url="/admin/applications/")
    assert response.status_code == 303 and response.location == CODE_PAGE
    assert not signed_in(client)  # the password alone signs no one in
    assert client.get(CODE_PAGE).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(LoginSession)) is None
    response = send_code(client, code_at(secret, now()))
    assert response.status_code == 303
    assert response.location == "/admin/applications/"
    assert "lepsite_device" in str(response.headers.getlist("Set-Cookie"))
    assert signed_in(client)
    with app.app_context():
        entry = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert entry.action == "login.success"
    assert json.loads(entry.details) == {"second_factor": "totp"}


def test_a_wrong_or_malformed_code_is_a_field_error(app, client, kyiv):
    secret = secret_of(app, kyiv)
    password_step(client, "kyiv@example.org")
    wrong = send_code(client, code_at(secret, now(), steps=3))
    malformed = send_code(client, "12345")
    assert wrong.status_code == 401 and "This code is not right." in text_of(wrong)
    assert malformed.status_code == 400
    assert "Enter the 6 digits from your app" in text_of(malformed)
    assert 'aria-invalid="true"' in text_of(malformed)
    assert not signed_in(client)
    assert actions(app) == ["two_factor.failure"]  # malformed text is no guess


def test_the_code_page_speaks_the_accounts_language(app, client, make_user):
    make_user("uk@example.org", language="uk")
    password_step(client, "uk@example.org")
    response = send_code(client, "abc")
    assert response.status_code == 400
    assert '<html lang="uk"' in text_of(response) and "Увійти" in text_of(response)


def test_a_code_is_accepted_once(app, client, kyiv):
    secret = secret_of(app, kyiv)
    code = code_at(secret, now())
    password_step(client, "kyiv@example.org")
    assert send_code(client, code).status_code == 303
    post(client, "/admin/logout", page="/admin/")
    password_step(client, "kyiv@example.org")
    replayed = send_code(client, code)
    assert replayed.status_code == 401
    assert "This code has been used already." in text_of(replayed)
    assert not signed_in(client)
    with app.app_context():
        last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (last.action, json.loads(last.details)) == ("two_factor.failure", {"reason": "replayed"})


def test_two_browsers_with_the_same_code_get_in_once(app, kyiv):
    secret = secret_of(app, kyiv)
    first, second = app.test_client(), app.test_client()
    password_step(first, "kyiv@example.org")
    password_step(second, "kyiv@example.org")
    code = code_at(secret, now())
    statuses = [send_code(browser, code).status_code for browser in (first, second)]
    assert statuses == [303, 401]
    assert signed_in(first) and not signed_in(second)


def test_the_same_code_sent_at_the_same_instant_is_accepted_once(app, kyiv):
    """Four requests racing in threads (as four workers would): one conditional UPDATE wins."""
    secret = secret_of(app, kyiv)
    browsers = [app.test_client() for _ in range(4)]
    tokens = []
    for browser in browsers:
        password_step(browser, "kyiv@example.org")
        tokens.append(csrf_token(browser, CODE_PAGE))
    code = code_at(secret, now())
    start = threading.Barrier(len(browsers))

    def send(number: int) -> int:
        start.wait()
        data = {"csrf_token": tokens[number], "code": code}
        return browsers[number].post(CODE_PAGE, data=data).status_code

    with ThreadPoolExecutor(len(browsers)) as pool:
        statuses = sorted(pool.map(send, range(len(browsers))))
    assert statuses == [303, 401, 401, 401]


def test_codes_follow_the_clock_one_step_either_way_never_backwards(app, client, kyiv, clock):
    secret = secret_of(app, kyiv)
    password_step(client, "kyiv@example.org")
    assert send_code(client, code_at(secret, now(), steps=-2)).status_code == 401
    assert send_code(client, code_at(secret, now(), steps=2)).status_code == 401
    # The next step's code (a phone a little ahead) is taken...
    assert send_code(client, code_at(secret, now(), steps=1)).status_code == 303
    post(client, "/admin/logout", page="/admin/")
    # ...so this step's, though within the window, is older than the last one taken: refused.
    password_step(client, "kyiv@example.org")
    assert send_code(client, code_at(secret, now())).status_code == 401
    # Three steps on, the code of the step before (a phone a little behind) is taken: it is
    # later than the one taken from the phone running ahead.
    clock.shift(timedelta(seconds=90))
    assert send_code(client, code_at(secret, now(), steps=-2)).status_code == 401  # = step+1
    assert send_code(client, code_at(secret, now(), steps=-1)).status_code == 303


def test_the_password_step_expires_after_five_minutes(app, kyiv, clock):
    secret = secret_of(app, kyiv)
    slow, quick = app.test_client(), app.test_client()
    password_step(slow, "kyiv@example.org")
    token = csrf_token(slow, CODE_PAGE)
    password_step(quick, "kyiv@example.org")
    clock.shift(timedelta(minutes=4, seconds=50))
    assert send_code(quick, code_at(secret, now())).status_code == 303
    clock.shift(timedelta(seconds=20))
    response = slow.post(CODE_PAGE, data={"csrf_token": token, "code": code_at(secret, now())})
    assert response.status_code == 303 and response.location == "/admin/login"
    page = text_of(slow.get("/admin/login"))
    assert "Your sign-in was not finished in time." in page
    assert not signed_in(slow)


def test_the_code_page_without_a_password_step_sends_to_sign_in(client, kyiv):
    response = client.get(CODE_PAGE)
    assert response.status_code == 303 and response.location == "/admin/login"


def test_a_recovery_code_works_once(app, client, make_user):
    user_id = make_user("new@example.org", role="admin", two_factor=False)
    sign_in(client, "new@example.org")
    codes = enable(app, client, user_id)
    post(client, "/admin/logout", page="/admin/")
    password_step(client, "new@example.org")
    typed = codes[3].upper().replace("-", " ")  # as someone might type it from paper
    response = send_code(client, typed)
    assert response.status_code == 303 and signed_in(client)
    assert actions(app)[-2:] == ["two_factor.recovery_code_used", "login.success"]
    assert "You have 9 unused recovery codes." in text_of(client.get("/admin/security"))
    post(client, "/admin/logout", page="/admin/")
    password_step(client, "new@example.org")
    again = send_code(client, codes[3])
    assert again.status_code == 401 and not signed_in(client)


def test_code_guesses_are_throttled_per_account(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True)
    from lepsite.accounts import new_user

    with app.app_context():
        user = new_user("kyiv@example.org", "Kyiv", "coordinator", PASSWORD, ["kyiv"])
        db.session.commit()
        db.session.add(TwoFactor(user_id=user.id, secret=pyotp.random_base32(), enabled_at=None))
        db.session.commit()
        row = db.session.get(TwoFactor, user.id)
        row.enabled_at = datetime.now(UTC)
        db.session.commit()
        secret, user_id = row.secret, user.id
    statuses = []
    for number in range(6):  # from new browsers and addresses: the account is counted
        browser = app.test_client()
        environ = {"REMOTE_ADDR": f"192.0.2.{number + 1}"}
        token = csrf_token(browser, "/admin/login")
        browser.post(
            "/admin/login",
            data={"csrf_token": token, "email": "kyiv@example.org", "password": PASSWORD},
            environ_base=environ,
        )
        token = csrf_token(browser, CODE_PAGE)
        wrong = code_at(secret, now(), steps=4 + number)
        response = browser.post(CODE_PAGE, data={"csrf_token": token, "code": wrong})
        statuses.append(response.status_code)
    assert statuses == [401] * 5 + [429]
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many attempts" in text_of(response)
    # Even the right code waits now.
    right = browser.post(CODE_PAGE, data={"csrf_token": token, "code": code_at(secret, now())})
    assert right.status_code == 429
    assert actions(app).count("two_factor.failure") == 5
    assert "two_factor.throttled" in actions(app)
    assert row_of(app, user_id).last_step is None  # nothing was accepted


# ---------------------------------------------------------------- who must use it


@pytest.mark.parametrize("role", ["admin", "coordinator"])
def test_staff_without_a_second_factor_can_only_set_it_up(app, client, make_user, role):
    make_user("new@example.org", role=role, partnerships=["kyiv"], two_factor=False)
    response = sign_in(client, "new@example.org", next_url="/admin/applications/")
    assert response.status_code == 303 and response.location == "/admin/security"
    for path in ("/admin/", "/admin/applications/", "/admin/password", "/admin/applications/1"):
        held = client.get(path)
        assert held.status_code == 302 and held.location == "/admin/security", path
    refused = post(client, "/admin/password", {"current_password": PASSWORD})
    assert refused.location == "/admin/security"
    page = text_of(client.get("/admin/security"))
    assert "Your account needs two-factor sign-in." in page
    assert "<svg" in page
    assert client.get("/en/").status_code == 200  # the public site is not held
    assert post(client, "/admin/logout", page="/admin/security").location == "/admin/login"
    assert client.get("/admin/security").status_code == 302  # signed out


def test_the_setting_lets_coordinators_sign_in_without_it(app_factory):
    app = app_factory(TWO_FACTOR_FOR_COORDINATORS=False)
    from lepsite.accounts import new_user

    with app.app_context():
        new_user("kyiv@example.org", "Kyiv", "coordinator", PASSWORD, ["kyiv"])
        new_user("boss@example.org", "Boss", "admin", PASSWORD)
        db.session.commit()
    coordinator, admin = app.test_client(), app.test_client()
    assert sign_in(coordinator, "kyiv@example.org").location == "/admin/"
    assert signed_in(coordinator)
    page = text_of(coordinator.get("/admin/security"))
    assert "<svg" in page and "Your account needs two-factor sign-in." not in page
    assert sign_in(admin, "boss@example.org").location == "/admin/security"  # admins: always
    assert not signed_in(admin)


def test_a_coordinator_who_set_it_up_is_asked_for_codes_even_when_not_required(app_factory):
    app = app_factory(TWO_FACTOR_FOR_COORDINATORS=False)
    from conftest import enrol_two_factor

    from lepsite.accounts import new_user

    with app.app_context():
        user = new_user("kyiv@example.org", "Kyiv", "coordinator", PASSWORD, ["kyiv"])
        db.session.commit()
        enrol_two_factor(user.id)
    client = app.test_client()
    assert password_step(client, "kyiv@example.org").location == CODE_PAGE


# ---------------------------------------------------------------- changing it later


def test_new_recovery_codes_need_the_password_and_end_the_old_ones(app, client, make_user):
    user_id = make_user("new@example.org", role="admin", two_factor=False)
    sign_in(client, "new@example.org")
    old_codes = enable(app, client, user_id)
    url = "/admin/security/two-factor/recovery-codes"
    refused = post(client, url, {"confirmation": "not my password at all"})
    assert refused.status_code == 401
    assert "This is neither your password nor the current code" in text_of(refused)
    response = post(client, url, {"confirmation": PASSWORD})
    assert response.status_code == 200
    new_codes = re.findall(r"<code>([a-z0-9-]{19})</code>", text_of(response))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert actions(app).count("two_factor.recovery_codes_regenerated") == 1
    post(client, "/admin/logout", page="/admin/")
    password_step(client, "new@example.org")
    assert send_code(client, old_codes[0]).status_code == 401
    assert send_code(client, new_codes[0]).status_code == 303


def test_turning_it_off_needs_a_code_and_where_required_leads_back_to_set_up(
    app, client, kyiv, clock
):
    secret = secret_of(app, kyiv)
    password_step(client, "kyiv@example.org")
    send_code(client, code_at(secret, now()))
    url = "/admin/security/two-factor/off"
    replayed = post(client, url, {"confirmation": code_at(secret, now())})
    assert replayed.status_code == 401
    assert "This code has been used already." in text_of(replayed)
    clock.shift(timedelta(seconds=30))
    response = post(client, url, {"confirmation": code_at(secret, now())})
    assert response.status_code == 303
    assert row_of(app, kyiv) is None
    assert "two_factor.disabled" in actions(app)
    assert client.get("/admin/").location == "/admin/security"


# ---------------------------------------------------------------- an admin's reset


def test_an_admin_resets_a_lost_second_factor_audited_and_sessions_end(app, client, make_user):
    coordinator = make_user("kyiv@example.org", partnerships=["kyiv"])
    make_user("admin@example.org", role="admin")
    phone = app.test_client()
    sign_in(phone, "kyiv@example.org")
    sign_in(client, "admin@example.org")
    user_page = f"/admin/users/{coordinator}"
    page = text_of(client.get(user_page))
    assert "Reset two-factor sign-in" in page
    url = f"/admin/users/{coordinator}/two-factor/reset"
    assert client.post(url).status_code == 400  # no CSRF token
    assert row_of(app, coordinator) is not None
    response = post(client, url, page=user_page)
    assert response.status_code == 303 and response.location == user_page
    assert row_of(app, coordinator) is None
    assert not signed_in(phone)
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "two_factor.reset")
        ).one()
    assert (entry.actor_email, entry.subject) == ("admin@example.org", f"user:{coordinator}")
    assert "It is not set up for this account." in text_of(client.get(user_page))
    # Their next sign-in leads to the set-up.
    assert sign_in(phone, "kyiv@example.org").location == "/admin/security"


def test_only_admins_reset_and_not_their_own(app, client, make_user):
    coordinator = make_user("kyiv@example.org", partnerships=["kyiv"])
    admin = make_user("admin@example.org", role="admin")
    other = make_user("odesa@example.org", partnerships=["odesa"])
    sign_in(client, "kyiv@example.org")
    url = f"/admin/users/{other}/two-factor/reset"
    assert post(client, url, page="/admin/").status_code == 404
    assert row_of(app, other) is not None
    admin_browser = app.test_client()
    sign_in(admin_browser, "admin@example.org")
    own = post(admin_browser, f"/admin/users/{admin}/two-factor/reset", page="/admin/")
    assert own.status_code == 303 and row_of(app, admin) is not None
    assert signed_in(admin_browser) and signed_in(client)
    assert coordinator


def test_the_command_line_resets_a_lost_second_factor(app, make_user, runner):
    """The last admin who lost phone and recovery codes gets back in from the shell."""
    from lepsite.accounts import two_factor
    from lepsite.audit import AuditEvent
    from lepsite.models import User

    user_id = make_user("ada@example.org", role="admin")
    result = runner.invoke(args=["users", "reset-two-factor", "--email", "ADA@example.org"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.get(User, user_id)
        assert not two_factor.is_enabled(user)
        assert two_factor.needs_set_up(user)
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "two_factor.reset"))
    missing = runner.invoke(args=["users", "reset-two-factor", "--email", "nobody@example.org"])
    assert missing.exit_code != 0
