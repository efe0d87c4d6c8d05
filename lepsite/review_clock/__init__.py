"""The review clock: how long coordinators take to answer an application, and what nags them.

- ``promise``: the reply promise (``REPLY_WORKING_DAYS``) as pages and mail say it.
- ``dates``: working days, the site's time zone, each application's reply-by date (``due_on``,
  computed once, when it is received) and what counts as overdue.
- ``reminders``: the daily ``flask applications remind``: reminders before the due date,
  escalation to the admins, the applicant's reminder and the lapse of an unanswered question,
  Monday digests; ``models.ClockMail`` records each so nothing goes twice.
"""

from . import models
from .dates import (
    CLOCK_RUNS,
    add_working_days,
    due_date,
    is_overdue,
    local_date,
    subtract_working_days,
    time_zone,
    today,
    working_days_between,
)
from .promise import PLACEHOLDERS, fill_placeholders, reply_time, reply_working_days

__all__ = [
    "CLOCK_RUNS",
    "PLACEHOLDERS",
    "add_working_days",
    "due_date",
    "fill_placeholders",
    "is_overdue",
    "local_date",
    "models",
    "reply_time",
    "reply_working_days",
    "subtract_working_days",
    "time_zone",
    "today",
    "working_days_between",
]
