"""``/admin/reports`` (issue 17): figures that agree with the rows behind them, kept right by
every change, drawn as SVG with a table, downloadable, scoped, and safe with any input.

A frozen clock walks through autumn 2026. "Today" is Tuesday 24 November 2026; the default
period is then 1 December 2025 to 24 November 2026.
"""

import csv
import io
import random
import re
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
import time_machine
from conftest import sign_in
from sqlalchemy import func, insert, select, text, update

from lepsite.admin import operations
from lepsite.admin import queries as admin_queries
from lepsite.extensions import db
from lepsite.membership import operations as applicant
from lepsite.membership.retention import strip_personal_data
from lepsite.models import Application, ApplicationEvent, User
from lepsite.reports import queries, rollups
from lepsite.reports.models import ReportCount, ReportFlow, ReportMember, ReportOpen
from lepsite.review_clock import reminders, working_days_between

TODAY = "2026-11-24"
SVG = "{http://www.w3.org/2000/svg}"
FIGURES = (
    "received-by-month",
    "received-by-partnership",
    "decisions",
    "durations",
    "open-by-age",
    "members-by-type",
    "members-by-partnership",
)


def at(day: str, clock: str = "10:00") -> datetime:
    """A moment in Sarajevo's winter time."""
    return datetime.fromisoformat(f"{day}T{clock}:00+01:00")


def fields(partnership: str = "kyiv", kind: str = "education", number: int = 1) -> dict:
    """What the form stores for an application."""
    return {
        "organisation_name": f"Organisation {number}",
        "organisation_type": kind,
        "partnership_key": partnership,
        "municipality": "Kyiv",
        "website": "",
        "contact_name": "Olena Test",
        "contact_role": "",
        "email": f"org{number}@example.org",
        "phone": "",
        "language": "en",
        "contribution": "Training places.",
        "motivation": "Local jobs.",
        "consent_processing": True,
        "consent_listing": True,
    }


@pytest.fixture
def people(make_user):
    return {
        "admin": make_user("admin@example.org", role="admin"),
        "admin_uk": make_user("admin-uk@example.org", role="admin", language="uk"),
        "kyiv": make_user("kyiv@example.org", partnerships=["kyiv"]),
    }


class Story:
    """Applications made through the real operations at chosen moments; what was done to each
    is kept here too, so the test can count the figures itself."""

    def __init__(self, app, admin_id: int):
        self.app = app
        self.admin_id = admin_id
        self.rows: dict[int, dict] = {}

    def submit(self, day: str, partnership="kyiv", kind="education", clock="10:00") -> int:
        with self.app.app_context(), time_machine.travel(at(day, clock), tick=False):
            item, _mail = applicant.submit_application(fields(partnership, kind, len(self.rows)))
            self.rows[item.id] = {
                "partnership": partnership,
                "kind": kind,
                "received": date.fromisoformat(day),
                "due": item.due_on,
                "state": "submitted",
                "responded": None,
                "closed": None,
            }
            return item.id

    def act(self, application_id: int, action: str, day: str, note: str = "Why.") -> None:
        with self.app.app_context(), time_machine.travel(at(day, "12:00"), tick=False):
            item = db.session.get(Application, application_id)
            admin = db.session.get(User, self.admin_id)
            operations.act(item, admin, action, note)
            self._note(application_id, item.state, day, action)

    def withdraw(self, application_id: int, day: str) -> None:
        with self.app.app_context(), time_machine.travel(at(day, "12:00"), tick=False):
            applicant.withdraw_application(db.session.get(Application, application_id))
            self._note(application_id, "withdrawn", day, "withdrawn")

    def _note(self, application_id: int, state: str, day: str, action: str) -> None:
        row = self.rows[application_id]
        row["state"] = state
        if action in ("request_info", "approve", "reject") and row["responded"] is None:
            row["responded"] = date.fromisoformat(day)
        if state in ("approved", "rejected", "withdrawn", "lapsed"):
            row["closed"] = date.fromisoformat(day)


