"""The report figures kept right in the same transaction as every change to an application.

**What an application adds.** The figures are a sum, over the applications, of what each one
contributes (``cells``); that depends only on its row and its history (``Facts``, read by
``read_facts``). So they stay right if, whenever a transaction changes applications, it adds
to the tables what those applications contribute after the change and takes away what they
contributed before.

**The hook.** One set of session listeners (``listen``) does that for every path: the form,
the review actions, the daily ``remind``, anonymisation and erasure, bulk demo data:

- before a flush writes a change that matters to an application (its state, partnership,
  type, dates, anonymisation; a reply or closing step in its history), and before a Core
  statement through the session (a bulk insert, a conditional update) touches it, what it
  contributes is read from the database, once per transaction (on PostgreSQL with its row
  locked, so two changes to one application at once are counted one after the other);
- a new application contributed nothing before;
- just before the commit, what the noted applications contribute now is read and the
  difference added to the tables, in one statement per table, rows in a fixed order (so two
  transactions never wait for each other's rows in a circle).

A savepoint rolled back takes its changes with it and the difference is read from the final
rows; a transaction rolled back writes nothing. A Core statement whose rows cannot be told
(an update of every row; several updates at once without ids) makes the commit recompute
everything, which is right but slow, and is logged. Raw SQL text is not seen: after editing
the tables by hand, run ``flask reports rebuild``.

**Decisions and replies** are read from the history (``application_events``): the first reply
to the applicant is the first question, approval or rejection; the decision is the step that
closed the application. Where the row itself records when it was decided (a ``decided_at``
column), that time comes first. Days are the site's days (``TIME_ZONE``); durations count
working days, as the reply-by promise does.
"""

import calendar
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

from sqlalchemy import Date, case, delete, event, func, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session

from ..extensions import db
from ..models import OPEN_STATES, Application, ApplicationEvent
from ..review_clock import time_zone
from .models import ALL, DAY, MONTH, ReportCount, ReportFlow, ReportMember, ReportOpen

log = logging.getLogger(__name__)

# Steps that answer the applicant: the first of them is the "first response".
RESPONSE_ACTIONS = ("request_info", "approve", "reject")
# The states a closing step leads to; each is also a measure of the decisions report.
OUTCOMES = ("approved", "rejected", "withdrawn", "lapsed")
# Decided by the coordinators on the merits: "time to decision" and the approval rate.
DECISIONS = ("approved", "rejected")
# States that come after a closing step, and the decision they came from (issue 16: a
# membership that ended had been approved).
LATER_STATES = {"ended": "approved"}

# The columns whose change changes what an application contributes.
APPLICATION_COLUMNS = frozenset(
    {
        "id",
        "created_at",
        "state",
        "partnership_key",
        "organisation_type",
        "due_on",
        "anonymised_at",
        "decided_at",
        "assigned_to_id",
    }
)
EVENT_COLUMNS = frozenset({"application_id", "created_at", "action", "state"})

APPLICATIONS = Application.__table__
EVENTS = ApplicationEvent.__table__
TABLES = {
    "flow": ReportFlow.__table__,
    "open": ReportOpen.__table__,
    "member": ReportMember.__table__,
    "count": ReportCount.__table__,
}
KEY_COLUMNS = {
    kind: tuple(column.name for column in table.primary_key.columns)
    for kind, table in TABLES.items()
}

# Ids per IN list.
BATCH = 500

_DEFERRED = "lepsite.reports.deferred"  # this session leaves the counting to a rebuild
_BEFORE = "lepsite.reports.before"  # {application id: Counter of what it contributed}
_EVERYTHING = "lepsite.reports.everything"  # a statement whose rows could not be told


# ---------------------------------------------------------------- what an application adds


