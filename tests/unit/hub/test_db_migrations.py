"""The database: migrations from empty, idempotent re-upgrade, data kept across revisions."""

from __future__ import annotations

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from hub import db
from hub.models import Base


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ENCLAVE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ENCLAVE_DATABASE_URL", raising=False)
    yield tmp_path / "home"
    db.dispose_all()


def test_first_session_creates_the_database_at_head(home):
    with db.session() as session:
        tables = {row[0] for row in session.execute(
            text("SELECT name FROM sqlite_master WHERE type='table'"))}
    assert {"orgs", "users", "datasets", "grants", "audit_log", "audit_head"} <= tables
    assert db.current_revision(db.init_db()) == db.head_revision()


def test_upgrading_again_is_a_no_op(home):
    engine = db.init_db()
    db.upgrade(engine)
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(home):
    with db.session() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_data_written_at_an_older_revision_survives_the_upgrade(home):
    url = f"sqlite:///{home / 'old.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO orgs (name, kind, title_zh, title_en, created_at) "
                          "VALUES ('zz-op', 'operator', '运营方', 'Operator', '2025-07-01')"))
    engine.dispose()
    with db.session(url) as session:
        assert session.execute(text("SELECT name, title_zh FROM orgs")).one() == ("zz-op",
                                                                                 "运营方")
    assert db.current_revision(db.init_db(url)) == db.head_revision()


def test_models_and_migrations_describe_the_same_schema(home):
    engine = db.init_db()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_foreign_keys_are_enforced(home):
    db.init_db()
    conn = sqlite3.connect(home / "enclave.db")
    conn.execute("PRAGMA foreign_keys=ON")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO users (username, org_id, display_name, email, active, "
                     "created_at) VALUES ('ghost', 999, '', '', 1, '2025-07-01')")
    conn.close()
