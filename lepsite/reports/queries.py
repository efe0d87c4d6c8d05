"""Reads for the reports: every figure from the rollup tables, never from the applications.

Each query reads one combination of partnership and organisation type (see ``models``), and
a period as whole months (``MONTH`` rows) plus the days of the months it only partly covers
(``DAY`` rows). So a query reads at most some thousands of rows, however many applications
there are.

``BENCH_QUERIES`` lists them for ``bench/``: (name, callable taking nothing or a ``Filters``).
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, case, func, or_, select

from .. import partnerships
from ..extensions import db
from ..models import NO_PARTNERSHIP, User
from ..review_clock import CLOCK_RUNS, today
from .models import ALL, DAY, MONTH, ReportFlow, ReportMember, ReportOpen
from .rollups import OUTCOMES, month_end

FLOWS = ReportFlow.__table__
OPEN = ReportOpen.__table__
MEMBERS = ReportMember.__table__

# Open applications by calendar days since they arrived: (from, to) days, the last open-ended.
AGE_BUCKETS = ((0, 7), (8, 14), (15, 30), (31, 90), (91, None))
# The measures of the durations report.
DURATIONS = ("response", "decision")


@dataclass(frozen=True)
class Filters:
    """What a report covers: a period, whose applications, which organisation type."""

    date_from: date
    date_to: date
    # None: every partnership (and "not sure"); else only these (none at all: nothing).
    partnerships: tuple[str, ...] | None = None
    organisation_type: str = ""
    # The day open applications' age and lateness are counted on.
    as_of: date = field(default_factory=today)

    @property
    def type_key(self) -> str:
        """The organisation-type rows to read (``ALL`` for every type)."""
        return self.organisation_type or ALL

    @property
    def partnership_keys(self) -> tuple[str, ...]:
        """The partnership rows to read (``ALL`` for every partnership)."""
        return (ALL,) if self.partnerships is None else self.partnerships

    @property
    def sees_nothing(self) -> bool:
        """A coordinator without partnerships (or outside them): every figure is empty."""
        return self.partnerships == ()


def default_period(on: date | None = None) -> tuple[date, date]:
    """The last twelve months: the first day of the month eleven months ago, to today."""
    on = on or today()
    month = on.month - 11
    year = on.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1), on


def scope(user: User, chosen: str = "") -> tuple[str, ...] | None:
    """The partnerships a user's report covers: an admin's choice or all of them (None); a
    coordinator's own, or the one chosen among them; a choice outside them covers nothing."""
    if user.is_admin:
        return (chosen,) if chosen else None
    own = tuple(sorted(user.partnership_keys))
    if chosen:
        return (chosen,) if chosen in own else ()
    return own


def default_filters() -> Filters:
    """Everything, over the last twelve months (an admin's first view)."""
    first, last = default_period()
    return Filters(first, last)


# ---------------------------------------------------------------- periods


def next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return month_end(day) + timedelta(days=1)


def months(first: date, last: date) -> list[date]:
    """The first day of each month from ``first``'s to ``last``'s."""
    found, month = [], first.replace(day=1)
    while month <= last:
        found.append(month)
        month = next_month(month)
    return found


def spans(first: date, last: date) -> list[tuple[str, date, date]]:
    """(grain, first bucket, last bucket) that together cover the days ``first``–``last``
    exactly once: whole months as months, the rest as days."""
    start = first if first.day == 1 else next_month(first)
    end = last if last == month_end(last) else last.replace(day=1) - timedelta(days=1)
    if start > end:
        return [(DAY, first, last)]
    found = [(MONTH, start, end.replace(day=1))]
    if first < start:
        found.append((DAY, first, start - timedelta(days=1)))
    if end < last:
        found.append((DAY, end + timedelta(days=1), last))
    return found


def _period(filters: Filters, measures: tuple[str, ...], keys: tuple[str, ...] | None = None):
    """The flow rows of ``measures`` in the period, for the filters' type and partnerships
    (``keys``: these partnership rows instead)."""
    keys = filters.partnership_keys if keys is None else keys
    return or_(
        *(
            and_(
                FLOWS.c.grain == grain,
                FLOWS.c.measure.in_(measures),
                FLOWS.c.partnership_key.in_(keys),
                FLOWS.c.organisation_type == filters.type_key,
                FLOWS.c.day.between(first, last),
            )
            for grain, first, last in spans(filters.date_from, filters.date_to)
        )
    )


# ---------------------------------------------------------------- the figures


def received_by_month(filters: Filters) -> list[tuple[date, int]]:
    """Applications received in each month of the period (a partly covered month counts
    only its days in the period)."""
    counts = dict.fromkeys(months(filters.date_from, filters.date_to), 0)
    if not filters.sees_nothing:
        query = (
            select(FLOWS.c.day, func.sum(FLOWS.c.number))
            .where(_period(filters, ("received",)))
            .group_by(FLOWS.c.day)
        )
        for day, number in db.session.execute(query):
            counts[day.replace(day=1)] += number
    return list(counts.items())


def known_partnerships() -> tuple[str, ...]:
    """Every partnership the site knows, and "not sure"."""
    return (*sorted(partnerships.keys()), NO_PARTNERSHIP)


