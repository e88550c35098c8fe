"""When a grant ends (revoked or expired), its open export requests are cancelled and their
quarantine copies destroyed, with records; nothing is released under it any more."""

from __future__ import annotations

import json

import test_airlock_support as support
from sqlalchemy import select

from hub import grants
from hub.airlock import service
from hub.config import paths
from hub.models import AuditEntry, ReleasedProduct

world = support.world  # the shared fixture


def _revoke(world, grant_id: int) -> None:
    grants.change_state(world.session, world.actor(None), grant_id, "revoke", reason="terminated")


def test_revocation_cancels_open_requests_and_destroys_their_quarantine_copies(world):
    pending = world.submit({"a.csv": support.REVIEW_CSV})
    blocked = world.submit({"b.csv": support.RESIDENT_ID_CSV})
    other = world.submit({"c.csv": support.CLEAN_CSV}, user="carl", grant=world.other_grant_id)
    assert (paths().quarantine / str(pending.id)).is_dir()
    _revoke(world, world.grant_id)

    cancelled = service.cancel_for_grant(world.session, world.grant_id, "grant revoked")

    assert cancelled == [pending.id, blocked.id]
    for request in (pending, blocked):
        world.session.refresh(request)
        assert request.state == "cancelled"
        assert not (paths().quarantine / str(request.id)).exists()
    world.session.refresh(other)
    assert other.state == "pending_review"  # another grant's request is untouched
    records = world.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "airlock.quarantine_destroy")).all()
    assert {r.object_id for r in records} == {str(pending.id), str(blocked.id)}
    details = [json.loads(r.details) for r in records]
    assert all(d["files"] >= 1 and d["method"] for d in details)
    assert service.cancel_for_grant(world.session, world.grant_id, "again") == []  # idempotent


def test_an_approval_after_the_grant_ended_releases_nothing(world):
    request = world.submit({"a.csv": support.CLEAN_CSV})
    assert request.required_reviews == 1
    _revoke(world, world.grant_id)

    decided = service.decide(world.session, world.actor("rev1"), request.id, "approve", "ok")

    assert decided.state == "cancelled"
    assert world.session.scalars(select(ReleasedProduct)).all() == []


def test_resume_cancels_requests_of_grants_that_ended_while_the_service_was_down(world):
    request = world.submit({"a.csv": support.CLEAN_CSV})
    _revoke(world, world.grant_id)

    report = service.resume(world.session)

    assert report.cancelled == [request.id]
    world.session.refresh(request)
    assert request.state == "cancelled"
