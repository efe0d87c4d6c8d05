"""The admin list's search: every field in both scripts, exact look-ups, scope, bad input, and
the index doing the work (lepsite.admin.search)."""

import secrets
from datetime import timedelta

import pytest
from conftest import sign_in
from sqlalchemy import delete, insert, select, text
from werkzeug.datastructures import MultiDict

from lepsite.admin import queries, search
from lepsite.admin.search import Search, fold_words, search_text_of
from lepsite.extensions import db
from lepsite.membership.operations import correct_application
from lepsite.membership.retention import strip_personal_data
from lepsite.models import Application, User, utcnow

# name: partnership, organisation, contact, e-mail, municipality
PEOPLE = {
    "agro": ("kyiv", "ТОВ «Агро-Світ»", "Ірина Шевченко", "iryna.shevchenko@ukr.net", "Київ"),
    "udruzenje": ("bih-lep1", "Udruženje Đurđević", "Amra Hodžić", "Amra.H@Example.BA", "Tuzla"),
    "centre": ("kyiv", "Kyiv Training Centre", "Olena Kovalenko", "olena@example.org", "Kyiv"),
    "poslodavci": ("bih-lep2", "Удружење послодаваца", "Ђорђе Јовановић", "dj@ex.rs", "Бања Лука"),
    "hromada": ("odesa", "Громада П’ятихатки", "Мар'яна Пʼятниця", "maryana@example.ua", "Одеса"),
    "mostar": ("bih-lep1", "Mostar IT", "Marko Marić", "marko@example.ba", "Mostar"),
}  # fmt: skip


def add(app, **fields) -> int:
    """Store an application the way the form does (reference set after the first insert)."""
    values = {
        "token": secrets.token_urlsafe(32),
        "state": "submitted",
        "partnership_key": "kyiv",
        "organisation_name": "Org",
        "organisation_type": "ngo",
        "municipality": "Kyiv",
        "contact_name": "Contact",
        "email": "contact@example.org",
        "language": "en",
        "contribution": "Time.",
        "motivation": "Jobs.",
        "consent_processing": True,
        **fields,
    }
    with app.app_context():
        application = Application(**values)
        db.session.add(application)
        db.session.flush()
        application.reference = f"LEP-{application.created_at:%Y}-{application.id:06d}"
        db.session.commit()
        return application.id


@pytest.fixture
def people(app, make_user):
    """The applications of PEOPLE, an admin and a Kyiv coordinator; name -> id."""
    make_user("admin@example.org", role="admin")
    make_user("kyiv@example.org", partnerships=["kyiv"])
    ids = {}
    for name, (key, organisation, contact, email, place) in PEOPLE.items():
        ids[name] = add(
            app,
            partnership_key=key,
            organisation_name=organisation,
            contact_name=contact,
            email=email,
            municipality=place,
        )
    return ids


