"""Bad input is never a 500: control characters and missing fields in every form, and control
characters in URLs (issue 11, points 5 and 9).

Black-box: each form is read from the page that shows it, as a browser would, then sent back
broken. On PostgreSQL a NUL that reaches a query is a 500, so run this file there too.
"""

import importlib
import pkgutil
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from conftest import PASSWORD, csrf_token, sign_in
from flask_wtf import FlaskForm
from sqlalchemy import select, update

from lepsite.accounts import invitations, tokens
from lepsite.extensions import db
from lepsite.forms import SiteForm
from lepsite.models import Application, OutgoingMail, User, utcnow

MESSAGE = "Remove the invisible control characters from this field."
TRANSLATED = {
    "bs": "Uklonite nevidljive kontrolne znakove iz ovog polja.",
    "uk": "Видаліть невидимі керівні символи з цього поля.",
}

# Every endpoint that accepts a POST → who opens the page holding its form, and that page.
# Placeholders: {submitted} an application just sent in (every review action fits it),
# {waiting} and {token} one whose applicant was asked a question, {approved} and
# {approved_token} an approved membership, {coordinator} a user.
FORM_PAGES = {
    "membership.apply": ("visitor", "/en/apply"),
    "membership.answer": ("visitor", "/en/apply/status/{token}"),
    "membership.withdraw": ("visitor", "/en/apply/status/{token}"),
    "membership.leave": ("visitor", "/en/apply/status/{approved_token}"),
    "membership.correct": ("visitor", "/en/apply/status/{token}/correct"),
    "membership.status_links": ("visitor", "/en/apply/status"),
    "membership.request_copy": ("visitor", "/en/apply/status/{token}"),
    "accounts.login": ("visitor", "/admin/login"),
    "accounts.logout": ("admin", "/admin/"),
    "accounts.change_password": ("admin", "/admin/password"),
    "accounts.end_session": ("admin", "/admin/security"),
    "accounts.end_other_sessions": ("admin", "/admin/security"),
    "accounts.end_all_sessions": ("admin", "/admin/security"),
    "accounts.login_code": ("pending", "/admin/login/code"),
    "accounts.two_factor_confirm": ("setting_up", "/admin/security"),
    "accounts.two_factor_recovery_codes": ("admin", "/admin/security"),
    "accounts.two_factor_disable": ("admin", "/admin/security"),
    "accounts.reset_two_factor": ("admin", "/admin/users/{coordinator}"),
    "admin.act": ("admin", "/admin/applications/{submitted}"),
    "admin.reroute": ("admin", "/admin/applications/{submitted}"),
    "admin.end_membership": ("admin", "/admin/applications/{approved}"),
    "admin.export_person": ("admin", "/admin/applications/{submitted}"),
    "admin.erase_person": ("admin", "/admin/applications/{submitted}/data/erase"),
    "admin.take": ("admin", "/admin/applications/{submitted}"),
    "admin.release": ("admin", "/admin/applications/{waiting}"),
    "admin.bulk": ("admin", "/admin/applications/"),
    "admin.user": ("admin", "/admin/users/{coordinator}"),
    "admin.invite_user": ("admin", "/admin/users/new"),
    "admin.resend_invitation": ("admin", "/admin/users/{invited}"),
    "admin.revoke_invitation": ("admin", "/admin/users/{invited}"),
    "accounts.request_reset": ("visitor", "/admin/reset"),
    "accounts.reset_password": ("visitor", "/admin/reset/{reset_token}"),
    "accounts.accept_invitation": ("visitor", "/admin/invite/{invite_token}"),
    "mail.retry": ("admin", "/admin/mail/failed"),
    "mail.retry_all": ("admin", "/admin/mail/failed"),
}


