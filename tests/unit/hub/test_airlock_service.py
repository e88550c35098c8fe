"""Airlock operations: host-side copy refusals, scan and routing, independent blinded review,
return and resubmit, blocked requests, downloads, audit entries."""

from __future__ import annotations

import json
import os

import pytest
import sqlalchemy.exc
import test_airlock_support as support
from sqlalchemy import select

from hub import grants
from hub.airlock import permissions, quarantine, service
from hub.config import paths
from hub.errors import (
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PolicyViolation,
    ValidationError,
)
from hub.models import AirlockDecision, AirlockRequest, AuditEntry, ReleasedProduct

world = support.world  # the shared fixture
CLEAN_CSV, REVIEW_CSV, RESIDENT_ID_CSV = support.CLEAN_CSV, support.REVIEW_CSV, support.RESIDENT_ID_CSV


def audit_actions(world, request_id) -> list[tuple[str, str, str]]:
    rows = world.session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "airlock_request", AuditEntry.object_id == str(request_id)
    ).order_by(AuditEntry.seq))
    return [(row.actor, row.action, row.outcome) for row in rows]


# -- host-side copy -----------------------------------------------------------------------------


def test_submit_copies_outbox_files_into_quarantine_with_their_hash(world):
    source = world.put("summary.csv", CLEAN_CSV)
    request = world.submit({"summary.csv": CLEAN_CSV})
    (file,) = request.active_files
    copy = service.quarantine_path(file)
    assert copy.read_bytes() == source.read_bytes()
    assert copy.is_relative_to(paths().quarantine / str(request.id))
    assert file.sha256 == quarantine.sha256_file(source)[0]
    assert file.context == "context of summary.csv"
    assert request.state == "pending_review" and request.required_reviews == 1


@pytest.mark.parametrize("name", ["../escape.csv", "a/b.csv", ".hidden", "..", "", "x\x00y"])
def test_names_that_are_not_plain_outbox_files_are_refused(world, name):
    world.put("escape.csv")
    with pytest.raises(ValidationError, match="plain file name"):
        service.submit_request(world.session, world.actor("ana"), world.grant_id,
                               [service.FileSpec(name)])


