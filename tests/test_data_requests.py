"""Data requests: a person's copy (command, admin download, mailed from the status page) and
erasure (command, admin page), for every application made with their address."""

import json
import os
import re
import stat
from pathlib import Path

import pytest
from conftest import csrf_token, outbox, sign_in, valid_application
from sqlalchemy import func, select, update

from lepsite.admin.operations import act
from lepsite.audit import AuditEvent
from lepsite.data_requests import holdings
from lepsite.extensions import db
from lepsite.mail import queue_mail, send_pending
from lepsite.mail.outbox import as_email, split_body
from lepsite.membership.operations import mail_status_links
from lepsite.models import Application, OutgoingMail, User

OLENA = "olena@example.org"
PETRO = "petro@example.org"


def rows(model, *where):
    return list(db.session.scalars(select(model).where(*where).order_by(model.id)))


def application_of(name: str) -> Application:
    return db.session.scalars(
        select(Application).where(Application.organisation_name == name)
    ).one()


@pytest.fixture
def people(app, apply, make_user):
    """Olena applied twice (approved, then rejected; her address typed in two letter cases),
    Petro once. Olena was mailed her status links and one message about no application;
    every message is in the outbox folder. Returns the status links by organisation."""
    admin_id = make_user("admin@example.org", role="admin")
    make_user("kyiv@example.org", partnerships=["kyiv"])
    links = {}
    for name, email, lang in (
        ("Olena Bakery", OLENA, "uk"),
        ("Olena Workshop", " Olena@Example.ORG ", "en"),
        ("Petro Farm", PETRO, "bs"),
    ):
        response = apply(
            lang=lang,
            organisation_name=name,
            contact_name=name.split()[0],
            email=email,
            language=lang,
            phone="+380 44 123 45 67",
            motivation=f"Motivation of {name}",
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        links[name] = response.headers["Location"]
    with app.test_request_context():
        admin = db.session.get(User, admin_id)
        mail_status_links(OLENA)  # both of hers, while they are open
        act(application_of("Olena Bakery"), admin, "approve", "Welcome, Olena.")
        act(application_of("Olena Workshop"), admin, "reject", "Not this time, Olena.")
        act(application_of("Petro Farm"), admin, "approve", "Welcome, Petro.")
        queue_mail(OLENA.upper(), "status_links", "en", links=[])  # about no application
        db.session.commit()
        send_pending()
    return links


def eml_ids(app) -> set[int]:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    return {int(path.stem) for path in folder.glob("*.eml")}


def export_command(runner, email=OLENA, *extra):
    return runner.invoke(args=["applications", "export-person", "--email", email, *extra])


def erase_command(runner, email=OLENA, *extra):
    return runner.invoke(args=["applications", "erase-person", "--email", email, *extra])


def test_export_then_erase_then_export_again(app, runner, people):
    with app.app_context():
        olena_mail = {mail.id for mail in rows(OutgoingMail) if "olena" in mail.body.lower()}
        olena_mail |= {
            mail.id for mail in rows(OutgoingMail, func.lower(OutgoingMail.recipient) == OLENA)
        }
        tokens = [application_of(n).token for n in ("Olena Bakery", "Olena Workshop")]
        petro = application_of("Petro Farm")
        petro_before = (petro.email, petro.contact_name, petro.token, petro.anonymised_at)
        petro_mail = {mail.id for mail in rows(OutgoingMail) if mail.id not in olena_mail}
    assert olena_mail <= eml_ids(app) and petro_mail <= eml_ids(app)

    # The copy: in any letter case, every column of both applications, their history and mail.
    result = export_command(runner, "  OLENA@example.org ")
    assert result.exit_code == 0, result.output
    copy = json.loads(result.stdout)
    assert copy["email"] == OLENA
    assert [item["organisation_name"] for item in copy["applications"]] == [
        "Olena Bakery",
        "Olena Workshop",
    ]
    assert [item["state"] for item in copy["applications"]] == ["approved", "rejected"]
    columns = {column.key for column in Application.__mapper__.column_attrs} - {"token"}
    assert set(copy["applications"][0]) >= columns
    assert copy["applications"][0]["phone"] == "+380 44 123 45 67"
    assert "Welcome, Olena." in [e["note"] for e in copy["applications"][0]["events"]]
    assert any("Olena Bakery" in mail["body"] for mail in copy["applications"][0]["mail"])
    assert [mail["recipient"] for mail in copy["other_mail"]] == [OLENA.upper()]
    assert copy["applications"][0]["audit"][0]["action"] == "application.approve"
    # The status links' key stays out: the file must not open the status page.
    assert not any(token in result.stdout for token in tokens)
    assert "Petro" not in result.stdout

    # Without --yes: a list, and nothing changes.
    result = erase_command(runner)
    assert result.exit_code == 0, result.output
    assert "would erase" in result.output and "nothing was changed" in result.output
    with app.app_context():
        assert application_of("Olena Bakery").anonymised_at is None
    assert json.loads(export_command(runner).stdout)["applications"][0]["email"] == OLENA

    result = erase_command(runner, "Olena@Example.org", "--yes")
    assert result.exit_code == 0, result.output
    assert "erased the personal data of 2 application(s)" in result.output
    with app.app_context():
        erased = rows(Application, Application.organisation_name == "")
        assert [item.state for item in erased] == ["approved", "rejected"]  # members too
        for item in erased:
            assert item.anonymised_at is not None
            assert (item.email, item.contact_name, item.phone, item.motivation) == ("",) * 4
            assert all(event.note == "" for event in item.events)
        assert not rows(OutgoingMail, OutgoingMail.id.in_(olena_mail))
        assert "olena" not in " ".join(m.body + m.recipient for m in rows(OutgoingMail)).lower()
        # Petro's data is untouched.
        petro = application_of("Petro Farm")
        assert (petro.email, petro.contact_name, petro.token, petro.anonymised_at) == petro_before
        assert {mail.id for mail in rows(OutgoingMail)} == petro_mail
    assert eml_ids(app) == petro_mail  # the outbox copies went with the rows

    # Nothing is left: the same clear answer and exit code, for the copy and the erasure.
    for result in (export_command(runner), erase_command(runner, OLENA, "--yes")):
        assert result.exit_code == 1, result.output
        assert "nothing is stored about olena@example.org" in result.output


def test_both_commands_are_audited_without_the_address(app, runner, people):
    assert export_command(runner).exit_code == 0
    assert erase_command(runner, OLENA, "--yes").exit_code == 0
    with app.app_context():
        entries = rows(AuditEvent, AuditEvent.action.like("data_request.%"))
        assert [entry.action for entry in entries] == [
            "data_request.exported",
            "data_request.erased",
        ]
        bakery = db.session.scalar(select(Application).order_by(Application.id))
        for entry in entries:
            assert (entry.address, entry.actor_id, entry.email) == ("cli", None, "")
            assert entry.subject == f"application:{bakery.id}"
            details = json.loads(entry.details)
            assert details["applications"] == [bakery.reference, bakery.reference[:-1] + "2"]
            assert details["mails"] >= 3
            assert "olena" not in (entry.details + entry.subject).lower()


def test_bad_input_gets_a_message_and_its_exit_code(app, runner, people):
    for command in (export_command, erase_command):
        result = command(runner, "olena at example.org")
        assert result.exit_code == 2 and "--email" in result.output
        result = command(runner, "nobody@example.org")
        assert result.exit_code == 1
        assert "nothing is stored about nobody@example.org" in result.output
    result = runner.invoke(args=["applications", "erase-person"])
    assert result.exit_code == 2 and "--email" in result.output
    with app.app_context():
        assert not rows(AuditEvent, AuditEvent.action.like("data_request.%"))


def test_an_empty_address_is_no_ones(app, client, runner, people):
    """An anonymised application's address is empty: it never leads to anyone's data."""
    page = f"/admin/applications/{bakery_id(app)}"
    assert erase_command(runner, OLENA, "--yes").exit_code == 0
    with app.app_context():
        # A row emptied by hand, not anonymised, is not found by an empty address either.
        db.session.execute(
            update(Application)
            .where(Application.organisation_name == "Petro Farm")
            .values(email="")
        )
        db.session.commit()
        assert holdings("").empty and holdings("   ").empty
    sign_in(client, "admin@example.org")
    assert "Nothing is stored about" in client.get(page).get_data(as_text=True)
    token = csrf_token(client, page)
    response = client.post(f"{page}/data/export", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get(f"{page}/data/erase").status_code == 303


def test_export_writes_a_file_only_its_owner_reads(app, runner, people, tmp_path):
    target = tmp_path / "olena.json"
    result = export_command(runner, OLENA, "--output", str(target))
    assert result.exit_code == 0, result.output
    assert "wrote 2 application(s)" in result.output
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert json.loads(target.read_text(encoding="utf-8"))["email"] == OLENA


def test_a_staff_address_keeps_its_account(app, runner, people):
    result = export_command(runner, "kyiv@example.org")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["staff_account"]["role"] == "coordinator"
    result = erase_command(runner, "kyiv@example.org", "--yes")
    assert result.exit_code == 1 and "staff account" in result.output


# ---------------------------------------------------------------- the admin page


def bakery_id(app) -> int:
    with app.app_context():
        return application_of("Olena Bakery").id


def test_only_admins_see_and_use_data_requests(app, client, people):
    item = bakery_id(app)
    page = f"/admin/applications/{item}"
    sign_in(client, "kyiv@example.org")
    assert client.get(page).status_code == 200
    assert "Data requests" not in client.get(page).get_data(as_text=True)
    token = csrf_token(client, page)
    assert client.post(f"{page}/data/export", data={"csrf_token": token}).status_code == 404
    assert client.get(f"{page}/data/erase").status_code == 404
    response = client.post(f"{page}/data/erase", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 404
    with app.app_context():
        assert application_of("Olena Bakery").anonymised_at is None
        assert not rows(AuditEvent, AuditEvent.action.like("data_request.%"))
    client.post("/admin/logout", data={"csrf_token": token})
    assert client.get(f"{page}/data/erase").status_code in (302, 303)  # to the sign-in


def test_an_admin_downloads_the_copy(app, client, people):
    item = bakery_id(app)
    page = f"/admin/applications/{item}"
    sign_in(client, "admin@example.org")
    html = client.get(page).get_data(as_text=True)
    assert "Data requests" in html and f"{page}/data/export" in html
    response = client.post(f"{page}/data/export", data={"csrf_token": csrf_token(client, page)})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="lep-data-')
    assert response.headers["Cache-Control"] == "no-store"
    copy = json.loads(response.get_data(as_text=True))
    assert len(copy["applications"]) == 2
    with app.app_context():
        (entry,) = rows(AuditEvent, AuditEvent.action == "data_request.exported")
        assert entry.actor_email == "admin@example.org"
        assert entry.subject == f"application:{item}"


def test_an_admin_erases_after_confirming(app, client, people):
    item = bakery_id(app)
    page = f"/admin/applications/{item}"
    sign_in(client, "admin@example.org")
    confirm = client.get(f"{page}/data/erase")
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert OLENA in html and "Olena Workshop" in html and 'name="confirm"' in html

    # Without the tick: the page again, the error at the field, nothing erased.
    token = csrf_token(client, f"{page}/data/erase")
    response = client.post(f"{page}/data/erase", data={"csrf_token": token})
    assert response.status_code == 400
    assert "Tick the box to confirm the erasure." in response.get_data(as_text=True)
    with app.app_context():
        assert application_of("Olena Bakery").anonymised_at is None

    response = client.post(f"{page}/data/erase", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The personal data of 2 applications was erased" in html
    with app.app_context():
        assert len(rows(Application, Application.anonymised_at.is_not(None))) == 2
        assert application_of("Petro Farm").anonymised_at is None
        (entry,) = rows(AuditEvent, AuditEvent.action == "data_request.erased")
        assert entry.actor_email == "admin@example.org"
        assert entry.subject == f"application:{item}" and "olena" not in entry.details.lower()

    # A second time: nothing is left, and it says so.
    response = client.get(f"{page}/data/erase", follow_redirects=True)
    assert "Nothing is stored about this application" in response.get_data(as_text=True)


# ---------------------------------------------------------------- the applicant's copy


def ask_for_copy(client, status_link: str):
    return client.post(status_link + "/copy", data={"csrf_token": csrf_token(client, status_link)})


def copies(app) -> list:
    """Mail in the outbox that carries a copy, oldest first."""
    return [message for message in outbox(app) if list(message.iter_attachments())]


def test_the_copy_is_mailed_as_an_attachment_never_shown(app, client, people):
    link = people["Olena Bakery"]  # in Ukrainian
    assert 'action="' + link + '/copy"' in client.get(link).get_data(as_text=True)
    response = ask_for_copy(client, link)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "+380 44 123 45 67" not in page and "Motivation of" not in page
    assert "lepsite-data-copy" not in page

    (message,) = copies(app)
    assert message["To"] == OLENA
    text = message.get_body(("plain",)).get_content()
    assert "Вітаємо, Olena!" in text  # the application's language
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "application/json"
    assert attachment.get_filename().startswith("lep-data-LEP-")
    copy = json.loads(attachment.get_content())
    assert [item["organisation_name"] for item in copy["applications"]] == [
        "Olena Bakery",
        "Olena Workshop",
    ]
    assert copy["applications"][0]["phone"] == "+380 44 123 45 67"
    assert "Petro" not in json.dumps(copy)
    with app.app_context():
        (entry,) = rows(AuditEvent, AuditEvent.action == "data_request.copy_mailed")
        assert entry.subject == f"application:{application_of('Olena Bakery').id}"

    # A second click a moment later sends nothing more.
    assert ask_for_copy(client, link).status_code == 303
    assert len(copies(app)) == 1


def test_the_page_says_where_the_copy_went_without_the_address(app, client, people):
    link = people["Olena Workshop"]  # in English
    html = client.get(link).get_data(as_text=True)
    assert "E-mail me a copy of my data" in html
    response = ask_for_copy(client, link)
    flash = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "on its way to the e-mail address given in the application" in flash
    response = ask_for_copy(client, link)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "so no second one was sent" in html
    assert len(copies(app)) == 1


def test_requests_for_a_copy_are_throttled(app_factory):
    app = app_factory(
        RATELIMIT_ENABLED=True,
        DATA_COPY_RATE_LIMIT="3 per hour",
        DATA_COPY_APPLICATION_RATE_LIMIT="2 per hour",
        DATA_COPY_REPEAT_SECONDS=0,
        APPLY_RATE_LIMIT="100 per minute",
    )
    client = app.test_client()
    data = {"csrf_token": csrf_token(client, "/en/apply"), "email": OLENA}
    link = client.post("/en/apply", data={**valid_application(), **data}).headers["Location"]
    answers = []
    for _ in range(3):
        assert ask_for_copy(client, link).status_code == 303
        page = client.get(link).get_data(as_text=True)
        answers.append(re.search(r"too often|on its way", page).group(0))
    assert answers == ["on its way", "on its way", "too often"]
    assert len(copies(app)) == 2

    # Per client address too: another application, asked from the same address.
    data = {"csrf_token": csrf_token(client, "/en/apply"), "email": PETRO}
    other = client.post("/en/apply", data={**valid_application(), **data}).headers["Location"]
    ask_for_copy(client, other)
    assert "too often" in client.get(other).get_data(as_text=True)
    assert len(copies(app)) == 2


def test_an_unknown_link_or_a_forged_form_gets_no_copy(app, client, people):
    link = people["Olena Bakery"]
    token = csrf_token(client, link)
    response = client.post("/en/apply/status/" + "A" * 43 + "/copy", data={"csrf_token": token})
    assert response.status_code == 404
    assert client.post(link + "/copy").status_code == 400  # no CSRF token
    assert not copies(app)


# ---------------------------------------------------------------- attachments in the mail queue


def test_a_queued_attachment_travels_with_its_message(app):
    with app.test_request_context():
        message = queue_mail(
            OLENA, "status_links", "en", attachments=[("a.json", "application/json", '{"ü": 1}')],
            links=[],
        )  # fmt: skip
        db.session.commit()
        text, attachments = split_body(message.body)
        assert "\x1e" not in text and attachments[0]["filename"] == "a.json"
        email = as_email(message)
        assert email.get_body(("plain",)).get_content() == text
        (attachment,) = email.iter_attachments()
        assert json.loads(attachment.get_content()) == {"ü": 1}
