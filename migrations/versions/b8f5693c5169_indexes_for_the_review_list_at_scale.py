"""indexes for the review list at scale

Composite indexes let the admin list count and page 100,000+ applications from the index
alone; the single-column state and partnership indexes are their prefixes, so they go.

Revision ID: b8f5693c5169
Revises: 70fba0d81150
Create Date: 2026-11-23 15:49:11.252657

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "b8f5693c5169"
down_revision = "70fba0d81150"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_partnership_key"))
        batch_op.drop_index(batch_op.f("ix_applications_state"))
        batch_op.create_index(
            "ix_applications_partnership_created", ["partnership_key", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_applications_partnership_listing",
            ["partnership_key", "state", "anonymised_at", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_applications_state_listing", ["state", "anonymised_at", "created_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index("ix_applications_state_listing")
        batch_op.drop_index("ix_applications_partnership_listing")
        batch_op.drop_index("ix_applications_partnership_created")
        batch_op.create_index(batch_op.f("ix_applications_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_applications_partnership_key"), ["partnership_key"], unique=False
        )
