"""Invitations: an admin invites, the person chooses a password through a single-use link."""

import re
from datetime import timedelta

import pytest
import time_machine
from conftest import csrf_token, outbox, sign_in
from sqlalchemy import func, select, update

from lepsite.accounts.tokens import AccountToken
from lepsite.audit import AuditEvent
from lepsite.extensions import db
from lepsite.models import User, utcnow

NEW_PASSWORD = "seven orange kites drift north"
LINK = re.compile(r"https?://\S+/admin/invite/([A-Za-z0-9_-]+)")


@pytest.fixture
def admin(app, client, make_user):
    """An admin, signed in on ``client``."""
    make_user("admin@example.org", role="admin")
    assert sign_in(client, "admin@example.org").status_code == 303
    return client


def invite(client, **fields):
    """Send the invitation form as the signed-in admin."""
    data = {
        "csrf_token": csrf_token(client, "/admin/users/new"),
        "name": "Olena Invited",
        "email": "olena@example.org",
        "role": "coordinator",
        "partnerships": ["kyiv"],
        "language": "en",
        **fields,
    }
    return client.post("/admin/users/new", data=data)


def last_link(app) -> str:
    """The path of the invitation link in the newest mail."""
    body = outbox(app)[-1].get_content()
    match = LINK.search(body)
    assert match, body
    return f"/admin/invite/{match.group(1)}"


