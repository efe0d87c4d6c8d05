"""Sign-in, scoping, the review workflow, export and the public member list."""

import csv
import functools
import io

import pytest
from conftest import PASSWORD, csrf_token, outbox, sign_in
from sqlalchemy import select

from lepsite.extensions import db
from lepsite.models import Application


@pytest.fixture
def login(client):
    """Return a function that signs a user in through the form."""
    return functools.partial(sign_in, client)


@pytest.fixture
def two_partnerships(app, apply, make_user):
    """A Kyiv and an Odesa coordinator, an admin, and one application to each partnership."""
    make_user("kyiv@example.org", partnerships=["kyiv"])
    make_user("odesa@example.org", partnerships=["odesa"], language="uk")
    make_user("admin@example.org", role="admin")
    apply(partnership="kyiv", organisation_name="Kyiv Org")
    apply(partnership="odesa", organisation_name="Odesa Org", email="odesa-org@example.org")
    with app.app_context():
        return dict(db.session.execute(select(Application.partnership_key, Application.id)).all())


def state_of(app, application_id):
    with app.app_context():
        return db.session.get(Application, application_id).state


def act(client, application_id, action, note=""):
    url = f"/admin/applications/{application_id}"
    token = csrf_token(client, url) if client.get(url).status_code == 200 else "x"
    return client.post(f"{url}/{action}", data={"csrf_token": token, "note": note})


def test_admin_needs_sign_in(client):
    response = client.get("/admin/applications/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login")


def test_wrong_password_gets_one_generic_message(client, make_user, login):
    make_user("kyiv@example.org", partnerships=["kyiv"])
    wrong = login("kyiv@example.org", "wrong password!!")
    unknown = login("nobody@example.org", "wrong password!!")
    assert wrong.status_code == unknown.status_code == 401
    assert "not right" in wrong.get_data(as_text=True)
    assert wrong.get_data(as_text=True).count("not right") == 1


def test_login_is_throttled(app_factory, make_user):
    app = app_factory(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    statuses = []
    for _ in range(4):
        data = {
            "csrf_token": csrf_token(client, "/admin/login"),
            "email": "a@example.org",
            "password": "wrong password!!",
        }
        statuses.append(client.post("/admin/login", data=data).status_code)
    assert statuses == [401, 401, 401, 429]


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/admin/applications/", "/admin/applications/"),
        ("https://evil.example/admin/", "/admin/"),
        ("//evil.example/admin/", "/admin/"),
        ("/\\evil.example", "/admin/"),
        ("/en/about", "/admin/"),
    ],
)
def test_next_never_leaves_the_admin(client, make_user, login, target, expected):
    make_user("kyiv@example.org", partnerships=["kyiv"])
    response = login("kyiv@example.org", next_url=target)
    assert response.status_code == 303
    assert response.headers["Location"] == expected


def test_session_is_renewed_and_logout_needs_post(client, make_user, login):
    make_user("kyiv@example.org", partnerships=["kyiv"])
    login("kyiv@example.org")
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/logout").status_code == 405
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    assert client.get("/admin/").status_code == 302


def test_admin_is_in_the_users_language_and_never_cached(client, make_user, login):
    make_user("odesa@example.org", partnerships=["odesa"], language="uk")
    login("odesa@example.org")
    response = client.get("/admin/applications/")
    assert 'lang="uk"' in response.get_data(as_text=True)
    assert "no-store" in response.headers["Cache-Control"]


def test_coordinator_sees_only_their_partnership(client, login, two_partnerships):
    login("kyiv@example.org")
    listing = client.get("/admin/applications/").get_data(as_text=True)
    assert "Kyiv Org" in listing and "Odesa Org" not in listing
    other = two_partnerships["odesa"]
    assert client.get(f"/admin/applications/{other}").status_code == 404
    export = client.get("/admin/applications/export.csv").get_data(as_text=True)
    assert "Kyiv Org" in export and "Odesa Org" not in export
    assert client.get("/admin/users/").status_code == 404


def test_forged_post_on_another_partnership_is_refused(app, client, login, two_partnerships):
    login("kyiv@example.org")
    token = csrf_token(client, "/admin/")
    other = two_partnerships["odesa"]
    response = client.post(
        f"/admin/applications/{other}/approve", data={"csrf_token": token, "note": ""}
    )
    assert response.status_code == 404
    assert state_of(app, other) == "submitted"


def test_review_to_approval_mails_the_applicant_and_lists_the_member(
    app, client, login, two_partnerships
):
    login("kyiv@example.org")
    item = two_partnerships["kyiv"]
    assert act(client, item, "start_review").status_code == 303
    assert state_of(app, item) == "in_review"
    assert act(client, item, "approve", "Welcome aboard").status_code == 303
    assert state_of(app, item) == "approved"
    last = outbox(app)[-1]
    assert last["To"] == "olena@example.org" and "Welcome aboard" in last.get_content()
    for lang in ("en", "bs", "uk"):
        page = client.get(f"/{lang}/partnerships/kyiv").get_data(as_text=True)
        assert "Kyiv Org" in page
    assert "Kyiv Org" not in client.get("/en/partnerships/odesa").get_data(as_text=True)


def test_rejection_needs_a_reason_and_is_shown_to_the_applicant(
    app, client, login, two_partnerships
):
    login("kyiv@example.org")
    item = two_partnerships["kyiv"]
    refused = act(client, item, "reject", "")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'aria-invalid="true"' in html and 'href="#note"' in html
    assert state_of(app, item) == "submitted"
    act(client, item, "reject", "Outside the partnership's area")
    assert state_of(app, item) == "rejected"
    with app.app_context():
        token = db.session.get(Application, item).token
    page = client.get(f"/en/apply/status/{token}").get_data(as_text=True)
    assert "Outside the partnership&#39;s area" in page
    # A closed application takes no further decisions.
    act(client, item, "approve")
    assert state_of(app, item) == "rejected"


