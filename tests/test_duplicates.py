"""Possible duplicates: one organisation's name across languages and scripts, the same e-mail
address or registration number; shown within the viewer's scope, marked in the list."""

import re

import pytest
from conftest import sign_in
from sqlalchemy import event, insert, select

from lepsite.extensions import db
from lepsite.membership.duplicates import email_key, name_key
from lepsite.membership.retention import strip_personal_data
from lepsite.models import Application, utcnow

# Each group: one organisation as different people write it.
SAME_ORGANISATION = [
    [
        "ТОВ «Зелена Енергія»",
        '«ТОВ "Зелена енергія"»',
        "Товариство з обмеженою відповідальністю „Зелена Енергія“",
        "Zelena Energija d.o.o.",
        "ZELENA ENERGIJA DOO Sarajevo",
        "Zelena energija j.d.o.o.",
        "Зелена Енергија д.о.о.",  # Serbian Cyrillic
        "Zelena Enerhiia LLC",  # Ukrainian national romanisation
        "Zelena Energiya, Ltd.",  # Russian-style
        "TOV 'Zelena Enerhiya'",
        "Udruženje građana „Zelena energija“",
        "БФ «Зелена енергія»",
        "Charitable Foundation Zelena Enerhiia",
    ],
    [
        "Громадська організація «Київська ініціатива»",
        "ГО Київська Ініціатива",
        "NGO Kyivska Initsiatyva",
        'Public Organization "Kyivska Initsiatyva"',
        "Kyjivska Inicijativa",
    ],
    [
        "Харківський Центр Зайнятості",
        "Kharkivskyi Tsentr Zainiatosti",
        "Harkivskij Centr Zajnjatosti",
    ],
    [
        "Запоріжжя Вокейшнл",
        "Zaporizhzhia Vokeishnl",
        "Zaporizhia Vokeyshnl",
    ],
    ["Đurđevac d.d.", "Djurdjevac D.D.", "Ђурђевац а.д.", "Durdjevac dd", "DJURDJEVAC DD Tuzla"],
    ["Udruženje žena Šćit", "Udruzenje zena Scit", "UG Žena Šćit"],
    ["ФОП Євгенія Щербак", "Yevheniia Shcherbak", "Ievgeniia Scherbak", "Jevgenija Ščerbak"],
    [
        "The Kyiv Training Centre",
        "Kyiv Training Centre Ltd",
        "KYIV TRAINING-CENTRE",
        "Київ Training Centre",
    ],
    [
        "Employers' Association of Rivne",
        "Employers’ Association of Rivne",
        "Employers Association of Rivne",
    ],
]

# Pairs that must stay apart: the word kept is part of the name, not a legal form.
DIFFERENT = [
    ("Go Green", "Green"),  # "GO" is ГО only in Cyrillic
    ("ГО Зелена", "Go Zelena"),
    ("Employers' Association", "Employers' Council"),
    ("DD Consulting", "Consulting d.o.o."),  # undotted and first: initials
    ("Best Ad Agency", "Best"),  # "ad" without dots is an English word
    ("Zelena Energija d.o.o.", "Plava Energija d.o.o."),
    ("Kyiv Training Centre", "Kyiv Training Foundation"),
    ("Kyiv Vocational School 5", "Kyiv Vocational School 6"),
]


@pytest.mark.parametrize("names", SAME_ORGANISATION, ids=lambda names: names[0])
def test_spellings_of_one_name_share_a_key(names):
    keys = {name: name_key(name) for name in names}
    assert len(set(keys.values())) == 1, keys
    assert all(keys.values())


@pytest.mark.parametrize("first, second", DIFFERENT)
def test_different_names_keep_different_keys(first, second):
    assert name_key(first) != name_key(second)


def test_a_name_that_is_only_a_legal_form_keeps_a_key():
    assert name_key("ТОВ") and name_key("LLC") and name_key("d.o.o.")
    assert name_key("") == name_key(None) == name_key("  ") == ""


def test_e_mail_keys_ignore_letter_case_and_spaces():
    assert email_key(" Olena@Example.ORG ") == email_key("olena@example.org") == "olena@example.org"


# ---------------------------------------------------------------- the stored keys


def new_application(number: int, **fields) -> Application:
    values = {
        "token": f"{number:043d}",
        "reference": f"LEP-2026-{number:06d}",
        "partnership_key": "kyiv",
        "organisation_name": f"Organisation {number}",
        "organisation_type": "ngo",
        "municipality": "Kyiv",
        "contact_name": "Test",
        "email": f"contact{number}@example.org",
        "language": "en",
        "contribution": "Help.",
        "motivation": "Jobs.",
        "consent_processing": True,
        **fields,
    }
    return Application(**values)


