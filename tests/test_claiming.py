"""Taking applications ("assigned to me"), taking over, releasing, and bulk work from the list."""

import html

import pytest
from conftest import csrf_token, sign_in
from sqlalchemy import select

from lepsite.audit import AuditEvent
from lepsite.extensions import db
from lepsite.models import Application, ApplicationEvent


@pytest.fixture
def team(app, apply, make_user):
    """Two Kyiv coordinators, an Odesa one, an admin; three Kyiv applications and one Odesa."""
    make_user("oksana@example.org", partnerships=["kyiv"], name="Oksana")
    make_user("taras@example.org", partnerships=["kyiv"], name="Taras")
    make_user("odesa@example.org", partnerships=["odesa"], name="Iryna")
    make_user("admin@example.org", role="admin", name="Ada")
    for number in range(3):
        apply(organisation_name=f"Kyiv Org {number}", email=f"kyiv{number}@example.org")
    apply(partnership="odesa", organisation_name="Odesa Org", email="odesa-org@example.org")
    with app.app_context():
        rows = db.session.execute(
            select(Application.organisation_name, Application.id).order_by(Application.id)
        )
        return dict(rows.all())


def holder_of(app, application_id: int) -> str | None:
    with app.app_context():
        holder = db.session.get(Application, application_id).assigned_to
        return holder.email if holder else None


def state_of(app, application_id: int) -> str:
    with app.app_context():
        return db.session.get(Application, application_id).state


def post(client, url: str, data: dict | None = None, page: str = "/admin/applications/"):
    return client.post(url, data={"csrf_token": csrf_token(client, page), **(data or {})})


def flashes(client, url: str = "/admin/applications/") -> str:
    return html.unescape(client.get(url).get_data(as_text=True))


def audit_actions(app, application_id: int) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.actor_email, AuditEvent.details)
            .where(AuditEvent.subject == f"application:{application_id}")
            .order_by(AuditEvent.id)
        )
        return [tuple(row) for row in rows]


def test_take_show_take_over_and_release(app, team):
    item = team["Kyiv Org 0"]
    detail = f"/admin/applications/{item}"
    oksana, taras = app.test_client(), app.test_client()
    sign_in(oksana, "oksana@example.org")
    sign_in(taras, "taras@example.org")
    assert "No one has taken it yet." in flashes(oksana, detail)

    response = post(oksana, f"{detail}/take", page=detail)
    assert response.status_code == 303 and response.headers["Location"] == detail
    assert holder_of(app, item) == "oksana@example.org"
    page = flashes(oksana, detail)
    assert "The application is now assigned to you." in page and "You, since" in page
    # The others see who has it, in the list and on the page, and may take it over.
    assert "Oksana, since" in flashes(taras, detail)
    assert "Take it over from Oksana" in flashes(taras, detail)
    assert "<td>Oksana</td>" in flashes(taras)
    assert "<td>Me</td>" in flashes(oksana)
    assert "Kyiv Org 0" in flashes(oksana, "/admin/applications/?assigned=me")
    assert "Kyiv Org 0" not in flashes(taras, "/admin/applications/?assigned=me")
    assert "Kyiv Org 0" not in flashes(taras, "/admin/applications/?assigned=none")

    # Only the holder (or an admin) releases it.
    post(taras, f"{detail}/release", page=detail)
    assert holder_of(app, item) == "oksana@example.org"
    assert "Only the person who has the application" in flashes(taras, detail)

    post(taras, f"{detail}/take", page=detail)
    assert holder_of(app, item) == "taras@example.org"
    assert "You took the application over from Oksana." in flashes(taras, detail)

    admin = app.test_client()
    sign_in(admin, "admin@example.org")
    post(admin, f"{detail}/release", page=detail)
    assert holder_of(app, item) is None

    actions = audit_actions(app, item)
    assert [action for action, _actor, _details in actions] == [
        "application.assign",
        "application.assign",
        "application.release",
    ]
    assert '"from": "oksana@example.org"' in actions[1][2]
    assert actions[2][1] == "admin@example.org"
    history = flashes(oksana, detail)
    assert "Taken by a coordinator" in history and "from Oksana" in history
    assert "Released for others to take" in history
    # The applicant's status page keeps these staff steps to itself.
    with app.app_context():
        token = db.session.get(Application, item).token
    status = app.test_client().get(f"/en/apply/status/{token}").get_data(as_text=True)
    assert "Taken by" not in status and "Released" not in status


