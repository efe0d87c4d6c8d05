"""Sessions the server can end: a copied cookie dies with the session it was copied from."""

import base64
import json
import zlib
from datetime import timedelta

import pytest
import time_machine
from conftest import PASSWORD, csrf_token, enrol_two_factor, sign_in
from sqlalchemy import func, select

from lepsite.extensions import db
from lepsite.models import ApplicationEvent, User, utcnow

COOKIE = "session"


def copy_of(app, client):
    """A second client that holds a copy of the first one's session cookie, as a thief would."""
    thief = app.test_client()
    cookie = client.get_cookie(COOKIE, domain="lep.test")
    assert cookie is not None
    thief.set_cookie(COOKIE, cookie.value, domain=cookie.domain)
    return thief


def signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def post(client, url: str, data: dict | None = None, form_page: str = "/admin/"):
    return client.post(url, data={"csrf_token": csrf_token(client, form_page), **(data or {})})


@pytest.fixture
def kyiv(make_user):
    return make_user("kyiv@example.org", partnerships=["kyiv"])


@pytest.fixture
def admin(make_user):
    return make_user("admin@example.org", role="admin")


def test_a_copied_cookie_cannot_read_or_act_after_sign_out(app, client, apply, kyiv):
    apply()
    sign_in(client, "kyiv@example.org")
    thief = copy_of(app, client)
    assert signed_in(thief)
    token = csrf_token(thief, "/admin/applications/1")
    post(client, "/admin/logout")

    assert thief.get("/admin/applications/1").status_code == 302
    response = thief.post(
        "/admin/applications/1/note", data={"csrf_token": token, "note": "written by a thief"}
    )
    assert response.status_code in (302, 400)
    with app.app_context():
        notes = db.session.scalar(
            select(func.count())
            .select_from(ApplicationEvent)
            .where(ApplicationEvent.action == "note")
        )
    assert notes == 0


def test_a_password_change_ends_every_other_copy_and_keeps_this_browser(app, client, kyiv):
    sign_in(client, "kyiv@example.org")
    thief = copy_of(app, client)
    other_browser = app.test_client()
    sign_in(other_browser, "kyiv@example.org")
    response = post(
        client,
        "/admin/password",
        {
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase for kyiv",
            "confirm": "a brand new passphrase for kyiv",
        },
        form_page="/admin/password",
    )
    assert response.status_code == 303
    assert signed_in(client)
    assert not signed_in(thief)
    assert not signed_in(other_browser)


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(app, client, kyiv, admin):
    sign_in(client, "kyiv@example.org")
    thief = copy_of(app, client)
    admin_client = app.test_client()
    sign_in(admin_client, "admin@example.org")
    url = f"/admin/users/{kyiv}"
    post(admin_client, url, {"partnerships": "kyiv"}, form_page=url)  # active unticked
    assert not signed_in(client) and not signed_in(thief)
    post(admin_client, url, {"partnerships": "kyiv", "active": "y"}, form_page=url)
    assert not signed_in(client) and not signed_in(thief)
    assert sign_in(client, "kyiv@example.org").status_code == 303  # a new sign-in works


def test_sign_out_everywhere_else_keeps_only_this_browser(app, client, kyiv):
    sign_in(client, "kyiv@example.org")
    phone = app.test_client()
    sign_in(phone, "kyiv@example.org")
    page = client.get("/admin/security").get_data(as_text=True)
    assert page.count("End this session") == 1 and "this browser" in page
    post(client, "/admin/security/sessions/end-others", form_page="/admin/security")
    assert signed_in(client)
    assert not signed_in(phone)


def test_sign_out_everywhere_ends_this_browser_too(app, client, kyiv):
    sign_in(client, "kyiv@example.org")
    thief = copy_of(app, client)
    post(client, "/admin/security/sessions/end-all", form_page="/admin/security")
    assert not signed_in(client) and not signed_in(thief)


