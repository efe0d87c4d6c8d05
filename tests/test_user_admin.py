"""Admins change a user's role, partnerships and active state; each change is audited and
holds from that user's very next request, in a browser that is already signed in."""

import json
import re

import pytest
from conftest import csrf_token, sign_in
from sqlalchemy import func, select

from lepsite.audit import AuditEvent
from lepsite.extensions import db
from lepsite.models import Application, User


@pytest.fixture
def admin(app, make_user):
    """An admin signed in on a client of their own."""
    admin_id = make_user("admin@example.org", role="admin")
    client = app.test_client()
    assert sign_in(client, "admin@example.org").status_code == 303
    client.user_id = admin_id
    return client


@pytest.fixture
def kyiv(app, make_user):
    """A Kyiv coordinator, already signed in on a client of their own."""
    user_id = make_user("kyiv@example.org", partnerships=["kyiv"])
    client = app.test_client()
    assert sign_in(client, "kyiv@example.org").status_code == 303
    client.user_id = user_id
    return client


def save(admin, user_id: int, **fields):
    """Send the user form as the admin."""
    url = f"/admin/users/{user_id}"
    return admin.post(url, data={"csrf_token": csrf_token(admin, url), **fields})


def account(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        user.partnership_keys  # noqa: B018 - loaded before the session closes
        return user


def changes(app) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.changed").order_by(AuditEvent.id)
        )
        return [{"actor": row.actor_email, **json.loads(row.details)} for row in rows]


def test_the_form_shows_role_partnerships_and_active(admin, kyiv):
    page = admin.get(f"/admin/users/{kyiv.user_id}").get_data(as_text=True)
    assert (
        re.search(r'<select [^>]*name="role"', page)
        and '<option selected value="coordinator">' in page
    )
    assert 'value="kyiv" checked' in page and 'name="active"' in page


def test_promotion_holds_on_the_users_next_request(app, admin, kyiv):
    assert kyiv.get("/admin/users/").status_code == 404
    response = save(admin, kyiv.user_id, role="admin", partnerships=["kyiv"], active="y")
    assert response.status_code == 303
    assert kyiv.get("/admin/users/").status_code == 200  # the same session, now an admin
    assert changes(app) == [
        {"actor": "admin@example.org", "role": {"before": "coordinator", "after": "admin"}}
    ]


def test_demotion_holds_on_the_users_next_request(app, admin, make_user):
    other = make_user("other-admin@example.org", role="admin")
    client = app.test_client()
    sign_in(client, "other-admin@example.org")
    assert client.get("/admin/users/").status_code == 200
    assert (
        save(admin, other, role="coordinator", partnerships=["odesa"], active="y").status_code
        == 303
    )
    assert client.get("/admin/users/").status_code == 404
    assert client.get("/admin/").status_code == 200  # still signed in, as a coordinator
    assert account(app, other).role == "coordinator"


def test_a_partnership_change_holds_on_the_users_next_request(app, admin, kyiv, apply):
    apply(partnership="odesa", organisation_name="Odesa Org")
    with app.app_context():
        odesa_application = db.session.scalar(select(Application.id))
    url = f"/admin/applications/{odesa_application}"
    assert kyiv.get(url).status_code == 404
    assert save(admin, kyiv.user_id, partnerships=["kyiv", "odesa"], active="y").status_code == 303
    assert kyiv.get(url).status_code == 200
    assert "Odesa Org" in kyiv.get("/admin/applications/").get_data(as_text=True)
    assert save(admin, kyiv.user_id, partnerships=["kyiv"], active="y").status_code == 303
    assert kyiv.get(url).status_code == 404
    assert [change["partnerships"] for change in changes(app)] == [
        {"before": ["kyiv"], "after": ["kyiv", "odesa"]},
        {"before": ["kyiv", "odesa"], "after": ["kyiv"]},
    ]


