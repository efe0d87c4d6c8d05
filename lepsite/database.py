"""Database set-up that SQLAlchemy does not do by itself: tuning and timeouts.

No request may hang on the database. PostgreSQL connections get a connect timeout and a
server-side ``statement_timeout``; and because a frozen server (or a dead network) answers
nothing at all, not even a cancel, the client also gives up on its own: inside a request no
wait on a PostgreSQL socket lasts longer than ``DATABASE_TIMEOUT`` plus a margin, after which
the connection is closed and SQLAlchemy drops it from the pool (``DatabaseUnavailable`` then
reaches the error handler as a 503). Pooled connections are pinged before use, so the first
request after a database restart does not fail. Commands (migrations, cron) are not held to
the request deadline. SQLite waits ``DATABASE_TIMEOUT`` for a busy writer.
"""

import contextlib
import contextvars
import time
from collections.abc import Iterator

from flask import Flask, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine

# A PostgreSQL answer may take the statement timeout plus this, to cross the network.
_CLIENT_MARGIN = 2.0
# Seconds left for the current request's database waits; None: the app's default.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "lepsite_db_deadline", default=None
)
_default_timeout = 10.0


def engine_options(config: dict) -> dict:
    """SQLAlchemy engine options from the settings (merged into SQLALCHEMY_ENGINE_OPTIONS)."""
    timeout = float(config["DATABASE_TIMEOUT"])
    uri = str(config["SQLALCHEMY_DATABASE_URI"])
    options: dict = {"pool_pre_ping": True}
    if uri.startswith("postgresql"):
        options["connect_args"] = {
            "connect_timeout": max(2, round(config["DATABASE_CONNECT_TIMEOUT"]))
        }
    elif uri.startswith("sqlite"):
        options["connect_args"] = {"timeout": timeout}
    return {**options, **config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Hold database waits in this block to ``seconds`` from now (the health check's 2 s)."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _seconds_left() -> float | None:
    """How long the next wait on the database may take; None outside requests (no limit)."""
    until = _deadline.get()
    if until is not None:
        return max(0.05, until - time.monotonic())
    if has_request_context():
        return _default_timeout + _CLIENT_MARGIN
    return None


def _postgres_connection_class():
    """psycopg's Connection, with every wait held to the request's deadline."""
    import psycopg

    class DeadlineConnection(psycopg.Connection):
        """Gives up on a server that does not answer, then closes itself so that SQLAlchemy
        treats the error as a disconnect and never hands the connection out again."""

        def wait(self, gen, interval=0.1, timeout=None):
            left = _seconds_left()
            if left is not None and (timeout is None or left < timeout):
                timeout = left
            try:
                return super().wait(gen, interval=interval, timeout=timeout)
            except psycopg.OperationalError:
                if not self.closed:
                    self.pgconn.finish()
                raise

    return DeadlineConnection


# Each SQLite connection's page cache, in KiB (SQLite's default: 2,000). A connection keeps
# its pages between requests while no other one writes; with a million applications the list's
# and search's index pages no longer fit in 2 MB, and every page read again costs a system call.
SQLITE_CACHE_KIB = 32_000


def _tune_sqlite(dbapi_connection, connection_record) -> None:
    """WAL lets readers work while one request writes; the busy timeout makes writers queue
    instead of failing; SQLite leaves foreign keys off unless asked; a larger page cache keeps
    the indexes a page reads in memory."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(_default_timeout * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def _tune_postgres(dbapi_connection, connection_record) -> None:
    """A statement running longer than the timeout is cancelled by the server itself."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    dbapi_connection.execute(f"SET statement_timeout = {int(_default_timeout * 1000)}")
    dbapi_connection.autocommit = autocommit


def init_engine(engine: Engine, app: Flask) -> None:
    """Apply the per-connection settings the engine's database needs."""
    global _default_timeout
    _default_timeout = float(app.config["DATABASE_TIMEOUT"])
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _tune_sqlite):
        event.listen(engine, "connect", _tune_sqlite)
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        if not event.contains(engine, "connect", _tune_postgres):
            event.listen(engine, "connect", _tune_postgres)
        connection_class = _postgres_connection_class()

        @event.listens_for(engine, "do_connect")
        def connect(dialect, connection_record, cargs, cparams):
            """Connections of our own class (psycopg.connect builds plain ones)."""
            return connection_class.connect(*cargs, **cparams)


def no_statement_timeout(connection) -> None:
    """Lift the server's statement timeout on this connection (migrations may take long)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET statement_timeout = 0")
        connection.commit()  # a session setting: it outlasts this transaction


def only_what_this_database_gets(dialect_name: str):
    """Alembic's ``include_object`` for a database of ``dialect_name``: leave out what the
    models create on another database only (``ddl_if(dialect=…)``), so that comparing the
    schema, or autogenerating a migration, does not ask for it here."""

    def include(object_, name, type_, reflected, compare_to) -> bool:
        condition = getattr(object_, "_ddl_if", None)
        return condition is None or condition.dialect in (None, dialect_name)

    return include
