"""The append-only, hash-chained audit log (可记录、可审计、可追溯).

Every control-plane action, and every refusal, appends one :class:`~hub.models.AuditEntry` in the
same transaction as the change it records. An entry's ``hash`` is SHA-256 over the canonical JSON
(:func:`canonical_json`) of ``seq, at, actor, action, object_type, object_id, outcome, details,
prev_hash``; ``prev_hash`` is the previous entry's hash (64 zeros for the first). The
``audit_head`` row holds the last ``seq`` and ``hash`` (the anchor) and, after pruning, the seq and
hash the remaining chain starts from.

:func:`verify` walks the chain and names the FIRST bad entry:

* an edited entry: its recomputed hash differs (``seq`` is hashed, so swapping rows — reordering —
  shows up the same way);
* a deleted entry: a gap in ``seq`` or a ``prev_hash`` that does not match;
* deleted last entries: the head says the chain is longer than what is stored;
* a forged prune: the chain's base moved without an ``audit.prune`` entry that names it.

Residual risk: the chain has no secret. Someone with raw write access to the database can rewrite
every entry from some point on and the head consistently; :func:`verify` cannot see that from the
database alone. Against it, copy :func:`head` (seq + hash) somewhere the database's writers cannot
reach (the auditor's notes, a ticket, a release manifest, ``enclave audit export``) and pass it
back to ``verify(anchor=...)``/``enclave audit verify --anchor SEQ:HASH``; an anchored prefix cannot
be rewritten undetected. The database triggers (no UPDATE, no DELETE younger than
:data:`RETENTION_DAYS`) stop accidents but not a determined administrator.

Public API::

    record(session, actor, action, object_type, object_id, outcome="ok", details=None, at=None)
        -> AuditEntry
    audited(session, actor, action, object_type, object_id="", details=None)
        -> ContextManager[AuditAction]      # records ok, or refused/error and re-raises
    verify(session, anchor=None) -> VerifyResult
    head(session) -> tuple[int, str]
    entries(session, since=None) -> Iterator[AuditEntry]
    export(session, out: TextIO, since=None) -> int
    prune(session, actor, before, now=None, authorize=None) -> int
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import EnclaveError, PolicyViolation
from hub.models import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
RETENTION_DAYS = 180  # seed: logs are kept at least 6 months; also in migration 0002's triggers
PRUNE_ACTION = "audit.prune"
HASHED_FIELDS = ("seq", "at", "actor", "action", "object_type", "object_id", "outcome",
                 "details", "prev_hash")


def format_time(moment: datetime) -> str:
    """UTC ISO text with fixed width (so text order is time order)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no spaces, UTF-8 text kept as is: one text per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def entry_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an entry's hashed fields (``details`` as parsed JSON)."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def _stored_fields(entry: AuditEntry) -> dict[str, Any]:
    fields = {name: getattr(entry, name) for name in HASHED_FIELDS}
    try:
        fields["details"] = json.loads(entry.details)
    except (TypeError, ValueError):
        fields["details"] = entry.details  # unparseable text still hashes (and mismatches)
    return fields


def _load_head(session: Session, *, lock: bool) -> AuditHead:
    query = select(AuditHead).where(AuditHead.id == 1)
    if lock:
        query = query.with_for_update()
    current = session.scalars(query).one_or_none()
    if current is None:
        current = AuditHead(id=1, seq=0, hash=GENESIS_HASH, base_seq=0, base_hash=GENESIS_HASH)
        session.add(current)
    return current