@pytest.fixture
def story(app, people):
    """Fourteen applications in Kyiv, Odesa and "not sure", of three types, in eight states
    of their lives."""
    s = Story(app, people["admin"])
    a = s.submit("2026-03-10", "kyiv", "education")  # long ago, approved after 3 working days
    s.act(a, "approve", "2026-03-13")
    b = s.submit("2026-10-01", "kyiv", "ngo")  # asked, then rejected
    s.act(b, "request_info", "2026-10-05")
    s.act(b, "reject", "2026-10-20")
    c = s.submit("2026-10-02", "odesa", "education")  # approved after 12 working days
    s.act(c, "start_review", "2026-10-05")
    s.act(c, "approve", "2026-10-20")
    d = s.submit("2026-10-15", "odesa", "employer")  # withdrawn: no reply, no decision
    s.withdraw(d, "2026-10-16")
    e = s.submit("2026-10-26", "not_sure", "ngo")  # asked a question, still waiting
    s.act(e, "request_info", "2026-10-27")
    f = s.submit("2026-10-28", "kyiv", "education")  # in review, overdue
    s.act(f, "start_review", "2026-10-29")
    s.submit("2026-11-01", "kyiv", "employer")  # received on a Sunday, overdue
    g = s.submit("2026-11-05", "kyiv", "education")  # approved in a day
    s.act(g, "approve", "2026-11-06")
    s.submit("2026-11-20", "odesa", "ngo")  # recent
    s.submit("2026-11-23", "kyiv", "ngo")  # yesterday
    h = s.submit("2026-11-09", "kyiv", "ngo")  # rejected in two working days
    s.act(h, "reject", "2026-11-11")
    i = s.submit("2025-11-20", "kyiv", "employer")  # before the period, decided in it
    s.act(i, "approve", "2025-12-02")
    s.submit("2026-11-24", "kyiv", "education", clock="08:00")  # today
    j = s.submit("2026-11-13", "odesa", "education")  # approved two weeks later
    s.act(j, "approve", "2026-11-23")
    return s


def sign_in_today(client, email: str) -> None:
    """Sign in at the frozen moment the pages are read at (sessions have their own clock)."""
    with time_machine.travel(at(TODAY, "09:00"), tick=False):
        sign_in(client, email)


def page(client, query: str = "", day: str = TODAY):
    with time_machine.travel(at(day, "09:00"), tick=False):
        return client.get(f"/admin/reports{query}")