def test_the_keys_follow_the_name_and_address_on_every_change(app):
    with app.app_context():
        application = new_application(1, organisation_name="ТОВ «Зелена Енергія»", email="A@X.org")
        db.session.add(application)
        db.session.commit()
        assert (application.name_key, application.email_key) == ("zelenaenerhia", "a@x.org")
        application.organisation_name = "Plava Energija d.o.o."
        application.email = "B@X.org"
        db.session.commit()
        db.session.expire_all()
        stored = db.session.get(Application, application.id)
        assert (stored.name_key, stored.email_key) == (name_key("Plava Energija"), "b@x.org")


def test_bulk_inserts_get_their_keys_too(app):
    """Rows added without the model (the demo's bulk insert) get the keys from the defaults."""
    with app.app_context():
        row = {
            column: value
            for column, value in vars(new_application(1)).items()
            if not column.startswith("_") and column not in ("name_key", "email_key")
        }
        row.update(organisation_name="Zelena Enerhiia LLC", email="Zelena@Example.org")
        db.session.execute(insert(Application.__table__), [row])
        db.session.commit()
        stored = db.session.scalar(select(Application))
        assert (stored.name_key, stored.email_key) == ("zelenaenerhia", "zelena@example.org")


# ---------------------------------------------------------------- the admin pages


@pytest.fixture
def family(app, make_user):
    """One organisation's applications across partnerships, languages and scripts, and others.

    1 kyiv (uk), 2 odesa (en), 3 not sure (bs): the same name in three spellings; 4 kyiv: the
    same e-mail as 1 in other letter case; 5 kyiv: the same registration number as 1; 6 kyiv:
    unrelated; 7 kyiv: the same name as 1, anonymised.
    """
    make_user("admin@example.org", role="admin")
    make_user("kyiv@example.org", partnerships=["kyiv"])
    rows = [
        dict(organisation_name="ТОВ «Зелена Енергія»", language="uk", email="olena@zelena.ua",
             registration_number="14360570"),
        dict(organisation_name="Zelena Enerhiia LLC", partnership_key="odesa"),
        dict(organisation_name="Zelena Energija d.o.o.", partnership_key="not_sure", language="bs",
             registration_number="4402093280003"),
        dict(email="OLENA@Zelena.UA"),
        dict(registration_number="14360570"),
        dict(organisation_name="Kyiv Vocational School"),
        dict(organisation_name="Зелена енергія"),
    ]  # fmt: skip
    with app.app_context():
        for number, fields in enumerate(rows, start=1):
            db.session.add(new_application(number, **fields))
        db.session.commit()
        seventh = db.session.get(Application, 7)
        assert seventh.name_key == "zelenaenerhia"
        strip_personal_data(seventh, utcnow())
        db.session.commit()


def duplicates_section(page: str) -> str:
    start = page.index('id="duplicates"')
    return page[start : page.index("</section>", start)]


def listed(section: str) -> dict[str, str]:
    """Reference -> what matched, as the section lists them."""
    items = re.findall(r"<li>.*?</li>", section, re.S)
    found = {}
    for item in items:
        reference = re.search(r">(LEP-\d{4}-\d{6})</a>", item).group(1)
        found[reference] = re.search(r"<strong>(.*?)</strong>", item).group(1)
    return found


def test_an_admin_sees_every_possible_duplicate_and_what_matched(client, family):
    sign_in(client, "admin@example.org")
    section = duplicates_section(client.get("/admin/applications/1").get_data(as_text=True))
    assert listed(section) == {
        "LEP-2026-000005": "same registration number",
        "LEP-2026-000004": "same e-mail address",
        "LEP-2026-000003": "same organisation name",
        "LEP-2026-000002": "same organisation name",
    }
    assert 'href="/admin/applications/3"' in section and 'href="/admin/applications/2"' in section
    assert "LEP-2026-000007" not in section  # anonymised: never matches
    assert "LEP-2026-000006" not in section


def test_the_latin_and_bhs_spellings_find_the_cyrillic_one(client, family):
    sign_in(client, "admin@example.org")
    section = duplicates_section(client.get("/admin/applications/3").get_data(as_text=True))
    assert listed(section) == {
        "LEP-2026-000002": "same organisation name",
        "LEP-2026-000001": "same organisation name",
    }


def test_several_matches_are_all_named(app, client, family):
    with app.app_context():
        db.session.get(Application, 4).organisation_name = "Zelena Energiya"
        db.session.commit()
    sign_in(client, "admin@example.org")
    section = duplicates_section(client.get("/admin/applications/1").get_data(as_text=True))
    assert listed(section)["LEP-2026-000004"] == "same e-mail address, same organisation name"


def test_a_coordinator_sees_only_their_partnerships_and_nothing_of_the_others(client, family):
    sign_in(client, "kyiv@example.org")
    page = client.get("/admin/applications/1").get_data(as_text=True)
    section = duplicates_section(page)
    assert set(listed(section)) == {"LEP-2026-000004", "LEP-2026-000005"}
    for hidden in ("000002", "000003", "Zelena Enerhiia LLC", "Zelena Energija d.o.o."):
        assert hidden not in page
    assert "2 more" not in page and "other partnerships" not in section