def received_by_partnership(filters: Filters) -> dict[str, int]:
    """Applications received in the period, per partnership key (only those with any).

    Covering every partnership, the applications of partnerships the site no longer lists
    come under ``ALL`` (each key read by name keeps the query to a few rows per key).
    """
    if filters.sees_nothing:
        return {}
    keys = filters.partnerships
    if keys is None:
        keys = (*known_partnerships(), ALL)
    query = (
        select(FLOWS.c.partnership_key, func.sum(FLOWS.c.number))
        .where(_period(filters, ("received",), keys))
        .group_by(FLOWS.c.partnership_key)
    )
    counts = dict(db.session.execute(query).all())
    if ALL in counts:
        counts[ALL] -= sum(number for key, number in counts.items() if key != ALL)
    return {key: number for key, number in counts.items() if number}


def closed(filters: Filters) -> dict[str, int]:
    """Applications closed in the period, per outcome (``OUTCOMES``), by the closing day."""
    counts = dict.fromkeys(OUTCOMES, 0)
    if not filters.sees_nothing:
        query = (
            select(FLOWS.c.measure, func.sum(FLOWS.c.number))
            .where(_period(filters, OUTCOMES))
            .group_by(FLOWS.c.measure)
        )
        counts.update({measure: number for measure, number in db.session.execute(query)})
    return counts


def durations(filters: Filters) -> dict[str, Counter]:
    """Working days to the first reply (``response``) and to the decision (``decision``) of
    the replies and decisions made in the period: {measure: {days: applications}}."""
    found = {measure: Counter() for measure in DURATIONS}
    if not filters.sees_nothing:
        query = (
            select(FLOWS.c.measure, FLOWS.c.value, func.sum(FLOWS.c.number))
            .where(_period(filters, DURATIONS))
            .group_by(FLOWS.c.measure, FLOWS.c.value)
        )
        for measure, days, number in db.session.execute(query):
            if number:
                found[measure][days] = number
    return found


def open_by_age(filters: Filters) -> list[tuple[int, int]]:
    """Open applications now, and of them the overdue ones, per ``AGE_BUCKETS`` entry.

    Whatever the period: age and lateness are counted on ``filters.as_of``. Overdue: the
    reply-by date has passed while the coordinators owe the reply (``review_clock``).
    """
    found = [(0, 0)] * len(AGE_BUCKETS)
    if filters.sees_nothing:
        return found
    on = filters.as_of
    bucket = case(
        *(
            (OPEN.c.received_on >= on - timedelta(days=last), index)
            for index, (_first, last) in enumerate(AGE_BUCKETS)
            if last is not None
        ),
        else_=len(AGE_BUCKETS) - 1,
    )
    overdue = case((and_(OPEN.c.state.in_(CLOCK_RUNS), OPEN.c.due_on < on), OPEN.c.number), else_=0)
    query = (
        select(bucket, func.sum(OPEN.c.number), func.sum(overdue))
        .where(
            OPEN.c.partnership_key.in_(filters.partnership_keys),
            OPEN.c.organisation_type == filters.type_key,
        )
        .group_by(bucket)
    )
    for index, number, late in db.session.execute(query):
        found[index] = (number or 0, late or 0)
    return found


def _members(filters: Filters, column) -> dict[str, int]:
    """Members now per value of ``column`` (partnership or type), within the filters."""
    if filters.sees_nothing:
        return {}
    conditions = []
    if filters.partnerships is not None:
        conditions.append(MEMBERS.c.partnership_key.in_(filters.partnerships))
    if filters.organisation_type:
        conditions.append(MEMBERS.c.organisation_type == filters.organisation_type)
    query = select(column, func.sum(MEMBERS.c.number)).where(*conditions).group_by(column)
    return {key: number for key, number in db.session.execute(query) if number}


def members_by_type(filters: Filters) -> dict[str, int]:
    """Members now (whatever the period), per organisation type."""
    return _members(filters, MEMBERS.c.organisation_type)


def members_by_partnership(filters: Filters) -> dict[str, int]:
    """Members now (whatever the period), per partnership key."""
    return _members(filters, MEMBERS.c.partnership_key)


# ---------------------------------------------------------------- summaries


def percentile(histogram: Counter, percent: int) -> int | None:
    """The value at ``percent`` % by the nearest-rank method (the median: 50); None if empty.

    Ranks in whole numbers, so no rounding of 0.9 × n can move it.
    """
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, -(-percent * total // 100))
    running = 0
    for value in sorted(histogram):
        running += histogram[value]
        if running >= rank:
            return value
    return None  # not reached


def share_within(histogram: Counter, limit: int) -> float | None:
    """The share of values at most ``limit``; None if empty."""
    total = sum(histogram.values())
    if not total:
        return None
    return sum(number for value, number in histogram.items() if value <= limit) / total


def approval_rate(counts: dict[str, int]) -> float | None:
    """Approved of approved and not approved; None without either."""
    decided = counts.get("approved", 0) + counts.get("rejected", 0)
    return counts.get("approved", 0) / decided if decided else None


def _with_default(function):
    """``function``, callable without filters too (then: everything, the last year)."""

    def run(filters: Filters | None = None):
        return function(filters if filters is not None else default_filters())

    run.__name__ = function.__name__
    run.__doc__ = function.__doc__
    return run


# For bench/: each report query, called with a Filters or with none (everything, last year).
BENCH_QUERIES = [
    ("reports: received by month", _with_default(received_by_month)),
    ("reports: received by partnership", _with_default(received_by_partnership)),
    ("reports: decisions", _with_default(closed)),
    ("reports: time to reply and decision", _with_default(durations)),
    ("reports: open by age, overdue", _with_default(open_by_age)),
    ("reports: members by type", _with_default(members_by_type)),
    ("reports: members by partnership", _with_default(members_by_partnership)),
]
