"""mail: claims, spaced retries, failures kept for a person, and the application it is about

Senders claim a message before sending it, so two never send the same one; a message that
failed every attempt is marked failed instead of being left unlisted; each message may name
the application it is about, so the status page can say whether it was sent.

Revision ID: 3a11f0a11ed0
Revises: 5e55107a11fe
Create Date: 2026-11-26 10:00:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3a11f0a11ed0"
down_revision = "5e55107a11fe"
branch_labels = None
depends_on = None

# The number of attempts after which the old sender silently gave up.
OLD_MAX_ATTEMPTS = 20


def upgrade():
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("application_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("claimed_by", sa.String(length=100), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outgoing_mail_application_id_applications"),
            "applications",
            ["application_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            batch_op.f("ix_outgoing_mail_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outgoing_mail_failed_at"), ["failed_at"], unique=False)
    # Mail the old sender abandoned becomes visible: listed, and retried on request.
    mail = sa.table(
        "outgoing_mail",
        sa.column("sent_at", sa.DateTime(timezone=True)),
        sa.column("attempts", sa.Integer()),
        sa.column("failed_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        mail.update()
        .where(mail.c.sent_at.is_(None), mail.c.attempts >= OLD_MAX_ATTEMPTS)
        .values(failed_at=datetime.now(UTC))
    )


def downgrade():
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outgoing_mail_failed_at"))
        batch_op.drop_index(batch_op.f("ix_outgoing_mail_application_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_outgoing_mail_application_id_applications"), type_="foreignkey"
        )
        batch_op.drop_column("failed_at")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("application_id")
