"""Grants (授权): the operator authorizes a secondary developer to use dataset versions.

A grant names the developer org, a scenario (应用场景), a purpose (``public_welfare``: free;
``industry``: a fee at the government-guided price), dataset versions (optionally a column subset
of each), members (users of the developer org), a term and an optional trial period.

Rules from the seed (郑港〔2025〕22号), checked at creation:

* term at most 3 years: ``ends_at <= starts_at + 3 calendar years`` (授权期限不超过 3 年);
* trial at most 6 months: ``trial_ends_at <= starts_at + 6 calendar months`` (试运行期不超过 6 个月);
* level-4 (核心) data is never authorizable (:mod:`hub.levels`).

States and who may move a grant between them are in ONE table, :data:`TRANSITIONS`; code and docs
read it, nothing re-implements it::

    draft     --activate--> active      admin
    active    --suspend-->  suspended   admin
    suspended --resume-->   active      admin
    draft|active|suspended --revoke--> revoked   admin (reason required)
    active|suspended --expire--> expired          system (the clock)

Expiry needs nobody: every read goes through :func:`refresh_state`, which turns an active or
suspended grant whose end has passed into ``expired`` and records that in the audit log the first
time it is observed. ``enclave grant expire-due`` (:func:`expire_due`) does the same for all grants,
for a scheduler.

:func:`usable_versions` is the ONE answer to "which dataset versions (and columns) may this user
use under this grant right now"; the spawner, batch builds and the airlock all ask it.

Public API::

    TRANSITIONS: tuple[Transition, ...];  transition_for(state, action) -> Transition | None
    ItemSpec(ref: str, columns: Sequence[str] | None = None)     # "name@3" or "name"
    create_grant(session, actor, *, developer, scenario, purpose, items, members, starts_at,
                 ends_at, trial_ends_at=None, price=None, currency="CNY", operator=None)
        -> Grant
    change_state(session, actor, grant_id, action, reason="", now=None) -> Grant
    set_members(session, actor, grant_id, add=(), remove=()) -> Grant
    get_grant(session, grant_id, now=None) -> Grant          # refreshed
    list_grants(session, state=None, developer=None, now=None) -> list[Grant]
    refresh_state(session, grant, now=None, actor="system") -> bool
    expire_due(session, actor, now=None) -> list[Grant]
    usable_versions(session, user, grant, now=None) -> list[UsableVersion]
    active_grants_for(session, user, now=None) -> list[Grant]
    grant_json(grant, now=None) -> dict
    add_years(moment, years) -> datetime;  add_months(moment, months) -> datetime
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import levels
from hub.accounts import SYSTEM, Actor, get_org, get_user, list_orgs, require
from hub.audit import audited, record
from hub.catalog import get_version, version_dir
from hub.errors import (
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PolicyViolation,
    ValidationError,
)
from hub.models import PURPOSES, Grant, GrantItem, GrantMember, User

MAX_TERM_YEARS = 3
MAX_TRIAL_MONTHS = 6
SEED = "郑港〔2025〕22号"


@dataclass(frozen=True)
class Transition:
    """From ``state``, ``action`` leads to ``target``; ``roles`` may trigger it."""

    state: str
    action: str
    target: str
    roles: frozenset[str]


_ADMIN = frozenset({"admin"})
_CLOCK = frozenset({SYSTEM})  # no person expires a grant; time does

TRANSITIONS: tuple[Transition, ...] = (
    Transition("draft", "activate", "active", _ADMIN),
    Transition("active", "suspend", "suspended", _ADMIN),
    Transition("suspended", "resume", "active", _ADMIN),
    Transition("draft", "revoke", "revoked", _ADMIN),
    Transition("active", "revoke", "revoked", _ADMIN),
    Transition("suspended", "revoke", "revoked", _ADMIN),
    Transition("active", "expire", "expired", _CLOCK),
    Transition("suspended", "expire", "expired", _CLOCK),
)
ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(t.action for t in TRANSITIONS))


def transition_for(state: str, action: str) -> Transition | None:
    for item in TRANSITIONS:
        if item.state == state and item.action == action:
            return item
    return None


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


# -- calendar arithmetic ------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """Same day ``months`` later; a day the target month lacks becomes its last day."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def add_years(moment: datetime, years: int) -> datetime:
    return add_months(moment, 12 * years)