def test_a_symlink_in_the_outbox_is_refused_not_followed(world, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text(RESIDENT_ID_CSV)
    outbox = world.put("ok.csv").parent
    (outbox / "link.csv").symlink_to(secret)
    with pytest.raises(PolicyViolation, match="symlink"):
        service.submit_request(world.session, world.actor("ana"), world.grant_id,
                               [service.FileSpec("link.csv")])
    assert world.session.scalars(select(AirlockRequest)).all() == []


def test_a_symlinked_outbox_directory_is_refused(world, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.csv").write_text(CLEAN_CSV)
    grant_dir = quarantine.outbox_dir("ana", world.grant_id).parent
    grant_dir.mkdir(parents=True)
    (grant_dir / "outbox").symlink_to(elsewhere)
    with pytest.raises(PolicyViolation, match="symlink"):
        service.submit_request(world.session, world.actor("ana"), world.grant_id,
                               [service.FileSpec("x.csv")])


def test_fifos_hard_links_and_oversized_files_are_refused(world, monkeypatch):
    outbox = world.put("big.csv", CLEAN_CSV * 10).parent
    os.mkfifo(outbox / "pipe.csv")
    os.link(world.put("linked.csv"), outbox / "hard.csv")
    world.put("small.csv")
    ana = world.actor("ana")
    with pytest.raises(PolicyViolation, match="not a regular file"):
        service.submit_request(world.session, ana, world.grant_id, [service.FileSpec("pipe.csv")])
    with pytest.raises(PolicyViolation, match="hard links"):
        service.submit_request(world.session, ana, world.grant_id, [service.FileSpec("hard.csv")])
    monkeypatch.setattr(service, "_max_bytes", lambda level: 100)
    with pytest.raises(PolicyViolation, match="over the policy limit of 100"):
        service.submit_request(world.session, ana, world.grant_id,
                               [service.FileSpec("small.csv"), service.FileSpec("big.csv")])
    # nothing half-made is left behind
    assert world.session.scalars(select(AirlockRequest)).all() == []
    assert list(paths().quarantine.iterdir()) == []


def test_only_members_of_an_active_grant_may_request(world):
    world.put("t.csv", user="carl", grant=world.grant_id)
    with pytest.raises(PolicyViolation, match="not a member"):
        service.submit_request(world.session, world.actor("carl"), world.grant_id,
                               [service.FileSpec("t.csv")])
    with pytest.raises(PermissionDenied, match="analyst"):
        service.submit_request(world.session, world.actor("rev1"), world.grant_id,
                               [service.FileSpec("t.csv")])
    grants.change_state(world.session, world.actor(None), world.grant_id, "suspend")
    world.put("t.csv")
    with pytest.raises(PolicyViolation, match="not active"):
        service.submit_request(world.session, world.actor("ana"), world.grant_id,
                               [service.FileSpec("t.csv")])


# -- scan, block, routing -----------------------------------------------------------------------


def test_a_resident_id_is_blocked_at_submit_and_can_never_be_approved(world):
    request = world.submit({"ids.csv": RESIDENT_ID_CSV, "ok.csv": CLEAN_CSV})
    assert request.state == "blocked"
    reasons = json.loads(request.state_reason)
    assert list(reasons) == ["ids.csv"] and "CN_RESIDENT_ID" in reasons["ids.csv"][0]
    by_name = {f.name: f for f in request.active_files}
    assert by_name["ids.csv"].scan_report["verdict"] == "block"
    for reviewer in ("rev1", "rev2", "boss"):
        with pytest.raises(InvalidTransition):
            service.decide(world.session, world.actor(reviewer), request.id, "approve", "ok")
    with pytest.raises(InvalidTransition):
        service.submit(world.session, world.actor("ana"), request.id)
    with pytest.raises(InvalidTransition):
        service.release(world.session, request.id)
    assert world.session.scalars(select(ReleasedProduct)).all() == []
    service.withdraw(world.session, world.actor("ana"), request.id, "will aggregate")
    assert request.state == "withdrawn"


def test_a_review_finding_needs_two_reviewers_and_a_clean_file_one(world):
    clean = world.submit({"a.csv": CLEAN_CSV})
    flagged = world.submit({"b.csv": REVIEW_CSV, "c.csv": CLEAN_CSV})
    assert (clean.state, clean.required_reviews) == ("pending_review", 1)
    assert (flagged.state, flagged.required_reviews) == ("pending_review", 2)
    assert {f.name: f.verdict for f in flagged.active_files} == {"b.csv": "review",
                                                                "c.csv": "pass"}
    service.decide(world.session, world.actor("rev1"), flagged.id, "approve", "fine")
    assert flagged.state == "pending_review"
    service.decide(world.session, world.actor("rev2"), flagged.id, "approve", "fine too")
    assert flagged.state == "released"
    service.decide(world.session, world.actor("rev3"), clean.id, "approve")
    assert clean.state == "released"


def test_decisions_are_blinded_until_both_reviewers_decided(world):
    request = world.submit({"b.csv": REVIEW_CSV})
    service.decide(world.session, world.actor("rev1"), request.id, "approve", "looks fine",
                   private_note="zero is a structural zero")

    def seen(name):
        return [(d["reviewer"], d.get("private_note"))
                for d in service.request_json(world.actor(name), request)["decisions"]]

    assert seen("rev1") == [("rev1", "zero is a structural zero")]
    assert seen("rev2") == [] and seen("ana") == [] and seen("boss") == []
    service.decide(world.session, world.actor("rev2"), request.id, "return", "explain the zero")
    assert request.state == "returned"
    assert seen("rev2") == [("rev1", "zero is a structural zero"), ("rev2", "")]
    assert seen("ana") == [("rev1", None), ("rev2", None)]  # never the private notes


def test_a_reviewer_decides_once_per_round(world):
    request = world.submit({"b.csv": REVIEW_CSV})
    service.decide(world.session, world.actor("rev1"), request.id, "approve")
    with pytest.raises(PermissionDenied, match="already decided"):
        service.decide(world.session, world.actor("rev1"), request.id, "approve")


def test_any_reject_wins_and_reject_or_return_need_a_comment(world):
    request = world.submit({"b.csv": REVIEW_CSV})
    with pytest.raises(ValidationError, match="comment"):
        service.decide(world.session, world.actor("rev1"), request.id, "reject")
    service.decide(world.session, world.actor("rev1"), request.id, "return", "round it")
    service.decide(world.session, world.actor("rev2"), request.id, "reject", "microdata")
    assert request.state == "rejected"
    with pytest.raises(InvalidTransition):
        service.submit(world.session, world.actor("ana"), request.id)


def test_returned_request_is_edited_resubmitted_rescanned_and_reviewed_again(world):
    request = world.submit({"b.csv": REVIEW_CSV})
    service.decide(world.session, world.actor("rev1"), request.id, "approve")
    service.decide(world.session, world.actor("rev2"), request.id, "return", "suppress zero")
    world.put("b.csv", CLEAN_CSV)
    service.edit_request(world.session, world.actor("ana"), request.id,
                         [service.FileSpec("b.csv", "zero suppressed", "report")])
    with pytest.raises(PermissionDenied):
        service.edit_request(world.session, world.actor("bob"), request.id,
                             [service.FileSpec("b.csv")])
    service.submit(world.session, world.actor("ana"), request.id)
    assert (request.state, request.round, request.required_reviews) == ("pending_review", 2, 1)
    (file,) = request.active_files
    assert (file.verdict, file.scanned_round, file.context) == ("pass", 2, "zero suppressed")
    service.decide(world.session, world.actor("rev1"), request.id, "approve")  # new round
    assert request.state == "released"
    manifest = json.loads(request.product.manifest)
    assert [(r["reviewer"], r["round"], r["decision"]) for r in manifest["reviews"]] == [
        ("rev1", 1, "approve"), ("rev2", 1, "return"), ("rev1", 2, "approve")]


# -- independence: self-review and same-org review ---------------------------------------------


def test_the_requester_can_never_review_even_holding_the_reviewer_role(world):
    request = world.submit({"a.csv": CLEAN_CSV})
    world.force_role("ana", "reviewer")
    with pytest.raises(PermissionDenied, match="own request"):
        service.decide(world.session, world.actor("ana"), request.id, "approve")
    assert request.state == "pending_review"
    assert ("ana", "airlock.review", "refused") in audit_actions(world, request.id)


def test_nobody_from_the_requesters_org_can_review(world):
    request = world.submit({"a.csv": CLEAN_CSV})
    world.force_role("bob", "reviewer")
    with pytest.raises(PermissionDenied, match="organisation"):
        service.decide(world.session, world.actor("bob"), request.id, "approve")
    assert permissions.review_conflict(world.actor("bob"), request) is not None
    assert permissions.review_conflict(world.actor("rev1"), request) is None


def test_admins_auditors_and_other_orgs_cannot_review(world):
    request = world.submit({"a.csv": CLEAN_CSV})
    for name in ("boss", "inspector", "carl", None):
        with pytest.raises(PermissionDenied):
            service.decide(world.session, world.actor(name), request.id, "approve")


def test_the_database_refuses_a_self_or_same_org_decision_written_around_the_service(world):
    request = world.submit({"a.csv": CLEAN_CSV})
    ana = world.actor("ana")
    bob = world.actor("bob")
    for reviewer in (ana, bob):
        world.session.add(AirlockDecision(
            request_id=request.id, requester_id=request.requester_id,
            requester_org_id=request.requester_org_id, reviewer_id=reviewer.user_id,
            reviewer_org_id=reviewer.org_id, round=1, decision="approve"))
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            world.session.flush()
        world.session.rollback()
    # lying about the requester's org does not help: the composite key ties it to the request
    world.session.add(AirlockDecision(
        request_id=request.id, requester_id=request.requester_id,
        requester_org_id=world.actor("rev1").org_id + 100, reviewer_id=bob.user_id,
        reviewer_org_id=bob.org_id, round=1, decision="approve"))
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        world.session.flush()
    world.session.rollback()


# -- visibility, withdraw, downloads, audit -----------------------------------------------------


def test_requests_are_visible_to_their_requester_and_operator_staff_only(world):
    request = world.submit({"a.csv": CLEAN_CSV})
    for name in ("ana", "rev1", "boss", "inspector", None):
        assert service.get_request(world.session, world.actor(name), request.id).id == request.id
    for name in ("bob", "carl"):
        with pytest.raises(NotFound):
            service.get_request(world.session, world.actor(name), request.id)
        assert service.list_requests(world.session, world.actor(name)) == []


def test_only_the_requester_withdraws(world):
    request = world.submit({"a.csv": CLEAN_CSV})
    with pytest.raises(PermissionDenied):
        service.withdraw(world.session, world.actor("bob"), request.id)
    service.withdraw(world.session, world.actor("ana"), request.id, "not needed")
    with pytest.raises(InvalidTransition):
        service.decide(world.session, world.actor("rev1"), request.id, "approve")


def test_downloads_are_checked_and_every_attempt_is_audited(world):
    request = world.submit({"a.csv": CLEAN_CSV})
    service.decide(world.session, world.actor("rev1"), request.id, "approve")
    product = request.product
    path = service.download(world.session, world.actor("bob"), product.id, "a.csv")
    assert path.read_text() == CLEAN_CSV
    with pytest.raises(PermissionDenied):
        service.download(world.session, world.actor("carl"), product.id, "a.csv")
    with pytest.raises(NotFound):
        service.download(world.session, world.actor("ana"), product.id, "other.csv")
    service.revoke_product(world.session, world.actor("boss"), product.id, "superseded")
    with pytest.raises(PolicyViolation, match="revoked"):
        service.download(world.session, world.actor("ana"), product.id, "a.csv")
    downloads = [a for a in audit_actions(world, request.id) if a[1] == "airlock.download"]
    assert downloads == [("bob", "airlock.download", "ok"),
                         ("carl", "airlock.download", "refused"),
                         ("ana", "airlock.download", "refused"),
                         ("ana", "airlock.download", "refused")]


def test_every_step_is_an_audit_entry_under_the_request_id(world):
    request = world.submit({"b.csv": REVIEW_CSV})
    service.decide(world.session, world.actor("rev1"), request.id, "approve")
    service.decide(world.session, world.actor("rev2"), request.id, "approve")
    service.revoke_product(world.session, world.actor("boss"), request.product.id, "error")
    assert [a[1] for a in audit_actions(world, request.id)] == [
        "airlock.create", "airlock.submit", "airlock.scan", "airlock.scan_file", "airlock.pass",
        "airlock.review", "airlock.review", "airlock.approve", "airlock.release_claim",
        "airlock.release", "airlock.revoke"]


def test_a_quarantine_copy_changed_after_submission_is_blocked_by_the_scan(world):
    world.put("a.csv")
    request = service.create_request(world.session, world.actor("ana"), world.grant_id,
                                     [service.FileSpec("a.csv")])
    assert request.state == "draft"
    (file,) = request.active_files
    service.quarantine_path(file).write_text(CLEAN_CSV + "D,999\n")
    service.submit(world.session, world.actor("ana"), request.id)
    assert request.state == "blocked"
    assert file.scan_report["reasons"][0]["code"] == "quarantine_changed"
