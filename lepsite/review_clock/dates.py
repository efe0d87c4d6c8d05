"""Working days, the site's day, and an application's reply-by date.

**Working days** are Monday to Friday. There is no holiday calendar: the project's sources
name none for Bosnia and Herzegovina or Ukraine (and the two differ, and Ukraine's change
under martial law), so a public holiday counts as a working day. The promise on the pages
("within 10 working days") is kept the same way everywhere, and a coordinator who is away
on a holiday sees the date two days ahead in the reminder.

**The site's day** is the date in ``TIME_ZONE`` (default ``Europe/Sarajevo``). The partnerships
are in Bosnia and Herzegovina (Central European time) and Ukraine (Eastern European time, one
hour ahead all year). With the western zone an application sent in Ukraine between midnight
and 1 a.m. counts as received the evening before: its reply-by date is the same or one working
day *earlier* than a Kyiv reading would give, never later than the promise an applicant reads
in either country. The daily ``flask applications remind`` takes "today" in the same zone.

**The clock** runs while the coordinators owe a reply (``submitted``, ``in_review``). While the
application waits for the applicant's answer (``info_requested``) the due date stays as it was
but the application is not *overdue*: no reminder or escalation goes to the coordinators for
time the applicant holds. Once answered it is back in review against its original date: the
promise to the applicant was about the first reply, and the question was that reply.
"""

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

from .promise import reply_working_days

# The states in which the coordinators owe the applicant a reply: the clock runs.
CLOCK_RUNS = ("submitted", "in_review")
# Saturday and Sunday (date.weekday()).
WEEKEND = (5, 6)
DEFAULT_TIME_ZONE = "Europe/Sarajevo"


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    """The zone object, looked up once per name."""
    return ZoneInfo(name)


def check_time_zone(name: object) -> ZoneInfo:
    """The zone named by ``TIME_ZONE``; a ValueError that says what to set otherwise."""
    try:
        return _zone(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"LEPSITE_TIME_ZONE={name!r} is not a time zone name; use one such as "
            f"{DEFAULT_TIME_ZONE!r} or 'Europe/Kyiv'"
        ) from None


def time_zone() -> ZoneInfo:
    """The zone in which the site counts days (``TIME_ZONE``)."""
    return check_time_zone(current_app.config.get("TIME_ZONE") or DEFAULT_TIME_ZONE)


def local_date(moment: datetime) -> date:
    """The site's date at ``moment`` (a stored time; SQLite gives it back without its UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(time_zone()).date()


def today() -> date:
    """The site's date now."""
    return datetime.now(time_zone()).date()


def is_working_day(day: date) -> bool:
    """Monday to Friday (no holiday calendar: see the module)."""
    return day.weekday() not in WEEKEND


def add_working_days(day: date, count: int) -> date:
    """The ``count``-th working day after ``day`` (``day`` itself never counts)."""
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def subtract_working_days(day: date, count: int) -> date:
    """The ``count``-th working day before ``day``."""
    while count > 0:
        day -= timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not later)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def due_date(received: datetime) -> date:
    """The reply-by date of an application received at ``received``.

    The site's date of receipt plus ``REPLY_WORKING_DAYS`` working days: received on a Friday
    evening or over the weekend, the count starts on Monday. The one place this is computed;
    the row stores the result (``Application.due_on``), so changing the setting later does
    not move promises already made.
    """
    return add_working_days(local_date(received), reply_working_days())


def is_overdue(application, on: date) -> bool:
    """Whether the coordinators' reply is late on ``on`` (never while the applicant holds it)."""
    due_on = application.due_on
    return application.state in CLOCK_RUNS and due_on is not None and due_on < on
