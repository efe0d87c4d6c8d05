"""What the reports page shows: each figure as a chart, a table and a CSV, in the reader's
language and number formats (Babel)."""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from babel.dates import format_skeleton
from flask_babel import format_date, format_decimal, format_percent, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from .. import partnerships
from ..admin.export import safe_cell
from ..membership.labels import ORGANISATION_TYPES, STATE_LABELS
from ..models import NO_PARTNERSHIP
from ..review_clock import reply_time, reply_working_days
from . import queries
from .charts import Reference, Series, bar_chart
from .models import ALL
from .rollups import OUTCOMES

NO_DATA = "–"


@dataclass
class Figure:
    """One chart with its table: ``rows`` hold the raw values (the CSV), ``cells`` the same
    formatted for the reader (the table)."""

    name: str
    title: str
    columns: list[str]
    rows: list[list]
    cells: list[list[str]]
    chart: Markup
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- labels and numbers


def number(value: int | float) -> str:
    """A count in the reader's format (1,234 / 1.234 / 1 234)."""
    return format_decimal(value)


def percent(value: float | None) -> str:
    """A share as a percentage with at most one decimal, in the reader's format."""
    return NO_DATA if value is None else format_percent(value, "#,##0.#%")


def working_days_text(days: int | None) -> str:
    """ "3 working days", with the plural the language needs."""
    if days is None:
        return NO_DATA
    return ngettext("%(num)d working day", "%(num)d working days", days)


def month_label(month: date) -> str:
    """The month and year as the reader's language says them (Babel's skeleton)."""
    return format_skeleton("yMMMM", month, locale=get_locale())


def partnership_label(key: str, lang: str) -> str:
    """A partnership's name in ``lang``."""
    if key == NO_PARTNERSHIP:
        return _("No partnership chosen")
    if key == ALL:  # in a by-partnership figure: those the site no longer lists
        return _("Other partnerships")
    return partnerships.title(lang, key) or key


def type_label(key: str) -> str:
    """An organisation type's name, translated (an unknown code as it is)."""
    label = ORGANISATION_TYPES.get(key)
    return str(label) if label is not None else key


def partnership_keys(filters: queries.Filters) -> list[str]:
    """The partnerships a by-partnership figure lists, with or without applications."""
    if filters.partnerships is not None:
        return list(filters.partnerships)
    return list(queries.known_partnerships())


def _ranked(counts: dict[str, int], keys: list[str], label) -> list[tuple[str, str, int]]:
    """(key, label, number) for every key and any other found, largest first."""
    every = list(dict.fromkeys([*keys, *counts]))
    items = [(key, label(key), counts.get(key, 0)) for key in every]
    return sorted(items, key=lambda item: (-item[2], item[1]))


def _one_series(
    name: str, title: str, description: str, heading: str, unit: str, items: list[tuple]
) -> Figure:
    """A figure of one number per category: ``items`` are (label, number)."""
    labels = [label for label, _number in items]
    values = [value for _label, value in items]
    texts = [number(value) for value in values]
    return Figure(
        name=name,
        title=title,
        columns=[heading, unit],
        rows=[[label, value] for label, value in items],
        cells=[[label, text] for label, text in zip(labels, texts, strict=True)],
        chart=bar_chart(f"chart-{name}", title, description, labels, [Series(unit, values, texts)]),
    )


SAME_NUMBERS = _l("The same numbers are in the table beside the chart.")


# ---------------------------------------------------------------- the figures


def received_by_month(filters: queries.Filters, lang: str) -> Figure:
    """Applications received per month of the period."""
    counts = queries.received_by_month(filters)
    items = [(month_label(month), count) for month, count in counts]
    figure = _one_series(
        "received-by-month",
        _("Applications received per month"),
        str(SAME_NUMBERS),
        _("Month"),
        _("Applications"),
        items,
    )
    figure.rows = [[month.strftime("%Y-%m"), count] for month, count in counts]
    if filters.date_from.day != 1 or filters.date_to != queries.month_end(filters.date_to):
        figure.notes.append(_("A month partly in the period counts only its days in the period."))
    return figure


def received_by_partnership(filters: queries.Filters, lang: str) -> Figure:
    """Applications received in the period, per partnership."""
    counts = queries.received_by_partnership(filters)
    items = _ranked(counts, partnership_keys(filters), lambda key: partnership_label(key, lang))
    return _one_series(
        "received-by-partnership",
        _("Applications received by partnership"),
        str(SAME_NUMBERS),
        _("Partnership"),
        _("Applications"),
        [(label, value) for _key, label, value in items],
    )


def decisions(filters: queries.Filters, lang: str) -> Figure:
    """Applications closed in the period by outcome, and the approval rate."""
    counts = queries.closed(filters)
    items = [(str(STATE_LABELS[outcome]), counts[outcome]) for outcome in OUTCOMES]
    figure = _one_series(
        "decisions",
        _("Applications closed in the period, by outcome"),
        str(SAME_NUMBERS),
        _("Outcome"),
        _("Applications"),
        items,
    )
    rate = queries.approval_rate(counts)
    figure.rows.append([_("Approval rate"), "" if rate is None else round(rate, 4)])
    figure.cells.append([_("Approval rate"), percent(rate)])
    figure.notes.append(
        _(
            "Approval rate: approved applications as a share of those approved or not "
            "approved. Withdrawn applications, and those closed because a question went "
            "unanswered, were not decided on."
        )
    )
    return figure