@dataclass(frozen=True)
class Facts:
    """What the figures need to know of one application; days in the site's time zone."""

    partnership_key: str
    organisation_type: str
    state: str
    received: date
    due_on: date
    anonymised: bool
    responded: date | None  # the first reply to the applicant
    closed: date | None  # the step that closed it
    taken: bool = False  # someone has taken it (the review list's "taken by")

    @property
    def outcome(self) -> str | None:
        """How it was closed (``OUTCOMES``), or None while open."""
        state = LATER_STATES.get(self.state, self.state)
        return state if state in OUTCOMES else None


def working_days(start: date, end: date) -> int:
    """Working days (Monday to Friday) after ``start`` up to and including ``end``.

    The same count as ``review_clock.working_days_between``, without a loop over the days.
    """
    if end <= start:
        return 0
    weeks, rest = divmod((end - start).days, 7)
    weekday = start.weekday()
    return weeks * 5 + sum(1 for step in range(1, rest + 1) if (weekday + step) % 7 < 5)


def _scopes(facts: Facts) -> tuple[tuple[str, str], ...]:
    """The partnership and type an application counts under: itself, and "any" of each."""
    key, kind = facts.partnership_key, facts.organisation_type
    return ((key, kind), (key, ALL), (ALL, kind), (ALL, ALL))


def cell_groups(facts: Facts) -> list[tuple[str, date, list[tuple]]]:
    """The table rows the application adds one to: (table, the last day of applications that
    can add to these rows, the rows' keys); a key may come twice: it adds two.

    Keys: ``flow`` (grain, measure, partnership, type, day, value), ``open`` (partnership,
    type, state, received_on, due_on), ``member`` (partnership, type), ``count`` (partnership,
    type, state, taken). A row of a day or of
    a month gets nothing from applications received after it, as replies and decisions
    come after their application (``rebuild`` relies on it).
    """
    scopes = _scopes(facts)
    groups: list[tuple[str, date, list[tuple]]] = []

    def flow(measure: str, day: date, value: int = 0) -> None:
        month = day.replace(day=1)
        groups.append(("flow", day, [(DAY, measure, p, t, day, value) for p, t in scopes]))
        groups.append(
            ("flow", month_end(day), [(MONTH, measure, p, t, month, value) for p, t in scopes])
        )

    flow("received", facts.received)
    if facts.responded is not None:
        flow("response", facts.responded, working_days(facts.received, facts.responded))
    outcome = facts.outcome
    if outcome is not None:
        flow(outcome, facts.closed or facts.received)
        if outcome in DECISIONS and facts.closed is not None:
            flow("decision", facts.closed, working_days(facts.received, facts.closed))
    if facts.anonymised:
        return groups
    groups.append(
        ("count", date.max, [(facts.partnership_key, facts.organisation_type, facts.state,
                              int(facts.taken))])
    )  # fmt: skip
    if facts.state in OPEN_STATES:
        state, received, due_on = facts.state, facts.received, facts.due_on
        groups.append(("open", received, [(p, t, state, received, due_on) for p, t in scopes]))
    elif facts.state == "approved":
        groups.append(("member", date.max, [(facts.partnership_key, facts.organisation_type)]))
    return groups


def cells(facts: Facts) -> list[tuple]:
    """The keys of ``cell_groups``, each led by its table's name."""
    return [(kind, *key) for kind, _last, keys in cell_groups(facts) for key in keys]


def _facts_query():
    """One row per application: its columns and the times of its first reply and closing."""
    a, e = APPLICATIONS, EVENTS
    responded = func.min(case((e.c.action.in_(RESPONSE_ACTIONS), e.c.created_at)))
    closed = func.min(case((e.c.state.in_(OUTCOMES), e.c.created_at)))
    if "decided_at" in a.c:  # when the row says when it was decided, that time comes first
        closed = func.coalesce(a.c.decided_at, closed)
    return (
        select(
            a.c.id,
            a.c.partnership_key,
            a.c.organisation_type,
            a.c.state,
            a.c.created_at,
            a.c.due_on,
            a.c.anonymised_at,
            a.c.assigned_to_id,
            responded.label("responded_at"),
            closed.label("closed_at"),
        )
        .select_from(a.outerjoin(e, e.c.application_id == a.c.id))
        .group_by(a.c.id)
    )