def accept(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    """Choose a password on the invitation page."""
    data = {
        "csrf_token": csrf_token(client, path),
        "new_password": password,
        "confirm": password if confirm is None else confirm,
    }
    return client.post(path, data=data)


def user_of(app, email: str) -> User | None:
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_invite_accept_and_sign_in(app, admin):
    response = invite(admin, language="uk", partnerships=["kyiv", "odesa"])
    assert response.status_code == 303
    (mail,) = outbox(app)
    assert mail["To"] == "olena@example.org"
    body = mail.get_content()
    assert "Ваше запрошення" in mail["Subject"]
    assert "партнерство зайнятості в Києві" in body  # named in the invitation's language
    assert mail.get_content_type() == "text/plain"
    path = last_link(app)
    assert LINK.search(body).group(0).startswith("http://lep.test/admin/invite/")

    pending = user_of(app, "olena@example.org")
    assert not pending.active and pending.password_hash == ""
    assert pending.partnership_keys == {"kyiv", "odesa"} and pending.language == "uk"
    # Listed as pending, not among the accounts; it cannot sign in yet.
    users_page = admin.get("/admin/users/").get_data(as_text=True)
    assert "Invitations not yet accepted" in users_page and "olena@example.org" in users_page
    visitor = app.test_client()
    assert sign_in(visitor, "olena@example.org", "").status_code == 400
    assert sign_in(visitor, "olena@example.org", NEW_PASSWORD).status_code == 401

    page = visitor.get(path)
    assert page.status_code == 200
    assert '<html lang="uk"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    done = accept(visitor, path)
    assert done.status_code == 303 and done.headers["Location"] == "/admin/login"
    assert visitor.get("/admin/").status_code == 302  # not signed in automatically
    account = user_of(app, "olena@example.org")
    assert account.active and account.password_hash
    assert sign_in(visitor, "olena@example.org", NEW_PASSWORD).status_code == 303
    assert "user.invited" in actions(app) and "user.invitation_accepted" in actions(app)


@pytest.mark.parametrize(
    ("lang", "subject", "phrase"),
    [
        ("en", "Your invitation", "The link works once"),
        ("bs", "Vaša pozivnica", "Link radi jednom"),
        ("uk", "Ваше запрошення", "Посилання діє один раз"),
    ],
)
def test_the_mail_is_in_the_invitations_language(app, admin, lang, subject, phrase):
    assert invite(admin, language=lang, role="admin", partnerships=[]).status_code == 303
    (mail,) = outbox(app)
    assert subject in mail["Subject"]
    assert phrase in mail.get_content()
    assert "UTC" in mail.get_content()  # the expiry says its time zone


def test_the_link_uses_the_base_url_whatever_host_the_form_came_from(app_factory, make_user):
    base = "https://lep.example.org"
    app = app_factory(BASE_URL=base)
    make_user("admin@example.org", role="admin")
    client = app.test_client()
    asked = "http://lep.example.org:8443"  # the right host under another scheme and port
    token = csrf_token(client, "/admin/login")
    login = {"csrf_token": token, "email": "admin@example.org", "password": "x"}
    assert client.post("/admin/login", data=login, base_url=asked).status_code == 401
    assert sign_in(client, "admin@example.org").status_code == 303
    data = {
        "csrf_token": csrf_token(client, "/admin/users/new"),
        "name": "Emir",
        "email": "emir@example.org",
        "role": "admin",
        "language": "bs",
    }
    forged = {"X-Forwarded-Host": "evil.example"}
    response = client.post("/admin/users/new", data=data, base_url=asked, headers=forged)
    assert response.status_code == 303
    body = outbox(app)[-1].get_content()
    links = re.findall(r"https?://\S+", body)
    assert links and all(link.startswith(base + "/admin/invite/") for link in links), links


def test_the_cli_invites_the_same_way(app, runner):
    args = ["users", "invite", "--email", "Ana@Example.org", "--name", "Ana"]
    result = runner.invoke(args=[*args, "--role", "coordinator", "--partnership", "kyiv",
                                 "--language", "bs"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "invited coordinator Ana@example.org" in result.output
    (mail,) = outbox(app)
    assert "Vaša pozivnica" in mail["Subject"]
    assert LINK.search(mail.get_content()).group(0).startswith("http://lep.test/admin/invite/")
    assert "invited" in runner.invoke(args=["users", "list"]).output
    again = runner.invoke(args=[*args, "--role", "admin"])
    assert again.exit_code != 0 and "exists already" in again.output
    nobody = runner.invoke(args=["users", "invite", "--email", "x@example.org", "--name", "X",
                                 "--role", "coordinator"])  # fmt: skip
    assert nobody.exit_code != 0 and "needs at least one --partnership" in nobody.output
    unknown = runner.invoke(
        args=["users", "invite", "--email", "y@example.org", "--name", "Y", "--role",
              "coordinator", "--partnership", "atlantis"]
    )  # fmt: skip
    assert unknown.exit_code != 0 and "unknown partnership" in unknown.output
    bad = runner.invoke(args=["users", "invite", "--email", "not an address", "--name", "Z",
                              "--role", "admin"])  # fmt: skip
    assert bad.exit_code != 0
    control = runner.invoke(args=["users", "invite", "--email", "z@example.org", "--name",
                                  "Z\x00", "--role", "admin"])  # fmt: skip
    assert control.exit_code != 0 and "control characters" in control.output
    assert len(outbox(app)) == 1


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "An account with this address exists already."),
        ("bs", "Račun s ovom adresom već postoji."),
        ("uk", "Обліковий запис із цією адресою вже існує."),
    ],
)
def test_an_address_with_an_account_is_a_field_error(app, client, make_user, lang, message):
    make_user("admin@example.org", role="admin", language=lang)
    make_user("kyiv@example.org", partnerships=["kyiv"])
    assert sign_in(client, "admin@example.org").status_code == 303
    response = invite(client, email="KYIV@example.org")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'aria-invalid="true"' in page
    assert outbox(app) == []


def test_a_second_invitation_to_a_pending_address_points_to_resend(app, admin):
    assert invite(admin).status_code == 303
    again = invite(admin, name="Someone Else")
    assert again.status_code == 400
    assert "invited already" in again.get_data(as_text=True)
    assert len(outbox(app)) == 1


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"email": "not-an-address"}, "Enter an e-mail address such as name@example.org."),
        ({"email": ""}, "Enter an e-mail address."),
        ({"email": "a" * 250 + "@example.org"}, "Use at most 254 characters."),
        ({"name": ""}, "Enter the person"),
        ({"role": "superuser"}, "Not a valid choice."),
        ({"partnerships": ["atlantis"]}, "is not a valid choice"),
        ({"partnerships": []}, "Choose at least one partnership for a coordinator."),
        ({"language": "xx"}, "Not a valid choice."),
    ],
)
def test_bad_input_is_a_field_error(app, admin, fields, error):
    response = invite(admin, **fields)
    assert response.status_code == 400
    assert error in response.get_data(as_text=True)
    assert user_of(app, "olena@example.org") is None
    assert outbox(app) == []