class FormReader(HTMLParser):
    """The POST forms of a page: where each goes and the fields a browser would send."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "form" and attrs.get("method", "get").lower() == "post":
            self._form = {"actions": [attrs.get("action", "")], "fields": []}
            self.forms.append(self._form)
        if self._form is None:
            return
        if tag == "button" and attrs.get("formaction"):
            if self._form["actions"] == [""]:
                self._form["actions"] = []
            self._form["actions"].append(attrs["formaction"])
        elif tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "reset", "image"):
                return
            value = attrs.get("value", "y" if kind == "checkbox" else "")
            sent = kind not in ("checkbox", "radio") or "checked" in attrs
            self._form["fields"].append({"name": attrs["name"], "value": value, "sent": sent})
        elif tag == "textarea":
            self._textarea = {"name": attrs.get("name", ""), "value": "", "sent": True}
            self._form["fields"].append(self._textarea)
        elif tag == "select":
            self._select = {"name": attrs.get("name", ""), "value": "", "sent": True}
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            if value and (not self._select["value"] or "selected" in attrs):
                self._select["value"] = value

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_on(html: str) -> list[dict]:
    reader = FormReader()
    reader.feed(html)
    return reader.forms


def stored(app) -> dict:
    """Every row of every table, to prove a refused form changed nothing."""
    with app.app_context():
        db.session.remove()
        return {
            table.name: sorted(map(repr, db.session.execute(table.select()).all()))
            for table in db.metadata.sorted_tables
        }


@pytest.fixture
def site(app, client, apply, make_user):
    """Two applications, an admin signed in on a client of their own, a coordinator."""
    make_user("admin@example.org", role="admin")
    coordinator = make_user("kyiv@example.org", partnerships=["kyiv"])
    assert apply(organisation_name="Waiting Org").status_code == 303
    assert apply(organisation_name="Submitted Org", email="s@example.org").status_code == 303
    assert apply(organisation_name="Approved Org", email="a@example.org").status_code == 303
    with app.app_context():
        ids = dict(db.session.execute(select(Application.organisation_name, Application.id)).all())
        token = db.session.get(Application, ids["Waiting Org"]).token
        approved_token = db.session.get(Application, ids["Approved Org"]).token
        db.session.execute(update(OutgoingMail).values(sent_at=None, failed_at=utcnow()))
        db.session.commit()
    admin = app.test_client()
    assert sign_in(admin, "admin@example.org").status_code == 303
    page = f"/admin/applications/{ids['Waiting Org']}"
    (form,) = [f for f in forms_on(admin.get(page).get_data(as_text=True)) if len(f["actions"]) > 1]
    csrf = next(field["value"] for field in form["fields"] if field["name"] == "csrf_token")
    asked = admin.post(f"{page}/request_info", data={"csrf_token": csrf, "note": "How many?"})
    assert asked.status_code == 303
    assert admin.post(f"{page}/take", data={"csrf_token": csrf}).status_code == 303  # releasable
    approve = f"/admin/applications/{ids['Approved Org']}/approve"
    assert admin.post(approve, data={"csrf_token": csrf}).status_code == 303
    values = {
        "submitted": ids["Submitted Org"],
        "waiting": ids["Waiting Org"],
        "token": token,
        "approved": ids["Approved Org"],
        "approved_token": approved_token,
        "coordinator": coordinator,
    }
    # A pending invitation, and a live link of each kind.
    with app.app_context():
        invited, _ids = invitations.invite("new@example.org", "New", "admin", set(), "en")
        values["invite_token"] = tokens.issue(invited, "invite", timedelta(hours=1))
        kyiv = db.session.get(User, coordinator)
        values["reset_token"] = tokens.issue(kyiv, "reset", timedelta(hours=1))
        values["invited"] = invited.id
        db.session.commit()
    # Between the password and the code; and an admin who has yet to set up two-factor sign-in.
    pending, setting_up = app.test_client(), app.test_client()
    password_step = {"csrf_token": csrf_token(pending, "/admin/login"), "password": PASSWORD}
    pending.post("/admin/login", data={**password_step, "email": "kyiv@example.org"})
    make_user("new-admin@example.org", role="admin", two_factor=False)
    assert sign_in(setting_up, "new-admin@example.org").location == "/admin/security"
    clients = {"visitor": client, "admin": admin, "pending": pending, "setting_up": setting_up}
    return {"clients": clients, "values": values}


def targets(app, site, endpoint):
    """(client, action URL, fields) of each way the endpoint's form can be sent."""
    who, page = FORM_PAGES[endpoint]
    client = site["clients"][who]
    url = page.format(**site["values"])
    response = client.get(url)
    assert response.status_code == 200, url
    adapter = app.url_map.bind("lep.test")
    found = []
    for form in forms_on(response.get_data(as_text=True)):
        for action in form["actions"]:
            action = urlsplit(action or url).path
            if adapter.match(action, method="POST")[0] == endpoint:
                found.append((client, action, form["fields"]))
    assert found, f"no form for {endpoint} on {url}"
    return found


