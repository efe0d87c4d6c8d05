"""Database set-up that SQLAlchemy does not do by itself."""

from sqlalchemy import event
from sqlalchemy.engine import Engine


def _tune_sqlite(dbapi_connection, connection_record) -> None:
    """WAL lets readers work while one request writes; the busy timeout makes writers queue
    instead of failing; SQLite leaves foreign keys off unless asked."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def init_engine(engine: Engine) -> None:
    """Apply the per-connection settings the engine's database needs."""
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _tune_sqlite):
        event.listen(engine, "connect", _tune_sqlite)