def record(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: object = "",
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry in ``session``'s transaction (committed with the change it records)."""
    if outcome not in ("ok", "refused", "error"):
        raise ValueError(f"unknown audit outcome {outcome!r}")
    current = _load_head(session, lock=True)
    fields: dict[str, Any] = {
        "seq": current.seq + 1,
        "at": format_time(at or datetime.now(UTC)),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": "" if object_id is None else str(object_id),
        "outcome": outcome,
        "details": json.loads(canonical_json(details or {})),
        "prev_hash": current.hash,
    }
    digest = entry_hash(fields)
    entry = AuditEntry(**{**fields, "details": canonical_json(fields["details"])}, hash=digest)
    session.add(entry)
    current.seq, current.hash = entry.seq, digest
    session.flush()
    return entry


@dataclass
class AuditAction:
    """What :func:`audited` will record; the body fills in ``object_id`` and ``details``."""

    object_id: object
    details: dict[str, Any] = field(default_factory=dict)
    outcome: str = "ok"  # the body may set "error" for a completed check that found problems


@contextmanager
def audited(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: object = "",
    details: dict[str, Any] | None = None,
) -> Iterator[AuditAction]:
    """Run a control-plane action and record it.

    The body runs in a SAVEPOINT. On success an ``ok`` entry (or ``act.outcome``) is added to the open transaction
    (the caller commits it with the change). On an :class:`EnclaveError` the body's changes are
    rolled back, a ``refused`` entry is recorded and **committed** — a refusal must leave a trace
    even though the exception propagates — and the error is re-raised. Any other exception is
    recorded as ``error`` the same way.
    """
    act = AuditAction(object_id, dict(details or {}))
    savepoint = session.begin_nested()
    try:
        yield act
        savepoint.commit()
    except Exception as exc:
        if savepoint.is_active:
            savepoint.rollback()
        outcome = "refused" if isinstance(exc, EnclaveError) else "error"
        reason = {"code": getattr(exc, "code", type(exc).__name__), "message": str(exc)}
        record(session, actor, action, object_type, act.object_id, outcome,
               {**act.details, "reason": reason})
        session.commit()
        raise
    record(session, actor, action, object_type, act.object_id, act.outcome, act.details)


def head(session: Session) -> tuple[int, str]:
    """The anchor to copy elsewhere: (last seq, its hash)."""
    current = _load_head(session, lock=False)
    return current.seq, current.hash


@dataclass
class VerifyResult:
    """Outcome of :func:`verify`: ``ok`` or the first bad ``seq`` and why."""

    ok: bool
    checked: int
    head_seq: int
    bad_seq: int | None = None
    problem_en: str = ""
    problem_zh: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "head_seq": self.head_seq,
                "bad_seq": self.bad_seq, "problem": self.problem_en,
                "problem_zh": self.problem_zh}


def _bad(checked: int, head_seq: int, seq: int, en: str, zh: str) -> VerifyResult:
    return VerifyResult(False, checked, head_seq, seq, f"entry seq {seq}: {en}",
                        f"第 {seq} 条：{zh}")