def user_fields(fields) -> list[dict]:
    return [field for field in fields if field["name"] != "csrf_token"]


def baseline(fields) -> dict:
    """What a person would send: the page's values, with some text in empty text fields."""
    data = {}
    for field in fields:
        if field["sent"]:
            data.setdefault(field["name"], []).append(field["value"] or "Some text")
    csrf = [field["value"] for field in fields if field["name"] == "csrf_token"]
    data["csrf_token"] = csrf
    return data


def sent_values(fields, names) -> dict:
    """Every field of ``names`` sent, checkboxes ticked, with the page's values."""
    data = {}
    for field in fields:
        if field["name"] in names:
            data.setdefault(field["name"], []).append(field["value"] or "Some text")
    return data


def page_after(client, response) -> str:
    """The page the person ends up on (a refused reroute says why after its redirect)."""
    if response.status_code in (302, 303):
        return client.get(response.headers["Location"]).get_data(as_text=True)
    return response.get_data(as_text=True)


def refused_at_the_field(app, client, action, fields, char) -> None:
    """Send the form with ``char`` in every field, then in each field alone."""
    names = [field["name"] for field in user_fields(fields)]
    if not names:  # a sign-out button: nothing typed, nothing stored from the form
        return
    data = baseline(fields)
    data.update(sent_values(fields, names))
    data.update({name: [value + char for value in data[name]] for name in names})
    attempts = [("every field", data)]
    for name in names:
        single = baseline(fields)
        single.update(sent_values(fields, [name]))
        single[name] = [value + char for value in single[name]]
        attempts.append((name, single))
    before = stored(app)
    for what, attempt in attempts:
        response = client.post(action, data=attempt)
        assert response.status_code != 500, (action, repr(char), what)
        assert MESSAGE in page_after(client, response), (action, repr(char), what)
        assert stored(app) == before, (action, repr(char), what)


def missing_is_no_error(client, action, fields) -> None:
    """Send the CSRF token alone, then the form without each of its fields in turn."""
    response = client.post(action, data={"csrf_token": baseline(fields)["csrf_token"]})
    assert response.status_code != 500, (action, "every field missing")
    for field in user_fields(fields):
        data = baseline(fields)
        data.pop(field["name"], None)
        response = client.post(action, data=data)
        assert response.status_code != 500, (action, field["name"], "missing")


@pytest.mark.parametrize("endpoint", sorted(FORM_PAGES))
def test_every_form_refuses_bad_input_at_the_field(app, site, endpoint):
    """Control characters are a field error and store nothing; a missing field is no 500."""
    found = targets(app, site, endpoint)
    for client, action, fields in found:
        for char in ("\x00", "\x1b", "\x7f", "\x0b"):
            refused_at_the_field(app, client, action, fields, char)
    # Last: a form without its fields may still be valid (a review step needs no note).
    for client, action, fields in found:
        missing_is_no_error(client, action, fields)


def test_reroute_without_note_is_not_an_error(app, site):
    """The reported 500: a reroute POST with no ``note`` field at all."""
    ((admin, action, fields),) = targets(app, site, "admin.reroute")
    data = {"csrf_token": baseline(fields)["csrf_token"], "partnership": "odesa"}
    response = admin.post(action, data=data)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Application, site["values"]["submitted"]).partnership_key == "odesa"


