"""Engine and sessions; the schema is migrated to the newest revision on first use.

The default database is SQLite under ``ENCLAVE_HOME`` (:func:`hub.config.database_url`), opened
in WAL mode with foreign keys on and a busy timeout. ``ENCLAVE_DATABASE_URL`` points elsewhere,
e.g. ``postgresql+psycopg://enclave@db/enclave`` (the models use portable types only).

SQLite transactions start with ``BEGIN IMMEDIATE``: a session takes the write lock when it
starts, so two processes appending to the audit chain at once are serialised instead of failing
half-way with "database is locked" on the upgrade from a read lock.

Public API::

    init_db(url=None) -> Engine          # create/migrate to head (idempotent), cached per URL
    session(url=None) -> ContextManager[Session]   # commit on success, roll back on error
    upgrade(engine, revision="head")      # run Alembic migrations programmatically
    current_revision(engine) -> str | None
    dispose_all()                         # forget cached engines (tests, forks)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from hub.config import database_url

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000

_lock = threading.Lock()
_engines: dict[str, Engine] = {}


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (the pysqlite driver would otherwise
        # start transactions lazily and also break SAVEPOINT).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """A new engine for ``url`` (SQLite gets WAL, foreign keys and immediate transactions)."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate ``engine``'s database to ``revision`` (idempotent at head)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revision() -> str:
    """The newest migration in ``hub/migrations/versions``."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def init_db(url: str | None = None) -> Engine:
    """The engine for ``url`` (default :func:`hub.config.database_url`), migrated to head."""
    url = url or database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            upgrade(engine)
            _engines[url] = engine
        return engine


@contextmanager
def session(url: str | None = None) -> Iterator[Session]:
    """A session on the migrated database: committed on success, rolled back on an exception."""
    factory = sessionmaker(init_db(url), expire_on_commit=False)
    with factory() as db:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise


def dispose_all() -> None:
    """Close and forget every cached engine."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
