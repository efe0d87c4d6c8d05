"""CSV export: streamed row by row, safe to open in a spreadsheet."""

import csv
import io
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
)

# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value) -> str:
    """The value as text, defused with a leading apostrophe if it could be a formula."""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_rows(query: Select, batch_size: int = 1000) -> Iterator[str]:
    """Yield the CSV a few rows at a time, never holding the whole result in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

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