def test_closed_and_other_partnerships_applications_cannot_be_taken(app, team):
    client = app.test_client()
    sign_in(client, "oksana@example.org")
    item = team["Kyiv Org 1"]
    with app.app_context():
        db.session.get(Application, item).state = "approved"
        db.session.commit()
    post(client, f"/admin/applications/{item}/take")
    assert holder_of(app, item) is None
    assert "Only open applications can be taken." in flashes(client)
    other = post(client, f"/admin/applications/{team['Odesa Org']}/take")
    assert other.status_code == 404 and holder_of(app, team["Odesa Org"]) is None


def test_claiming_needs_the_csrf_token(app, team):
    client = app.test_client()
    sign_in(client, "oksana@example.org")
    item = team["Kyiv Org 0"]
    assert client.post(f"/admin/applications/{item}/take").status_code == 400
    refused = client.post("/admin/applications/bulk", data={"ids": [item], "action": "take"})
    assert refused.status_code == 400
    assert holder_of(app, item) is None


def test_bulk_take_only_in_scope_and_reports_the_rest(app, team, caplog):
    client = app.test_client()
    sign_in(client, "oksana@example.org")
    mine = [team["Kyiv Org 0"], team["Kyiv Org 1"]]
    forged = team["Odesa Org"]
    back = "/admin/applications/?state=open&q=Kyiv"
    response = post(
        client,
        "/admin/applications/bulk",
        {
            "ids": [*map(str, mine), str(forged), "abc", "99999999999"],
            "action": "take",
            "back": back,
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == back
    assert [holder_of(app, item) for item in mine] == ["oksana@example.org"] * 2
    assert holder_of(app, forged) is None
    page = flashes(client, back)
    assert "Taken: LEP-" in page
    assert "3 selected applications were not found among yours; they were left alone." in page
    assert "outside their list were ignored" in caplog.text
    # One another coordinator has is left alone, and said so; one already mine counts as done.
    taras = app.test_client()
    sign_in(taras, "taras@example.org")
    data = {"ids": [str(item) for item in team.values()][:3], "action": "take"}
    post(taras, "/admin/applications/bulk", data)
    assert holder_of(app, team["Kyiv Org 2"]) == "taras@example.org"
    assert holder_of(app, mine[0]) == "oksana@example.org"
    assert "Someone else has taken" in flashes(taras)


def test_bulk_start_review(app, team):
    client = app.test_client()
    sign_in(client, "oksana@example.org")
    started = team["Kyiv Org 0"]
    post(
        client, f"/admin/applications/{started}/start_review", page=f"/admin/applications/{started}"
    )
    assert state_of(app, started) == "in_review"
    ids = [str(team[name]) for name in ("Kyiv Org 0", "Kyiv Org 1", "Kyiv Org 2")]
    post(client, "/admin/applications/bulk", {"ids": ids, "action": "start_review"})
    assert [state_of(app, int(item)) for item in ids] == ["in_review"] * 3
    page = flashes(client)
    assert "Review started: " in page and "Left as they were" in page
    with app.app_context():
        reviewed = db.session.scalars(
            select(ApplicationEvent.application_id).where(ApplicationEvent.action == "start_review")
        ).all()
    assert sorted(reviewed) == sorted(int(item) for item in ids)
    assert [action for action, *_ in audit_actions(app, int(ids[1]))] == [
        "application.start_review"
    ]


def test_admins_work_on_everything_and_bad_requests_are_no_500(app, team):
    admin = app.test_client()
    sign_in(admin, "admin@example.org")
    post(admin, "/admin/applications/bulk", {"ids": [str(team["Odesa Org"])], "action": "take"})
    assert holder_of(app, team["Odesa Org"]) == "admin@example.org"
    for data in (
        {"ids": ["1"], "action": "delete"},
        {"action": "take"},
        {"ids": ["1"], "action": "take", "back": "https://evil.example/admin/applications/"},
        {"ids": ["1"] * 500, "action": "take", "back": "//evil.example/"},
    ):
        response = post(admin, "/admin/applications/bulk", data)
        assert response.status_code == 303, data
        assert response.headers["Location"] == "/admin/applications/"


def test_the_list_form_works_without_javascript(app, team):
    client = app.test_client()
    sign_in(client, "oksana@example.org")
    page = client.get("/admin/applications/?state=open").get_data(as_text=True)
    assert '<form method="post" action="/admin/applications/bulk"' in page
    assert 'name="back" type="hidden" value="/admin/applications/?state=open"' in page
    for item in (team["Kyiv Org 0"], team["Kyiv Org 1"]):
        assert f'id="select-{item}"' in page and f'for="select-{item}"' in page
    assert 'name="action" value="take"' in page
    assert "<script" not in page
