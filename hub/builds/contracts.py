"""Product contracts: a recurring product rebuilt on a schedule, reviewed lightly while it stays
inside what was approved.

Life of a contract::

    create   (analyst, member of the grant)  -> proposed; notebook pinned; first build queued
    approve  (operator reviewer/admin, not of the owner's org; the first build's request released)
             -> active; pins the output schema (names and column types of each output table)
             from that approved first release; next_run_at from the schedule
    worker   enqueues a rebuild when next_run_at is due (never two at once per contract)

A rebuild stays **inside** the contract when the notebook hash, the parameters, the set of output
names (each matching an output pattern) and each output's column names and types equal what was
approved, and the thresholds hold (``max_rows`` per table, ``max_bytes`` per file). Then, if every
file's scan verdict is ``pass`` with no finding at all, its export request needs ONE reviewer and
is marked ``contract``. Anything else is a **normal** review: the airlock's routing, and at least
two reviewers when the build read level-3 (sensitive) real data.

Schedules: ``daily``, ``weekly``, ``monthly`` (calendar month), or ``every <N>m|h|d``
(e.g. ``every 6h``).

Public API::

    parse_schedule(text) -> str;  next_run(schedule, after) -> datetime
    parse_thresholds(pairs) -> dict
    table_schema(path) -> dict | None
    match_contract(contract, notebook_sha256, parameters, outputs) -> list[str]   # [] = inside
    create_contract(session, actor, *, name, grant_id, notebook, parameters, schedule,
                    outputs, thresholds=None, timeout_s=None) -> BuildContract
    approve_contract(session, actor, contract_id) -> BuildContract
    schedule_due(session, now=None) -> list[Build]
    check_build(session, build) -> dict | None
    required_reviews(session, request, default) -> tuple[int, str] | None   # airlock routing
    contract_json(contract) -> dict
"""

from __future__ import annotations

import csv
import fnmatch
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import audit
from hub.accounts import Actor
from hub.errors import AlreadyExists, NotFound, PermissionDenied, PolicyViolation, ValidationError
from hub.grants import add_months
from hub.models import AirlockRequest, Build, BuildContract, User

OBJECT = "build_contract"
SENSITIVE_LEVEL = 3
NORMAL_MIN_REVIEWS_SENSITIVE = 2
THRESHOLDS = ("max_rows", "max_bytes")
_EVERY = re.compile(r"^every\s+([1-9][0-9]{0,4})\s*([mhd])$")
_NAME = re.compile(r"^[\w\-. ]{1,100}$")
MAX_SCHEMA_ROWS = 1_000_000


# -- schedules and thresholds -------------------------------------------------------------------


def parse_schedule(text: str) -> str:
    """A normalised schedule (see the module docstring) or ValidationError."""
    value = " ".join(text.strip().lower().split())
    if value in ("daily", "weekly", "monthly") or _EVERY.match(value):
        return value
    raise ValidationError(
        f"schedule {text!r}: use daily, weekly, monthly or 'every <N>m|h|d' (e.g. every 6h)",
        f"schedule {text!r}：请使用 daily、weekly、monthly 或 'every <N>m|h|d'（如 every 6h）")


def next_run(schedule: str, after: datetime) -> datetime:
    """When a contract with ``schedule`` is next due after ``after``."""
    if schedule == "daily":
        return after + timedelta(days=1)
    if schedule == "weekly":
        return after + timedelta(weeks=1)
    if schedule == "monthly":
        return add_months(after, 1)
    match = _EVERY.match(schedule)
    if match is None:
        raise ValidationError(f"schedule {schedule!r} is not valid", f"schedule {schedule!r} 无效")
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return after + timedelta(**{unit: int(match.group(1))})


def parse_thresholds(pairs: Iterable[str]) -> dict[str, int]:
    """``max_rows=5000`` / ``max_bytes=100000`` items (comma or repeated) → a dict."""
    found: dict[str, int] = {}
    for item in (p.strip() for chunk in pairs for p in chunk.split(",")):
        if not item:
            continue
        key, _, raw = item.partition("=")
        if key.strip() not in THRESHOLDS or not raw.strip().isdigit():
            raise ValidationError(
                f"threshold {item!r}: use {' or '.join(THRESHOLDS)}=<positive integer>",
                f"阈值 {item!r}：请使用 {' 或 '.join(THRESHOLDS)}=<正整数>")
        found[key.strip()] = int(raw)
    return found


# -- output schemas -----------------------------------------------------------------------------


def _kind(value: str) -> str:
    for kind, convert in (("int", int), ("float", float)):
        try:
            convert(value)
        except ValueError:
            continue
        return kind
    return "bool" if value.lower() in ("true", "false") else "str"


_WIDER = {("int", "float"): "float", ("float", "int"): "float"}


