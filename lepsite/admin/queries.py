"""Reads for the admin: every query starts from what the signed-in user may see.

The list's total and the dashboard's counts come from ``report_counts`` (kept with every change
by ``lepsite.reports.rollups``) whenever the filters are ones it holds: counting a million
applications then reads a few hundred rows. A search, or "taken by me", counts the rows
themselves (a search stops at its ``count_limit``; one person's list is short).
"""

import dataclasses
from dataclasses import dataclass
from functools import cached_property

from flask import abort
from sqlalchemy import Select, bindparam, false, func, literal, select
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.sql import operators

from ..extensions import db
from ..membership import duplicates
from ..models import OPEN_STATES, STATES, Application, User
from ..reports.models import ReportCount
from .search import MAX_LENGTH, Search

SORTS = {
    "newest": (Application.created_at.desc(), Application.id.desc()),
    "oldest": (Application.created_at.asc(), Application.id.asc()),
    "name": (Application.organisation_name.asc(), Application.id.asc()),
    # Reply-by date: it matters for open applications, so this sort shows only those.
    "due": (Application.due_on.asc(), Application.id.asc()),
}
# The state filter's choices: one state, or every open one.
OPEN = "open"
STATE_FILTERS = (OPEN, *STATES)
# Who has taken it: the signed-in user, or no one.
ASSIGNED_FILTERS = ("me", "none")
# At most this many applications are handled by one bulk request (a page shows 50).
BULK_LIMIT = 100
# The open applications in reply-by order (a partial index; see lepsite.models).
OPEN_DUE_INDEX = "ix_applications_open_due"
OPEN_PARTNERSHIP_DUE_INDEX = "ix_applications_open_partnership_due"  # one partnership's
# A word search on PostgreSQL looks this far down the list, in its order, before it asks the
# word index (``_from_the_first_rows``).
FIRST_ROWS = 10_000


def _sqlite_from_hint(compiler, table, text):
    """SQLite's ``INDEXED BY``, written after the table's name (``Select.with_hint(…,
    "sqlite")``): SQLAlchemy's SQLite dialect leaves table hints out."""
    return text


SQLiteCompiler.get_from_hint_text = _sqlite_from_hint


def is_open():
    """Open applications, with the states written into the SQL: then the statement names the
    same condition as the partial indexes for the due-soonest list, and SQLite uses them."""
    states = bindparam("open_states", OPEN_STATES, expanding=True, literal_execute=True)
    return Application.state.in_(states)


def visible_to(user: User) -> Select:
    """Applications the user may see: all for admins, their partnerships' for coordinators.

    Anonymised applications leave the lists; only an admin can still open one by its address.
    """
    query = select(Application).where(Application.anonymised_at.is_(None))
    if user.is_admin:
        return query
    keys = user.partnership_keys
    return query.where(Application.partnership_key.in_(keys) if keys else false())


@dataclass
class Filters:
    """The list's filters, as read from the query string."""

    state: str = ""
    partnership: str = ""
    organisation_type: str = ""
    search: str = ""
    sort: str = "newest"
    assigned: str = ""

    @staticmethod
    def default_sort(state: str) -> str:
        """Open applications come due soonest first; the others newest first."""
        return "due" if state == OPEN or state in OPEN_STATES else "newest"

    @classmethod
    def from_args(cls, args) -> "Filters":
        state = args.get("state", "")
        state = state if state in STATE_FILTERS else ""
        sort = args.get("sort", "")
        sort = sort if sort in SORTS else cls.default_sort(state)
        if sort == "due" and not state:  # a reply-by date is for open applications
            state = OPEN
        assigned = args.get("assigned", "")
        return cls(
            state=state,
            partnership=args.get("partnership", "")[:40],
            organisation_type=args.get("organisation_type", "")[:40],
            search=args.get("q", "").strip()[:MAX_LENGTH],
            sort=sort,
            assigned=assigned if assigned in ASSIGNED_FILTERS else "",
        )

    def apply(self, query: Select) -> Select:
        query = self.narrow(query)
        query = self.parsed_search.apply(query)
        return query.order_by(*SORTS[self.sort])

    def narrow(self, query: Select, source=Application) -> Select:
        """``query`` narrowed by state, partnership and type, on the columns of ``source``:
        the applications, or ``report_counts`` (``kept_count``)."""
        if self.state == OPEN:
            open_states = is_open() if source is Application else source.state.in_(OPEN_STATES)
            query = query.where(open_states)
        elif self.state:
            query = query.where(source.state == self.state)
        if self.partnership:
            query = query.where(source.partnership_key == self.partnership)
        if self.organisation_type:
            query = query.where(source.organisation_type == self.organisation_type)
        return query

    @cached_property
    def parsed_search(self) -> Search:
        """The search box read once (see lepsite.admin.search)."""
        return Search.parse(self.search)

    @property
    def search_error(self):
        """Why the search found nothing without looking (too short), or None."""
        return self.parsed_search.error

    @property
    def count_limit(self) -> int | None:
        """How far the list counts (a word search stops; see lepsite.admin.search)."""
        return self.parsed_search.count_limit

    def as_args(self) -> dict:
        """The filters as query arguments (for pagination and export links)."""
        values = {
            "state": self.state,
            "partnership": self.partnership,
            "organisation_type": self.organisation_type,
            "q": self.search,
            "sort": self.sort if self.sort != self.default_sort(self.state) else "",
            "assigned": self.assigned,
        }
        return {key: value for key, value in values.items() if value}