# -- creating -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemSpec:
    """A dataset version to grant (``name@number`` or ``name`` = latest) and optional columns."""

    ref: str
    columns: Sequence[str] | None = None


def _price_minor(purpose: str, price: Decimal | str | float | None, currency: str) -> int | None:
    if purpose not in PURPOSES:
        raise ValidationError(f"purpose: must be one of {', '.join(PURPOSES)} (got {purpose!r})",
                              f"purpose：必须是 {', '.join(PURPOSES)} 之一（实际为 {purpose!r}）")
    try:
        amount = Decimal(str(price)) if price not in (None, "") else None
    except InvalidOperation as exc:
        raise ValidationError(f"price: {price!r} is not a number", f"price：{price!r} 不是数字") from exc
    if purpose == "public_welfare":
        if amount:
            raise ValidationError(
                "price: public-welfare use is free; do not set a price",
                "price：公益用途免费，不得设置价格")
        return None
    if amount is None or not amount.is_finite() or amount <= 0:
        raise ValidationError(
            "price: industry use needs the guided price, a positive amount (e.g. 12000.00)",
            "price：产业用途须填写政府指导价（正数，如 12000.00）")
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationError("currency: must be a 3-letter code such as CNY",
                              "currency：须为三位字母代码，如 CNY")
    return int((amount * 100).to_integral_value())


def check_term(starts_at: datetime, ends_at: datetime, trial_ends_at: datetime | None) -> None:
    """The seed's limits on the term and the trial period (calendar-exact)."""
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at),
                        ("trial_ends_at", trial_ends_at)):
        if value is not None and value.tzinfo is None:
            raise ValidationError(f"{name}: must carry a time zone", f"{name}：须带时区")
    if ends_at <= starts_at:
        raise ValidationError("ends_at: must be after starts_at", "ends_at：须晚于 starts_at")
    limit = add_years(starts_at, MAX_TERM_YEARS)
    if ends_at > limit:
        raise PolicyViolation(
            f"ends_at: the term may be at most {MAX_TERM_YEARS} years ({SEED}); "
            f"latest allowed end is {limit.isoformat()}, got {ends_at.isoformat()}",
            f"ends_at：授权期限不得超过 {MAX_TERM_YEARS} 年（{SEED}）；最晚到期时间为 "
            f"{limit.isoformat()}，实际为 {ends_at.isoformat()}",
        )
    if trial_ends_at is None:
        return
    if not starts_at < trial_ends_at <= ends_at:
        raise ValidationError("trial_ends_at: must be after starts_at and not after ends_at",
                              "trial_ends_at：须晚于 starts_at 且不晚于 ends_at")
    trial_limit = add_months(starts_at, MAX_TRIAL_MONTHS)
    if trial_ends_at > trial_limit:
        raise PolicyViolation(
            f"trial_ends_at: the trial may be at most {MAX_TRIAL_MONTHS} months ({SEED}); "
            f"latest allowed is {trial_limit.isoformat()}, got {trial_ends_at.isoformat()}",
            f"trial_ends_at：试运行期不得超过 {MAX_TRIAL_MONTHS} 个月（{SEED}）；最晚为 "
            f"{trial_limit.isoformat()}，实际为 {trial_ends_at.isoformat()}",
        )


def _items(session: Session, items: Sequence[ItemSpec]) -> list[GrantItem]:
    if not items:
        raise ValidationError("items: at least one dataset version is required",
                              "items：至少需要一个数据集版本")
    rows: dict[int, GrantItem] = {}
    for spec in items:
        version = get_version(session, spec.ref)
        level = levels.get(version.level)
        if not level.authorizable:
            raise PolicyViolation(
                f"{version.label}: level {level.number} ({level.en}) data can never be authorized",
                f"{version.label}：{level.number} 级（{level.zh}）数据不得授权",
            )
        columns = None
        if spec.columns:
            unknown = [c for c in spec.columns if c not in version.column_names]
            if unknown:
                raise ValidationError(
                    f"{version.label}: unknown columns {unknown}; it has {version.column_names}",
                    f"{version.label}：列 {unknown} 不存在；现有列 {version.column_names}")
            columns = [c for c in version.column_names if c in set(spec.columns)]
        if version.id in rows:
            raise ValidationError(f"items: {version.label} is listed twice",
                                  f"items：{version.label} 重复")
        rows[version.id] = GrantItem(version=version, columns=columns)
    return list(rows.values())


