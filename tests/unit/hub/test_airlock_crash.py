"""Crash safety: a process killed (SIGKILL) during submit, scan, review, release or revoke leaves
every request in a valid state; a restart (``resume``) finishes the work, loses no request and
releases exactly once.

The child process stops at a named step via the service's fault-injection hook
(``ENCLAVE_AIRLOCK_PAUSE_AT``), tells us through a marker file, and is killed there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import test_airlock_support as support
from sqlalchemy import func, select

from hub.airlock import release as bundles
from hub.airlock import service
from hub.config import paths
from hub.models import AirlockFile, AirlockRequest, AuditEntry, ReleasedProduct

world = support.world  # the shared fixture
ROOT = Path(__file__).resolve().parents[3]
CHILD = """
import sys
from hub import accounts, db
from hub.airlock import service
op, args = sys.argv[1], sys.argv[2:]
with db.session() as s:
    if op == "submit":
        service.submit_request(s, accounts.resolve_actor(s, "ana"), int(args[0]),
                               [service.FileSpec(name) for name in args[1:]])
    elif op == "decide":
        service.decide(s, accounts.resolve_actor(s, args[1]), int(args[0]), "approve", "ok")
    elif op == "revoke":
        service.revoke_product(s, accounts.resolve_actor(s, "boss"), int(args[0]), "recalled")
    elif op == "resume":
        print(service.resume(s).to_json())
"""


def run_child(world, tmp_path: Path, *argv: str, pause_at: str | None = None) -> None:
    """Run an airlock operation in a new process; with ``pause_at``, SIGKILL it at that step."""
    world.session.commit()  # release the SQLite write lock the fixture's session may hold
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    marker = tmp_path / f"paused-{time.monotonic_ns()}"
    if pause_at:
        env.update({service.PAUSE_ENV: pause_at, service.PAUSE_FILE_ENV: str(marker)})
    child = subprocess.Popen([sys.executable, "-c", CHILD, *argv], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not pause_at:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        return
    deadline = time.monotonic() + 120
    while not marker.exists():
        if child.poll() is not None:
            pytest.fail(f"child ended before reaching {pause_at}: {child.communicate()[1]}")
        assert time.monotonic() < deadline, f"child never reached {pause_at}"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    child.communicate()
    assert child.returncode == -signal.SIGKILL
    world.session.expire_all()


def count(world, query) -> int:
    return world.session.scalar(select(func.count()).select_from(query.subquery()))


def audit_count(world, action: str, request_id: int | None = None) -> int:
    query = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.outcome == "ok")
    if request_id is not None:
        query = query.where(AuditEntry.object_id == str(request_id))
    return count(world, query)


def test_killed_while_copying_leaves_no_request_and_resume_clears_the_orphan(world, tmp_path):
    world.put("a.csv")
    run_child(world, tmp_path, "submit", str(world.grant_id), "a.csv", pause_at="create.copied")
    assert world.session.scalars(select(AirlockRequest)).all() == []  # never committed
    assert list(paths().quarantine.iterdir()) != []  # the copy made before the kill
    run_child(world, tmp_path, "resume")
    assert list(paths().quarantine.iterdir()) == []


def test_killed_during_scan_then_resume_finishes_the_scan_without_rescanning(world, tmp_path):
    world.put("a.csv", support.CLEAN_CSV)
    world.put("b.csv", support.REVIEW_CSV)
    run_child(world, tmp_path, "submit", str(world.grant_id), "a.csv", "b.csv",
              pause_at="scan.file_done")
    (request,) = world.session.scalars(select(AirlockRequest)).all()
    assert request.state == "scanning"
    assert [f.scanned_round for f in request.active_files] == [1, None]
    run_child(world, tmp_path, "resume")
    world.session.expire_all()
    assert (request.state, request.required_reviews) == ("pending_review", 2)
    assert {f.name: f.verdict for f in request.active_files} == {"a.csv": "pass",
                                                                "b.csv": "review"}
    assert audit_count(world, "airlock.scan_file", request.id) == 2  # each file scanned once
    assert count(world, select(AirlockFile)) == 2


@pytest.mark.parametrize("step", ["review.recorded", "release.claimed", "release.bundle_written"])
def test_killed_during_release_then_resume_releases_exactly_once(world, tmp_path, step):
    request = world.submit({"a.csv": support.CLEAN_CSV})
    run_child(world, tmp_path, "decide", str(request.id), "rev1", pause_at=step)
    assert request.state in ("pending_review", "approved")  # a valid state of the table
    assert audit_count(world, "airlock.review", request.id) == 1  # the decision is not lost
    run_child(world, tmp_path, "resume")
    run_child(world, tmp_path, "resume")  # a second restart changes nothing
    world.session.expire_all()
    assert request.state == "released"
    products = world.session.scalars(select(ReleasedProduct)).all()
    assert [p.request_id for p in products] == [request.id]
    assert audit_count(world, "airlock.release", request.id) == 1
    assert audit_count(world, "airlock.release_claim", request.id) == 1
    assert sorted(p.name for p in paths().releases.iterdir()) == [str(products[0].id)]
    assert bundles.verify_bundle(service.product_dir(products[0].id)).ok


def test_killed_after_revoke_was_recorded_then_resume_withdraws_the_files(world, tmp_path):
    request = world.submit({"a.csv": support.CLEAN_CSV})
    service.decide(world.session, world.actor("rev1"), request.id, "approve")
    folder = service.product_dir(request.product.id)
    run_child(world, tmp_path, "revoke", str(request.product.id), pause_at="revoke.recorded")
    assert request.state == "revoked" and (folder / "files").exists()
    run_child(world, tmp_path, "resume")
    assert not (folder / "files").exists() and (folder / bundles.REVOKED).exists()