def filtered(user: User, filters: Filters) -> Select:
    """The user's applications, filtered and sorted."""
    query = filters.apply(visible_to(user))
    if filters.assigned == "me":
        query = query.where(Application.assigned_to_id == user.id)
    elif filters.assigned == "none":
        query = query.where(Application.assigned_to_id.is_(None))
    index = _open_due_index(user, filters)
    if index:
        query = query.with_hint(Application, f"INDEXED BY {index}", "sqlite")
    return query


def _open_due_index(user: User, filters: Filters) -> str | None:
    """The partial index SQLite must read the open list in reply-by order from, if any.

    SQLite plans without statistics and has been seen to choose, for the same statement, such
    an index (a page read in order) on one database and a sort of every open application on
    another: the list names it, so a page costs the same always. Not when a word index or an
    exact look-up gives the rows, nor for "taken by me" (one person's few, from their index).
    """
    if filters.state != OPEN or filters.sort != "due" or filters.assigned == "me":
        return None
    if not filters.parsed_search.reads_in_list_order():
        return None
    one_partnership = filters.partnership or (not user.is_admin and len(user.partnership_keys) == 1)
    return OPEN_PARTNERSHIP_DUE_INDEX if one_partnership else OPEN_DUE_INDEX


def parse_ids(values: list[str]) -> tuple[list[int], int]:
    """Application ids sent by the list's checkboxes: the well-formed ones (at most
    ``BULK_LIMIT``, no repeats), and how many values were left out."""
    ids: list[int] = []
    for value in values:
        if value.isascii() and value.isdigit() and 0 < int(value) < 2**31 and int(value) not in ids:
            ids.append(int(value))
    kept = ids[:BULK_LIMIT]
    return kept, len(values) - len(kept)


def selected(user: User, ids: list[int]) -> list[Application]:
    """Those of ``ids`` the user may see (anyone else's are left out, as if they did not exist)."""
    if not ids:
        return []
    query = visible_to(user).where(Application.id.in_(ids)).order_by(Application.id)
    return list(db.session.scalars(query))


def count_of(query: Select, limit: int | None = None) -> int:
    """How many rows the query gives; with ``limit``, at most ``limit + 1`` ("more than")."""
    if limit is not None:
        rows = query.with_only_columns(literal(1), maintain_column_froms=True).order_by(None)
        return db.session.scalar(select(func.count()).select_from(rows.limit(limit + 1).subquery()))
    # count(*) over the filtered table itself, not over a subquery of every column, so the
    # database can count from an index alone.
    counting = query.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
    return db.session.scalar(counting)


def page_of(
    query: Select, number: int, per_page: int, count_limit: int | None = None
) -> tuple[list[Application], int]:
    """One page of results and the total count (see ``count_of`` for ``count_limit``)."""
    total = count_of(query, count_limit)
    return rows_of(query, number, per_page), total


def rows_of(query: Select, number: int, per_page: int) -> list[Application]:
    """Page ``number`` of the query's rows."""
    return list(db.session.scalars(query.limit(per_page).offset((number - 1) * per_page)))


def _sort_columns(sort: str, source=None) -> list:
    """The sort's columns, or (``source``: a subquery holding them) its ORDER BY terms on it."""
    if source is None:
        return [order.element for order in SORTS[sort]]
    return [
        source.c[order.element.key].desc()
        if order.modifier is operators.desc_op
        else source.c[order.element.key].asc()
        for order in SORTS[sort]
    ]