def table_schema(path: Path) -> dict[str, Any] | None:
    """Column names and types (int, float, bool, str, empty) and row count of a CSV; else None."""
    if path.suffix.lower() != ".csv":
        return None
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            kinds: list[str | None] = [None] * len(header)
            rows = 0
            for row in reader:
                rows += 1
                if rows > MAX_SCHEMA_ROWS:
                    break
                for i, cell in enumerate(row[:len(header)]):
                    if cell == "":
                        continue
                    kind, old = _kind(cell), kinds[i]
                    kinds[i] = kind if old in (None, kind) else _WIDER.get((old, kind), "str")
    except (OSError, UnicodeDecodeError, csv.Error):
        return {"columns": None, "rows": None, "unreadable": True}
    return {"columns": [[name, kind or "empty"] for name, kind in zip(header, kinds, strict=True)],
            "rows": rows}


# -- matching -----------------------------------------------------------------------------------


def match_contract(contract: BuildContract, notebook_sha256: str, parameters: Mapping[str, Any],
                   outputs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Why a rebuild is outside ``contract`` (empty list: inside)."""
    reasons = []
    if contract.state != "active" or contract.output_schema is None:
        reasons.append(f"contract is {contract.state}, not approved")
    if notebook_sha256 != contract.notebook_sha256:
        reasons.append("notebook changed")
    if dict(parameters) != dict(contract.parameters):
        reasons.append("parameters changed")
    approved = contract.output_schema or {}
    names = {o["name"] for o in outputs}
    for name in sorted(names - set(approved)):
        reasons.append(f"new output {name}")
    for name in sorted(set(approved) - names):
        reasons.append(f"missing output {name}")
    for output in outputs:
        name, schema = output["name"], output.get("schema")
        if not any(fnmatch.fnmatchcase(name, p) for p in contract.output_patterns):
            reasons.append(f"{name} matches no output pattern")
        if name in approved and (schema or {}).get("columns") != (approved[name] or {}).get(
                "columns"):
            reasons.append(f"{name}: columns or types changed")
        limit_rows = contract.thresholds.get("max_rows")
        if limit_rows is not None and (schema or {}).get("rows") is not None \
                and schema["rows"] > limit_rows:
            reasons.append(f"{name}: {schema['rows']} rows > max_rows {limit_rows}")
        limit_bytes = contract.thresholds.get("max_bytes")
        if limit_bytes is not None and output.get("size", 0) > limit_bytes:
            reasons.append(f"{name}: {output['size']} bytes > max_bytes {limit_bytes}")
    return reasons


def check_build(session: Session, build: Build) -> dict[str, Any] | None:
    """Inside/outside the build's contract, with reasons (None for builds without a contract)."""
    if build.contract_id is None:
        return None
    contract = session.get(BuildContract, build.contract_id)
    assert contract is not None
    reasons = match_contract(contract, build.notebook_sha256, build.parameters,
                             build.outputs or [])
    return {"contract": contract.id, "inside": not reasons, "reasons": reasons}


def _clean_scan(request: AirlockRequest) -> bool:
    return all(f.verdict == "pass" and not (f.scan_report or {}).get("findings")
               for f in request.active_files)


def required_reviews(session: Session, request: AirlockRequest,
                     default: int) -> tuple[int, str] | None:
    """The review route of a request made by a build (None: not a build's request).

    ``(1, "contract")`` for a rebuild inside its active contract with a clean scan; otherwise
    ``"normal"``: the airlock's number, raised to two for builds on level-3 real data.
    """
    build = session.scalars(select(Build).where(Build.request_id == request.id)).first()
    if build is None:
        return None
    check = build.contract_check or {}
    if check.get("inside") and _clean_scan(request):
        build.review_route = "contract"
        return 1, "contract"
    build.review_route = "normal"
    if request.level >= SENSITIVE_LEVEL:
        return max(default, NORMAL_MIN_REVIEWS_SENSITIVE), "normal"
    return default, "normal"


# -- create, approve, schedule ------------------------------------------------------------------


def contract_dir(contract_id: int) -> Path:
    from hub.builds.service import builds_root

    return builds_root() / "contracts" / str(int(contract_id))


def _load(session: Session, contract_id: int) -> BuildContract:
    contract = session.get(BuildContract, contract_id)
    if contract is None:
        raise NotFound(f"contract {contract_id} not found", f"未找到产品约定 {contract_id}")
    return contract


def create_contract(session: Session, actor: Actor, *, name: str, grant_id: int, notebook: str,
                    parameters: dict[str, Any], schedule: str, outputs: Sequence[str],
                    thresholds: Mapping[str, int] | None = None,
                    timeout_s: int | None = None) -> BuildContract:
    """Propose a contract and queue its first build (from the analyst's workspace notebook)."""
    from hub.builds import service

    patterns = [p.strip() for chunk in outputs for p in chunk.split(",") if p.strip()]
    details = {"name": name, "grant": grant_id, "notebook": notebook, "schedule": schedule,
               "outputs": patterns, "thresholds": dict(thresholds or {})}
    with audit.audited(session, actor.name, "contract.create_check", OBJECT, "", details):
        if not _NAME.match(name):
            raise ValidationError(f"name {name!r}: 1-100 letters, digits, space, _ - .",
                                  f"名称 {name!r}：1-100 个字母、数字、空格或 _ - .")
        if session.scalars(select(BuildContract).where(BuildContract.name == name)).first():
            raise AlreadyExists(f"contract {name!r} exists", f"产品约定 {name!r} 已存在")
        if not patterns or any("/" in p for p in patterns):
            raise ValidationError("outputs: give file-name patterns like 'volume_*.csv'",
                                  "outputs：请给出文件名模式，如 'volume_*.csv'")
        schedule = parse_schedule(schedule)
    session.commit()
    build = service.submit(session, actor, grant_id, notebook, parameters, timeout_s=timeout_s)
    with audit.audited(session, actor.name, "contract.create", OBJECT, "", details) as act:
        contract = BuildContract(
            name=name, grant_id=grant_id, owner_id=build.requester_id, state="proposed",
            notebook_name=build.notebook_name, notebook_sha256=build.notebook_sha256,
            parameters=build.parameters, schedule=schedule, output_patterns=patterns,
            thresholds=dict(thresholds or {}), first_build_id=build.id)
        session.add(contract)
        session.flush()
        build.contract_id, build.trigger = contract.id, "contract"
        folder = contract_dir(contract.id)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(service.build_dir(build.id) / "notebook.ipynb", folder / "notebook.ipynb")
        (folder / "notebook.ipynb").chmod(0o444)
        act.object_id = contract.id
        act.details["first_build"] = build.id
    session.commit()
    return contract


def approve_contract(session: Session, actor: Actor, contract_id: int) -> BuildContract:
    """Operator staff approve once: pins the output schema of the released first build."""
    with audit.audited(session, actor.name, "contract.approve", OBJECT, contract_id) as act:
        contract = _load(session, contract_id)
        owner = session.get(User, contract.owner_id)
        assert owner is not None
        if (actor.user_id is None or not actor.roles & {"admin", "reviewer"}
                or actor.org_id != contract.grant.operator_org_id or actor.org_id == owner.org_id):
            raise PermissionDenied(
                f"{actor.name}: a contract is approved by a reviewer or admin of the grant's "
                "operator org, independent of its owner",
                f"{actor.name}：产品约定须由该授权一级开发主体的审核员或管理员批准，且独立于提出人")
        if contract.state != "proposed":
            raise PolicyViolation(f"contract {contract.name} is {contract.state}",
                                  f"产品约定 {contract.name} 状态为 {contract.state}")
        first = session.get(Build, contract.first_build_id or 0)
        request = session.get(AirlockRequest, first.request_id) if first and first.request_id \
            else None
        if first is None or request is None or request.state != "released" or not first.outputs:
            raise PolicyViolation(
                f"contract {contract.name}: its first build's outputs must be released first",
                f"产品约定 {contract.name}：须先发布其首次构建的输出")
        contract.output_schema = {o["name"]: o.get("schema") for o in first.outputs}
        contract.state, contract.approved_by = "active", actor.name
        contract.approved_at = datetime.now(UTC)
        contract.next_run_at = next_run(contract.schedule, contract.approved_at)
        act.details.update({"output_schema": contract.output_schema,
                            "next_run_at": contract.next_run_at.isoformat()})
    session.commit()
    return contract


def schedule_due(session: Session, now: datetime | None = None) -> list[Build]:
    """Queue a rebuild of every active contract that is due (one at a time per contract)."""
    from hub.builds import service

    now = now or datetime.now(UTC)
    queued = []
    due = session.scalars(select(BuildContract).where(BuildContract.state == "active",
                                                      BuildContract.next_run_at <= now))
    for contract in list(due):
        busy = session.scalars(select(Build.id).where(
            Build.contract_id == contract.id, Build.state.in_(("queued", "running")))).first()
        if busy is None:
            owner = session.get(User, contract.owner_id)
            assert owner is not None
            try:
                queued.append(service.submit_pinned(
                    session, owner, contract.grant_id, contract_dir(contract.id) / "notebook.ipynb",
                    contract.notebook_name, dict(contract.parameters), contract=contract,
                    trigger="schedule", actor_name="system"))
            except (PolicyViolation, ValidationError) as exc:  # e.g. grant expired: try later
                audit.record(session, "system", "contract.schedule", OBJECT, contract.id,
                             "refused", {"reason": exc.en})
        contract.next_run_at = next_run(contract.schedule, now)
        session.commit()
    return queued


def contract_json(contract: BuildContract) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {"id": contract.id, "name": contract.name, "grant": contract.grant_id,
            "owner": contract.owner.username, "state": contract.state,
            "notebook": contract.notebook_name, "notebook_sha256": contract.notebook_sha256,
            "parameters": contract.parameters, "schedule": contract.schedule,
            "outputs": contract.output_patterns, "thresholds": contract.thresholds,
            "output_schema": contract.output_schema, "first_build": contract.first_build_id,
            "approved_by": contract.approved_by, "approved_at": iso(contract.approved_at),
            "next_run_at": iso(contract.next_run_at), "created_at": iso(contract.created_at)}
