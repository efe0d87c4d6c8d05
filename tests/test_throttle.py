"""Guessing passwords is slowed per address and per account; the owner's browser gets through."""

import pytest
from conftest import PASSWORD, csrf_token
from sqlalchemy import select

from lepsite.extensions import db

WRONG = "not the password at all"


@pytest.fixture
def throttled_app(app_factory):
    return app_factory(
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="5 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="5 per 5 minutes;10 per hour",
        TWO_FACTOR_FOR_COORDINATORS=False,  # the password step alone: codes are in test_two_factor
    )


@pytest.fixture
def owner(throttled_app):
    from lepsite.accounts import new_user

    with throttled_app.app_context():
        new_user("kyiv@example.org", "Kyiv", "coordinator", PASSWORD, ["kyiv"])
        db.session.commit()
    return "kyiv@example.org"


def attempt(client, email: str, password: str, address: str = "127.0.0.1"):
    environ = {"REMOTE_ADDR": address}
    token = csrf_token(client, "/admin/login")
    return client.post(
        "/admin/login",
        data={"csrf_token": token, "email": email, "password": password},
        environ_base=environ,
    )


def test_one_address_is_stopped_after_five_failures(throttled_app, owner):
    client = throttled_app.test_client()
    statuses = [attempt(client, f"user{n}@example.org", WRONG).status_code for n in range(5)]
    assert statuses == [401] * 5
    response = attempt(client, "someone@example.org", WRONG)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many attempts" in response.get_data(as_text=True)


def test_many_addresses_guessing_one_account_are_slowed(throttled_app, owner):
    client = throttled_app.test_client()
    for n in range(5):
        assert attempt(client, owner, WRONG, f"192.0.2.{n + 1}").status_code == 401
    # A sixth address, never seen before, still waits: the account is what is counted.
    assert attempt(client, owner, WRONG, "198.51.100.7").status_code == 429
    # ...and so does a right password from a new browser (no oracle for the guesser).
    assert attempt(client, owner, PASSWORD, "198.51.100.8").status_code == 429


def test_an_unknown_address_is_slowed_exactly_like_a_real_one(throttled_app, owner):
    client = throttled_app.test_client()
    real = [attempt(client, owner, WRONG, f"192.0.2.{n}").status_code for n in range(1, 7)]
    fake = [
        attempt(client, "nobody@example.org", WRONG, f"203.0.113.{n}").status_code
        for n in range(1, 7)
    ]
    assert real == fake == [401] * 5 + [429]


def test_the_owners_own_browser_still_gets_in(throttled_app, owner):
    owners_browser = throttled_app.test_client()
    assert attempt(owners_browser, owner, PASSWORD, "10.0.0.5").status_code == 303
    owners_browser.delete_cookie("session", domain="lep.test")  # the browser was closed
    attacker = throttled_app.test_client()
    for n in range(6):
        attempt(attacker, owner, WRONG, f"192.0.2.{n + 1}")
    assert attempt(attacker, owner, PASSWORD, "192.0.2.99").status_code == 429
    # The owner's browser carries a device cookie from its last sign-in: the attacker's
    # failures do not lock it out, even from the same address the attacker used.
    assert attempt(owners_browser, owner, PASSWORD, "192.0.2.1").status_code == 303


def test_a_device_cookie_has_limits_of_its_own(throttled_app, owner):
    browser = throttled_app.test_client()
    assert attempt(browser, owner, PASSWORD).status_code == 303
    browser.delete_cookie("session", domain="lep.test")
    statuses = [attempt(browser, owner, WRONG).status_code for _ in range(11)]
    assert statuses[-1] == 429 and statuses[:10] == [401] * 10


def test_the_current_password_check_is_throttled_too(throttled_app, owner):
    client = throttled_app.test_client()
    assert attempt(client, owner, PASSWORD).status_code == 303
    statuses = []
    for _ in range(11):
        token = csrf_token(client, "/admin/password")
        response = client.post(
            "/admin/password",
            data={
                "csrf_token": token,
                "current_password": WRONG,
                "new_password": "another long passphrase here",
                "confirm": "another long passphrase here",
            },
        )
        statuses.append(response.status_code)
    assert 429 in statuses
    assert statuses.index(429) <= 10


def test_throttle_hits_and_failures_are_audited(throttled_app, owner):
    from lepsite.audit.models import AuditEvent

    client = throttled_app.test_client()
    for _ in range(6):
        attempt(client, owner, WRONG, "192.0.2.50")
    with throttled_app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        emails = set(db.session.scalars(select(AuditEvent.email)).all())
        addresses = set(db.session.scalars(select(AuditEvent.address)).all())
    assert actions == ["login.failure"] * 5 + ["login.throttled"]
    assert emails == {owner} and addresses == {"192.0.2.50"}
