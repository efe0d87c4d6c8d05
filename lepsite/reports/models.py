"""The report figures: counts kept beside the applications, so no report reads that table.

Each table holds, per combination of its key columns, how many applications have it. In the
flows and the open applications, the partnership and the organisation type are kept each as
itself and as ``ALL`` ("*"): an application counts in four rows (its partnership and type, its
partnership and any type, any partnership and its type, any of both). A report then reads a
few rows of one combination instead of adding up every partnership and type, so the number of
rows it reads stops growing with the number of applications once the days and months are
filled. (Members need no such rows: there are at most partnerships × types of them.)

``ReportCount`` is not a report: it holds the review list's and the dashboard's exact counts
(``lepsite.admin.queries``), kept by the same hook for the same reason, so that counting a
million applications reads a few hundred rows instead of a million.

``rollups`` keeps them up to date; ``flask reports rebuild`` recomputes them.
"""

from datetime import date

from sqlalchemy import Date, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

# Any partnership, any organisation type.
ALL = "*"
# The two sizes of time bucket: a day (its date), a month (its first day).
DAY, MONTH = "d", "m"


class ReportFlow(db.Model):
    """Things that happened on a day or in a month: applications received, closed, answered.

    ``measure`` is ``received``, a closing state (``approved``, ``rejected``, ``withdrawn``,
    ``lapsed``), or a duration: ``response`` (to the first reply) and ``decision`` (to approval
    or rejection), in working days held in ``value`` (0 for the others), so that the median
    and the 90th percentile come out exact to the day from the histogram.
    """

    __tablename__ = "report_flows"
    __table_args__ = {"sqlite_with_rowid": False}

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    measure: Mapped[str] = mapped_column(String(12), primary_key=True)
    partnership_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    organisation_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    number: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"<ReportFlow {self.grain} {self.measure} {self.day} {self.value}: {self.number}>"


class ReportOpen(db.Model):
    """Open applications now, by the day they arrived and their reply-by date.

    Their age and whether they are overdue change every day without any write; both are
    worked out from these dates when the report is read.
    """

    __tablename__ = "report_open"
    __table_args__ = {"sqlite_with_rowid": False}

    partnership_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    organisation_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), primary_key=True)
    received_on: Mapped[date] = mapped_column(Date, primary_key=True)
    due_on: Mapped[date] = mapped_column(Date, primary_key=True)
    number: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"<ReportOpen {self.partnership_key} {self.state} {self.received_on}: {self.number}>"


class ReportMember(db.Model):
    """Members now (approved, not anonymised), by partnership and organisation type."""

    __tablename__ = "report_members"
    __table_args__ = {"sqlite_with_rowid": False}

    partnership_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    organisation_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"<ReportMember {self.partnership_key} {self.organisation_type}: {self.number}>"


class ReportCount(db.Model):
    """Applications now (not anonymised), by partnership, type, state and whether someone has
    taken them (``taken``: 1 or 0; who it is stays on the application, as a person's own list
    is short enough to count there)."""

    __tablename__ = "report_counts"
    __table_args__ = {"sqlite_with_rowid": False}

    partnership_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    organisation_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), primary_key=True)
    taken: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    number: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"<ReportCount {self.partnership_key} {self.state} {self.taken}: {self.number}>"