def csv_rows(client, name: str, query: str = "", day: str = TODAY) -> list[list[str]]:
    with time_machine.travel(at(day, "09:00"), tick=False):
        response = client.get(f"/admin/reports/{name}.csv{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def as_dict(rows: list[list[str]]) -> dict[str, list[str]]:
    """Data rows by their first cell."""
    return {row[0]: row[1:] for row in rows[1:]}


def nearest_rank(values: list[int], percent: int) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-percent * len(ordered) // 100))
    return ordered[rank - 1]


# ---------------------------------------------------------------- the figures agree


def expected(story: Story, first: date, last: date, keys=None, kind=None) -> dict:
    """The figures, counted from what the story did."""
    rows = [
        row
        for row in story.rows.values()
        if (keys is None or row["partnership"] in keys) and (kind is None or row["kind"] == kind)
    ]
    within = [row for row in rows if first <= row["received"] <= last]
    months = Counter(row["received"].strftime("%Y-%m") for row in within)
    closed = Counter(
        row["state"] for row in rows if row["closed"] and first <= row["closed"] <= last
    )
    responses = [
        working_days_between(row["received"], row["responded"])
        for row in rows
        if row["responded"] and first <= row["responded"] <= last
    ]
    decisions = [
        working_days_between(row["received"], row["closed"])
        for row in rows
        if row["state"] in ("approved", "rejected") and first <= row["closed"] <= last
    ]
    return {
        "months": months,
        "partnerships": Counter(row["partnership"] for row in within),
        "closed": closed,
        "responses": responses,
        "decisions": decisions,
        "open": [
            row for row in rows if row["state"] in ("submitted", "in_review", "info_requested")
        ],
        "members": [row for row in rows if row["state"] == "approved"],
    }


def check_figures(client, story: Story, query: str, first, last, keys=None, kind=None) -> None:
    want = expected(story, first, last, keys, kind)
    months = csv_rows(client, "received-by-month", query)
    assert months[0] == ["Month", "Applications"]
    got = {month: int(number) for month, number in months[1:]}
    assert {month: n for month, n in got.items() if n} == dict(want["months"])
    assert list(got) == [month.strftime("%Y-%m") for month in queries.months(first, last)]

    by_partnership = as_dict(csv_rows(client, "received-by-partnership", query))
    names = {"kyiv": "Kyiv", "odesa": "Odesa", "not_sure": "No partnership chosen"}
    found = {
        key: sum(int(n) for label, (n,) in by_partnership.items() if name in label)
        for key, name in names.items()
    }
    assert found == {key: want["partnerships"].get(key, 0) for key in names}

    decided = as_dict(csv_rows(client, "decisions", query))
    labels = {
        "approved": "Approved",
        "rejected": "Not approved",
        "withdrawn": "Withdrawn",
        "lapsed": "Closed: no answer",
    }
    for state, label in labels.items():
        assert int(decided[label][0]) == want["closed"][state], state
    approved, rejected = want["closed"]["approved"], want["closed"]["rejected"]
    rate = decided["Approval rate"][0]
    assert (
        (rate == "")
        if not approved + rejected
        else float(rate) == pytest.approx(approved / (approved + rejected), abs=1e-4)
    )

    durations = as_dict(csv_rows(client, "durations", query))
    for label, values in (
        ("First reply to the applicant", want["responses"]),
        ("Decision", want["decisions"]),
    ):
        count, median, p90, within_promise = durations[label]
        assert int(count) == len(values)
        assert median == str(nearest_rank(values, 50) if values else "")
        assert p90 == str(nearest_rank(values, 90) if values else "")
        if values:
            share = sum(value <= 10 for value in values) / len(values)
            assert float(within_promise) == pytest.approx(share, abs=1e-4)

    today = date.fromisoformat(TODAY)
    ages = as_dict(csv_rows(client, "open-by-age", query))
    buckets = list(ages.values())
    for index, (low, high) in enumerate(queries.AGE_BUCKETS):
        inside = [
            row
            for row in want["open"]
            if low <= (today - row["received"]).days
            and (high is None or (today - row["received"]).days <= high)
        ]
        late = [
            row
            for row in inside
            if row["state"] in ("submitted", "in_review") and row["due"] < today
        ]
        assert [int(n) for n in buckets[index]] == [len(inside), len(late)], (low, high)

    members = as_dict(csv_rows(client, "members-by-type", query))
    kinds = Counter(row["kind"] for row in want["members"])
    type_labels = {
        "education": "Education or training institution",
        "ngo": "NGO or civil society organisation",
        "employer": "Employer (company)",
    }
    for code, label in type_labels.items():
        assert int(members[label][0]) == kinds.get(code, 0)
    per_partnership = as_dict(csv_rows(client, "members-by-partnership", query))
    member_keys = Counter(row["partnership"] for row in want["members"])
    for key, name in names.items():
        shown = sum(int(n) for label, (n,) in per_partnership.items() if name in label)
        assert shown == member_keys.get(key, 0)


def test_the_figures_agree_with_counts_from_the_rows(app, client, people, story):
    sign_in_today(client, "admin@example.org")
    default = (date(2025, 12, 1), date(2026, 11, 24))
    check_figures(client, story, "", *default)
    check_figures(client, story, "?partnership=kyiv", *default, keys={"kyiv"})
    check_figures(client, story, "?organisation_type=education", *default, kind="education")
    # A period that starts and ends inside months: days at both ends, whole months between.
    check_figures(
        client,
        story,
        "?date_from=2026-10-02&date_to=2026-11-20&partnership=odesa",
        date(2026, 10, 2),
        date(2026, 11, 20),
        keys={"odesa"},
    )
    check_figures(
        client,
        story,
        "?date_from=2026-11-06&date_to=2026-11-11",
        date(2026, 11, 6),
        date(2026, 11, 11),
    )
    check_figures(
        client,
        story,
        "?date_from=2026-03-01&date_to=2026-03-31&organisation_type=education",
        date(2026, 3, 1),
        date(2026, 3, 31),
        kind="education",
    )


def test_the_page_says_the_figures_in_words_and_plurals(app, client, people, story):
    sign_in_today(client, "admin@example.org")
    response = page(client)
    assert response.status_code == 200
    body = unescape(response.get_data(as_text=True))
    assert "From December 1, 2025 to November 24, 2026." in body
    open_now = sum(
        row["state"] in ("submitted", "in_review", "info_requested") for row in story.rows.values()
    )
    assert f"{open_now} applications are open." in body
    assert "2 are overdue" in body  # the application in review and the one just received
    assert "Within 10 working days" in body
    assert "2 working days" in body  # the median first reply, in words


def test_figures_are_in_the_viewers_language_and_number_format(app, client, people, story):
    sign_in_today(client, "admin-uk@example.org")
    body = unescape(page(client).get_data(as_text=True))
    assert '<html lang="uk"' in body
    assert "листопад 2026" in body  # the month, by Babel
    # The approval rate (5 of 7 in the period), with a decimal comma.
    want = expected(story, date(2025, 12, 1), date(2026, 11, 24))["closed"]
    rate = want["approved"] / (want["approved"] + want["rejected"])
    assert f"{rate * 100:.1f}".replace(".", ",").removesuffix(",0") + "%" in body


# ---------------------------------------------------------------- charts, tables, CSV


def test_each_chart_is_valid_svg_with_a_title_and_its_table_beside_it(app, client, people, story):
    sign_in_today(client, "admin@example.org")
    response = page(client)
    body = response.get_data(as_text=True)
    assert "style=" not in body and "<script" not in body  # the strict CSP allows neither
    ids = re.findall(r'\sid="([^"]+)"', body)
    assert len(ids) == len(set(ids)), Counter(ids).most_common(3)
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    charts = re.findall(r"<svg.*?</svg>", body, re.S)
    assert len(charts) == len(FIGURES)
    for name, chart in zip(FIGURES, charts, strict=True):
        root = ET.fromstring(chart)  # well-formed XML, in the SVG namespace
        assert root.tag == f"{SVG}svg"
        assert root.get("role") == "img"
        title = root.find(f"{SVG}title")
        assert title is not None and title.text
        assert root.get("aria-labelledby").split()[0] == title.get("id") == f"chart-{name}-title"
        # The table that follows the chart has the same categories and numbers.
        after = body[body.index(chart) + len(chart) :]
        table = re.search(r"<table.*?</table>", after, re.S).group(0)
        heads = [unescape(h) for h in re.findall(r'<th scope="row">(.*?)</th>', table)]
        labels = [unescape(t.text) for t in root.iter(f"{SVG}text") if t.get("font-weight")]
        assert labels == heads[: len(labels)]
        numbers = [unescape(t.text) for t in root.iter(f"{SVG}text") if not t.get("font-weight")]
        cells = [unescape(c) for c in re.findall(r'<td class="number">(.*?)</td>', table)]
        assert set(numbers) - {"Median", "90th percentile", "Open", "Overdue"} <= set(cells) | {
            t.text for t in root.iter(f"{SVG}text") if t.text.startswith("The promise")
        }
        assert f"/admin/reports/{name}.csv" in after[: after.index("</table>") + 400]


def test_every_figure_downloads_as_csv_with_the_filters(app, client, people, story):
    sign_in_today(client, "admin@example.org")
    for name in FIGURES:
        rows = csv_rows(client, name, "?partnership=kyiv&date_from=2026-01-01")
        assert len(rows) > 1 and all(len(row) == len(rows[0]) for row in rows)
    with time_machine.travel(at(TODAY, "09:00"), tick=False):
        response = client.get("/admin/reports/received-by-month.csv?date_from=2026-10-15")
        disposition = response.headers["Content-Disposition"]
        assert 'filename="received-by-month-20261015-20261124.csv"' in disposition
        assert client.get("/admin/reports/no-such-figure.csv").status_code == 404


def test_a_csv_cell_never_runs_as_a_formula(app, client, people):
    with app.app_context():
        row = {
            "token": "t" * 43,
            "state": "approved",
            "partnership_key": "kyiv",
            "organisation_name": "X",
            "organisation_type": '=HYPERLINK("http://evil")',
            "municipality": "Kyiv",
            "contact_name": "A",
            "email": "a@example.org",
            "language": "en",
            "contribution": "x",
            "motivation": "y",
            "consent_processing": True,
            "created_at": at("2026-11-02"),
            "updated_at": at("2026-11-02"),
        }
        db.session.execute(insert(Application.__table__), [row])
        db.session.commit()
    sign_in_today(client, "admin@example.org")
    rows = csv_rows(client, "members-by-type")
    assert ['\'=HYPERLINK("http://evil")', "1"] in rows


# ---------------------------------------------------------------- who sees what


def test_a_coordinator_sees_only_their_partnerships(app, client, people, story):
    sign_in_today(client, "kyiv@example.org")
    body = unescape(page(client).get_data(as_text=True))
    assert "Odesa" not in body and "No partnership chosen" not in body
    assert "Only the applications of your partnerships are counted." in body
    check_figures(client, story, "", date(2025, 12, 1), date(2026, 11, 24), keys={"kyiv"})
    # Another partnership asked for by hand: a form error, and no figure of it.
    for query in ("?partnership=odesa", "?partnership=not_sure", "?partnership=*"):
        response = page(client, query)
        assert response.status_code == 400
        text_ = unescape(response.get_data(as_text=True))
        assert "Not a valid choice" in text_ and "<svg" not in text_ and "Odesa" not in text_
        with time_machine.travel(at(TODAY, "09:00"), tick=False):
            assert client.get(f"/admin/reports/decisions.csv{query}").status_code == 400


def test_a_coordinator_without_partnerships_sees_nothing(app, client, make_user, story):
    make_user("nobody@example.org", partnerships=[])
    sign_in_today(client, "nobody@example.org")
    rows = csv_rows(client, "received-by-month")
    assert all(number == "0" for _month, number in rows[1:])
    assert csv_rows(client, "members-by-partnership") == [["Partnership", "Members"]]


def test_the_page_needs_a_signed_in_user(app, client):
    response = client.get("/admin/reports")
    assert response.status_code in (302, 303) and "/admin/login" in response.location
    assert client.get("/admin/reports/decisions.csv").status_code in (302, 303)


@pytest.mark.parametrize(
    "query",
    [
        "?date_from=0000-01-01",
        "?date_from=0001-01-01",
        "?date_to=9999-12-31",
        "?date_from=2026-02-30",
        "?date_from=" + "9" * 10_000,
        "?date_to=" + "2026-11-01" * 1000,
        "?date_from=2026-11-20&date_to=2026-11-01",
        "?date_from=2001-01-01&date_to=2026-01-01",
        "?date_from=%27%3B%20DROP%20TABLE%20applications%3B--",
        "?partnership=" + "x" * 10_000,
        "?partnership=%25&organisation_type=_",
        "?organisation_type=%22%20OR%201%3D1",
        "?organisation_type=%00",
        "?date_from=2026-01-01&date_from=2027-01-01",
        "?date_from=+2026-01-01",
        "?date_from=2026-01-01T00:00",
    ],
)
def test_bad_input_is_a_form_error_never_a_500(app, client, people, query):
    sign_in_today(client, "admin@example.org")
    response = page(client, query)
    assert response.status_code in (200, 400), response.status_code
    with time_machine.travel(at(TODAY, "09:00"), tick=False):
        assert client.get(f"/admin/reports/durations.csv{query}").status_code in (200, 400)


def test_the_filters_reject_what_they_must(app, client, people):
    sign_in_today(client, "admin@example.org")
    reversed_ = unescape(
        page(client, "?date_from=2026-11-20&date_to=2026-11-01").get_data(as_text=True)
    )
    assert "The end of the period cannot be before its start." in reversed_
    long_ = unescape(
        page(client, "?date_from=2001-01-01&date_to=2026-01-01").get_data(as_text=True)
    )
    assert "Choose a period of at most 10 years." in long_
    early = page(client, "?date_from=1999-12-31")
    assert early.status_code == 400 and "Enter a date from" in early.get_data(as_text=True)
    # Only a "to" date: the twelve months up to it. Only a "from" date: up to today.
    only_to = unescape(page(client, "?date_to=2026-06-10").get_data(as_text=True))
    assert "From July 1, 2025 to June 10, 2026." in only_to
    only_from = unescape(page(client, "?date_from=2026-06-01").get_data(as_text=True))
    assert "From June 1, 2026 to November 24, 2026." in only_from
    assert "Choose a period of at most 10 years." in unescape(
        page(client, "?date_from=2000-01-01").get_data(as_text=True)
    )


# ---------------------------------------------------------------- kept right


def table_rows(app) -> dict[str, set]:
    """Every non-zero row of the four tables."""
    with app.app_context():
        found = {}
        for model in (ReportFlow, ReportOpen, ReportMember, ReportCount):
            table = model.__table__
            rows = db.session.execute(select(table).where(table.c.number != 0))
            found[table.name] = {tuple(row) for row in rows}
        return found


def rebuilt_rows(app) -> dict[str, set]:
    """The same after a rebuild (the rebuild rolled back again)."""
    with app.app_context():
        rollups.rebuild()
        db.session.commit()
    return table_rows(app)


def assert_kept_right(app) -> None:
    kept = table_rows(app)
    rebuilt = rebuilt_rows(app)
    for name in kept:
        assert kept[name] == rebuilt[name], (name, kept[name] ^ rebuilt[name])
    assert_list_counts_agree(app)


def assert_list_counts_agree(app) -> None:
    """The review list's totals and the dashboard's counts (from ``report_counts``) equal a
    count of the rows the list shows, for every filter it counts that way."""
    from werkzeug.datastructures import MultiDict

    with app.app_context():
        users = db.session.scalars(select(User).where(User.active.is_(True))).all()
        for user in users:
            for state in ("", "open", "submitted", "in_review", "approved", "ended"):
                for key in ("", "kyiv", "odesa"):
                    for kind in ("", "ngo"):
                        for assigned in ("", "none"):
                            args = {"state": state, "partnership": key, "sort": "newest"}
                            args.update(organisation_type=kind, assigned=assigned)
                            filters = admin_queries.Filters.from_args(MultiDict(args))
                            rows = admin_queries.filtered(user, filters)
                            expected = admin_queries.count_of(rows)
                            _page, total = admin_queries.list_page(user, filters, 1, 50)
                            assert total == expected, (user.email, args, total, expected)
            counted = Counter(
                db.session.scalars(
                    admin_queries.visible_to(user).with_only_columns(Application.state)
                )
            )
            dashboard = admin_queries.counts_by_state(user)
            assert {k: v for k, v in dashboard.items() if v} == dict(counted), user.email


def test_the_figures_kept_with_each_change_equal_a_rebuild(app, make_user):
    """A random mix of everything that changes applications, on every path; after each few
    steps the kept figures must equal a recount from scratch."""
    admin_id = make_user("admin@example.org", role="admin")
    make_user("kyiv@example.org", partnerships=["kyiv"])
    rng = random.Random(17)
    day = date(2026, 9, 1)
    kinds = ("education", "ngo", "employer")
    keys = ("kyiv", "odesa", "not_sure")
    steps = Counter()

    def some(*states):
        ids = db.session.scalars(
            select(Application.id)
            .where(Application.state.in_(states), Application.anonymised_at.is_(None))
            .order_by(Application.id)
        ).all()
        return db.session.get(Application, rng.choice(ids)) if ids else None

    for step in range(140):
        day += timedelta(days=rng.choice((0, 0, 1, 1, 2, 3)))
        moment = datetime.combine(day, datetime.min.time(), UTC) + timedelta(
            hours=rng.randrange(6, 23)
        )
        with app.app_context(), time_machine.travel(moment, tick=False):
            admin = db.session.get(User, admin_id)
            choice = rng.choice(
                ["submit"] * 5
                + ["act"] * 6
                + ["answer", "withdraw", "reroute", "correct", "take", "release", "anonymise"]
                + ["remind"]
                + ["core_update", "core_insert", "core_event", "delete", "savepoint", "rollback"]
            )
            steps[choice] += 1
            if choice == "submit" or not db.session.scalar(select(func.count(Application.id))):
                applicant.submit_application(fields(rng.choice(keys), rng.choice(kinds), step))
            elif choice == "act":
                item = some("submitted", "in_review", "info_requested", "approved", "rejected")
                if item:
                    actions = operations.allowed_actions(item)
                    try:
                        operations.act(item, admin, rng.choice(actions), "Because.")
                    except operations.TransitionError:
                        db.session.rollback()
            elif choice == "answer" and (item := some("info_requested")):
                applicant.answer_question(item, "Here it is.")
            elif choice == "withdraw" and (item := some("submitted", "in_review")):
                applicant.withdraw_application(item)
            elif choice == "reroute" and (item := some("submitted", "in_review")):
                operations.reroute(item, admin, rng.choice(keys), "")
            elif choice == "correct" and (item := some("submitted", "info_requested")):
                applicant.correct_application(item, {"organisation_type": rng.choice(kinds)})
            elif choice == "take" and (item := some("submitted", "in_review")):
                operations.take(item, admin)
                db.session.commit()
            elif choice == "release" and (item := some("submitted", "in_review", "approved")):
                if item.assigned_to_id is not None:
                    operations.release(item, admin)
                    db.session.commit()
            elif choice == "anonymise" and (item := some("rejected", "withdrawn", "approved")):
                strip_personal_data(item, moment)
                db.session.commit()
            elif choice == "remind":
                reminders.run(day)
            elif choice == "core_update" and (item := some("submitted", "in_review")):
                db.session.execute(
                    update(Application)
                    .where(Application.id == item.id)
                    .values(
                        state=rng.choice(("approved", "rejected", "ended")),
                        organisation_type=rng.choice(kinds),
                    )
                )
                db.session.commit()
            elif choice == "core_insert":
                row = fields(rng.choice(keys), rng.choice(kinds), step)
                row.update(
                    token=f"core-{step}", state="submitted", created_at=moment, updated_at=moment
                )
                db.session.execute(insert(Application.__table__), [row])
                db.session.commit()
            elif choice == "core_event" and (item := some("submitted")):
                db.session.execute(
                    insert(ApplicationEvent.__table__),
                    [
                        {
                            "application_id": item.id,
                            "action": "request_info",
                            "state": "info_requested",
                            "note": "",
                            "shown_to_applicant": False,
                            "created_at": moment,
                        }
                    ],
                )
                db.session.commit()
            elif choice == "delete" and (item := some("withdrawn", "rejected", "submitted")):
                db.session.delete(item)
                db.session.commit()
            elif choice == "savepoint" and (item := some("submitted", "in_review")):
                with pytest.raises(RuntimeError), db.session.begin_nested():
                    item.state = "approved"
                    db.session.flush()
                    raise RuntimeError
                item.partnership_key = rng.choice(keys)
                db.session.commit()
            elif choice == "rollback" and (item := some("submitted", "in_review")):
                item.state = "rejected"
                db.session.flush()
                db.session.rollback()
        if step % 35 == 34:
            assert_kept_right(app)
    assert_kept_right(app)
    assert len(steps) == 16, steps


def test_the_rebuild_command_recounts_after_a_hand_edit(app, story):
    before = table_rows(app)
    with app.app_context():
        db.session.execute(text("DELETE FROM report_flows WHERE grain = 'm'"))
        db.session.execute(text("UPDATE report_members SET number = number + 5"))
        db.session.commit()
    assert table_rows(app) != before
    runner = app.test_cli_runner()
    check = runner.invoke(args=["reports", "rebuild", "--check"])
    assert check.exit_code == 1 and "figure row(s) differ" in check.output
    result = runner.invoke(args=["reports", "rebuild"])
    assert result.exit_code == 0, result.output
    assert f"from {len(story.rows)} application(s)" in result.output
    assert table_rows(app) == before
    check = runner.invoke(args=["reports", "rebuild", "--check"])
    assert check.exit_code == 0 and check.output.startswith("0 figure row(s)")


def test_demo_data_in_bulk_is_counted(app, make_user):
    make_user("admin@example.org", role="admin")
    result = app.test_cli_runner().invoke(
        args=["demo", "seed-bulk", "--applications", "400", "--chunk-size", "150"]
    )
    assert result.exit_code == 0, result.output
    assert_kept_right(app)
    with app.app_context():
        total = db.session.scalar(select(func.count(Application.id)))
        received = db.session.scalar(
            select(func.sum(ReportFlow.number)).where(
                ReportFlow.grain == "m",
                ReportFlow.measure == "received",
                ReportFlow.partnership_key == "*",
                ReportFlow.organisation_type == "*",
            )
        )
    assert received == total == 400


def test_the_migration_counts_the_applications_already_there(app):
    """Rows stored before the reports get their figures when the tables are made."""
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade", "8d3a9c330003"])
    assert result.exit_code == 0, (result.output, repr(result.exception))
    with app.app_context(), db.engine.begin() as connection:
        for number, (state, received, key) in enumerate(
            [
                ("submitted", "2026-11-02T09:00:00+00:00", "kyiv"),
                ("approved", "2026-10-01T09:00:00+00:00", "odesa"),
                ("rejected", "2026-09-01T23:30:00+00:00", "kyiv"),
            ],
            start=1,
        ):
            moment = datetime.fromisoformat(received)
            connection.execute(
                text(
                    "INSERT INTO applications (id, token, state, partnership_key, "
                    "organisation_name, organisation_type, municipality, website, contact_name, "
                    "contact_role, email, phone, language, contribution, motivation, "
                    "consent_processing, consent_listing, created_at, updated_at, due_on) VALUES "
                    "(:id, :token, :state, :key, 'Org', 'ngo', 'Kyiv', '', 'A', '', "
                    "'a@example.org', '', 'en', 'x', 'y', :yes, :yes, :at, :at, :due)"
                ),
                {
                    "id": number,
                    "token": f"token-{number}",
                    "state": state,
                    "key": key,
                    "yes": True,
                    "at": moment,
                    "due": moment.date() + timedelta(days=14),
                },
            )
            if state != "submitted":
                connection.execute(
                    text(
                        "INSERT INTO application_events (application_id, created_at, action, "
                        "state, note, shown_to_applicant) VALUES (:id, :at, :action, :state, '', "
                        ":no)"
                    ),
                    {
                        "id": number,
                        "at": moment + timedelta(days=6),
                        "action": state[:-1] if state == "approved" else "reject",
                        "state": state,
                        "no": False,
                    },
                )
    for step in (["upgrade"], ["downgrade", "a06d2f550006"], ["upgrade"]):
        result = runner.invoke(args=["db", *step])
        assert result.exit_code == 0, (step, result.output, repr(result.exception))
    migrated = table_rows(app)
    assert migrated["report_members"] == {("odesa", "ngo", 1)}
    assert migrated["report_counts"] == {
        ("kyiv", "ngo", "submitted", 0, 1),
        ("odesa", "ngo", "approved", 0, 1),
        ("kyiv", "ngo", "rejected", 0, 1),
    }
    assert ("m", "received", "*", "*", date(2026, 9, 1), 0, 1) in migrated["report_flows"]
    # Received at 01:30 on 2 September in Sarajevo, rejected at 01:30 on the 8th: 4 working days.
    assert ("d", "decision", "kyiv", "ngo", date(2026, 9, 8), 4, 1) in migrated["report_flows"]
    assert migrated == rebuilt_rows(app)
    with app.app_context():
        db.session.remove()
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))