def test_question_and_answer_round_trip(app, client, login, two_partnerships):
    login("kyiv@example.org")
    item = two_partnerships["kyiv"]
    act(client, item, "request_info", "How many trainees?")
    assert state_of(app, item) == "info_requested"
    with app.app_context():
        token = db.session.get(Application, item).token
    applicant = app.test_client()
    url = f"/en/apply/status/{token}"
    page = applicant.get(url).get_data(as_text=True)
    assert "How many trainees?" in page
    applicant.post(
        url + "/answer", data={"csrf_token": csrf_token(applicant, url), "answer": "Twenty"}
    )
    assert state_of(app, item) == "in_review"
    assert outbox(app)[-1]["To"] == "kyiv@example.org"
    assert "Twenty" in client.get(f"/admin/applications/{item}").get_data(as_text=True)


def test_every_action_is_recorded_with_who(app, client, login, two_partnerships):
    login("kyiv@example.org")
    item = two_partnerships["kyiv"]
    act(client, item, "note", "Called them")
    page = client.get(f"/admin/applications/{item}").get_data(as_text=True)
    assert "Called them" in page and "Kyiv" in page


def test_applicant_text_is_escaped(app, client, apply, login, make_user):
    make_user("kyiv@example.org", partnerships=["kyiv"])
    apply(organisation_name="<script>alert(1)</script>")
    login("kyiv@example.org")
    page = client.get("/admin/applications/").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_admin_sees_all_and_can_reroute(app, client, login, two_partnerships):
    login("admin@example.org")
    listing = client.get("/admin/applications/").get_data(as_text=True)
    assert "Kyiv Org" in listing and "Odesa Org" in listing
    item = two_partnerships["kyiv"]
    url = f"/admin/applications/{item}"
    client.post(
        url + "/reroute",
        data={"csrf_token": csrf_token(client, url), "partnership": "odesa", "note": ""},
    )
    with app.app_context():
        application = db.session.get(Application, item)
        assert application.partnership_key == "odesa"
        assert [r.user.email for r in application.recipients] == ["odesa@example.org"]


def test_list_filters_search_and_counts(client, login, two_partnerships):
    login("admin@example.org")
    page = client.get("/admin/applications/?q=odesa-org").get_data(as_text=True)
    assert "Odesa Org" in page and "Kyiv Org" not in page
    page = client.get("/admin/applications/?partnership=kyiv&state=submitted").get_data(
        as_text=True
    )
    assert "Kyiv Org" in page and "Odesa Org" not in page
    assert client.get("/admin/applications/?q=%25").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_export_defuses_formulas(app, client, apply, login, make_user):
    make_user("admin@example.org", role="admin")
    apply(organisation_name='=HYPERLINK("http://evil")', motivation="+1+1")
    login("admin@example.org")
    response = client.get("/admin/applications/export.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "reference"
    assert rows[1][4].startswith("'=") and rows[1][14] == "'+1+1"


def test_users_command_creates_a_coordinator(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "new@example.org",
            "--name",
            "New",
            "--role",
            "coordinator",
            "--partnership",
            "kyiv",
            "--language",
            "bs",
            "--password-stdin",
        ],
        input="a good long password\n",
    )
    assert result.exit_code == 0, result.output
    bad = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "x@example.org",
            "--name",
            "X",
            "--role",
            "coordinator",
            "--partnership",
            "atlantis",
            "--password-stdin",
        ],
        input="a good long password\n",
    )
    assert bad.exit_code != 0 and "unknown partnership" in bad.output
    assert runner.invoke(args=["users", "deactivate", "--email", "new@example.org"]).exit_code == 0
    listing = runner.invoke(args=["users", "list"]).output
    assert "new@example.org\tcoordinator\tkyiv\tbs\tinactive" in listing


def test_deactivated_user_is_signed_out(app, client, login, make_user, runner):
    make_user("kyiv@example.org", partnerships=["kyiv"])
    login("kyiv@example.org")
    assert client.get("/admin/").status_code == 200
    app.test_cli_runner().invoke(args=["users", "deactivate", "--email", "kyiv@example.org"])
    assert client.get("/admin/").status_code == 302


def test_password_change_needs_the_current_one_and_ends_old_sessions(app, client, login, make_user):
    make_user("kyiv@example.org", partnerships=["kyiv"])
    login("kyiv@example.org")
    other_browser = app.test_client()
    sign_in(other_browser, "kyiv@example.org")
    assert other_browser.get("/admin/").status_code == 200
    form = {
        "csrf_token": csrf_token(client, "/admin/password"),
        "current_password": "wrong",
        "new_password": "a brand new passphrase",
        "confirm": "a brand new passphrase",
    }
    assert client.post("/admin/password", data=form).status_code == 400
    form["current_password"] = PASSWORD
    assert client.post("/admin/password", data=form).status_code == 303
    assert client.get("/admin/").status_code == 200  # this session carries on
    assert other_browser.get("/admin/").status_code == 302  # the other one ends
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    assert login("kyiv@example.org", "a brand new passphrase").status_code == 303


def test_admin_assigns_partnerships_to_a_coordinator(app, client, login, make_user):
    coordinator = make_user("kyiv@example.org", partnerships=["kyiv"])
    make_user("admin@example.org", role="admin")
    login("admin@example.org")
    url = f"/admin/users/{coordinator}"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "partnerships": ["kyiv", "odesa"],
            "active": "y",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        from lepsite.models import User

        assert db.session.get(User, coordinator).partnership_keys == {"kyiv", "odesa"}
