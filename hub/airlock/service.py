"""Airlock operations: create, submit, scan, decide, release, revoke, download, resume.

Every state change goes through :func:`hub.airlock.permissions.authorize` (which reads the one
table in :mod:`hub.airlock.states`) and is recorded with :mod:`hub.audit` under the request id.

Crash safety. Each operation is a sequence of steps; each step is ONE database transaction,
committed by this module, plus file operations that are idempotent (temp file, fsync, rename).
A process killed anywhere leaves the request in a state of the table, and :func:`resume` finishes
whatever the airlock itself still owes: scans of ``submitted``/``scanning`` requests,
consolidation of complete reviews, releases of ``approved`` requests, file withdrawal of revoked
products, and removal of quarantine folders no committed row owns. A request is released at most
once: ``airlock_products.request_id`` is unique and the bundle folder appears by one ``rename``.

Fault injection (tests): with ``ENCLAVE_AIRLOCK_PAUSE_AT=<step>`` the process stops at that named
step (writing the step name to ``$ENCLAVE_AIRLOCK_PAUSE_FILE``, then sleeping) so a test can kill it
there. Steps: ``create.copied``, ``scan.file_done``, ``review.recorded``, ``release.claimed``,
``release.bundle_written``, ``revoke.recorded``.

Public API (``session`` from :func:`hub.db.session`; ``actor`` from
:func:`hub.accounts.resolve_actor`)::

    FileSpec(name, context="", justification="", from_outbox=True)
    submit_request(session, actor, grant_id, files, *, notebook_sha256=None, image_digest=None,
                   source_folder=None) -> AirlockRequest   # create + submit + scan (+ routing)
    create_request(session, actor, grant_id, files, *, notebook_sha256=None, image_digest=None,
                   source_folder=None) -> AirlockRequest   # draft
        # source_folder=(base, parts): files from base/parts.../ (a build's outputs folder,
        # hub.builds) instead of the outbox, with the same checks

Batch builds (hub.builds): a request made from a build's outputs carries the build's provenance
into the manifest (``producing.build``: build id, parameters, datasets) and its review route
(``hub.builds.contracts.required_reviews``: one reviewer for a rebuild inside an approved
product contract, normal review otherwise).
    edit_request(session, actor, request_id, files=(), remove=()) -> AirlockRequest
    submit(session, actor, request_id) -> AirlockRequest   # draft/returned -> scan -> routed
    decide(session, actor, request_id, decision, comment="", private_note="") -> AirlockRequest
    withdraw(session, actor, request_id, reason="") -> AirlockRequest
    scan(session, request_id) -> AirlockRequest             # system step (resume uses it)
    release(session, request_id) -> ReleasedProduct         # system step, idempotent
    cancel_for_grant(session, grant_id, reason) -> list[int] # the grant ended: cancel + destroy
    cancel_ended_grants(session) -> list[int]                # the same for every ended grant
    revoke_product(session, actor, product_id, reason) -> ReleasedProduct
    download(session, actor, product_id, file_name) -> Path  # audited
    get_request(session, actor, request_id) -> AirlockRequest
    list_requests(session, actor, state=None) -> list[AirlockRequest]
    request_json(actor, request) -> dict                    # blinded view for this actor
    get_product(session, product_id) -> ReleasedProduct;  list_products(session) -> list
    product_json(product) -> dict;  product_dir(product_id) -> Path
    resume(session) -> ResumeReport
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlalchemy.orm import Session

from hub import audit, grants
from hub.accounts import SYSTEM, Actor
from hub.airlock import permissions, quarantine
from hub.airlock import release as bundles
from hub.airlock.states import DECISIONS, OPEN, Transition
from hub.config import paths
from hub.destruction import destroy_tree
from hub.errors import (
    IntegrityError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PolicyViolation,
    ValidationError,
)
from hub.models import (
    AirlockDecision,
    AirlockFile,
    AirlockRequest,
    ReleasedProduct,
    User,
)

PAUSE_ENV = "ENCLAVE_AIRLOCK_PAUSE_AT"
PAUSE_FILE_ENV = "ENCLAVE_AIRLOCK_PAUSE_FILE"
OBJECT = "airlock_request"
MAX_TEXT = 20_000
SYSTEM_ACTOR = Actor(SYSTEM, frozenset())


@dataclass(frozen=True)
class FileSpec:
    """A file to put in a request: a name in the outbox plus the analyst's context.

    ``from_outbox=False`` in :func:`edit_request` changes only the texts of a file already in the
    request.
    """

    name: str
    context: str = ""
    justification: str = ""
    from_outbox: bool = True


def _checkpoint(step: str) -> None:
    """Fault-injection hook: pause here when the test asks for this step."""
    if os.environ.get(PAUSE_ENV) != step:
        return
    marker = os.environ.get(PAUSE_FILE_ENV)
    if marker:
        Path(marker).write_text(step)
    time.sleep(float(os.environ.get("ENCLAVE_AIRLOCK_PAUSE_SECONDS", "600")))


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _quarantine_root(request_id: int) -> Path:
    return paths().ensure().quarantine / str(request_id)


def quarantine_path(file: AirlockFile) -> Path:
    """Where the host keeps the quarantined copy of ``file``."""
    return paths().quarantine / file.relative_path


def product_dir(product_id: int) -> Path:
    return paths().ensure().releases / str(product_id)


# -- loading and the one way a request moves -----------------------------------------------------


def _load(session: Session, request_id: int) -> AirlockRequest:
    request = session.get(AirlockRequest, request_id)
    if request is None:
        raise NotFound(f"export request {request_id} not found", f"未找到出域申请 {request_id}")
    return request


def _move(session: Session, actor: Actor, request: AirlockRequest, action: str) -> Transition:
    """Authorize and apply one step of the table (the caller records/commits)."""
    step = permissions.authorize(actor, request, action)
    request.state, request.updated_at = step.target, _now()
    session.flush()
    return step


def _system_step(session: Session, request: AirlockRequest, action: str,
                 details: dict[str, Any] | None = None) -> None:
    """A step the airlock takes itself: applied, audited and committed."""
    previous = request.state
    step = _move(session, SYSTEM_ACTOR, request, action)
    audit.record(session, SYSTEM, f"airlock.{action}", OBJECT, request.id, "ok",
                 {"from": previous, "to": step.target, **(details or {})})
    session.commit()


def get_request(session: Session, actor: Actor, request_id: int) -> AirlockRequest:
    """The request if ``actor`` may see it (others get NotFound: no probing of ids)."""
    request = _load(session, request_id)
    if not permissions.may_view(actor, request):
        raise NotFound(f"export request {request_id} not found", f"未找到出域申请 {request_id}")
    return request


def list_requests(session: Session, actor: Actor, state: str | None = None
                  ) -> list[AirlockRequest]:
    """Requests ``actor`` may see, newest first, optionally in one state."""
    query = select(AirlockRequest).order_by(AirlockRequest.id.desc())
    if state:
        query = query.where(AirlockRequest.state == state)
    return [r for r in session.scalars(query) if permissions.may_view(actor, r)]


# -- creating and editing ------------------------------------------------------------------------


def _text(value: str, field_name: str) -> str:
    if len(value) > MAX_TEXT:
        raise ValidationError(f"{field_name}: at most {MAX_TEXT} characters",
                              f"{field_name}：最多 {MAX_TEXT} 个字符")
    return value.strip()


def _requester(session: Session, actor: Actor) -> User:
    if actor.user_id is None:
        raise PermissionDenied("export requests are made by an analyst, not the host system",
                               "出域申请须由分析人员提出，系统账号不能提出")
    user = session.get(User, actor.user_id)
    assert user is not None
    if "analyst" not in actor.roles:
        raise PermissionDenied(f"{actor.name} is not an analyst", f"{actor.name} 不是分析人员")
    return user


def _grant_level(session: Session, user: User, grant_id: int) -> int:
    """The highest classification level the user may use under the grant (refuses if none)."""
    usable = grants.usable_versions(session, user, grant_id)
    if not usable:
        raise PolicyViolation(
            f"grant {grant_id}: not active, or {user.username} is not a member of it",
            f"授权 {grant_id}：未生效，或 {user.username} 不是其成员")
    return max(item.level for item in usable)


def _max_bytes(level: int) -> int:
    from egress_filter.policy import default_policy

    return default_policy().level(level).max_file_bytes


def _add_file(session: Session, request: AirlockRequest, spec: FileSpec, username: str,
              source_folder: tuple[Path, Sequence[str]] | None = None) -> None:
    """Copy one outbox file into quarantine and record it (in the caller's transaction)."""
    row = AirlockFile(request_id=request.id, name=quarantine.check_name(spec.name), active=True,
                      sha256="", size_bytes=0,
                      context=_text(spec.context, "context"),
                      justification=_text(spec.justification, "justification"))
    request.files.append(row)
    session.flush()  # the file id names its quarantine folder
    if source_folder is not None:
        copied = quarantine.copy_from_folder(source_folder[0], list(source_folder[1]), spec.name,
                                             quarantine_path(row), _max_bytes(request.level))
    else:
        copied = quarantine.copy_from_outbox(username, request.grant_id, spec.name,
                                             quarantine_path(row), _max_bytes(request.level))
    row.sha256, row.size_bytes = copied.sha256, copied.size


def _check_specs(files: Sequence[FileSpec]) -> None:
    names = [spec.name for spec in files]
    if len(set(names)) != len(names):
        raise ValidationError("files: a name is listed twice", "files：文件名重复")


def create_request(
    session: Session, actor: Actor, grant_id: int, files: Sequence[FileSpec], *,
    notebook_sha256: str | None = None, image_digest: str | None = None,
    source_folder: tuple[Path, Sequence[str]] | None = None,
) -> AirlockRequest:
    """A new ``draft`` request with ``files`` copied from the actor's outbox (committed)."""
    details: dict[str, Any] = {"grant": grant_id, "files": [spec.name for spec in files]}
    request: AirlockRequest | None = None
    try:
        with audited_step(session, actor, "create", details) as act:
            user = _requester(session, actor)
            if not files:
                raise ValidationError("files: name at least one file from the outbox",
                                      "files：至少需要一个输出目录中的文件")
            _check_specs(files)
            request = AirlockRequest(
                grant_id=grant_id, requester_id=user.id, requester_org_id=user.org_id,
                state="draft", round=1, required_reviews=1,
                level=_grant_level(session, user, grant_id),
                notebook_sha256=notebook_sha256, image_digest=image_digest)
            session.add(request)
            session.flush()
            act.object_id = request.id
            # A folder for this id can only be left over from a rolled-back attempt.
            shutil.rmtree(_quarantine_root(request.id), ignore_errors=True)
            for spec in files:
                _add_file(session, request, spec, user.username, source_folder)
            act.details["sha256"] = {f.name: f.sha256 for f in request.files}
    except BaseException:
        if request is not None and request.id is not None:
            shutil.rmtree(_quarantine_root(request.id), ignore_errors=True)
        raise
    _checkpoint("create.copied")
    session.commit()
    return request


def edit_request(session: Session, actor: Actor, request_id: int,
                 files: Sequence[FileSpec] = (), remove: Sequence[str] = ()) -> AirlockRequest:
    """Add or replace files from the outbox, change their texts, or remove files (draft/returned).

    A replaced or removed file stays in quarantine and in the database, inactive (history).
    """
    _check_specs(files)
    details = {"files": [s.name for s in files], "remove": list(remove)}
    with audited_step(session, actor, "edit", details, request_id):
        request = _load(session, request_id)
        _move(session, actor, request, "edit")
        current = {f.name: f for f in request.active_files}
        for name in remove:
            if name not in current:
                raise NotFound(f"file {name!r} is not in request {request_id}",
                               f"申请 {request_id} 中没有文件 {name!r}")
            current.pop(name).active = False
        for spec in files:
            old = current.get(spec.name)
            if not spec.from_outbox:
                if old is None:
                    raise NotFound(f"file {spec.name!r} is not in request {request_id}",
                                   f"申请 {request_id} 中没有文件 {spec.name!r}")
                old.context = _text(spec.context, "context")
                old.justification = _text(spec.justification, "justification")
                continue
            if old is not None:
                old.active = False
            _add_file(session, request, spec, request.requester.username)
        session.flush()
        if not request.active_files:
            raise ValidationError("files: a request needs at least one file",
                                  "files：申请至少需要一个文件")
    session.commit()
    return request


# -- audited steps by people --------------------------------------------------------------------


def audited_step(session: Session, actor: Actor, action: str, details: dict[str, Any],
                 request_id: int | str = ""):  # type: ignore[no-untyped-def]
    """:func:`hub.audit.audited` for an airlock action (refusals are recorded too)."""
    return audit.audited(session, actor.name, f"airlock.{action}", OBJECT, request_id, details)


def submit(session: Session, actor: Actor, request_id: int) -> AirlockRequest:
    """Submit a draft or resubmit a returned request; then scan and route it."""
    with audited_step(session, actor, "submit", {}, request_id) as act:
        request = _load(session, request_id)
        resubmit = request.state == "returned"
        previous = request.state
        user = request.requester
        permissions.authorize(actor, request, "submit")
        if not request.active_files:
            raise ValidationError("files: a request needs at least one file",
                                  "files：申请至少需要一个文件")
        request.level = _grant_level(session, user, request.grant_id)
        _move(session, actor, request, "submit")
        if resubmit:
            request.round += 1
        request.submitted_at, request.required_reviews = _now(), 1
        act.details.update({"from": previous, "to": request.state, "round": request.round,
                            "level": request.level})
    session.commit()
    return scan(session, request.id)


def submit_request(
    session: Session, actor: Actor, grant_id: int, files: Sequence[FileSpec], *,
    notebook_sha256: str | None = None, image_digest: str | None = None,
    source_folder: tuple[Path, Sequence[str]] | None = None,
) -> AirlockRequest:
    """Create a request from outbox files and submit it (scan and routing included)."""
    request = create_request(session, actor, grant_id, files, notebook_sha256=notebook_sha256,
                             image_digest=image_digest, source_folder=source_folder)
    return submit(session, actor, request.id)


def withdraw(session: Session, actor: Actor, request_id: int, reason: str = "") -> AirlockRequest:
    """The requester withdraws (draft, blocked, pending_review or returned)."""
    with audited_step(session, actor, "withdraw", {"reason": reason}, request_id) as act:
        request = _load(session, request_id)
        previous = request.state
        _move(session, actor, request, "withdraw")
        request.state_reason = _text(reason, "reason")
        act.details.update({"from": previous, "to": request.state})
    session.commit()
    return request


# -- scan ---------------------------------------------------------------------------------------


def _tampered_report(file: AirlockFile, digest: str) -> dict[str, Any]:
    return {"path": file.name, "verdict": "block", "kind": "unknown", "size": 0,
            "sha256": digest, "findings": [], "stats": {},
            "reasons": [{"code": "quarantine_changed", "verdict": "block",
                         "en": f"the quarantine copy changed after submission ({digest} != "
                               f"{file.sha256})",
                         "zh": "隔离区副本在提交后被改动"}]}


def _scan_file(file: AirlockFile, level: int, policy: Any) -> dict[str, Any]:
    from egress_filter.scanner import scan_file

    path = quarantine_path(file)
    try:
        digest, _ = quarantine.sha256_file(path)
    except OSError:
        digest = "missing"
    if digest != file.sha256:
        return _tampered_report(file, digest)
    return scan_file(path, policy=policy, level=level, display_path=file.name).to_json()


def scan(session: Session, request_id: int) -> AirlockRequest:
    """Scan every active file not yet scanned this round, then block or route (system step).

    Idempotent: a file's report is committed as soon as it exists, so a restart scans only the
    files still missing one.
    """
    from egress_filter.policy import default_policy

    request = _load(session, request_id)
    if request.state == "submitted":
        _system_step(session, request, "scan", {"round": request.round})
    if request.state != "scanning":
        return request
    policy = default_policy()
    request.policy = {"name": policy.name, "version": policy.version, "sha256": policy.sha256}
    for file in request.active_files:
        if file.scanned_round == request.round:
            continue
        report = _scan_file(file, request.level, policy)
        file.scan_report, file.verdict, file.scanned_round = report, report["verdict"], request.round
        audit.record(session, SYSTEM, "airlock.scan_file", OBJECT, request.id, "ok",
                     {"file": file.name, "file_id": file.id, "sha256": file.sha256,
                      "verdict": file.verdict, "round": request.round,
                      "reasons": [r["code"] for r in report["reasons"]]})
        session.commit()
        _checkpoint("scan.file_done")
    _route(session, request)
    return request


def _route(session: Session, request: AirlockRequest) -> None:
    verdicts = {f.name: f.verdict for f in request.active_files}
    blocked = sorted(name for name, verdict in verdicts.items() if verdict == "block")
    if blocked:
        reasons = {f.name: [r["en"] for r in (f.scan_report or {}).get("reasons", [])
                            if r.get("verdict") == "block"]
                   for f in request.active_files if f.name in blocked}
        request.state_reason = json.dumps(reasons, ensure_ascii=False)
        _system_step(session, request, "block", {"blocked_files": blocked, "policy": request.policy})
        return
    request.required_reviews = 2 if "review" in verdicts.values() else 1
    request.state_reason = ""
    route = _build_route(session, request)
    _system_step(session, request, "pass", {"verdicts": verdicts,
                                            "required_reviews": request.required_reviews,
                                            "policy": request.policy, **route})


def _build_route(session: Session, request: AirlockRequest) -> dict[str, Any]:
    """Requests made by a batch build: the contract / normal review route (hub.builds)."""
    from hub.builds.contracts import required_reviews

    decided = required_reviews(session, request, request.required_reviews)
    if decided is None:
        return {}
    request.required_reviews, route = decided
    return {"route": route}


# -- review -------------------------------------------------------------------------------------


def decide(session: Session, actor: Actor, request_id: int, decision: str, comment: str = "",
           private_note: str = "") -> AirlockRequest:
    """One reviewer's blinded decision (approve / reject / return); consolidates when complete.

    Reject and return need a comment (the analyst must learn why). When the last required
    decision is in, the request becomes approved (then released), rejected or returned.
    """
    with audited_step(session, actor, "review", {"decision": decision}, request_id) as act:
        if decision not in DECISIONS:
            raise ValidationError(f"decision: must be one of {', '.join(DECISIONS)}",
                                  f"decision：必须是 {', '.join(DECISIONS)} 之一")
        request = _load(session, request_id)
        permissions.authorize(actor, request, "review")  # the one self/same-org check
        if decision != "approve" and not comment.strip():
            raise ValidationError(f"comment: required to {decision}", f"comment：{decision} 须填写意见")
        assert actor.user_id is not None and actor.org_id is not None  # reviewers are people
        session.add(AirlockDecision(
            request_id=request.id, requester_id=request.requester_id,
            requester_org_id=request.requester_org_id, reviewer_id=actor.user_id,
            reviewer_org_id=actor.org_id, round=request.round, decision=decision,
            comment=_text(comment, "comment"), private_note=_text(private_note, "private_note")))
        session.flush()
        act.details["round"] = request.round
    session.commit()
    _checkpoint("review.recorded")
    session.expire(request, ["decisions"])
    _consolidate(session, request)
    if request.state == "approved":
        ended = _grant_ended(session, request.grant_id)
        if ended:  # approved too late: the grant ended meanwhile, so nothing is released
            cancel_for_grant(session, request.grant_id, f"grant {ended}")
            session.refresh(request)
        else:
            release(session, request.id)
    return request


def _consolidate(session: Session, request: AirlockRequest) -> None:
    """All required decisions in: any reject → rejected; any return → returned; else approved."""
    in_round = [d for d in request.decisions if d.round == request.round]
    if request.state != "pending_review" or len(in_round) < request.required_reviews:
        return
    kinds = {d.decision for d in in_round}
    action = "reject" if "reject" in kinds else "return" if "return" in kinds else "approve"
    _system_step(session, request, action, {
        "round": request.round,
        "decisions": [{"reviewer": d.reviewer.username, "decision": d.decision}
                      for d in in_round]})


# -- release ------------------------------------------------------------------------------------


def _manifest(session: Session, request: AirlockRequest, product_id: int,
              previous: str | None, released_at: datetime) -> dict[str, Any]:
    grant = request.grant
    head_seq, head_hash = audit.head(session)
    return {
        "format": bundles.FORMAT,
        "product_id": product_id,
        "request_id": request.id,
        "purpose": "free" if grant.purpose == "public_welfare" else "fee",
        "grant": {k: v for k, v in grants.grant_json(grant).items()
                  if k in ("id", "scenario", "purpose", "price", "currency", "operator",
                           "developer", "starts_at", "ends_at")},
        "requester": request.requester.username,
        "datasets": [{"ref": item.version.label, "level": item.version.level,
                      "content_sha256": item.version.content_sha256, "columns": item.columns}
                     for item in sorted(grant.items, key=lambda i: i.version.label)],
        "producing": {"notebook_sha256": request.notebook_sha256,
                      "image_digest": request.image_digest, **_build_provenance(session, request)},
        "policy": {**(request.policy or {}), "level": request.level},
        "files": [{"name": f.name, "sha256": f.sha256, "size": f.size_bytes,
                   "context": f.context, "justification": f.justification,
                   "scan": f.scan_report}
                  for f in sorted(request.active_files, key=lambda f: f.name)],
        "reviews": [{"reviewer": d.reviewer.username, "round": d.round, "decision": d.decision,
                     "comment": d.comment, "decided_at": _iso(d.decided_at)}
                    for d in request.decisions],
        "timestamps": {"created_at": _iso(request.created_at),
                       "submitted_at": _iso(request.submitted_at),
                       "approved_at": _iso(request.updated_at),
                       "released_at": _iso(released_at)},
        "audit_head": {"seq": head_seq, "hash": head_hash},
        "previous_manifest_sha256": previous,
        "signing_key_sha256": bundles.key_fingerprint(bundles.public_key_pem()),
    }


def _build_provenance(session: Session, request: AirlockRequest) -> dict[str, Any]:
    """``{"build": {...}}`` when a batch build made the request (hub.builds), else ``{}``."""
    from hub.builds.service import manifest_provenance

    provenance = manifest_provenance(session, request.id)
    return {"build": provenance} if provenance else {}


def _claim(session: Session, request: AirlockRequest) -> ReleasedProduct:
    """Step 1 of a release: the product row with its signed manifest (unique per request)."""
    last = session.scalars(select(ReleasedProduct).order_by(ReleasedProduct.id.desc())).first()
    previous = last.manifest_sha256 if last else None
    now = _now()
    product = ReleasedProduct(request_id=request.id, state="building",
                              purpose=request.grant.purpose, manifest="", signature="",
                              manifest_sha256=f"pending-{request.id}",
                              previous_manifest_sha256=previous, released_at=now)
    session.add(product)
    session.flush()
    data = bundles.manifest_bytes(_manifest(session, request, product.id, previous, now))
    product.manifest = data.decode()
    product.manifest_sha256 = hashlib.sha256(data).hexdigest()
    product.signature = bundles.sign(data)
    audit.record(session, SYSTEM, "airlock.release_claim", OBJECT, request.id, "ok",
                 {"product": product.id, "manifest_sha256": product.manifest_sha256,
                  "previous_manifest_sha256": previous})
    session.commit()
    return product


def _product_of(session: Session, request_id: int) -> ReleasedProduct | None:
    return session.scalars(select(ReleasedProduct).where(
        ReleasedProduct.request_id == request_id)).one_or_none()


def release(session: Session, request_id: int) -> ReleasedProduct:
    """Turn an approved request into a published product (system step; safe to repeat)."""
    request = _load(session, request_id)
    product = _product_of(session, request_id)
    if product is None:
        ended = _grant_ended(session, request.grant_id)
        if ended:  # the grant ended after approval: nothing leaves under it any more
            cancel_for_grant(session, request.grant_id, f"grant {ended}")
            raise PolicyViolation(
                f"request {request_id}: grant {request.grant_id} is {ended}; request cancelled",
                f"申请 {request_id}：授权 {request.grant_id} 已{'撤销' if ended == 'revoked' else '到期'}，"
                "申请已取消")
        if request.state != "approved":
            raise InvalidTransition(
                f"request {request_id}: only an approved request is released ({request.state})",
                f"申请 {request_id}：仅已批准的申请可发布（当前 {request.state}）")
        try:
            product = _claim(session, request)
        except DBIntegrityError:  # another process claimed it (or the chain moved): re-read
            session.rollback()
            product = _product_of(session, request_id)
            if product is None:
                raise
        _checkpoint("release.claimed")
    if product.state != "building":
        return product
    folder = product_dir(product.id)
    sources = {f.name: quarantine_path(f) for f in request.active_files}
    bundles.write_bundle(folder, product.manifest, product.signature, sources)
    _checkpoint("release.bundle_written")
    check = bundles.verify_bundle(folder, bundles.public_key_pem())
    if not check.ok:
        raise IntegrityError(f"product {product.id}: bundle does not verify: {check.problems}",
                             f"产品 {product.id}：发布包校验失败：{check.problems}")
    product.state, product.published_at = "published", _now()
    _system_step(session, request, "release", {"product": product.id,
                                                "manifest_sha256": product.manifest_sha256})
    return product


# -- products -----------------------------------------------------------------------------------


def get_product(session: Session, product_id: int) -> ReleasedProduct:
    product = session.get(ReleasedProduct, product_id)
    if product is None:
        raise NotFound(f"product {product_id} not found", f"未找到产品 {product_id}")
    return product


def list_products(session: Session, state: str | None = None) -> list[ReleasedProduct]:
    """The product catalog (building, published and revoked), newest first."""
    query = select(ReleasedProduct).order_by(ReleasedProduct.id.desc())
    if state:
        query = query.where(ReleasedProduct.state == state)
    return list(session.scalars(query))


def revoke_product(session: Session, actor: Actor, product_id: int,
                   reason: str) -> ReleasedProduct:
    """Revoke a published product: recorded, listed as revoked, files withdrawn, manifest kept."""
    with audited_step(session, actor, "revoke", {"product": product_id, "reason": reason}) as act:
        product = get_product(session, product_id)
        request = _load(session, product.request_id)
        act.object_id = request.id
        if not reason.strip():
            raise ValidationError("reason: revoking a product needs a reason",
                                  "reason：撤回产品须说明理由")
        _move(session, actor, request, "revoke")
        product.state, product.revoked_at = "revoked", _now()
        product.revoked_by, product.revoke_reason = actor.name, _text(reason, "reason")
        request.state_reason = product.revoke_reason
    session.commit()
    _checkpoint("revoke.recorded")
    _withdraw(product)
    return product


def _withdraw(product: ReleasedProduct) -> None:
    bundles.withdraw_files(product_dir(product.id), {
        "product_id": product.id, "revoked_at": _iso(product.revoked_at),
        "revoked_by": product.revoked_by, "reason": product.revoke_reason})


def download(session: Session, actor: Actor, product_id: int, file_name: str) -> Path:
    """The path of one released file for ``actor`` to send; every attempt is audited."""
    details = {"product": product_id, "file": file_name}
    with audited_step(session, actor, "download", details) as act:
        product = get_product(session, product_id)
        request = _load(session, product.request_id)
        act.object_id = request.id
        if not permissions.may_download(actor, product, request):
            raise PermissionDenied(f"{actor.name} may not download product {product_id}",
                                   f"{actor.name} 无权下载产品 {product_id}")
        if product.state != "published":
            raise PolicyViolation(f"product {product_id} is {product.state}; nothing to download",
                                  f"产品 {product_id} 状态为 {product.state}，不可下载")
        listed = {f["name"]: f for f in json.loads(product.manifest)["files"]}
        if file_name not in listed:
            raise NotFound(f"product {product_id} has no file {file_name!r}",
                           f"产品 {product_id} 中没有文件 {file_name!r}")
        path = product_dir(product_id) / bundles.FILES / file_name
        digest, _ = quarantine.sha256_file(path)
        if digest != listed[file_name]["sha256"]:
            raise IntegrityError(f"product {product_id}: {file_name} does not match its manifest",
                                 f"产品 {product_id}：{file_name} 与清单不符")
        act.details["sha256"] = digest
    session.commit()
    return path


# -- views --------------------------------------------------------------------------------------


def _decision_json(actor: Actor, decision: AirlockDecision) -> dict[str, Any]:
    out = {"reviewer": decision.reviewer.username, "round": decision.round,
           "decision": decision.decision, "comment": decision.comment,
           "decided_at": _iso(decision.decided_at)}
    if permissions.may_see_private_notes(actor) or actor.user_id == decision.reviewer_id:
        out["private_note"] = decision.private_note
    return out


def decisions_for(actor: Actor, request: AirlockRequest) -> list[dict[str, Any]]:
    """The decisions ``actor`` may see (blinded while a round is open)."""
    return [_decision_json(actor, d) for d in request.decisions
            if permissions.visible_decision(actor, request, d)]


def request_json(actor: Actor, request: AirlockRequest) -> dict[str, Any]:
    """Everything about a request that ``actor`` may see, plus what they may do next."""
    product = request.product
    return {
        "id": request.id, "state": request.state, "state_reason": request.state_reason,
        "grant": request.grant_id, "purpose": request.grant.purpose,
        "requester": request.requester.username, "round": request.round,
        "required_reviews": request.required_reviews, "level": request.level,
        "policy": request.policy, "notebook_sha256": request.notebook_sha256,
        "image_digest": request.image_digest, "created_at": _iso(request.created_at),
        "submitted_at": _iso(request.submitted_at), "updated_at": _iso(request.updated_at),
        "files": [{"id": f.id, "name": f.name, "sha256": f.sha256, "size": f.size_bytes,
                   "context": f.context, "justification": f.justification,
                   "verdict": f.verdict, "scanned_round": f.scanned_round,
                   "scan_report": f.scan_report} for f in request.active_files],
        "decisions": decisions_for(actor, request),
        "product": product.id if product else None,
        "allowed_actions": permissions.allowed_actions(actor, request),
    }


def product_json(product: ReleasedProduct) -> dict[str, Any]:
    manifest = json.loads(product.manifest)
    return {
        "id": product.id, "request": product.request_id, "state": product.state,
        "purpose": "free" if product.purpose == "public_welfare" else "fee",
        "scenario": manifest["grant"]["scenario"], "grant": manifest["grant"]["id"],
        "files": [{"name": f["name"], "sha256": f["sha256"], "size": f["size"]}
                  for f in manifest["files"]],
        "manifest_sha256": product.manifest_sha256,
        "previous_manifest_sha256": product.previous_manifest_sha256,
        "released_at": _iso(product.released_at), "published_at": _iso(product.published_at),
        "revoked_at": _iso(product.revoked_at), "revoked_by": product.revoked_by,
        "revoke_reason": product.revoke_reason, "path": str(product_dir(product.id)),
    }


# -- resume -------------------------------------------------------------------------------------


@dataclass
class ResumeReport:
    """What :func:`resume` finished."""

    scanned: list[int] = field(default_factory=list)
    consolidated: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    withdrawn_bundles: list[int] = field(default_factory=list)
    orphans_removed: list[str] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _remove_orphans(session: Session) -> list[str]:
    """Quarantine folders (request or file level) that no committed row owns."""
    removed = []
    root = paths().ensure().quarantine
    request_ids = set(session.scalars(select(AirlockRequest.id)))
    file_ids = set(session.scalars(select(AirlockFile.id)))
    for folder in sorted(root.iterdir()):
        if not folder.name.isdigit() or int(folder.name) not in request_ids:
            shutil.rmtree(folder) if folder.is_dir() else folder.unlink()
            removed.append(folder.name)
            continue
        for sub in sorted(folder.iterdir()):
            if not sub.name.isdigit() or int(sub.name) not in file_ids:
                shutil.rmtree(sub) if sub.is_dir() else sub.unlink()
                removed.append(f"{folder.name}/{sub.name}")
    for leftover in paths().releases.glob(".*.building"):
        shutil.rmtree(leftover, ignore_errors=True)
        removed.append(f"releases/{leftover.name}")
    return removed


# -- the end of a grant ---------------------------------------------------------------------------

GRANT_ENDED = ("revoked", "expired")


def cancel_for_grant(session: Session, grant_id: int, reason: str) -> list[int]:
    """Cancel every open request of an ended grant and destroy its quarantine copies.

    Seed: on termination, data-call permissions go at once and copies are destroyed
    irreversibly, with a record. Nothing of an open request has left yet, so the request is
    cancelled (system step) and ``quarantine/<id>/`` is destroyed; the destruction report goes to
    the audit log. Released products are not touched (revoking them is an admin decision).
    Idempotent; called by the sandbox reaper, by :func:`resume` and before any release.
    """
    query = select(AirlockRequest).where(AirlockRequest.grant_id == grant_id,
                                         AirlockRequest.state.in_(OPEN))
    cancelled = []
    for request in list(session.scalars(query.order_by(AirlockRequest.id))):
        request.state_reason = reason
        _system_step(session, request, "cancel", {"reason": reason})
        folder = paths().quarantine / str(request.id)
        report = destroy_tree(folder)
        outcome = "error" if report.skipped else "ok"
        audit.record(session, SYSTEM, "airlock.quarantine_destroy", OBJECT, request.id, outcome,
                     {"grant": grant_id, "reason": reason, **report.to_json()})
        session.commit()
        cancelled.append(request.id)
    return cancelled


def _grant_ended(session: Session, grant_id: int) -> str | None:
    """``revoked``/``expired`` when the grant is over (state refreshed by the clock), else None."""
    state = grants.get_grant(session, grant_id).state
    return state if state in GRANT_ENDED else None


def cancel_ended_grants(session: Session) -> list[int]:
    """:func:`cancel_for_grant` for every grant with open requests that has ended."""
    grant_ids = set(session.scalars(select(AirlockRequest.grant_id).where(
        AirlockRequest.state.in_(OPEN))))
    cancelled = []
    for grant_id in sorted(grant_ids):
        state = _grant_ended(session, grant_id)
        if state:
            cancelled += cancel_for_grant(session, grant_id, f"grant {state}")
    return cancelled


def _in_states(session: Session, *states: str) -> list[AirlockRequest]:
    query = select(AirlockRequest).where(AirlockRequest.state.in_(states))
    return list(session.scalars(query.order_by(AirlockRequest.id)))


def resume(session: Session) -> ResumeReport:
    """Finish every step the airlock owes after a crash (idempotent; run at service start)."""
    report = ResumeReport(orphans_removed=_remove_orphans(session),
                          cancelled=cancel_ended_grants(session))
    for request in _in_states(session, "submitted", "scanning"):
        scan(session, request.id)
        report.scanned.append(request.id)
    for request in _in_states(session, "pending_review"):
        before = request.state
        _consolidate(session, request)
        if request.state != before:
            report.consolidated.append(request.id)
    for request in _in_states(session, "approved"):
        release(session, request.id)
        report.released.append(request.id)
    for product in list_products(session, "revoked"):
        if (product_dir(product.id) / bundles.FILES).exists():
            _withdraw(product)
            report.withdrawn_bundles.append(product.id)
    audit.record(session, SYSTEM, "airlock.resume", OBJECT, "*", "ok", report.to_json())
    session.commit()
    return report
