"""review list counts kept up to date

``report_counts``: the applications not anonymised, by partnership, organisation type, state
and whether someone has taken them, so that the review list and the dashboard count a million
applications from a few hundred rows (``lepsite.reports.models.ReportCount``). Filled here
with one grouped ``INSERT … SELECT`` over the applications; from then on the app keeps it
(``lepsite.reports.rollups``), and ``flask reports rebuild --check`` compares the two.

Revision ID: c18a4f770008
Revises: b17e3f660007
Create Date: 2026-11-24 13:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c18a4f770008"
down_revision = "b17e3f660007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_counts",
        sa.Column("partnership_key", sa.String(length=40), nullable=False),
        sa.Column("organisation_type", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("taken", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("partnership_key", "organisation_type", "state", "taken"),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO report_counts "
        "(partnership_key, organisation_type, state, taken, number) "
        "SELECT partnership_key, organisation_type, state, "
        "CASE WHEN assigned_to_id IS NULL THEN 0 ELSE 1 END, count(*) "
        "FROM applications WHERE anonymised_at IS NULL "
        "GROUP BY partnership_key, organisation_type, state, "
        "CASE WHEN assigned_to_id IS NULL THEN 0 ELSE 1 END"
    )


def downgrade():
    op.drop_table("report_counts")