def test_the_form_starts_with_the_least_powerful_role(admin):
    page = admin.get("/admin/users/new").get_data(as_text=True)
    assert '<option selected value="coordinator">' in page
    assert '<option selected value="en">' in page  # the admin's own language


def test_only_admins_invite(app, client, make_user):
    make_user("kyiv@example.org", partnerships=["kyiv"])
    assert sign_in(client, "kyiv@example.org").status_code == 303
    assert client.get("/admin/users/new").status_code == 404
    response = client.post(
        "/admin/users/new",
        data={"csrf_token": csrf_token(client, "/admin/"), "name": "X", "email": "x@example.org",
              "role": "admin", "language": "en"},
    )  # fmt: skip
    assert response.status_code == 404
    assert user_of(app, "x@example.org") is None
    assert app.test_client().get("/admin/users/new").status_code == 302  # to sign-in


def test_a_link_works_once(app, admin):
    invite(admin)
    path = last_link(app)
    visitor, other = app.test_client(), app.test_client()
    other_form = {
        "csrf_token": csrf_token(other, path),
        "new_password": "another long passphrase here",
        "confirm": "another long passphrase here",
    }
    assert accept(visitor, path).status_code == 303
    again = visitor.get(path)
    assert again.status_code == 410
    page = again.get_data(as_text=True)
    assert "accepted already" in page and "/admin/reset" in page
    # A second browser that opened the form before sends it after: refused.
    assert other.post(path, data=other_form).status_code == 410
    assert sign_in(visitor, "olena@example.org", NEW_PASSWORD).status_code == 303


def test_a_late_link_says_to_ask_for_a_new_one_in_the_invitations_language(app, admin):
    invite(admin, language="bs")
    path = last_link(app)
    with time_machine.travel(utcnow() + timedelta(hours=72, minutes=1)):
        page = app.test_client().get(path)
    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert '<html lang="bs"' in html
    assert "Ova pozivnica je istekla" in html
    assert not user_of(app, "olena@example.org").active


def test_the_lifetime_is_a_setting(app_factory, make_user):
    app = app_factory(INVITATION_HOURS=1)
    make_user("admin@example.org", role="admin")
    client = app.test_client()
    sign_in(client, "admin@example.org")
    invite(client)
    path = last_link(app)
    with time_machine.travel(utcnow() + timedelta(minutes=59)):
        assert app.test_client().get(path).status_code == 200
    with time_machine.travel(utcnow() + timedelta(minutes=61)):
        assert app.test_client().get(path).status_code == 410


