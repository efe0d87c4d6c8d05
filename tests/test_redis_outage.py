"""A Redis that stops answering costs a request a fraction of a second and is logged once."""

import logging
import socket
import time

import pytest
from conftest import PASSWORD, csrf_token, valid_application

pytest.importorskip("redis")


@pytest.fixture
def silent_redis():
    """A port that accepts connections and never answers, like a frozen Redis."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield server.getsockname()[1]


@pytest.fixture
def app_on_silent_redis(app_factory, silent_redis):
    return app_factory(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{silent_redis}/0",
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
    )


def slowest_request(app) -> float:
    """The slowest of four form submissions and four failed sign-ins, in seconds."""
    with app.app_context():
        from lepsite.accounts import new_user, user_by_email
        from lepsite.extensions import db

        if user_by_email("kyiv@example.org") is None:  # both apps share the test database
            new_user("kyiv@example.org", "Kyiv", "coordinator", PASSWORD, ["kyiv"])
            db.session.commit()
    client = app.test_client()
    slowest = 0.0
    for number in range(4):
        token = csrf_token(client, "/en/apply")
        data = {"csrf_token": token, **valid_application(email=f"a{number}@example.org")}
        started = time.monotonic()
        assert client.post("/en/apply", data=data).status_code == 303
        slowest = max(slowest, time.monotonic() - started)
    login = app.test_client()
    for _ in range(4):
        token = csrf_token(login, "/admin/login")
        started = time.monotonic()
        response = login.post(
            "/admin/login",
            data={"csrf_token": token, "email": "kyiv@example.org", "password": "nope" * 4},
        )
        assert response.status_code == 401
        slowest = max(slowest, time.monotonic() - started)
    return slowest


def test_the_form_and_the_sign_in_stay_fast_and_the_outage_is_logged_once(
    app_on_silent_redis, app_factory, caplog
):
    # The same requests with no limits at all: what the database and the page cost anyway.
    baseline = slowest_request(app_factory(RATELIMIT_ENABLED=False))
    with caplog.at_level(logging.WARNING):
        slowest = slowest_request(app_on_silent_redis)
    assert slowest - baseline < 0.5, (slowest, baseline)
    outage_lines = [r for r in caplog.records if "unreachable" in r.getMessage().lower()]
    assert 1 <= len(outage_lines) <= 2, [r.getMessage() for r in outage_lines]  # one per limiter