# ---------------------------------------------------------------- the arithmetic


def test_working_days_match_the_review_clock():
    start = date(2026, 1, 1)
    for offset in range(0, 21):
        for length in range(-2, 40):
            first = start + timedelta(days=offset)
            last = first + timedelta(days=length)
            assert rollups.working_days(first, last) == working_days_between(first, last)


def test_a_period_is_covered_by_months_and_days_exactly_once():
    rng = random.Random(5)
    for _ in range(300):
        first = date(2024, 1, 1) + timedelta(days=rng.randrange(900))
        last = first + timedelta(days=rng.randrange(500))
        covered = []
        for grain, low, high in queries.spans(first, last):
            if grain == "m":
                month = low
                while month <= high:
                    end = rollups.month_end(month)
                    covered += [month + timedelta(days=n) for n in range((end - month).days + 1)]
                    month = end + timedelta(days=1)
            else:
                covered += [low + timedelta(days=n) for n in range((high - low).days + 1)]
        assert sorted(covered) == [
            first + timedelta(days=n) for n in range((last - first).days + 1)
        ]


def test_percentiles_are_exact_nearest_ranks():
    histogram = Counter({1: 5, 2: 4, 7: 1})  # ten values
    assert queries.percentile(histogram, 50) == 1
    assert queries.percentile(histogram, 90) == 2  # the ninth value, not the tenth
    assert queries.percentile(Counter({3: 1}), 90) == 3
    assert queries.percentile(Counter(), 50) is None
    for size in range(1, 60):
        values = [random.Random(size).randrange(30) for _ in range(size)]
        assert queries.percentile(Counter(values), 90) == nearest_rank(values, 90)
        assert queries.percentile(Counter(values), 50) == nearest_rank(values, 50)