def test_a_link_that_expires_while_the_form_is_open_is_refused(app, admin):
    invite(admin)
    path = last_link(app)
    visitor = app.test_client()
    token = csrf_token(visitor, path)
    with app.app_context():  # the clock passes the link's end, not the form's CSRF token's
        db.session.execute(update(AccountToken).values(expires_at=utcnow()))
        db.session.commit()
    data = {"csrf_token": token, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    response = visitor.post(path, data=data)
    assert response.status_code == 410
    assert "has expired" in response.get_data(as_text=True)
    assert not user_of(app, "olena@example.org").active


@pytest.mark.parametrize(
    "token",
    [
        "A" * 43,  # well formed, never issued
        "short",
        "x" * 5000,  # over-long
        "a" * 42 + "%E2%80%8B",  # a zero-width space on the end
        "a" * 42 + "%C3%A9",
        "%27%3B--" + "a" * 38,
    ],
)
def test_a_forged_or_garbled_link_is_a_clear_404(app, client, token):
    response = client.get(f"/admin/invite/{token}", headers={"Accept-Language": "uk"})
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Це запрошення не діє" in page and "нове запрошення" in page
    data = {"csrf_token": csrf_token(client, "/admin/login"), "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD}  # fmt: skip
    assert client.post(f"/admin/invite/{token}", data=data).status_code == 404


@pytest.mark.parametrize("token", ["%00" + "a" * 42, "a%1b", "..%2f..%2fetc"])
def test_control_characters_and_slashes_never_reach_the_page(client, token):
    """Refused before routing (400) or not a route at all (404); never a 500."""
    assert client.get(f"/admin/invite/{token}").status_code in (400, 404)


def test_resend_kills_the_old_link_and_revoke_deletes_the_pending_account(app, admin):
    invite(admin)
    first = last_link(app)
    pending = user_of(app, "olena@example.org")
    resend_url = f"/admin/users/{pending.id}/invitation/resend"
    token = csrf_token(admin, "/admin/users/")
    assert admin.post(resend_url, data={"csrf_token": token}).status_code == 303
    second = last_link(app)
    assert second != first and len(outbox(app)) == 2
    visitor = app.test_client()
    assert visitor.get(first).status_code == 410
    assert visitor.get(second).status_code == 200

    revoke_url = f"/admin/users/{pending.id}/invitation/revoke"
    assert admin.post(revoke_url, data={"csrf_token": token}).status_code == 303
    assert user_of(app, "olena@example.org") is None
    gone = visitor.get(second)
    assert gone.status_code == 404 and "withdrawn" in gone.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AccountToken)) == 0
    assert {"user.invitation_resent", "user.invitation_revoked"} <= set(actions(app))
    # The address is free again.
    assert invite(admin).status_code == 303


def test_an_accepted_invitation_cannot_be_resent_or_revoked(app, admin):
    invite(admin)
    accept(app.test_client(), last_link(app))
    account = user_of(app, "olena@example.org")
    token = csrf_token(admin, "/admin/users/")
    for action in ("resend", "revoke"):
        url = f"/admin/users/{account.id}/invitation/{action}"
        response = admin.post(url, data={"csrf_token": token}, follow_redirects=True)
        assert "accepted the invitation already" in response.get_data(as_text=True)
    assert user_of(app, "olena@example.org").active
    assert len(outbox(app)) == 1


def test_a_weak_or_mismatched_password_is_a_translated_field_error(app, admin):
    invite(admin, language="uk")
    path = last_link(app)
    visitor = app.test_client()
    weak = accept(visitor, path, password="olena invited")
    assert weak.status_code == 400
    assert "Цей пароль надто легко вгадати" in weak.get_data(as_text=True)
    differ = accept(visitor, path, confirm="something else entirely")
    assert differ.status_code == 400
    assert not user_of(app, "olena@example.org").active
    assert accept(visitor, path).status_code == 303  # the link still works


def test_pending_accounts_are_no_admins_and_get_no_applications(app, admin, apply):
    invite(admin, role="admin", partnerships=[])
    invite(admin, email="kyiv@example.org", partnerships=["kyiv"])
    with app.app_context():
        active_admins = db.session.scalar(
            select(func.count()).select_from(User).where(User.role == "admin", User.active)
        )
    assert active_admins == 1
    assert apply(partnership="kyiv").status_code == 303
    recipients = [mail["To"] for mail in outbox(app)]
    assert "kyiv@example.org" not in recipients[2:]  # routed to the active admin instead
    assert "admin@example.org" in recipients[2:]


def test_two_people_accepting_at_once_only_one_wins(app, admin):
    """The consuming UPDATE is conditional: the second one changes no row."""
    from lepsite.accounts import invitations

    invite(admin)
    token = last_link(app).rsplit("/", 1)[1]
    with app.app_context():
        assert invitations.accept(token, NEW_PASSWORD) is not None
        assert invitations.accept(token, "another long passphrase here") is None
        user = db.session.scalar(select(User).where(User.email == "olena@example.org"))
        from lepsite.accounts import check_password

        assert check_password(user, NEW_PASSWORD)
