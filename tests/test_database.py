"""Migrations build the schema the models describe; SQLite is tuned for concurrent use."""

from conftest import schema_differences
from sqlalchemy import text

from lepsite.extensions import db


def test_db_upgrade_creates_the_schema_of_the_models(app_factory):
    app = app_factory()
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, (result.output, repr(result.exception))
    with app.app_context(), db.engine.connect() as connection:
        differences = schema_differences(connection)
    assert differences == []


def test_sqlite_uses_wal_busy_timeout_foreign_keys_and_a_larger_cache(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context(), db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        # A page cache that holds the list's indexes at a million applications (KiB: negative).
        assert connection.execute(text("PRAGMA cache_size")).scalar() == -32_000