def list_page(
    user: User, filters: Filters, number: int, per_page: int
) -> tuple[list[Application], int]:
    """One page of the user's filtered list and how many there are in all (the review list)."""
    if filters.count_limit is not None:
        found = _from_the_first_rows(user, filters, number, per_page)
        if found is not None:
            return found
    query = filtered(user, filters)
    if filters.search or filters.assigned == "me":
        return page_of(query, number, per_page, filters.count_limit)
    return rows_of(query, number, per_page), kept_count(user, filters)


def _from_the_first_rows(
    user: User, filters: Filters, number: int, per_page: int
) -> tuple[list[Application], int] | None:
    """A word search answered from the first ``FIRST_ROWS`` of the list, or None.

    A common word ("centre", "Olena") matches so many applications that a word index hands
    over tens of thousands of rows, to be sorted and counted only up to the limit: the more
    applications there are, the slower. Read in the list's order instead (its index), the
    first few thousand rows already hold this page and more than ``count_limit`` matches, and
    the time no longer grows with the table. The first tenth of them is read first: when the
    matches in it say the whole would not be enough either (a rarer word), or when the whole
    is not (or the list is shorter), the search runs on the word index as usual, which is fast
    for a rarer word.
    """
    search = filters.parsed_search
    if not search.worth_reading_in_order():
        return None
    wanted = max(number * per_page, filters.count_limit + 1)
    plain = dataclasses.replace(filters, search="")
    columns = dict.fromkeys([Application.id, Application.search_text, *_sort_columns(filters.sort)])

    def matches_in_first(rows: int) -> list[int]:
        """Ids of the matches among the list's first ``rows``, in its order (up to wanted)."""
        first = filtered(user, plain).with_only_columns(*columns).limit(rows).subquery("first")
        matching = search.check_rows(select(first.c.id), first.c.search_text)
        ordered = matching.order_by(*_sort_columns(filters.sort, first)).limit(wanted)
        return list(db.session.scalars(ordered))

    # A sample first: from the matches in it, is the whole reading likely to be enough?
    ids = matches_in_first(FIRST_ROWS // 10)
    if len(ids) < wanted and len(ids) * 10 >= wanted:
        ids = matches_in_first(FIRST_ROWS)
    if len(ids) < wanted:
        return None
    shown = ids[(number - 1) * per_page : number * per_page]
    rows = {item.id: item for item in selected(user, shown)}
    return [rows[item] for item in shown if item in rows], filters.count_limit + 1


def _kept_counts(user: User) -> Select:
    """``report_counts`` rows of the applications the user may see (as ``visible_to``)."""
    query = select(func.coalesce(func.sum(ReportCount.number), 0))
    if user.is_admin:
        return query
    keys = user.partnership_keys
    return query.where(ReportCount.partnership_key.in_(keys) if keys else false())


def kept_count(user: User, filters: Filters) -> int:
    """How many of the user's applications the filters (no search, not "taken by me") keep,
    from ``report_counts``."""
    query = filters.narrow(_kept_counts(user), ReportCount)
    if filters.assigned == "none":
        query = query.where(ReportCount.taken == 0)
    return int(db.session.scalar(query))


def counts_by_state(user: User) -> dict[str, int]:
    """How many of the user's applications are in each state (from ``report_counts``)."""
    counting = _kept_counts(user).add_columns(ReportCount.state).group_by(ReportCount.state)
    counts = dict.fromkeys(STATES, 0)
    counts.update({state: int(number) for number, state in db.session.execute(counting)})
    return counts


def get_application_or_404(user: User, application_id: int) -> Application:
    """An application the user may see; anyone else's is a 404, as if it did not exist."""
    if user.is_admin:  # an anonymised one too: what is left of it is the record of a decision
        application = db.session.get(Application, application_id)
    else:
        application = db.session.scalar(visible_to(user).where(Application.id == application_id))
    if application is None:
        abort(404)
    return application


def duplicates_of(user: User, application: Application) -> list[duplicates.PossibleDuplicate]:
    """Other applications the user may see that may be the same organisation's."""
    return duplicates.possible_duplicates(application, visible_to(user))


def duplicate_marks(user: User, rows: list[Application]) -> dict[int, tuple[str, ...]]:
    """Which of a list page's rows have a possible duplicate the user may see (and why)."""
    return duplicates.marked_rows(rows, visible_to(user))


def coordinators() -> list[User]:
    """Every account, coordinators first, for the admins' user page."""
    return list(db.session.scalars(select(User).order_by(User.role.desc(), User.email)))