def durations(filters: queries.Filters, lang: str) -> Figure:
    """Working days to the first reply and to the decision, against the promise."""
    histograms = queries.durations(filters)
    promise = reply_working_days()
    names = {"response": _("First reply to the applicant"), "decision": _("Decision")}
    title = _("Working days to the first reply and to the decision")
    median_name, p90_name = _("Median"), _("90th percentile")
    rows, cells, medians, p90s = [], [], [], []
    for measure in queries.DURATIONS:
        histogram = histograms[measure]
        count = sum(histogram.values())
        median = queries.percentile(histogram, 50)
        p90 = queries.percentile(histogram, 90)
        within = queries.share_within(histogram, promise)
        medians.append(median)
        p90s.append(p90)
        rows.append(
            [names[measure], count, median, p90, "" if within is None else round(within, 4)]
        )
        cells.append(
            [
                names[measure],
                number(count),
                working_days_text(median),
                working_days_text(p90),
                percent(within),
            ]
        )
    series = [
        Series(name, [value or 0 for value in values], [working_days_text(v) for v in values])
        for name, values in ((median_name, medians), (p90_name, p90s))
    ]
    promise_text = _("The promise: a reply %(within)s.", within=reply_time())
    chart = bar_chart(
        "chart-durations",
        title,
        str(SAME_NUMBERS),
        [names[measure] for measure in queries.DURATIONS],
        series,
        Reference(promise, promise_text),
    )
    within_heading = ngettext("Within %(num)d working day", "Within %(num)d working days", promise)
    return Figure(
        name="durations",
        title=title,
        columns=[_("Measure"), _("Applications"), median_name, p90_name, within_heading],
        rows=rows,
        cells=cells,
        chart=chart,
        notes=[
            _(
                "Counted in working days (Monday to Friday) from the day an application "
                "arrived, for the replies and decisions made in the period. The first reply "
                "is a question to the applicant or the decision; the decision is approval or "
                "rejection."
            ),
            promise_text,
        ],
    )


def age_label(first: int, last: int | None) -> str:
    """ "8–14 days", "More than 90 days"."""
    if last is None:
        return ngettext("More than %(num)d day", "More than %(num)d days", first - 1)
    return ngettext("%(first)d–%(num)d day", "%(first)d–%(num)d days", last, first=first)


def open_by_age(filters: queries.Filters, lang: str) -> Figure:
    """Open applications today by age, with the overdue ones."""
    counts = queries.open_by_age(filters)
    labels = [age_label(first, last) for first, last in queries.AGE_BUCKETS]
    title = _("Open applications by age")
    open_name, overdue_name = _("Open"), _("Overdue")
    opened = [count for count, _late in counts]
    late = [late for _count, late in counts]
    chart = bar_chart(
        "chart-open-by-age",
        title,
        str(SAME_NUMBERS),
        labels,
        [
            Series(open_name, opened, list(map(number, opened))),
            Series(overdue_name, late, list(map(number, late))),
        ],
    )
    total_open, total_late = sum(opened), sum(late)
    return Figure(
        name="open-by-age",
        title=title,
        columns=[_("Days since it arrived"), open_name, overdue_name],
        rows=[[label, *pair] for label, pair in zip(labels, counts, strict=True)],
        cells=[
            [label, number(count), number(overdue)]
            for label, (count, overdue) in zip(labels, counts, strict=True)
        ],
        chart=chart,
        notes=[
            _(
                "On %(day)s, whatever the period: calendar days since each open application "
                "arrived.",
                day=format_date(filters.as_of, "long"),
            ),
            ngettext(
                "%(count)s application is open.",
                "%(count)s applications are open.",
                total_open,
                count=number(total_open),
            ),
            ngettext(
                "%(count)s is overdue: the reply-by date has passed while the coordinators "
                "owe the reply.",
                "%(count)s are overdue: the reply-by date has passed while the coordinators "
                "owe the reply.",
                total_late,
                count=number(total_late),
            ),
        ],
    )


def members_by_type(filters: queries.Filters, lang: str) -> Figure:
    """Members today per organisation type."""
    counts = queries.members_by_type(filters)
    items = _ranked(counts, list(ORGANISATION_TYPES), type_label)
    figure = _one_series(
        "members-by-type",
        _("Members by type of organisation"),
        str(SAME_NUMBERS),
        _("Type of organisation"),
        _("Members"),
        [(label, value) for _key, label, value in items],
    )
    figure.notes.append(_("Members today (approved applications), whatever the period."))
    return figure


def members_by_partnership(filters: queries.Filters, lang: str) -> Figure:
    """Members today per partnership."""
    counts = queries.members_by_partnership(filters)
    items = _ranked(counts, partnership_keys(filters), lambda key: partnership_label(key, lang))
    return _one_series(
        "members-by-partnership",
        _("Members by partnership"),
        str(SAME_NUMBERS),
        _("Partnership"),
        _("Members"),
        [(label, value) for _key, label, value in items],
    )


FIGURES: dict[str, Callable[[queries.Filters, str], Figure]] = {
    "received-by-month": received_by_month,
    "received-by-partnership": received_by_partnership,
    "decisions": decisions,
    "durations": durations,
    "open-by-age": open_by_age,
    "members-by-type": members_by_type,
    "members-by-partnership": members_by_partnership,
}

# The page's sections: (id, heading, figures).
SECTIONS = (
    ("received", _l("Applications received"), ("received-by-month", "received-by-partnership")),
    ("decisions", _l("Decisions"), ("decisions",)),
    ("durations", _l("Time to reply and to decide"), ("durations",)),
    ("open", _l("Open and overdue applications"), ("open-by-age",)),
    ("members", _l("Members"), ("members-by-type", "members-by-partnership")),
)


def csv_text(figure: Figure) -> str:
    """The figure's table as CSV: UTF-8 with its mark, every field quoted, no formula."""
    buffer = io.StringIO()
    buffer.write("\ufeff")  # so spreadsheet programs read the file as UTF-8
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow([safe_cell(heading) for heading in figure.columns])
    for row in figure.rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue()
