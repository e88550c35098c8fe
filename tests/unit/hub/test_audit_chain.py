"""The hash chain: verify names the first bad entry after edits, deletions, reordering and a
deleted tail made with raw sqlite3 (dropping the guard triggers first, as an attacker would)."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from hub import audit, db
from hub.errors import PermissionDenied, PolicyViolation


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ENCLAVE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ENCLAVE_DATABASE_URL", raising=False)
    with db.session() as session:
        for i in range(1, 7):
            audit.record(session, "system", "test.step", "thing", i, details={"n": i, "名": "值"})
    yield tmp_path / "home"
    db.dispose_all()


def _raw(home) -> sqlite3.Connection:
    """What a tester with database access does: no triggers, plain SQL."""
    conn = sqlite3.connect(home / "enclave.db", isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_log_retention")
    return conn


def _verify() -> audit.VerifyResult:
    db.dispose_all()  # read what is on disk
    with db.session() as session:
        return audit.verify(session)


def test_an_untouched_chain_verifies(home):
    result = _verify()
    assert result.ok and result.checked == 6 and result.head_seq == 6


def test_the_triggers_refuse_update_and_recent_delete(home):
    conn = sqlite3.connect(home / "enclave.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit_log SET actor='mallory' WHERE seq=2")
    with pytest.raises(sqlite3.IntegrityError, match="180 days"):
        conn.execute("DELETE FROM audit_log WHERE seq=2")
    conn.close()
    assert _verify().ok


@pytest.mark.parametrize("column,value", [("actor", "mallory"), ("outcome", "refused"),
                                          ("details", '{"n":99}'), ("at", "2020-01-01T00:00:00.000000Z")])
def test_an_edited_entry_is_named(home, column, value):
    _raw(home).execute(f"UPDATE audit_log SET {column}=? WHERE seq=3", (value,))
    result = _verify()
    assert not result.ok and result.bad_seq == 3 and "edited" in result.problem_en


def test_a_deleted_entry_is_named(home):
    _raw(home).execute("DELETE FROM audit_log WHERE seq=4")
    result = _verify()
    assert not result.ok and result.bad_seq == 4 and "deleted" in result.problem_en


def test_reordered_entries_are_named(home):
    conn = _raw(home)
    conn.execute("UPDATE audit_log SET seq=-1 WHERE seq=2")
    conn.execute("UPDATE audit_log SET seq=2 WHERE seq=5")
    conn.execute("UPDATE audit_log SET seq=5 WHERE seq=-1")
    result = _verify()
    assert not result.ok and result.bad_seq == 2


def test_a_deleted_tail_is_caught_by_the_head(home):
    _raw(home).execute("DELETE FROM audit_log WHERE seq >= 5")
    result = _verify()
    assert not result.ok and result.bad_seq == 5 and "last entries" in result.problem_en


def test_a_rewritten_chain_is_caught_by_an_external_anchor(home):
    with db.session() as session:
        anchor = audit.head(session)
    conn = _raw(home)
    conn.execute("DELETE FROM audit_log")
    conn.execute("DELETE FROM audit_head")
    db.dispose_all()
    with db.session() as session:  # an attacker rebuilds a consistent but different chain
        for i in range(1, 7):
            audit.record(session, "system", "test.step", "thing", i, details={"n": -i})
    with db.session() as session:
        assert audit.verify(session).ok
        result = audit.verify(session, anchor)
    assert not result.ok and result.bad_seq == 6


def test_prune_refuses_entries_younger_than_180_days(home):
    with db.session() as session, pytest.raises(PolicyViolation, match="180 days"):
        audit.prune(session, "system", datetime.now(UTC) - timedelta(days=179))
    with db.session() as session:
        last = list(audit.entries(session))[-1]
    assert (last.action, last.outcome) == ("audit.prune", "refused")
    assert _verify().ok


def test_prune_of_old_entries_keeps_the_rest_verifiable(tmp_path, monkeypatch):
    monkeypatch.setenv("ENCLAVE_HOME", str(tmp_path / "old"))
    old = datetime.now(UTC) - timedelta(days=400)
    with db.session() as session:
        for i in range(5):
            audit.record(session, "system", "old.step", "thing", i, at=old + timedelta(hours=i))
        audit.record(session, "system", "new.step", "thing", 9)
    with db.session() as session:
        removed = audit.prune(session, "system", datetime.now(UTC) - timedelta(days=200))
    assert removed == 5
    with db.session() as session:
        result = audit.verify(session)
        assert result.ok and result.checked == 2  # new.step and the audit.prune entry
        assert [e.seq for e in audit.entries(session)] == [6, 7]
    db.dispose_all()


def test_a_forged_prune_is_detected(home):
    conn = _raw(home)
    row = conn.execute("SELECT seq, hash FROM audit_log WHERE seq=2").fetchone()
    conn.execute("DELETE FROM audit_log WHERE seq <= 2")
    conn.execute("UPDATE audit_head SET base_seq=?, base_hash=?", row)
    result = _verify()
    assert not result.ok and result.bad_seq == 3 and "audit.prune" in result.problem_en


def test_prune_checks_permission_inside_the_audited_action(home):
    def deny() -> None:
        raise PermissionDenied("ana may not audit.prune", "无权")

    with db.session() as session, pytest.raises(PermissionDenied):
        audit.prune(session, "ana", datetime(2000, 1, 1, tzinfo=UTC), authorize=deny)
    with db.session() as session:
        last = list(audit.entries(session))[-1]
    assert (last.actor, last.outcome) == ("ana", "refused")


def test_export_writes_json_lines_that_recompute_to_their_hashes(home):
    out = io.StringIO()
    with db.session() as session:
        assert audit.export(session, out) == 6
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5, 6]
    for line in lines:
        assert audit.entry_hash(line) == line["hash"]
    assert lines[0]["details"] == {"n": 1, "名": "值"}
    with db.session() as session:
        future = datetime.now(UTC) + timedelta(days=1)
        assert audit.export(session, io.StringIO(), since=future) == 0