def _member_rows(session: Session, developer_org_id: int, usernames: Iterable[str]) -> list[User]:
    users = []
    for username in sorted(set(usernames)):
        user = get_user(session, username)
        if user.org_id != developer_org_id:
            raise ValidationError(
                f"members: {username} is not a user of the developer org",
                f"members：{username} 不是该二级开发主体的用户")
        users.append(user)
    return users


def _operator_org_id(session: Session, actor: Actor, operator: str | None) -> int:
    if operator:
        org = get_org(session, operator)
    elif actor.org_id is not None:
        return actor.org_id
    else:
        operators = list_orgs(session, kind="operator")
        if len(operators) != 1:
            raise ValidationError("operator: name the operator org (there is not exactly one)",
                                  "operator：请指定一级开发主体（系统中不止一个或没有）")
        org = operators[0]
    if org.kind != "operator":
        raise ValidationError(f"operator: {org.name} is a {org.kind} org, not the operator",
                              f"operator：{org.name} 不是一级开发主体")
    return org.id


def create_grant(
    session: Session,
    actor: Actor,
    *,
    developer: str,
    scenario: str,
    purpose: str,
    items: Sequence[ItemSpec],
    members: Sequence[str],
    starts_at: datetime,
    ends_at: datetime,
    trial_ends_at: datetime | None = None,
    price: Decimal | str | float | None = None,
    currency: str = "CNY",
    operator: str | None = None,
) -> Grant:
    """Create a grant in state ``draft`` after checking every rule; refusals are audited."""
    details: dict[str, Any] = {
        "developer": developer, "scenario": scenario, "purpose": purpose,
        "items": [{"ref": i.ref, "columns": list(i.columns) if i.columns else None}
                  for i in items],
        "members": sorted(set(members)), "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "trial_ends_at": trial_ends_at.isoformat() if trial_ends_at else None,
        "price": None if price is None else str(price), "currency": currency,
    }
    with audited(session, actor.name, "grant.create", "grant", "", details) as act:
        require(actor, "grant.create")
        if not scenario.strip():
            raise ValidationError("scenario: required", "scenario：必填")
        price_minor = _price_minor(purpose, price, currency)
        check_term(starts_at, ends_at, trial_ends_at)
        dev = get_org(session, developer)
        if dev.kind != "developer":
            raise ValidationError(f"developer: {dev.name} is a {dev.kind} org, not a developer",
                                  f"developer：{dev.name} 不是二级开发主体")
        grant = Grant(
            operator_org_id=_operator_org_id(session, actor, operator), developer_org_id=dev.id,
            scenario=scenario.strip(), purpose=purpose, price_minor=price_minor,
            currency=currency.upper() if price_minor is not None else None,
            starts_at=starts_at, ends_at=ends_at, trial_ends_at=trial_ends_at, state="draft",
            created_by=actor.name, items=_items(session, items),
        )
        grant.member_rows = [GrantMember(user=u) for u in _member_rows(session, dev.id, members)]
        session.add(grant)
        session.flush()
        act.object_id = grant.id
        act.details["versions"] = sorted(item.version.label for item in grant.items)
    return grant


# -- state --------------------------------------------------------------------------------------


def _load(session: Session, grant_id: int) -> Grant | None:
    return session.get(Grant, grant_id)


def refresh_state(
    session: Session, grant: Grant, now: datetime | None = None, actor: str = SYSTEM
) -> bool:
    """Expire ``grant`` if its end has passed (recorded in the audit log); True if it did."""
    now = _now(now)
    step = transition_for(grant.state, "expire")
    if step is None or now < grant.ends_at:
        return False
    previous, grant.state, grant.updated_at = grant.state, step.target, now
    record(session, actor, "grant.expire", "grant", grant.id, "ok",
           {"from": previous, "to": step.target, "ends_at": grant.ends_at.isoformat(),
            "observed_at": now.isoformat()})
    session.flush()
    return True