def test_deactivation_ends_the_session_at_once(app, admin, kyiv):
    assert save(admin, kyiv.user_id, partnerships=["kyiv"]).status_code == 303  # unticked
    assert kyiv.get("/admin/").status_code == 302
    assert sign_in(app.test_client(), "kyiv@example.org").status_code == 401
    assert changes(app)[-1]["active"] == {"before": True, "after": False}


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "The site needs at least one active administrator."),
        ("bs", "Stranica mora imati barem jednog aktivnog administratora."),
        ("uk", "На сайті має бути принаймні один активний адміністратор."),
    ],
)
def test_the_last_active_admin_cannot_be_demoted(app, make_user, lang, message):
    me = make_user("admin@example.org", role="admin", language=lang)
    client = app.test_client()
    sign_in(client, "admin@example.org")
    response = save(client, me, role="coordinator", partnerships=["kyiv"], active="y")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'aria-invalid="true"' in page
    assert account(app, me).role == "admin"
    assert changes(app) == []


def test_no_admin_deactivates_themselves_and_pending_admins_do_not_count(app, admin):
    response = save(admin, admin.user_id, role="admin", partnerships=[])  # active unticked
    assert response.status_code == 400
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert account(app, admin.user_id).active
    # An invited admin who has not accepted is no second admin.
    data = {"csrf_token": csrf_token(admin, "/admin/users/new"), "name": "New Admin",
            "email": "new-admin@example.org", "role": "admin", "language": "en"}  # fmt: skip
    assert admin.post("/admin/users/new", data=data).status_code == 303
    demoted = save(admin, admin.user_id, role="coordinator", partnerships=["kyiv"], active="y")
    assert demoted.status_code == 400
    assert "at least one active administrator" in demoted.get_data(as_text=True)


def test_the_last_admin_guard_holds_from_the_command_line(app, admin, runner):
    result = runner.invoke(args=["users", "deactivate", "--email", "admin@example.org"])
    assert result.exit_code != 0 and "last active admin" in result.output
    assert account(app, admin.user_id).active


def test_an_admin_may_step_down_while_another_remains(app, admin, make_user):
    make_user("second@example.org", role="admin")
    response = save(admin, admin.user_id, role="coordinator", partnerships=["kyiv"], active="y")
    assert response.status_code == 303 and response.headers["Location"] == "/admin/"
    assert admin.get("/admin/users/").status_code == 404


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"role": "superuser", "partnerships": ["kyiv"]}, "Not a valid choice."),
        ({"role": "coordinator", "partnerships": ["atlantis"]}, "is not a valid choice"),
        ({"role": "coordinator", "partnerships": ["kyiv", "../x"]}, "is not a valid choice"),
        ({"role": "coordinator"}, "Choose at least one partnership for a coordinator."),
    ],
)
def test_forged_posts_are_field_errors_and_change_nothing(app, admin, kyiv, fields, error):
    response = save(admin, kyiv.user_id, active="y", **fields)
    assert response.status_code == 400
    assert error in response.get_data(as_text=True)
    user = account(app, kyiv.user_id)
    assert (user.role, user.partnership_keys) == ("coordinator", {"kyiv"})
    assert changes(app) == []


def test_coordinators_cannot_change_accounts(app, admin, kyiv):
    url = f"/admin/users/{admin.user_id}"
    assert kyiv.get(url).status_code == 404
    forged = {"csrf_token": csrf_token(kyiv, "/admin/"), "role": "coordinator",
              "partnerships": ["kyiv"], "active": ""}  # fmt: skip
    assert kyiv.post(url, data=forged).status_code == 404
    assert (
        kyiv.post(f"/admin/users/{kyiv.user_id}", data={**forged, "role": "admin"}).status_code
        == 404
    )
    assert account(app, kyiv.user_id).role == "coordinator"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "user.changed")) == 0  # fmt: skip


def test_a_pending_account_has_no_active_switch_and_is_not_activated_by_a_forged_post(app, admin):
    data = {"csrf_token": csrf_token(admin, "/admin/users/new"), "name": "Invited",
            "email": "invited@example.org", "role": "coordinator", "partnerships": ["kyiv"],
            "language": "en"}  # fmt: skip
    assert admin.post("/admin/users/new", data=data).status_code == 303
    with app.app_context():
        pending = db.session.scalar(select(User.id).where(User.email == "invited@example.org"))
    page = admin.get(f"/admin/users/{pending}").get_data(as_text=True)
    assert 'name="active"' not in page and "Send the invitation again" in page
    response = save(admin, pending, role="admin", partnerships=["kyiv"], active="y")
    assert response.status_code == 303
    user = account(app, pending)
    assert user.role == "admin" and not user.active and user.password_hash == ""