def found(app, typed: str, who: str = "admin@example.org", **filters) -> set[str]:
    """Names (keys of PEOPLE, or organisation names) the list shows for the search."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == who))
        args = MultiDict({"q": typed, "sort": "newest", **filters})
        query = queries.filtered(user, queries.Filters.from_args(args))
        rows = db.session.scalars(query).all()
        assert queries.count_of(query) == len(rows)
        names = {organisation: name for name, (_, organisation, *_rest) in PEOPLE.items()}
        return {names.get(row.organisation_name, row.organisation_name) for row in rows}


FINDS = [
    # BHS names: case and diacritics, đ as dj or d
    ("Đurđević", {"udruzenje"}),
    ("djurdjevic", {"udruzenje"}),
    ("DURDEVIC", {"udruzenje"}),
    ("udruzenje", {"udruzenje", "poslodavci"}),  # Удружење too
    ("hodzic", {"udruzenje"}),
    ("Hodžić", {"udruzenje"}),
    ("Marić", {"mostar"}),
    ("tuzla", {"udruzenje"}),
    # Ukrainian: any case, any apostrophe, Latin finds Cyrillic and back
    ("агро-світ", {"agro"}),
    ("АГРО", {"agro"}),
    ("svit", {"agro"}),
    ("Шевченко", {"agro"}),
    ("shevchenko", {"agro"}),
    ("iryna", {"agro"}),
    ("ukr.net", {"agro"}),
    ("Київ", {"agro", "centre"}),
    ("kyiv", {"agro", "centre"}),
    ("п'ятниця", {"hromada"}),
    ("пʼятниця", {"hromada"}),
    ("П’ЯТНИЦЯ", {"hromada"}),
    ("пятниця", {"hromada"}),
    ("Марʼяна", {"hromada"}),
    ("odesa", {"hromada"}),
    ("Олена", {"centre"}),
    ("Ковач", set()),
    # Serbian Cyrillic and its Latin spelling
    ("Јовановић", {"poslodavci"}),
    ("jovanovic", {"poslodavci"}),
    ("Đorđe", {"poslodavci"}),
    ("banja luka", {"poslodavci"}),
    ("Бања", {"poslodavci"}),
    ("poslodavaca", {"poslodavci"}),
    # inside words, several words, an initial, two characters at the start of a word
    ("valenk", {"centre"}),
    ("kovalenko olena", {"centre"}),
    ("Olena K", {"centre"}),
    ("Olena Z", set()),
    ("ko", {"centre"}),
    ("it", {"mostar"}),
    ("no such name", set()),
]


def test_finds_by_each_field_in_both_scripts(app, people):
    wrong = {typed: found(app, typed) for typed, expected in FINDS if found(app, typed) != expected}
    assert wrong == {}


def test_a_whole_reference_or_address_is_an_exact_look_up(app, people):
    with app.app_context():
        reference = db.session.get(Application, people["centre"]).reference
    assert found(app, reference) == {"centre"}
    assert found(app, reference.lower()) == {"centre"}
    assert found(app, reference[:-1] + "9") == set()
    assert found(app, "olena@example.org") == {"centre"}
    assert found(app, "OLENA@example.org") == {"centre"}
    # Stored with capitals (Amra.H@Example.BA), typed in another case: the same address.
    assert found(app, "amra.h@example.ba") == {"udruzenje"}
    assert found(app, "nobody@example.org") == set()
    assert Search.parse(reference).kind == "reference"
    assert Search.parse("olena@example.org").kind == "email"


def test_folding_is_the_same_for_text_and_search():
    assert fold_words("Đurđević") == fold_words("djurdjevic") == [["durdevic"]]
    assert fold_words("Київ") == [["київ", "kyiv"]]
    assert fold_words("Ірина") == [["ірина", "iryna"]]
    assert fold_words("Ђурђевић") == [["ђурђевић", "durdevic"]]
    assert fold_words("Ковач") == [["ковач", "kovach", "kovac"]]
    assert fold_words("Згорани") == [["згорани", "zghorany", "zgorani"]]
    assert fold_words("пам'ять памʼять пам’ять") == [["память", "pamiat"]] * 3
    text_stored = search_text_of({"organisation_name": "Kyiv Kyiv", "email": "A@B.org"})
    assert text_stored == " kyiv a@b.org"


def test_coordinators_search_only_their_partnerships(app, people):
    assert found(app, "example") == {"centre", "udruzenje", "hromada", "mostar"}
    assert found(app, "example", who="kyiv@example.org") == {"centre"}
    assert found(app, "kyiv", who="kyiv@example.org") == {"agro", "centre"}
    assert found(app, "hodzic", who="kyiv@example.org") == set()
    # an exact look-up is scoped too
    assert found(app, "amra.h@example.ba", who="kyiv@example.org") == set()


def test_search_combines_with_the_other_filters(app, people):
    with app.app_context():
        db.session.get(Application, people["centre"]).state = "approved"
        db.session.commit()
    assert found(app, "kyiv", state="approved") == {"centre"}
    assert found(app, "kyiv", state="open") == {"agro"}
    assert found(app, "example", partnership="bih-lep1") == {"udruzenje", "mostar"}
    assert found(app, "example", organisation_type="education") == set()


def test_paging_and_counts_of_a_search(app, make_user):
    make_user("admin@example.org", role="admin")
    for number in range(57):
        add(app, organisation_name=f"Common Name {number}")
    add(app, organisation_name="Something else")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "admin@example.org"))
        query = queries.filtered(user, queries.Filters.from_args(MultiDict({"q": "common"})))
        first, total = queries.page_of(query, 1, 50)
        second, again = queries.page_of(query, 2, 50)
        assert total == again == 57
        assert len(first) == 50 and len(second) == 7
        assert not {row.id for row in first} & {row.id for row in second}


def fts_in_step(app) -> None:
    """On SQLite, FTS5's own check that the index matches the table."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            check = (
                "INSERT INTO applications_search(applications_search) VALUES ('integrity-check')"
            )
            db.session.execute(text(check))