def read_facts(connection, *conditions, order_by=(), stream=False) -> Iterator[tuple[int, Facts]]:
    """(id, facts) of the applications that meet ``conditions``; ``stream``: a few thousand
    rows in memory at a time (a server-side cursor on PostgreSQL)."""
    zone = time_zone()

    def local(moment: datetime | None) -> date | None:
        if moment is None:
            return None
        if moment.tzinfo is None:  # SQLite gives stored UTC times back without their zone
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(zone).date()

    query = _facts_query().where(*conditions).order_by(*order_by)
    if stream:
        query = query.execution_options(yield_per=5000)
    for row in connection.execute(query):
        received = local(row.created_at)
        yield (
            row.id,
            Facts(
                partnership_key=row.partnership_key,
                organisation_type=row.organisation_type,
                state=row.state,
                received=received,
                due_on=row.due_on or received,
                anonymised=row.anonymised_at is not None,
                responded=local(row.responded_at),
                closed=local(row.closed_at),
                taken=row.assigned_to_id is not None,
            ),
        )


def contributions(connection, ids: Iterable[int]) -> dict[int, Counter]:
    """What each of these applications adds to the figures now (missing ones: nothing)."""
    ids = sorted(ids)
    found = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        for application_id, facts in read_facts(connection, APPLICATIONS.c.id.in_(chunk)):
            found[application_id] = Counter(cells(facts))
    return found


# ---------------------------------------------------------------- writing the tables


def _insert_sql(connection, kind: str, adding: bool) -> str:
    """INSERT of a table's rows, with DBAPI placeholders; ``adding``: a row already there gets
    the number added (the same ``ON CONFLICT`` on SQLite and PostgreSQL)."""
    names = (*KEY_COLUMNS[kind], "number")
    mark = "%s" if connection.dialect.name == "postgresql" else "?"
    sql = (
        f"INSERT INTO {TABLES[kind].name} ({', '.join(names)}) "  # noqa: S608 (our names)
        f"VALUES ({', '.join([mark] * len(names))})"
    )
    if adding:
        sql += (
            f" ON CONFLICT ({', '.join(KEY_COLUMNS[kind])}) "
            f"DO UPDATE SET number = {TABLES[kind].name}.number + excluded.number"
        )
    return sql


def _driver_rows(connection, kind: str, rows: list) -> list:
    """The rows as the driver takes them: SQLite gets a date as its ISO text, as SQLAlchemy's
    Date stores it."""
    if connection.dialect.name == "postgresql":
        return rows
    dates = [
        index
        for index, name in enumerate(KEY_COLUMNS[kind])
        if isinstance(TABLES[kind].c[name].type, Date)
    ]
    if not dates:
        return rows
    converted = []
    for row in rows:
        row = list(row)
        for index in dates:
            row[index] = row[index].isoformat()
        converted.append(tuple(row))
    return converted


def add(connection, changes: dict[tuple, int]) -> None:
    """Add each number to its row (rows are created as needed; a row may fall to 0).

    Straight to the driver, many rows per statement: a bulk insert of demo data adds tens of
    thousands of rows per commit.
    """
    rows = defaultdict(list)
    for key, number in sorted(changes.items()):  # every transaction locks rows in this order
        if number:
            rows[key[0]].append((*key[1:], number))
    for kind, batch in rows.items():
        connection.exec_driver_sql(
            _insert_sql(connection, kind, adding=True), _driver_rows(connection, kind, batch)
        )


