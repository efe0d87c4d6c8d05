"""registration numbers and duplicate detection

``registration_number``: the organisation's EDRPOU code or ID number (JIB), digits only, ""
when not given. ``name_key`` and ``email_key``: the organisation name and the e-mail address
as compared for possible duplicates (lepsite.membership.duplicates). All three indexed, each
with the columns of the admin's scope: the admin looks them up by value.

Existing rows get their keys computed here, in chunks of ``CHUNK`` rows (by id, so memory stays
flat at 100,000 rows and more), by the app's own ``name_key``: unlike the dates other
migrations compute, a key is only useful if it is exactly what the running code computes for
a new name, so it is not copied here. A later change to the key rule comes with its own
migration that computes the keys again. Anonymised rows have a blank name and address, so
their keys are blank, and blank keys never match.

Revision ID: 9f5c1e440005
Revises: 9e4b0d440004
Create Date: 2026-11-24 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9f5c1e440005"
down_revision = "9e4b0d440004"
branch_labels = None
depends_on = None

CHUNK = 1000
COLUMNS = {
    "registration_number": 20,
    "name_key": 200,
    "email_key": 254,
}

# After the value, the columns of the admin's scope (not anonymised; a coordinator's
# partnerships), so each lookup is answered from its index (see Application.__table_args__).
SCOPE_COLUMNS = ["anonymised_at", "partnership_key"]

applications = sa.table(
    "applications",
    sa.column("id", sa.Integer),
    sa.column("organisation_name", sa.String),
    sa.column("email", sa.String),
    sa.column("registration_number", sa.String),
    sa.column("name_key", sa.String),
    sa.column("email_key", sa.String),
)


def _fill_keys() -> None:
    """Compute the keys of every row, a chunk of ids at a time."""
    from lepsite.membership.duplicates import email_key, name_key

    bind = op.get_bind()
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(applications.c.id, applications.c.organisation_name, applications.c.email)
            .where(applications.c.id > last_id)
            .order_by(applications.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        bind.execute(
            applications.update()
            .where(applications.c.id == sa.bindparam("row_id"))
            .values(
                registration_number="",
                name_key=sa.bindparam("new_name_key"),
                email_key=sa.bindparam("new_email_key"),
            ),
            [
                {
                    "row_id": row_id,
                    "new_name_key": name_key(name),
                    "new_email_key": email_key(email),
                }
                for row_id, name, email in rows
            ],
        )
        last_id = rows[-1].id


def upgrade():
    with op.batch_alter_table("applications", schema=None) as batch_op:
        for name, length in COLUMNS.items():
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))
    _fill_keys()
    with op.batch_alter_table("applications", schema=None) as batch_op:
        for name, length in COLUMNS.items():
            batch_op.alter_column(name, existing_type=sa.String(length=length), nullable=False)
            batch_op.create_index(f"ix_applications_{name}", [name, *SCOPE_COLUMNS], unique=False)


def downgrade():
    with op.batch_alter_table("applications", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_index(f"ix_applications_{name}")
            batch_op.drop_column(name)
