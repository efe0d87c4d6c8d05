"""report figures kept up to date

The tables the reports read instead of the applications (``lepsite.reports.models``), filled
from the applications and their history as they are.

The filling is the app's own rebuild (``lepsite.reports.rollups.rebuild``), not a copy: the
figures must be exactly those the app then keeps up to date, or the first report after the
upgrade would disagree with a recount. It reads only columns this revision has.

Revision ID: b17e3f660007
Revises: a06d2f550006
Create Date: 2026-11-24 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b17e3f660007"
down_revision = "a06d2f550006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_flows",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("measure", sa.String(length=12), nullable=False),
        sa.Column("partnership_key", sa.String(length=40), nullable=False),
        sa.Column("organisation_type", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "grain", "measure", "partnership_key", "organisation_type", "day", "value"
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_open",
        sa.Column("partnership_key", sa.String(length=40), nullable=False),
        sa.Column("organisation_type", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "partnership_key", "organisation_type", "state", "received_on", "due_on"
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_members",
        sa.Column("partnership_key", sa.String(length=40), nullable=False),
        sa.Column("organisation_type", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("partnership_key", "organisation_type"),
        sqlite_with_rowid=False,
    )
    from lepsite.reports.rollups import rebuild

    # The tables of this revision only (a later one adds report_counts).
    rebuild(op.get_bind(), kinds=("flow", "open", "member"))


def downgrade():
    op.drop_table("report_members")
    op.drop_table("report_open")
    op.drop_table("report_flows")
