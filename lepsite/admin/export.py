"""CSV export: streamed row by row, safe to open in a spreadsheet."""

import csv
import io
import re
from collections.abc import Iterator

from sqlalchemy import Select

from ..extensions import db

COLUMNS = (
    "reference",
    "created_at",
    "state",
    "partnership_key",
    "organisation_name",
    "organisation_type",
    "municipality",
    "website",
    "contact_name",
    "contact_role",
    "email",
    "phone",
    "language",
    "contribution",
    "motivation",
    "consent_listing",
    # When it was approved, rejected, withdrawn or closed as lapsed; when the membership ended.
    "decided_at",
    "ended_at",
)

# Where a cell can begin when a spreadsheet splits the text: the start of the field, and after
# any separator a user might pick on import (comma; semicolon, the default in the bs and uk
# locales; tab; pipe) or a line break (a program that ignores quotes starts a row there).
# What is run as a formula there: "=" everywhere, "+ - @" in Excel, and tab or CR (OWASP); no
# CR is left to match, as safe_cell turns every line break into LF first.
CELL_START = re.compile(r"(?:^|(?<=[,;|\t\n]))([^\S\t\n]*)(?=[=+\-@\t])")


def safe_cell(value) -> str:
    """The value as text that no spreadsheet runs as a formula, however it splits the row.

    Every piece of text that could begin a cell (see ``CELL_START``) and starts, after any
    spaces, with ``= + - @``, tab or CR gets an apostrophe in front of that character, as
    OWASP's CSV-injection guidance asks. The rows are also fully quoted (``csv_rows``), so a
    spreadsheet that honours quotes never splits a field at all; this is the second wall, for
    imports with another separator or no text delimiter.

    The trade-off: data stays exact except for that apostrophe, which a reader sees where the
    text has one of those characters at its start or right after ``, ; | tab`` or a line break:
    a phone ``+380 44 ...`` shows as ``'+380 44 ...``, a bullet line ``- training`` as
    ``'- training``. ``Smith-Jones`` or ``2+3`` are left alone: the sign is not at a cell
    start. Nothing is removed, so the original is the cell with those apostrophes taken out.
    Line breaks are written as LF (CRLF and a lone CR become LF), which keeps blank lines in a
    browser's CRLF text free of apostrophes and leaves no CR to start a cell.
    """
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return CELL_START.sub(r"\1'", text)


def csv_rows(query: Select, batch_size: int = 1000) -> Iterator[str]:
    """Yield the CSV a few rows at a time, never holding the whole result in memory."""
    buffer = io.StringIO()
    # Every field quoted: a spreadsheet that honours quotes splits no field on its ; or ,.
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    buffer.write("\ufeff")  # so spreadsheet programs read the file as UTF-8
    writer.writerow(COLUMNS)
    yield flush()
    result = db.session.execute(query.execution_options(yield_per=batch_size)).scalars()
    for count, application in enumerate(result, 1):
        writer.writerow([safe_cell(getattr(application, column)) for column in COLUMNS])
        if count % 100 == 0:
            yield flush()
    yield flush()
