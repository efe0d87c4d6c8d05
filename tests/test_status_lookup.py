"""A lost status link: mailed again to the address that applied, the same answer for anyone."""

import re

import pytest
from conftest import csrf_token, outbox, valid_application
from sqlalchemy import func, select, update

from lepsite.extensions import db
from lepsite.models import Application, OutgoingMail
from lepsite.partnerships import title as partnership_title

BASE = "https://lep.example.org"
# The site's host under a scheme and port BASE_URL does not name: links built from the
# request would show them.
ASKED = "http://lep.example.org:8443"
LINK = re.compile(r"https?://\S+/apply/status/[A-Za-z0-9_-]{43}")
CSRF_VALUE = re.compile(r'(name="csrf_token" type="hidden" value=")[^"]+"')


def ask(client, email: str, lang: str = "en", **kwargs):
    """Send the form at /<lang>/apply/status like a browser."""
    url = f"/{lang}/apply/status"
    data = {"csrf_token": csrf_token(client, url), "email": email}
    return client.post(url, data=data, **kwargs)


def mail_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutgoingMail))


def applications(app) -> list[tuple[str, str, str, str]]:
    """(reference, token, language, partnership) of every application, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            select(
                Application.reference,
                Application.token,
                Application.language,
                Application.partnership_key,
            ).order_by(Application.id)
        )
        return [tuple(row) for row in rows]


def submit(client, base_url: str | None = None, **fields) -> None:
    """Apply through the form (under ``base_url`` if given)."""
    data = {"csrf_token": csrf_token(client, "/en/apply"), **valid_application(**fields)}
    where = {"base_url": base_url} if base_url else {}
    assert client.post("/en/apply", data=data, **where).status_code == 303


def test_the_form_is_translated_private_and_linked_from_where_a_link_is_looked_for(
    app, client, apply
):
    response = client.get("/uk/apply/status")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="uk"' in page
    assert 'name="email"' in page and "Адреса електронної пошти" in page  # the field's label
    assert 'name="csrf_token"' in page and "<script" not in page
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]

    # Where a reader who lost the link looks: the form, the received page, a dead status link.
    assert 'href="/bs/apply/status"' in client.get("/bs/apply").get_data(as_text=True)
    received = apply(fax_number="+1 555 0100").get_data(as_text=True)
    assert 'href="/en/apply/status"' in received
    dead = client.get("/uk/apply/status/" + "A" * 43)
    assert dead.status_code == 404
    assert 'href="/uk/apply/status"' in dead.get_data(as_text=True)
    # Other pages' 404 stays as it was.
    assert "/apply/status" not in client.get("/uk/no-such-page").get_data(as_text=True)


def test_the_answer_is_the_same_whether_or_not_the_address_applied(app, apply):
    apply(email="olena@example.org")
    before = mail_count(app)
    answers = []
    for email in ("olena@example.org", "nobody@example.org"):
        client = app.test_client()
        response = ask(client, email)
        shown = client.get(response.headers["Location"])
        answers.append(
            (
                response.status_code,
                response.headers["Location"],
                response.get_data(as_text=True),
                shown.status_code,
                CSRF_VALUE.sub(r"\1", shown.get_data(as_text=True)),
            )
        )
    assert answers[0][0] == 303
    assert "links are on their way" in answers[0][4]
    assert answers[0] == answers[1]
    # Only the address that applied gets a message.
    assert mail_count(app) == before + 1
    assert outbox(app)[-1]["To"] == "olena@example.org"


def test_only_closed_applications_means_no_mail(app, client, apply):
    apply(email="olena@example.org")
    with app.app_context():
        db.session.execute(update(Application).values(state="withdrawn"))
        db.session.commit()
    before = mail_count(app)
    assert ask(client, "olena@example.org").status_code == 303
    assert mail_count(app) == before


def test_the_mail_lists_every_open_application_in_the_newest_ones_language(app_factory):
    app = app_factory(BASE_URL=BASE)
    client = app.test_client()
    submit(client, ASKED, email="Olena@Example.org", language="en", partnership="kyiv")
    submit(client, ASKED, email="olena@example.org", language="uk", partnership="odesa")
    submit(client, ASKED, email="olena@example.org", language="bs", organisation_name="Closed")
    submit(client, ASKED, email="someone@example.org", language="en", organisation_name="Other")
    first, newest, closed, other = applications(app)
    with app.app_context():
        db.session.execute(
            update(Application).where(Application.reference == closed[0]).values(state="rejected")
        )
        db.session.commit()
    before = mail_count(app)

    # Asked from a BHS page, under a host name the site does not use in links.
    assert ask(client, "OLENA@example.ORG", lang="bs", base_url=ASKED).status_code == 303
    assert mail_count(app) == before + 1
    message = outbox(app)[-1]
    assert message["To"] == "olena@example.org"  # the newest application's address
    body = message.get_content()
    # In the language the newest application chose for our messages: Ukrainian.
    assert f"Заява {newest[0]}" in body and f"Заява {first[0]}" in body
    with app.test_request_context():
        for _reference, _token, _lang, key in (first, newest):
            assert f"Партнерство: {partnership_title('uk', key)}" in body
    # Every open application's link, each in its own language, on the canonical address.
    assert set(LINK.findall(body)) == {
        f"{BASE}/{lang}/apply/status/{token}" for _ref, token, lang, _key in (first, newest)
    }
    assert closed[0] not in body and closed[1] not in body
    assert other[0] not in body and other[1] not in body
    assert "8443" not in body and "http://" not in body


def test_a_forged_host_is_refused_and_mails_nothing(app_factory):
    app = app_factory(BASE_URL=BASE)
    client = app.test_client()
    submit(client, email="olena@example.org")
    before = mail_count(app)
    response = ask(client, "olena@example.org", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "evil.example" not in response.get_data(as_text=True)
    assert mail_count(app) == before


def test_requests_are_limited_per_address_typed_whoever_asks(app_factory):
    app = app_factory(
        RATELIMIT_ENABLED=True,
        STATUS_LINKS_RATE_LIMIT="100 per hour",
        STATUS_LINKS_EMAIL_RATE_LIMIT="2 per hour",
    )
    submit(app.test_client(), email="olena@example.org")
    before = mail_count(app)
    for email in ("olena@example.org", "nobody@example.org"):
        statuses = []
        for number in range(3):  # three people, three client addresses
            client = app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"192.0.2.{number + 1}"
            response = ask(client, email.upper() if number else email, lang="uk")
            statuses.append(response.status_code)
        assert statuses == [303, 303, 429]
        page = response.get_data(as_text=True)
        assert '<html lang="uk"' in page and 'name="email"' in page
    assert mail_count(app) == before + 2  # the refused request sent nothing
    # In English, the wait is said in minutes.
    refused = ask(app.test_client(), "olena@example.org").get_data(as_text=True)
    assert re.search(r"Try again in \d+ minutes?\.", refused)


def test_requests_are_limited_per_client_address(app_factory):
    app = app_factory(
        RATELIMIT_ENABLED=True,
        STATUS_LINKS_RATE_LIMIT="3 per hour",
        STATUS_LINKS_EMAIL_RATE_LIMIT="100 per hour",
    )
    client = app.test_client()
    statuses = [ask(client, f"person{n}@example.org").status_code for n in range(4)]
    assert statuses == [303, 303, 303, 429]
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.9"
    assert ask(other, "person9@example.org").status_code == 303


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("bs", "Unesite e-mail adresu, na primjer ime@example.org."),
        ("uk", "Введіть адресу електронної пошти, наприклад name@example.org."),
    ],
)
def test_a_bad_address_gets_a_translated_field_error(app, client, apply, lang, message):
    apply(email="olena@example.org")
    before = mail_count(app)
    response = ask(client, "olena at example.org", lang=lang)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'aria-invalid="true"' in page
    assert mail_count(app) == before


def test_without_the_csrf_token_nothing_is_sent(app, client, apply):
    apply(email="olena@example.org")
    before = mail_count(app)
    response = client.post("/uk/apply/status", data={"email": "olena@example.org"})
    assert response.status_code == 400
    assert '<html lang="uk"' in response.get_data(as_text=True)
    assert mail_count(app) == before