def test_every_write_keeps_the_search_in_step(app, apply, make_user):
    make_user("admin@example.org", role="admin")
    response = apply(organisation_name="Zaporizhzhia Bakers", contact_name="Taras Melnyk")
    assert response.status_code == 303
    assert found(app, "melnyk") == {"Zaporizhzhia Bakers"}
    with app.app_context():
        application = db.session.scalar(select(Application))
        assert found(app, application.reference) == {"Zaporizhzhia Bakers"}
        correct_application(application, {"contact_name": "Оксана Мельник"})
    assert found(app, "Оксана") == found(app, "oksana") == {"Zaporizhzhia Bakers"}
    assert found(app, "taras") == set()
    fts_in_step(app)
    with app.app_context():
        application = db.session.scalar(select(Application))
        reference = application.reference
        strip_personal_data(application, utcnow())  # anonymisation, erasure
        application.anonymised_at = None  # back in the list, to see what it is found by
        db.session.commit()
    assert found(app, "oksana") == found(app, "bakers") == found(app, "olena@example.org") == set()
    assert found(app, reference) == {""}  # the reference stays, for the record
    assert found(app, "kyiv") == {""}  # and the municipality
    fts_in_step(app)
    with app.app_context():
        db.session.execute(delete(Application))
        db.session.commit()
    assert found(app, "kyiv") == set()
    fts_in_step(app)