def test_line_breaks_and_tabs_stay_allowed_in_long_text(app, apply):
    text = "Line one\r\n\tindented\r\nline three"
    assert apply(motivation=text).status_code == 303
    with app.app_context():
        assert "\tindented" in db.session.scalar(select(Application.motivation))


def test_a_tab_in_a_one_line_field_is_refused(apply):
    response = apply(email="a\t@example.org")
    assert response.status_code == 400
    assert MESSAGE in response.get_data(as_text=True)


def test_sign_in_never_passes_a_nul_on(app, client, make_user):
    """Unauthenticated: the e-mail, password and browser name never reach a query."""
    make_user("admin@example.org", role="admin")
    before = stored(app)
    for data in (
        {"email": "admin@example.org\x00", "password": PASSWORD},
        {"email": "admin@example.org", "password": PASSWORD + "\x00"},
        {"email": "\x00", "password": "\x00"},
    ):
        data["csrf_token"] = csrf_token(client, "/admin/login")
        response = client.post("/admin/login", data=data)
        assert response.status_code == 400
        assert MESSAGE in response.get_data(as_text=True)
    data = {"csrf_token": csrf_token(client, "/admin/login"), "email": "admin@example.org"}
    response = client.post(
        "/admin/login", data={**data, "password": PASSWORD}, headers={"User-Agent": "Bot\x00"}
    )
    assert response.status_code == 400
    assert stored(app) == before


@pytest.mark.parametrize("lang", ["bs", "uk"])
def test_the_error_is_translated(apply, lang):
    response = apply(lang=lang, organisation_name="Org\x00")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert TRANSLATED[lang] in html and MESSAGE not in html


def test_every_form_of_the_site_is_covered(app):
    """A new POST route needs its page here, so its form is tried with bad input too."""
    posting = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    assert posting == set(FORM_PAGES)


def test_every_form_class_is_a_site_form(app):
    """A form built on FlaskForm alone would let control characters through."""
    import lepsite

    for module in pkgutil.walk_packages(lepsite.__path__, "lepsite."):
        importlib.import_module(module.name)
    forms, plain = list(FlaskForm.__subclasses__()), []
    while forms:
        form = forms.pop()
        forms += form.__subclasses__()
        if form.__module__.startswith("lepsite.") and not issubclass(form, SiteForm):
            plain.append(form.__qualname__)
    assert plain == []


BAD_URLS = [
    ("visitor", "/en/%00"),
    ("visitor", "/%00"),
    ("visitor", "/en/about%1b"),
    ("visitor", "/en/partnerships/%00"),
    ("visitor", "/en/news/%00"),
    ("visitor", "/en/apply/status/" + "a" * 42 + "%00"),
    ("visitor", "/en/apply/status/%00/withdraw"),
    ("visitor", "/static/%00"),
    ("visitor", "/en/news/?page=%00"),
    ("visitor", "/en/apply?partnership=%00"),
    ("visitor", "/en/language?next=/en/%0d%0aSet-Cookie:x=1"),
    ("visitor", "/admin/login?next=/admin/%00"),
    ("visitor", "/en/?%00=1"),
    ("admin", "/admin/applications/?q=%00"),
    ("admin", "/admin/applications/?q=a%1bb"),
    ("admin", "/admin/applications/?partnership=%00"),
    ("admin", "/admin/applications/?organisation_type=%00&state=%00"),
    ("admin", "/admin/applications/export.csv?q=%00"),
    ("admin", "/admin/applications/?page=%00"),
    ("admin", "/admin/applications/1%00"),
]


def test_control_characters_in_urls_are_a_400(site):
    """Path and query values reach lookups and queries without a form: the 400 page."""
    for who, url in BAD_URLS:
        response = site["clients"][who].get(url)
        assert response.status_code == 400, url
        assert "<html" in response.get_data(as_text=True), url
    visitor, admin = site["clients"]["visitor"], site["clients"]["admin"]
    assert visitor.get("/en/about").status_code == 200
    assert visitor.get("/en/news/?page=1").status_code == 200
    assert admin.get("/admin/applications/?q=Org%20%C3%A9&sort=name").status_code == 200