def _check_may(actor: Actor, step: Transition | None, grant: Grant, action: str) -> Transition:
    if step is None:
        raise InvalidTransition(
            f"grant {grant.id}: cannot {action} a grant that is {grant.state}",
            f"授权 {grant.id}：状态为 {grant.state} 时不能执行 {action}")
    if not actor.has_any(step.roles) or (
        not actor.is_system and actor.org_id != grant.operator_org_id
    ):
        raise PermissionDenied(
            f"grant {grant.id}: {actor.name} may not {action} (needs {'/'.join(sorted(step.roles))}"
            " of the operator org)",
            f"授权 {grant.id}：{actor.name} 无权执行 {action}（需要一级开发主体的 "
            f"{'/'.join(sorted(step.roles))} 角色）")
    return step


def change_state(
    session: Session, actor: Actor, grant_id: int, action: str, reason: str = "",
    now: datetime | None = None,
) -> Grant:
    """Apply ``action`` (see :data:`TRANSITIONS`); revoke needs a ``reason``.

    ``expire`` is refused here: only time expires a grant (:func:`refresh_state`).
    """
    now = _now(now)
    grant = _load(session, grant_id)
    if grant is not None:
        refresh_state(session, grant, now)  # an expired grant is expired before anything else
    details = {"reason": reason} if reason else {}
    with audited(session, actor.name, f"grant.{action}", "grant", grant_id, details) as act:
        if grant is None:
            raise NotFound(f"grant {grant_id} not found", f"未找到授权 {grant_id}")
        if action == "expire":
            raise InvalidTransition(
                f"grant {grant.id}: grants expire by time only (ends {grant.ends_at}); "
                "to end one early, revoke it",
                f"授权 {grant.id}：授权仅因到期而失效（{grant.ends_at}）；提前终止请撤销")
        step = _check_may(actor, transition_for(grant.state, action), grant, action)
        if action == "revoke" and not reason.strip():
            raise ValidationError("reason: revoking a grant needs a reason",
                                  "reason：撤销授权须说明理由")
        if action in ("activate", "resume") and now >= grant.ends_at:
            raise PolicyViolation(f"grant {grant.id}: its term ended at {grant.ends_at}",
                                  f"授权 {grant.id}：授权期限已于 {grant.ends_at} 结束")
        act.details.update({"from": grant.state, "to": step.target})
        grant.state, grant.updated_at = step.target, now
        if reason:
            grant.state_reason = reason
        session.flush()
    return grant


def set_members(
    session: Session, actor: Actor, grant_id: int, add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> Grant:
    """Add or remove members (users of the developer org)."""
    add, remove = sorted(set(add)), sorted(set(remove))
    with audited(session, actor.name, "grant.members", "grant", grant_id,
                 {"add": add, "remove": remove}):
        require(actor, "grant.members")
        grant = _load(session, grant_id)
        if grant is None:
            raise NotFound(f"grant {grant_id} not found", f"未找到授权 {grant_id}")
        if grant.state in ("expired", "revoked"):
            raise InvalidTransition(f"grant {grant_id} is {grant.state}",
                                    f"授权 {grant_id} 已{grant.state}")
        removed = {get_user(session, name).id for name in remove}
        grant.member_rows = [row for row in grant.member_rows if row.user_id not in removed]
        for user in _member_rows(session, grant.developer_org_id, add):
            if user.id not in grant.member_ids:
                grant.member_rows.append(GrantMember(user=user))
        session.flush()
    return grant


def get_grant(session: Session, grant_id: int, now: datetime | None = None) -> Grant:
    """The grant, with its state brought up to date."""
    grant = _load(session, grant_id)
    if grant is None:
        raise NotFound(f"grant {grant_id} not found", f"未找到授权 {grant_id}")
    refresh_state(session, grant, now)
    return grant


def list_grants(
    session: Session, state: str | None = None, developer: str | None = None,
    now: datetime | None = None,
) -> list[Grant]:
    """Grants (states refreshed first), optionally filtered by state and developer org."""
    query = select(Grant).order_by(Grant.id)
    if developer:
        query = query.where(Grant.developer_org_id == get_org(session, developer).id)
    grants = list(session.scalars(query))
    for grant in grants:
        refresh_state(session, grant, now)
    return [g for g in grants if state is None or g.state == state]


def expire_due(session: Session, actor: Actor, now: datetime | None = None) -> list[Grant]:
    """Expire every grant whose end has passed (for a scheduler)."""
    expired: list[Grant] = []
    with audited(session, actor.name, "grant.expire_due", "grant", "*") as act:
        require(actor, "grant.expire_due")
        for grant in session.scalars(select(Grant).where(Grant.state.in_(("active",
                                                                            "suspended")))):
            if refresh_state(session, grant, now, actor=actor.name):
                expired.append(grant)
        act.details["expired"] = [g.id for g in expired]
    return expired


# -- the one answer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class UsableVersion:
    """One dataset version a user may use under a grant now, and how."""

    grant_id: int
    dataset: str
    version: int
    level: int
    sandbox_view: str  # levels.Level.sandbox_view: "real" or "twin" for interactive sandboxes
    columns: tuple[str, ...]  # the columns the user may see (all of them if not restricted)
    restricted: bool  # True when the grant names a column subset
    path: Path  # the read-only version folder in the store
    files: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.dataset}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {"grant": self.grant_id, "ref": self.ref, "dataset": self.dataset,
                "version": self.version, "level": self.level, "sandbox_view": self.sandbox_view,
                "columns": list(self.columns), "restricted": self.restricted,
                "path": str(self.path), "files": list(self.files)}


