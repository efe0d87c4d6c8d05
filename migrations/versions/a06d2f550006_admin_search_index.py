"""admin search index: FTS5 on SQLite, pg_trgm on PostgreSQL

``applications.search_text`` holds the folded words of the searched fields (see
lepsite.admin.search); existing rows are filled here, a chunk at a time. SQLite then gets an
FTS5 table with the trigram tokenizer over that column (no copy of the text) and the
triggers that keep it in step; PostgreSQL gets the pg_trgm extension and a GIN trigram
index on the column. The downgrade removes them all but the extension, which other
schemas in the same database may use.

It also gives the review list three indexes it lacked (bench/queries.py): by organisation
type and by who took an application (count from the index, page in date order; they replace
the single-column indexes they start with), and a coordinator's list by name.

A later batch migration that rebuilds ``applications`` on SQLite (copy, drop, rename) drops
its triggers: it must create them again (lepsite.admin.search.SQLITE_DDL).

Revision ID: a06d2f550006
Revises: 9f5c1e440005
Create Date: 2026-11-24 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a06d2f550006"
down_revision = "9f5c1e440005"
branch_labels = None
depends_on = None

FIELDS = ("reference", "organisation_name", "contact_name", "email", "municipality")
CHUNK = 5000

# As in lepsite.admin.search at the time of writing; kept here so the migration stays as it was.
SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS applications_search USING fts5(search_text, "
    "content='applications', content_rowid='id', tokenize='trigram case_sensitive 1')",
    "CREATE TRIGGER IF NOT EXISTS applications_search_insert AFTER INSERT ON applications "
    "BEGIN INSERT INTO applications_search(rowid, search_text) "
    "VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS applications_search_delete AFTER DELETE ON applications "
    "BEGIN INSERT INTO applications_search(applications_search, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS applications_search_update "
    "AFTER UPDATE OF search_text ON applications "
    "BEGIN INSERT INTO applications_search(applications_search, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO applications_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    # For a word in thousands of applications, the list is read in its order and each row
    # checked (lepsite.admin.search): these hold the words beside the order, so no row is read
    # for the check. SQLite only (PostgreSQL's planner reads its table well enough, and its
    # B-tree entries could not hold the longest search texts).
    "CREATE INDEX IF NOT EXISTS ix_applications_search_newest "
    "ON applications (created_at, anonymised_at, search_text)",
    "CREATE INDEX IF NOT EXISTS ix_applications_search_partnership "
    "ON applications (partnership_key, created_at, anonymised_at, search_text)",
)
TRIGGERS = (
    "applications_search_insert",
    "applications_search_delete",
    "applications_search_update",
)


def _backfill(connection) -> None:
    """Fill search_text of the existing rows, in chunks of CHUNK rows by id."""
    from lepsite.admin.search import search_text_of  # the same folding as the app's

    applications = sa.table("applications", sa.column("id"), *map(sa.column, FIELDS))
    update = sa.text("UPDATE applications SET search_text = :text WHERE id = :row_id")
    last = 0
    while True:
        rows = connection.execute(
            sa.select(applications)
            .where(applications.c.id > last)
            .order_by(applications.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        connection.execute(
            update,
            [{"row_id": row.id, "text": search_text_of(row._asdict())} for row in rows],
        )
        last = rows[-1].id


# (name, columns) of the list's new indexes, and the single-column ones they replace.
NEW_INDEXES = (
    (
        "ix_applications_type_listing",
        ["organisation_type", "anonymised_at", "created_at", "partnership_key"],
    ),
    ("ix_applications_assigned_listing", ["assigned_to_id", "anonymised_at", "created_at"]),
    ("ix_applications_partnership_name", ["partnership_key", "organisation_name"]),
)
REPLACED_INDEXES = (
    ("ix_applications_organisation_type", ["organisation_type"]),
    ("ix_applications_assigned_to_id", ["assigned_to_id"]),
)


def upgrade():
    for name, columns in NEW_INDEXES:
        op.create_index(name, "applications", columns)
    for name, _columns in REPLACED_INDEXES:  # prefixes of the new ones
        op.drop_index(name, table_name="applications")
    op.add_column(
        "applications", sa.Column("search_text", sa.Text(), server_default="", nullable=False)
    )
    connection = op.get_bind()
    _backfill(connection)
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_DDL:
            op.execute(statement)
        # Index every row in one pass (the triggers only see changes from now on).
        op.execute("INSERT INTO applications_search(applications_search) VALUES ('rebuild')")
    elif connection.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_applications_search_text_trgm ON applications "
            "USING gin (search_text gin_trgm_ops)"
        )


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        for trigger in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS applications_search")
        op.execute("DROP INDEX IF EXISTS ix_applications_search_newest")
        op.execute("DROP INDEX IF EXISTS ix_applications_search_partnership")
    elif connection.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_applications_search_text_trgm")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("search_text")
    for name, columns in REPLACED_INDEXES:
        op.create_index(name, "applications", columns)
    for name, _columns in NEW_INDEXES:
        op.drop_index(name, table_name="applications")