def test_bulk_demo_data_is_searchable(app, make_user):
    make_user("admin@example.org", role="admin")
    result = app.test_cli_runner().invoke(
        args=["demo", "seed-bulk", "--applications", "30", "--partnership", "rivne"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        rows = db.session.execute(select(Application.organisation_name, Application.search_text))
        for name, stored in rows:
            assert stored and fold_words(name)[0][0] in stored
        some = db.session.scalar(select(Application).order_by(Application.id.desc()))
        email, reference = some.email, some.reference
    assert len(found(app, "rivne")) == 30
    assert len(found(app, email)) == len(found(app, reference)) == 1
    fts_in_step(app)


BAD_SEARCHES = [
    "x" * 10_000,
    "' OR 1=1 --",
    "'; DROP TABLE applications; --",
    "%",
    "_",
    "*",
    "%_%",
    "kyi%",
    "ky_v",
    "kyiv*",
    '"',
    '"kyiv',
    'kyiv"',
    '"" OR ""',
    "NEAR",
    "NEAR(kyiv centre)",
    "kyiv NEAR/2 centre",
    "-",
    "-kyiv",
    "kyiv - centre",
    "AND",
    "kyiv AND",
    "OR kyiv",
    "NOT kyiv",
    "(",
    "(kyiv",
    ")",
    "^",
    "^kyiv",
    ":",
    "search_text:kyiv",
    "applications_search",
    "{search_text}: kyiv",
    "\\",
    "ky\\iv",
    "+",
    "kyiv+centre",
    "@",
    "@@",
    "a@b",
    "..",
    "LEP-",
    "LEP-2026-",
    "LEP-9999-999999",
    "x@y.zz",
    "Ё",
    "ʼ",
    "𝔎𝔶𝔦𝔳",
    "ｋｙｉｖ",
]


def test_bad_searches_give_a_result_never_an_error(app, people):
    for typed in BAD_SEARCHES:
        found(app, typed)  # no exception: no FTS syntax error, no SQL error


def test_bad_searches_through_the_page(app, client, people):
    sign_in(client, "admin@example.org")
    for typed in [*BAD_SEARCHES, "", " ", "a", "ж", "a b c"]:
        for path in ("/admin/applications/", "/admin/applications/export.csv"):
            response = client.get(path, query_string={"q": typed})
            response.get_data()  # the export streams: read it to the end, as a browser does
            assert response.status_code == 200, (path, typed)
    # FTS syntax is only ever text: these find what the words say
    assert "Kyiv Training Centre" in client.get("/admin/applications/?q=%22Kyiv").text
    assert "Kyiv Training Centre" in client.get("/admin/applications/?q=(centre)").text
    assert "Kyiv Training Centre" not in client.get("/admin/applications/?q=Kyiv*+NEAR").text


def test_one_character_is_a_form_message_not_a_scan(app, client, people):
    sign_in(client, "admin@example.org")
    page = client.get("/admin/applications/?q=k").text
    assert 'id="q-error"' in page and "Type at least two letters or digits" in page
    assert 'aria-invalid="true"' in page
    assert "0 applications" in page
    page = client.get("/admin/applications/?q=%25%25").text
    assert 'id="q-error"' in page
    page = client.get("/admin/applications/?q=ko").text
    assert 'id="q-error"' not in page and "Kyiv Training Centre" in page
    assert Search.parse("k").count_limit is None and Search.parse("ko").count_limit


def dialect(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


def plan(app, typed: str, who: str = "admin@example.org", **args) -> str:
    """The database's plan for the list's page query with this search, as one string."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == who))
        filters = queries.Filters.from_args(MultiDict({"q": typed, **args}))
        query = queries.filtered(user, filters)
        compiled = query.limit(50).compile(
            dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
        )
        connection = db.session.connection()
        if db.engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            return "\n".join(str(row[-1]) for row in rows)
        rows = connection.exec_driver_sql(f"EXPLAIN {compiled}")
        return "\n".join(row[0] for row in rows)


@pytest.fixture
def crowd(app, people):
    """20,000 more applications, so that a database planner sees a reading of every row
    as the cost it is (PostgreSQL after ANALYZE; SQLite plans without statistics)."""
    rows = [
        crowd_row(number, ("submitted", "approved", "rejected")[number % 3], utcnow())
        for number in range(20_000)
    ]
    add_and_analyse(app, rows)
    return people


def crowd_row(number: int, state: str, created_at) -> dict:
    return {
        "token": f"crowd-{number}",
        "reference": f"LEP-2025-{number:06d}",
        "state": state,
        "partnership_key": ("kyiv", "odesa", "lviv", "rivne")[number % 4],
        "organisation_name": f"Crowd Company {number}",
        "organisation_type": "employer",
        "municipality": "Lviv",
        "contact_name": "Ivan Bondar",
        "email": f"crowd{number}@example.net",
        "language": "uk",
        "contribution": "",
        "motivation": "",
        "consent_processing": True,
        "created_at": created_at,
    }


def add_and_analyse(app, rows: list[dict]) -> None:
    with app.app_context():
        db.session.execute(insert(Application), rows)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":  # as autovacuum would do
            with db.engine.connect() as connection:
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                connection.execute(text("VACUUM ANALYZE applications"))


@pytest.fixture
def layered(app, crowd):
    """As in a real list: the newest applications still open, the oldest long closed, so
    that a list of one state read in date order without its index reads the others first."""
    now = utcnow()
    rows = [
        crowd_row(number, "submitted", now + timedelta(minutes=number))
        for number in range(20_000, 26_000)
    ] + [
        crowd_row(number, "withdrawn", now - timedelta(days=400, minutes=number))
        for number in range(26_000, 32_000)
    ]
    add_and_analyse(app, rows)
    return crowd


WORD_SEARCHES = ["kovalenko", "ko", "шевченко olena", "Olena K", "crowd company 14999"]


@pytest.mark.parametrize("who", ["admin@example.org", "kyiv@example.org"])
@pytest.mark.parametrize("few", [search.FEW_MATCHES, -1])
def test_word_searches_use_the_full_text_or_trigram_index(app, crowd, who, few, monkeypatch):
    monkeypatch.setattr(search, "FEW_MATCHES", few)
    for typed in WORD_SEARCHES:
        shown = plan(app, typed, who)
        if dialect(app) == "sqlite":
            if few > 0:  # these words are rare: FTS5 gave their ids, each read by its id
                assert shown.startswith("SEARCH applications USING INTEGER PRIMARY KEY"), shown
                assert "applications_search" not in shown, shown
            else:  # the FTS5 table gives the rows (outer loop); each is then read by its id
                assert shown.startswith("SCAN applications_search VIRTUAL TABLE INDEX"), shown
            assert "SEARCH applications USING INTEGER PRIMARY KEY (rowid=?)" in shown, shown
        else:
            assert "Bitmap Index Scan on ix_applications_search_text_trgm" in shown, shown
        assert "SCAN applications " not in shown and "Seq Scan" not in shown, shown
    assert found(app, "crowd company 14999") == {"Crowd Company 14999"}


@pytest.mark.parametrize("who", ["admin@example.org", "kyiv@example.org"])
def test_a_word_in_thousands_reads_the_list_in_order_and_counts_to_a_limit(app, client, crowd, who):
    """ "crowd" is in 20,000 applications: the page is filled from the list's order, a few
    rows read for each shown, and the count stops at COUNT_LIMIT."""
    if dialect(app) == "sqlite":
        shown = plan(app, "crowd", who)
        assert "applications_search" not in shown, shown
        assert shown.startswith("SCAN applications USING INDEX ix_applications_created_at") or (
            shown.startswith("SEARCH applications USING INDEX ix_applications_partnership_")
        ), shown
        assert "TEMP B-TREE" not in shown, shown
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == who))
        filters = queries.Filters.from_args(MultiDict({"q": "crowd company"}))
        rows, total = queries.page_of(queries.filtered(user, filters), 1, 50, filters.count_limit)
        assert len(rows) == 50 and total == search.COUNT_LIMIT + 1
        assert [row.created_at for row in rows] == sorted(
            (r.created_at for r in rows), reverse=True
        )
    sign_in(client, who)
    page = client.get("/admin/applications/?q=crowd+company").text
    assert "More than 100 applications match" in page
    assert "applications match" not in client.get("/admin/applications/?q=company+14999").text


@pytest.mark.parametrize("who", ["admin@example.org", "kyiv@example.org"])
def test_a_common_word_is_answered_from_the_first_rows_of_the_list(app, crowd, who, monkeypatch):
    """On PostgreSQL the list page answers "crowd" from the first FIRST_ROWS of the list in its
    order, with the same rows and "more than" count as the word index gives; a rarer word, or
    a search the first rows cannot answer, goes to the index. Either way, on both databases,
    the same rows and counts."""
    searches = [
        {"q": "crowd company"},
        {"q": "crowd", "state": "approved"},
        {"q": "ivan bondar", "sort": "name"},
        {"q": "crowd", "state": "open"},  # the list of open ones, by reply-by date
    ]
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == who))

        def by_index(args, number):
            filters = queries.Filters.from_args(MultiDict(args))
            query = queries.filtered(user, filters)
            rows, total = queries.page_of(query, number, 50, filters.count_limit)
            return [row.id for row in rows], total

        def by_list_page(args, number):
            filters = queries.Filters.from_args(MultiDict(args))
            rows, total = queries.list_page(user, filters, number, 50)
            return [row.id for row in rows], total

        expected = {
            (i, number): by_index(args, number)
            for i, args in enumerate(searches)
            for number in (1, 3, 11)
        }
        assert expected[0, 1][1] == search.COUNT_LIMIT + 1 and len(expected[0, 1][0]) == 50
        with monkeypatch.context() as patch:  # the first rows answer: the index is not asked
            if db.engine.dialect.name == "postgresql":  # (SQLite asks FTS5 how common first)
                patch.setattr(queries, "page_of", lambda *args: pytest.fail("asked the index"))
            for i, args in enumerate(searches):
                for number in (1, 3, 11):
                    assert by_list_page(args, number) == expected[i, number], (args, number)
        monkeypatch.setattr(queries, "FIRST_ROWS", 10)  # too few rows: the index answers
        for i, args in enumerate(searches):
            for number in (1, 3, 11):
                assert by_list_page(args, number) == expected[i, number], (args, number)
        rare = {"q": "company 14999"}
        assert by_list_page(rare, 1) == by_index(rare, 1)
        assert by_list_page(rare, 1)[1] == (1 if who.startswith("admin") else 0)  # Rivne's


@pytest.mark.parametrize("who", ["admin@example.org", "kyiv@example.org"])
@pytest.mark.parametrize("typed", ["", "crowd", "company 14999", "LEP-2025-000007"])
def test_the_open_list_by_reply_by_date_reads_its_index_in_order(app, crowd, who, typed):
    """SQLite has chosen, for the same statement, a sort of every open application on one
    database and the partial index on another: the list names the index, unless a word
    index or an exact look-up gives the rows."""
    shown = plan(app, typed, who, state="open")
    if dialect(app) != "sqlite":  # PostgreSQL chooses by its statistics; the hint is not sent
        assert "INDEXED BY" not in shown and "Index" in shown, shown
        return
    if typed in ("", "crowd"):
        index = (
            "ix_applications_open_due"
            if who.startswith("admin")
            else "ix_applications_open_partnership_due"
        )
        assert f"USING INDEX {index}" in shown.splitlines()[0], shown
        assert "TEMP B-TREE" not in shown, shown
    else:
        assert "open_due" not in shown, shown


@pytest.mark.parametrize("sort", ["newest", "oldest"])
@pytest.mark.parametrize("who", ["admin@example.org", "kyiv@example.org"])
def test_a_list_of_one_state_reads_an_index_in_date_order(app, layered, who, sort):
    """No sort of a state's rows, and no reading of the other states' newer rows: PostgreSQL
    reads its partial indexes (it cannot use the listing indexes' order, which has
    ``anonymised_at`` before ``created_at``); SQLite reads the listing indexes."""
    shown = plan(app, "", who, state="approved", sort=sort)
    coordinator = who.startswith("kyiv")
    if dialect(app) == "sqlite":
        index = "partnership_listing" if coordinator else "state_listing"
        assert f"USING INDEX ix_applications_{index}" in shown.splitlines()[0], shown
        assert "TEMP B-TREE" not in shown, shown
    else:
        # a coordinator's list from either (PostgreSQL weighs the partnership's share)
        names = (
            ("partnership_state_created", "state_created") if coordinator else ("state_created",)
        )
        scan = f"Index Scan{' Backward' * (sort == 'newest')} using ix_applications_"
        assert any(f"{scan}{name} " in shown for name in names), shown
        assert "Sort" not in shown, shown


def test_every_way_of_searching_sqlite_finds_the_same(app, people, monkeypatch):
    """The ids of a rare word's rows, the FTS5 table joined to give the rows, or the list
    read in order and each row checked."""
    expected = {typed: found(app, typed) for typed, _ in FINDS}
    monkeypatch.setattr(search, "FEW_MATCHES", -1)  # no word is rare enough for its ids
    assert {typed: found(app, typed) for typed, _ in FINDS} == expected
    monkeypatch.setattr(search, "FTS_DRIVE_LIMIT", -1)  # every word counts as common
    assert {typed: found(app, typed) for typed, _ in FINDS} == expected


@pytest.mark.parametrize("who", ["admin@example.org", "kyiv@example.org"])
def test_exact_searches_use_their_column_index(app, crowd, who):
    with app.app_context():
        reference = db.session.get(Application, crowd["centre"]).reference
    for typed, column in ((reference, "reference"), ("olena@example.org", "email_key")):
        shown = plan(app, typed, who)
        if dialect(app) == "sqlite":
            assert shown.startswith("SEARCH applications USING "), shown
            assert f"({column}=?" in shown.splitlines()[0], shown
            assert "applications_search" not in shown, shown
        else:
            assert "Index" in shown and f"({column})::text = " in shown, shown
            assert "trgm" not in shown and "Seq Scan" not in shown, shown


def test_the_migration_fills_existing_rows_and_goes_back(app_factory):
    """Applications stored before migration a06d2f550006 are found after it; downgrading
    and upgrading again leaves a working search."""
    app = app_factory()
    runner = app.test_cli_runner()
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    assert runner.invoke(args=["db", "upgrade", "9f5c1e440005"]).exit_code == 0
    with app.app_context(), db.engine.begin() as connection:
        values = {
            "reference": "LEP-2025-000007",
            "token": "before",
            "state": "submitted",
            "partnership_key": "lviv",
            "organisation_name": "Стара Ратуша",
            "organisation_type": "ngo",
            "municipality": "Львів",
            "website": "",
            "contact_name": "Ґалина Їжак",
            "contact_role": "",
            "email": "halyna@example.ua",
            "phone": "",
            "language": "uk",
            "contribution": "",
            "motivation": "",
            "consent_processing": True,
            "consent_listing": False,
            "created_at": utcnow(),
            "updated_at": utcnow(),
            "due_on": utcnow().date(),
            "registration_number": "",
            "name_key": "",
            "email_key": "halyna@example.ua",
        }
        names = ", ".join(values)
        connection.execute(
            text(f"INSERT INTO applications ({names}) VALUES (:{', :'.join(values)})"), values
        )
    for step in (["upgrade"], ["downgrade", "9f5c1e440005"], ["upgrade"]):
        result = runner.invoke(args=["db", *step])
        assert result.exit_code == 0, (step, result.output, repr(result.exception))
    make_admin = app.test_cli_runner().invoke(
        args=["users", "create", "--email", "admin@example.org", "--name", "A"]
        + ["--role", "admin", "--password-stdin"],
        input="a long enough password for the test\n",
    )
    assert make_admin.exit_code == 0, make_admin.output
    assert found(app, "halyna") == found(app, "Галина") == found(app, "lviv") == {"Стара Ратуша"}
    assert found(app, "izhak") == {"Стара Ратуша"}
    fts_in_step(app)
    if dialect(app) == "sqlite":
        with app.app_context():
            triggers = db.session.scalars(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE :n"),
                {"n": "applications_search%"},
            ).all()
        assert sorted(triggers) == [
            f"applications_search_{op}" for op in ("delete", "insert", "update")
        ]
