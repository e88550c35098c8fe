"""Fixtures shared by the control-plane unit tests."""

from __future__ import annotations

import pytest

from hub import db


@pytest.fixture
def fresh_session(tmp_path, monkeypatch):
    """A session on a new, migrated SQLite database in a temporary ENCLAVE_HOME."""
    monkeypatch.setenv("ENCLAVE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ENCLAVE_DATABASE_URL", raising=False)
    with db.session() as session:
        yield session
    db.dispose_all()
