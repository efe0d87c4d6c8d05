"""``/admin/audit``: the audit log for admins, filtered and a page at a time."""

import json
import math
import re

from flask import Blueprint, render_template, request, url_for

from ..admin.pages import admins_only, page_number
from . import queries
from .forms import AuditFilterForm
from .labels import ACTION_LABELS
from .models import AuditEvent

bp = admins_only(Blueprint("audit", __name__, url_prefix="/admin"))

PER_PAGE = 50

_LINKED_SUBJECT = re.compile(r"(application|user):([0-9]{1,9})")


def _filters(form: AuditFilterForm) -> queries.Filters:
    """The filters that passed their checks; a field with an error filters nothing."""
    form.validate()
    for field in (form.date_from, form.date_to):
        if field.errors:  # not echoed back: a date input may only hold a real date
            field.raw_data = []
    return queries.Filters(
        action="" if form.action.errors else form.action.data or "",
        who="" if form.who.errors else form.who.data or "",
        date_from=None if form.date_from.errors else form.date_from.data,
        date_to=None if form.date_to.errors else form.date_to.data,
    )


def subject_link(subject: str) -> str | None:
    """The admin page of an entry's application or account, if it names one."""
    match = _LINKED_SUBJECT.fullmatch(subject)
    if not match:
        return None
    kind, number = match.group(1), int(match.group(2))
    if kind == "application":
        return url_for("admin.application", application_id=number)
    return url_for("admin.user", user_id=number)


def _text(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def detail_lines(entry: AuditEvent) -> list[tuple[str, str]]:
    """An entry's details as ``(key, value)`` pairs; a before/after pair as ``old → new``."""
    try:
        details = json.loads(entry.details or "{}")
    except ValueError:
        return [("", entry.details)]
    if not isinstance(details, dict):
        return [("", _text(details))]
    lines = []
    for key, value in details.items():
        if isinstance(value, dict) and set(value) == {"before", "after"}:
            lines.append((key, f"{_text(value['before'])} → {_text(value['after'])}"))
        else:
            lines.append((key, _text(value)))
    return lines


@bp.route("/audit")
def log():
    """Who did what and when, newest first; filter by action, account and dates."""
    form = AuditFilterForm(request.args)
    filters = _filters(form)
    total = queries.count(filters)
    page_count = max(1, math.ceil(total / PER_PAGE))
    number = min(page_number(), page_count)
    return render_template(
        "admin/audit.html",
        form=form,
        filters=filters,
        entries=queries.page_of(filters, number, PER_PAGE),
        total=total,
        number=number,
        page_count=page_count,
        action_labels={code: str(label) for code, label in ACTION_LABELS.items()},
        subject_link=subject_link,
        detail_lines=detail_lines,
    )