def _as_user(session: Session, user: User | str) -> User:
    return get_user(session, user) if isinstance(user, str) else user


def _as_grant(session: Session, grant: Grant | int) -> Grant | None:
    return _load(session, grant) if isinstance(grant, int) else grant


def usable_versions(
    session: Session, user: User | str, grant: Grant | int, now: datetime | None = None
) -> list[UsableVersion]:
    """What ``user`` may use under ``grant`` at ``now``: empty unless the grant is active, in
    its term, and the user is an active member from the developer org."""
    now = _now(now)
    the_user, the_grant = _as_user(session, user), _as_grant(session, grant)
    if the_grant is None:
        return []
    refresh_state(session, the_grant, now)
    if the_grant.state != "active" or not the_grant.starts_at <= now < the_grant.ends_at:
        return []
    if (not the_user.active or the_user.id not in the_grant.member_ids
            or the_user.org_id != the_grant.developer_org_id):
        return []
    usable = []
    for item in the_grant.items:
        version, level = item.version, levels.get(item.version.level)
        if not level.authorizable:  # defence in depth: creation already refuses these
            continue
        usable.append(UsableVersion(
            grant_id=the_grant.id, dataset=version.dataset.name, version=version.number,
            level=level.number, sandbox_view=level.sandbox_view,
            columns=tuple(item.columns or version.column_names),
            restricted=item.columns is not None, path=version_dir(version),
            files=tuple(f.name for f in version.files),
        ))
    return sorted(usable, key=lambda u: (u.dataset, u.version))


def active_grants_for(
    session: Session, user: User | str, now: datetime | None = None
) -> list[Grant]:
    """Grants under which ``user`` can use something right now (what a sandbox may pick)."""
    the_user = _as_user(session, user)
    rows = session.scalars(select(Grant).join(GrantMember).where(
        GrantMember.user_id == the_user.id).order_by(Grant.id))
    return [g for g in rows if usable_versions(session, the_user, g, now)]


def grant_json(grant: Grant) -> dict[str, Any]:
    price = None if grant.price_minor is None else f"{Decimal(grant.price_minor) / 100:.2f}"
    return {
        "id": grant.id, "state": grant.state, "state_reason": grant.state_reason,
        "operator": grant.operator_org.name, "developer": grant.developer_org.name,
        "scenario": grant.scenario, "purpose": grant.purpose, "price": price,
        "currency": grant.currency, "starts_at": grant.starts_at.isoformat(),
        "ends_at": grant.ends_at.isoformat(),
        "trial_ends_at": grant.trial_ends_at.isoformat() if grant.trial_ends_at else None,
        "items": [{"ref": i.version.label, "level": i.version.level, "columns": i.columns}
                  for i in sorted(grant.items, key=lambda i: i.version.label)],
        "members": sorted(row.user.username for row in grant.member_rows),
        "created_by": grant.created_by, "created_at": grant.created_at.isoformat(),
    }