def verify(session: Session, anchor: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the whole chain; the first bad entry (by seq) is named in the result."""
    current = _load_head(session, lock=False)
    expected_seq, prev = current.base_seq + 1, current.base_hash
    checked = 0
    prunes: list[dict[str, Any]] = []
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
        if entry.seq != expected_seq:
            return _bad(checked, current.seq, expected_seq,
                        f"missing (deleted); the next stored entry is seq {entry.seq}",
                        f"缺失（已被删除）；其后存储的是第 {entry.seq} 条")
        if entry.prev_hash != prev:
            return _bad(checked, current.seq, entry.seq,
                        "prev_hash does not match the previous entry (deleted or reordered)",
                        "prev_hash 与前一条不符（有条目被删除或顺序被改动）")
        fields = _stored_fields(entry)
        if entry_hash(fields) != entry.hash:
            return _bad(checked, current.seq, entry.seq,
                        "content does not match its hash (edited)",
                        "内容与其哈希不符（已被篡改）")
        if anchor and entry.seq == anchor[0] and entry.hash != anchor[1]:
            return _bad(checked, current.seq, entry.seq,
                        "hash differs from the external anchor (chain rewritten)",
                        "哈希与外部锚点不符（日志链被重写）")
        if entry.action == PRUNE_ACTION and entry.outcome == "ok":
            prunes.append(fields["details"])
        prev, expected_seq, checked = entry.hash, entry.seq + 1, checked + 1
    return _check_ends(current, checked, expected_seq - 1, prev, prunes, anchor)


def _check_ends(
    current: AuditHead, checked: int, last_seq: int, last_hash: str,
    prunes: list[dict[str, Any]], anchor: tuple[int, str] | None,
) -> VerifyResult:
    if last_seq < current.seq:
        return _bad(checked, current.seq, last_seq + 1,
                    f"missing: the chain head says entries run to seq {current.seq} "
                    "(last entries deleted)",
                    f"缺失：链头记录共 {current.seq} 条（末尾条目已被删除）")
    if last_seq > current.seq or last_hash != current.hash:
        return _bad(checked, current.seq, last_seq,
                    "does not match the chain head (head or tail altered)",
                    "与链头记录不符（链头或末尾被改动）")
    if current.base_seq and not any(
        item.get("through_seq") == current.base_seq and item.get("base_hash") == current.base_hash
        for item in prunes
    ):
        return _bad(checked, current.seq, current.base_seq + 1,
                    f"the chain starts after seq {current.base_seq} but no audit.prune entry "
                    "records that prune",
                    f"日志链从第 {current.base_seq} 条之后开始，但没有对应的清理记录")
    if anchor and anchor[0] <= current.base_seq:
        pass  # the anchored entry was pruned lawfully; nothing left to compare
    elif anchor and anchor[0] > last_seq:
        return _bad(checked, current.seq, anchor[0],
                    "the external anchor names an entry that is not stored",
                    "外部锚点指向的条目不存在")
    return VerifyResult(True, checked, current.seq)


def entries(session: Session, since: datetime | None = None) -> Iterator[AuditEntry]:
    """Entries in seq order, optionally only those at or after ``since``."""
    query = select(AuditEntry).order_by(AuditEntry.seq)
    if since is not None:
        query = query.where(AuditEntry.at >= format_time(since))
    yield from session.scalars(query)


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    fields = _stored_fields(entry)
    return {**fields, "hash": entry.hash}


def export(session: Session, out: TextIO, since: datetime | None = None) -> int:
    """Write entries as JSON lines (hash fields included, so the export verifies on its own)."""
    count = 0
    for entry in entries(session, since):
        out.write(canonical_json(entry_json(entry)) + "\n")
        count += 1
    return count


def prune(
    session: Session,
    actor: str,
    before: datetime,
    now: datetime | None = None,
    authorize: Callable[[], None] | None = None,
) -> int:
    """Delete entries older than ``before``; refused unless ``before`` is ≥ 180 days ago.

    Only a prefix of the chain is removed (the chain must stay contiguous); the head keeps the
    seq and hash of the last removed entry so the rest still verifies, and an ``audit.prune``
    entry records it. ``authorize`` (e.g. a role check) runs first, inside the audited
    action, so a refusal is recorded too. Returns the number of entries removed.
    """
    now = now or datetime.now(UTC)
    limit = now - timedelta(days=RETENTION_DAYS)
    with audited(session, actor, PRUNE_ACTION, "audit_log", "",
                 {"before": format_time(before)}) as act:
        if authorize is not None:
            authorize()
        if before > limit:
            raise PolicyViolation(
                f"audit entries younger than {RETENTION_DAYS} days cannot be deleted; "
                f"--before must be on or before {limit.date().isoformat()}",
                f"不得删除 {RETENTION_DAYS} 天内的审计日志；--before 不得晚于 "
                f"{limit.date().isoformat()}",
            )
        victims = _prunable_prefix(session, format_time(before))
        if victims:
            current = _load_head(session, lock=True)
            current.base_seq, current.base_hash = victims[-1].seq, victims[-1].hash
            for entry in victims:
                session.delete(entry)
            session.flush()
            act.details.update(through_seq=current.base_seq, base_hash=current.base_hash)
        act.details["deleted"] = len(victims)
    return len(victims)


def _prunable_prefix(session: Session, before_text: str) -> list[AuditEntry]:
    victims: list[AuditEntry] = []
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
        if entry.at >= before_text:
            break
        victims.append(entry)
    return victims