def test_one_session_can_be_ended_but_not_someone_elses(app, client, kyiv, make_user):
    make_user("rivne@example.org", partnerships=["rivne"])
    sign_in(client, "kyiv@example.org")
    phone = app.test_client()
    sign_in(phone, "kyiv@example.org")
    stranger = app.test_client()
    sign_in(stranger, "rivne@example.org")
    from lepsite.accounts.sessions import LoginSession

    with app.app_context():
        _mine, phone_id, _strangers = db.session.scalars(
            select(LoginSession.id).order_by(LoginSession.id)
        ).all()
    assert post(stranger, f"/admin/security/sessions/{phone_id}/end").status_code == 404
    assert signed_in(phone)
    post(client, f"/admin/security/sessions/{phone_id}/end", form_page="/admin/security")
    assert not signed_in(phone)
    assert signed_in(stranger)


def test_sessions_end_when_idle(app, client, kyiv):
    with time_machine.travel(utcnow(), tick=False) as traveller:
        sign_in(client, "kyiv@example.org")
        traveller.shift(timedelta(minutes=29))
        assert signed_in(client)
        traveller.shift(timedelta(minutes=29))
        assert signed_in(client)  # used 29 minutes ago: still alive
        traveller.shift(timedelta(minutes=31))
        assert not signed_in(client)


def test_sessions_end_after_their_lifetime_however_busy(app, client, kyiv):
    with time_machine.travel(utcnow(), tick=False) as traveller:
        sign_in(client, "kyiv@example.org")
        for _ in range(11 * 3):  # every 20 minutes for 11 hours
            traveller.shift(timedelta(minutes=20))
            assert signed_in(client)
        traveller.shift(timedelta(hours=1))
        assert not signed_in(client)


def test_the_limits_are_settings(app_factory, make_user):
    app = app_factory(SESSION_IDLE_MINUTES=5)
    client = app.test_client()
    with app.app_context():
        from lepsite.accounts import new_user

        user = new_user("short@example.org", "Short", "coordinator", PASSWORD, ["kyiv"])
        db.session.commit()
        enrol_two_factor(user.id)
    with time_machine.travel(utcnow(), tick=False) as traveller:
        sign_in(client, "short@example.org")
        assert signed_in(client)
        traveller.shift(timedelta(minutes=6))
        assert not signed_in(client)


def _cookie_payload(value: str) -> dict:
    data = value.split(".")[0] if not value.startswith(".") else value[1:].split(".")[0]
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    if value.startswith("."):
        raw = zlib.decompress(raw)
    return json.loads(raw)


def test_the_cookie_holds_no_part_of_the_password_hash(app, client, kyiv):
    sign_in(client, "kyiv@example.org")
    payload = _cookie_payload(client.get_cookie(COOKIE, domain="lep.test").value)
    with app.app_context():
        password_hash = db.session.get(User, kyiv).password_hash
    text = json.dumps(payload)
    for start in range(0, len(password_hash) - 8):
        assert password_hash[start : start + 8] not in text
    assert payload["_user_id"] == str(kyiv)


def test_production_cookie_is_host_prefixed_and_secure(app_factory, make_user):
    app = app_factory(SESSION_COOKIE_SECURE=True)
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    client = app.test_client()
    with app.app_context():
        from lepsite.accounts import new_user

        new_user("kyiv@example.org", "Kyiv", "coordinator", PASSWORD, ["kyiv"])
        db.session.commit()
    login_page = client.get("/admin/login", base_url="https://lep.test")
    token = csrf_token_from(login_page.get_data(as_text=True))
    response = client.post(
        "/admin/login",
        base_url="https://lep.test",
        data={"csrf_token": token, "email": "kyiv@example.org", "password": PASSWORD},
    )
    assert response.status_code == 303
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("__Host-session="))
    assert "Secure" in session_cookie and "Path=/" in session_cookie
    assert "Domain" not in session_cookie


def csrf_token_from(page: str) -> str:
    from conftest import CSRF_PATTERN

    return CSRF_PATTERN.search(page).group(1)