def test_a_coordinator_without_visible_duplicates_is_told_none(app, client, family):
    with app.app_context():  # 4 and 5 move to Odesa: only out-of-scope duplicates remain
        for number in (4, 5):
            db.session.get(Application, number).partnership_key = "odesa"
        db.session.commit()
    sign_in(client, "kyiv@example.org")
    section = duplicates_section(client.get("/admin/applications/1").get_data(as_text=True))
    assert listed(section) == {}
    assert "None of the other applications you can see" in section
    assert "possible-duplicate" not in client.get("/admin/applications/").get_data(as_text=True)


def test_an_anonymised_application_shows_no_comparison(client, family):
    sign_in(client, "admin@example.org")
    page = client.get("/admin/applications/7").get_data(as_text=True)
    assert page.count('id="duplicates"') == 0


def marks(page: str) -> dict[str, str]:
    """Reference -> the mark's text, for the list's marked rows."""
    found = {}
    for row in re.findall(r"<tr>.*?</tr>", page, re.S):
        reference = re.search(r">(LEP-\d{4}-\d{6})</a>", row)
        mark = re.search(r'class="possible-duplicate">([^<]*)</strong>\s*([^<]*)</td>', row)
        if reference and mark:
            found[reference.group(1)] = f"{mark.group(1)} {mark.group(2).strip()}"
    return found


def test_the_list_marks_rows_with_possible_duplicates(client, family):
    sign_in(client, "admin@example.org")
    page = client.get("/admin/applications/").get_data(as_text=True)
    assert marks(page) == {
        "LEP-2026-000001": "Possible duplicate: same registration number, same e-mail address, "
        "same organisation name",
        "LEP-2026-000002": "Possible duplicate: same organisation name",
        "LEP-2026-000003": "Possible duplicate: same organisation name",
        "LEP-2026-000004": "Possible duplicate: same e-mail address",
        "LEP-2026-000005": "Possible duplicate: same registration number",
    }


def test_the_list_marks_only_within_the_coordinators_scope(client, family):
    sign_in(client, "kyiv@example.org")
    page = client.get("/admin/applications/").get_data(as_text=True)
    assert marks(page) == {
        "LEP-2026-000001": "Possible duplicate: same registration number, same e-mail address",
        "LEP-2026-000004": "Possible duplicate: same e-mail address",
        "LEP-2026-000005": "Possible duplicate: same registration number",
    }


def test_the_marks_are_in_the_admins_language(app, client, family, make_user):
    make_user("uk-admin@example.org", role="admin", language="uk")
    sign_in(client, "uk-admin@example.org")
    page = client.get("/admin/applications/").get_data(as_text=True)
    with app.test_request_context():
        from flask_babel import force_locale, gettext

        with force_locale("uk"):
            expected = gettext("Possible duplicate")
    assert expected in page and expected != "Possible duplicate"


def test_a_duplicate_made_by_the_form_is_found(app, client, family, apply):
    assert apply(organisation_name="Zelena Enerhija", email="new@example.org").status_code == 303
    sign_in(client, "admin@example.org")
    page = client.get("/admin/applications/").get_data(as_text=True)
    new = {reference: mark for reference, mark in marks(page).items() if reference.endswith("8")}
    assert list(new.values()) == ["Possible duplicate: same organisation name"]


# ---------------------------------------------------------------- the plan at scale


def test_the_lookups_read_the_indexes_not_the_table(app, family):
    """SQLite without statistics (as deployed) must look each value up in its index; the
    coordinator's partnership index would read every row of the partnership instead. (The plan
    on PostgreSQL, with statistics, was checked at 100,000 rows; see the module.)"""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's planner is the one that needs the composite indexes")
    from lepsite.admin import queries
    from lepsite.models import User

    statements = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    with app.app_context():
        for email in ("admin@example.org", "kyiv@example.org"):
            user = db.session.scalar(select(User).where(User.email == email))
            rows = list(db.session.scalars(queries.visible_to(user)))
            first = db.session.get(Application, 1)
            event.listen(db.engine, "before_cursor_execute", grab)
            try:
                assert queries.duplicate_marks(user, rows)
                assert queries.duplicates_of(user, first)
            finally:
                event.remove(db.engine, "before_cursor_execute", grab)
        lookups = [(sql, parameters) for sql, parameters in statements if "name_key" in sql]
        assert len(lookups) == 4
        with db.engine.connect() as connection:
            for statement, parameters in lookups:
                plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                steps = [step[-1] for step in plan]
                assert not any(step.startswith("SCAN") for step in steps), (statement, steps)
                assert not any("ix_applications_partnership" in step for step in steps), steps
                assert any("ix_applications_name_key" in step for step in steps), steps