def _no_timeout(connection) -> None:
    """A million applications take longer than a request may: no limit in this transaction."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")


@lru_cache(maxsize=4096)
def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


class _Writer:
    """Plain inserts of new rows, many at a time: COPY on PostgreSQL, executemany on SQLite."""

    ROWS = 50_000

    def __init__(self, connection):
        self.connection = connection
        self.buffers: dict[str, list[tuple]] = defaultdict(list)

    def insert(self, kind: str, counts: dict[tuple, int]) -> None:
        """Queue complete rows of one table; write when enough have gathered."""
        rows = self.buffers[kind]
        rows.extend([(*key, number) for key, number in counts.items()])
        if len(rows) >= self.ROWS:
            self._write(kind, rows)

    def close(self) -> None:
        """Write what is left."""
        for kind, rows in self.buffers.items():
            self._write(kind, rows)

    def _write(self, kind: str, rows: list) -> None:
        """Insert the rows (none of them is in the table yet) and forget them."""
        if not rows:
            return
        rows.sort()  # in the primary key's order: each page of the index is written once
        if self.connection.dialect.name == "postgresql":
            columns = ", ".join((*KEY_COLUMNS[kind], "number"))
            command = f"COPY {TABLES[kind].name} ({columns}) FROM STDIN"
            raw = self.connection.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(command) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            self.connection.exec_driver_sql(
                _insert_sql(self.connection, kind, adding=False),
                _driver_rows(self.connection, kind, rows),
            )
        rows.clear()


def rebuild(connection=None, kinds: Iterable[str] = tuple(TABLES)) -> int:
    """Recompute every figure from the applications and their history; return how many
    applications were counted. In the caller's transaction; the caller commits.

    ``kinds``: only these tables (a migration fills those its revision creates).

    The applications are read in the order they arrived. An application adds only to rows of
    its own arrival day and later (its reply and closing come after it), so once the reading
    has passed a day, the rows that end before it are complete: they are written then and
    forgotten, and memory holds only the few weeks ahead of the reading, however many
    applications there are. (A row that gets more after it was written, from a history step
    dated before its application, is added to at the end.)
    """
    if connection is None:
        db.session.info.pop(_DEFERRED, None)
        connection = db.session.connection()
    _no_timeout(connection)
    kinds = frozenset(kinds)
    for kind in kinds:
        connection.execute(delete(TABLES[kind]))
    writer = _Writer(connection)
    pending: dict[tuple[date, str], Counter] = defaultdict(Counter)  # by last day and table
    late: Counter = Counter()
    counted, reading = 0, date.min
    ordered = (APPLICATIONS.c.created_at, APPLICATIONS.c.id)
    for _id, facts in read_facts(connection, order_by=ordered, stream=True):
        if facts.received > reading:
            for group in sorted(group for group in pending if group[0] < facts.received):
                writer.insert(group[1], pending.pop(group))
            reading = facts.received
        for kind, last, keys in cell_groups(facts):
            if kind not in kinds:
                continue
            if last < reading:
                late.update((kind, *key) for key in keys)
            else:
                pending[last, kind].update(keys)
        counted += 1
    for group in sorted(pending):
        writer.insert(group[1], pending.pop(group))
    writer.close()
    add(connection, late)
    return counted


# ---------------------------------------------------------------- the session hook


def defer(session: Session | None = None) -> None:
    """Leave this session's changes uncounted until ``rebuild()`` recounts everything.

    For a bulk load that ends with a rebuild (``flask demo seed-bulk``): counting its rows
    chunk by chunk would only be done again. Until that rebuild, other readers see figures
    without the rows loaded so far; a load that stops half-way needs ``flask reports
    rebuild``.
    """
    (session if session is not None else db.session).info[_DEFERRED] = True


def _noted(session: Session) -> dict[int, Counter]:
    """What the applications this transaction touched contributed before it."""
    return session.info.setdefault(_BEFORE, {})


def _note_before(session: Session, ids: Iterable[int | None]) -> None:
    """Remember what these applications contribute now, before this transaction changes them
    (once each: the first reading is the one from before the transaction's changes)."""
    noted = _noted(session)
    fresh = sorted({item for item in ids if item is not None and item not in noted})
    if not fresh:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Hold them until the commit: another transaction changing one of them now waits,
        # then reads what this one leaves, and the two differences add up.
        for start in range(0, len(fresh), BATCH):
            chunk = fresh[start : start + BATCH]
            connection.execute(
                select(APPLICATIONS.c.id)
                .where(APPLICATIONS.c.id.in_(chunk))
                .order_by(APPLICATIONS.c.id)
                .with_for_update()
            )
    found = contributions(connection, fresh)
    for item in fresh:
        noted[item] = found.get(item, Counter())


def _note_new(session: Session, ids: Iterable[int]) -> None:
    """Applications this transaction added: they contributed nothing before."""
    noted = _noted(session)
    for item in ids:
        noted.setdefault(item, Counter())


def _changed(instance, names: frozenset[str]) -> bool:
    """Whether any of these attributes of a loaded row has an unsaved change."""
    state = inspect(instance)
    columns = state.mapper.column_attrs
    return any(state.attrs[name].history.has_changes() for name in names if name in columns)


def _matters(item: ApplicationEvent) -> bool:
    """A history step that can be a first reply or a closing."""
    return item.action in RESPONSE_ACTIONS or item.state in OUTCOMES


def _event_parent(item: ApplicationEvent) -> int | None:
    """The id of a history step's application (known before the step is written)."""
    if item.application_id is not None:
        return item.application_id
    return item.application.id if item.application is not None else None


def _before_flush(session: Session, flush_context, instances) -> None:
    """Note the applications this flush changes, before it writes."""
    if session.info.get(_DEFERRED):
        return
    ids: set[int | None] = set()
    for item in session.dirty:
        if isinstance(item, Application) and _changed(item, APPLICATION_COLUMNS):
            ids.add(item.id)
        elif isinstance(item, ApplicationEvent) and _changed(item, EVENT_COLUMNS):
            ids.add(item.application_id)
            ids.update(inspect(item).attrs.application_id.history.deleted or ())
    for item in session.deleted:
        if isinstance(item, Application):
            ids.add(item.id)
        elif isinstance(item, ApplicationEvent):
            ids.add(item.application_id)
    for item in session.new:
        if isinstance(item, ApplicationEvent) and _matters(item):
            ids.add(_event_parent(item))
    _note_before(session, ids)


def _after_flush(session: Session, flush_context) -> None:
    """Applications inserted by this flush start from nothing."""
    if session.info.get(_DEFERRED):
        return
    _note_new(session, [item.id for item in session.new if isinstance(item, Application)])


def _statement_rows(state: ORMExecuteState) -> list[dict]:
    """The values a Core INSERT or UPDATE sets, one dict per row, by column name."""
    statement = state.statement
    fixed = {
        getattr(key, "key", key): getattr(value, "value", value)
        for key, value in (getattr(statement, "_values", None) or {}).items()
    }
    rows = []
    for values in getattr(statement, "_multi_values", None) or ():
        for row in values:
            if isinstance(row, dict):
                rows.append({**fixed, **{getattr(k, "key", k): v for k, v in row.items()}})
    params = state.parameters
    given = params if isinstance(params, list | tuple) else [params or {}]
    rows.extend({**fixed, **row} for row in given)
    return rows


def _on_execute(state: ORMExecuteState):
    """Note the applications a Core INSERT, UPDATE or DELETE through the session touches."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    if state.session.info.get(_DEFERRED):
        return None
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name not in (APPLICATIONS.name, EVENTS.name):
        return None
    session, statement = state.session, state.statement
    parent = APPLICATIONS.c.id if name == APPLICATIONS.name else EVENTS.c.application_id
    rows = _statement_rows(state)
    if state.is_insert:
        if name == EVENTS.name:
            _note_before(session, {row.get("application_id") for row in rows})
            return None
        return _insert_applications(state, rows)
    if state.is_update:
        names = {column for row in rows for column in row}
        relevant = APPLICATION_COLUMNS if name == APPLICATIONS.name else EVENT_COLUMNS
        if names and names.isdisjoint(relevant):
            return None  # a holder, a time stamp: nothing the figures show
    if state.is_executemany:
        ids = [row.get(parent.name) for row in rows]
        if None in ids:
            return _recount_everything(session, statement)
        _note_before(session, ids)
        return None
    if statement.whereclause is None:
        return _recount_everything(session, statement)
    connection = session.connection()
    touched = connection.scalars(select(parent).distinct().where(statement.whereclause))
    _note_before(session, list(touched))
    return None


def _insert_applications(state: ORMExecuteState, rows: list[dict]):
    """Run the INSERT and note its rows as new (by the ids given, else by the ids it took)."""
    ids = [row.get("id") for row in rows]
    if ids and all(isinstance(item, int) for item in ids):
        result = state.invoke_statement()
        _note_new(state.session, ids)
        return result
    connection = state.session.connection()
    highest = select(func.max(APPLICATIONS.c.id))
    before = connection.scalar(highest) or 0
    result = state.invoke_statement()
    _note_new(state.session, range(before + 1, (connection.scalar(highest) or 0) + 1))
    return result


def _recount_everything(session: Session, statement) -> None:
    """A change whose rows cannot be told: the commit recounts everything (slow, right)."""
    log.warning("reports: a statement changed applications without saying which: %s", statement)
    session.info[_EVERYTHING] = True


def _before_commit(session: Session) -> None:
    """Add to the figures what the noted applications contribute now, less what they did."""
    if session.info.get(_DEFERRED):
        return
    session.flush()  # the last changes first (the commit would flush them only after this)
    if not session.info.get(_BEFORE) and not session.info.get(_EVERYTHING):
        return
    noted = session.info.pop(_BEFORE, {})
    connection = session.connection()
    if session.info.pop(_EVERYTHING, False):
        rebuild(connection)
        return
    changes: Counter = Counter()
    now = contributions(connection, noted)
    for item, before in noted.items():
        changes.update(now.get(item, ()))
        changes.subtract(before)
    add(connection, changes)


def _after_transaction_end(session: Session, transaction) -> None:
    """A transaction that ended without ``_before_commit`` (rolled back) leaves no notes."""
    if transaction.parent is None:
        session.info.pop(_BEFORE, None)
        session.info.pop(_EVERYTHING, None)


_LISTENERS = (
    ("before_flush", _before_flush),
    ("after_flush", _after_flush),
    ("do_orm_execute", _on_execute),
    ("before_commit", _before_commit),
    ("after_transaction_end", _after_transaction_end),
)


def listen(session_class) -> None:
    """Keep the figures with every transaction of ``session_class`` (once, however many apps)."""
    for name, function in _LISTENERS:
        if not event.contains(session_class, name, function):
            event.listen(session_class, name, function)


def stale_rows(connection=None) -> dict[str, set[tuple]]:
    """Rows that differ from a rebuild, per table (for tests and ``rebuild --check``)."""
    connection = connection if connection is not None else db.session.connection()
    _no_timeout(connection)
    kept = _table_rows(connection)
    expected: Counter = Counter()
    for _id, facts in read_facts(connection):
        expected.update(cells(facts))
    wanted = defaultdict(set)
    for key, number in expected.items():
        wanted[key[0]].add((*key[1:], number))
    return {kind: kept[kind] ^ wanted[kind] for kind in TABLES}


def _table_rows(connection) -> dict[str, set[tuple]]:
    """Every row with a non-zero number, per table, as (key..., number)."""
    found = {}
    for kind, table in TABLES.items():
        columns = [table.c[name] for name in KEY_COLUMNS[kind]]
        rows = connection.execute(select(*columns, table.c.number).where(table.c.number != 0))
        found[kind] = {tuple(row) for row in rows}
    return found
