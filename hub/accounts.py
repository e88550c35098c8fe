"""Organisations, users, roles, passwords — and who may do what (one permission table).

Org kinds: ``operator`` (一级开发主体), ``developer`` (二级开发主体), ``provider`` (数据提供单位),
``regulator`` (监管部门). Roles: ``admin``, ``analyst``, ``reviewer``, ``auditor``,
``provider_steward``; a user has one or more, and each role fits only some org kinds
(:data:`ROLE_ORG_KINDS`) — e.g. a developer's analyst can never be a reviewer.

The acting principal is an :class:`Actor`: a user, or the pseudo-actor ``system`` (the operator
running the CLI on the host; whoever has a shell next to ``ENCLAVE_HOME`` already holds every
power, so ``system`` passes every check and is recorded as such in the audit log).

Passwords are hashed with Argon2id (argon2-cffi defaults); hashes are upgraded on login when the
parameters change.

Public API (every mutating call writes an audit entry; the caller commits)::

    ACTION_ROLES: dict[str, frozenset[str]]          # action -> roles allowed (system: all)
    resolve_actor(session, name) -> Actor
    require(actor, action) -> None                   # PermissionDenied
    add_org(session, actor, name, kind, title_zh="", title_en="") -> Org
    get_org(session, name) -> Org;  list_orgs(session, kind=None) -> list[Org]
    add_user(session, actor, username, org, roles, password=None, display_name="", email="")
        -> User
    get_user(session, username) -> User;  list_users(session, org=None) -> list[User]
    set_password(session, actor, username, password) -> None
    set_roles(session, actor, username, add=(), remove=()) -> frozenset[str]
    authenticate(session, username, password) -> User | None   # audited login
    hash_password(password) -> str;  check_password(hash, password) -> bool
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import audited, record
from hub.errors import AlreadyExists, NotFound, PermissionDenied, ValidationError
from hub.models import ORG_KINDS, ROLES, Org, User, UserRole

SYSTEM = "system"
MIN_PASSWORD_LENGTH = 10
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")

ROLE_ORG_KINDS: dict[str, frozenset[str]] = {
    "admin": frozenset({"operator"}),
    "reviewer": frozenset({"operator"}),
    "analyst": frozenset({"developer"}),
    "auditor": frozenset({"regulator", "operator"}),
    "provider_steward": frozenset({"provider"}),
}

# Who may do what. Grant state changes have their own table (hub.grants.TRANSITIONS).
ACTION_ROLES: dict[str, frozenset[str]] = {
    "org.add": frozenset({"admin"}),
    "user.add": frozenset({"admin"}),
    "user.set_password": frozenset({"admin"}),  # and every user for their own password
    "user.roles": frozenset({"admin"}),
    "catalog.register": frozenset({"admin"}),
    "catalog.verify": frozenset({"admin", "auditor"}),
    "twin.build": frozenset({"admin"}),
    "grant.create": frozenset({"admin"}),
    "grant.members": frozenset({"admin"}),
    "grant.expire_due": frozenset({"admin"}),
    "audit.verify": frozenset({"admin", "auditor"}),
    "audit.export": frozenset({"admin", "auditor"}),
    "audit.prune": frozenset({"admin"}),
}

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user (with their roles and org) or the host's ``system``."""

    name: str
    roles: frozenset[str]
    org_id: int | None = None
    user_id: int | None = None

    @property
    def is_system(self) -> bool:
        return self.name == SYSTEM and self.user_id is None

    def has_any(self, roles: Iterable[str]) -> bool:
        return self.is_system or bool(self.roles & frozenset(roles))


def resolve_actor(session: Session, name: str | None) -> Actor:
    """The :class:`Actor` called ``name`` (``None``/``"system"``: the host operator)."""
    if not name or name == SYSTEM:
        return Actor(SYSTEM, frozenset())
    user = get_user(session, name)
    if not user.active:
        raise PermissionDenied(f"user {name!r} is disabled", f"用户 {name!r} 已停用")
    return Actor(user.username, user.roles, user.org_id, user.id)


def require(actor: Actor, action: str) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` may perform ``action``."""
    allowed = ACTION_ROLES[action]
    if not actor.has_any(allowed):
        raise PermissionDenied(
            f"{actor.name} may not {action}: needs role {' or '.join(sorted(allowed))}",
            f"{actor.name} 无权执行 {action}：需要角色 {' 或 '.join(sorted(allowed))}",
        )


def hash_password(password: str) -> str:
    _check_password_strength(password)
    return _hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"password: must be at least {MIN_PASSWORD_LENGTH} characters",
            f"password：密码至少 {MIN_PASSWORD_LENGTH} 个字符",
        )


def _check_name(value: str, field: str) -> str:
    if not NAME_PATTERN.match(value or ""):
        raise ValidationError(
            f"{field}: {value!r} must be 1-64 lower-case letters, digits, '_', '.', '-'",
            f"{field}：{value!r} 只能由 1-64 个小写字母、数字、'_'、'.'、'-' 组成",
        )
    return value


def get_org(session: Session, name: str) -> Org:
    org = session.scalars(select(Org).where(Org.name == name)).one_or_none()
    if org is None:
        raise NotFound(f"organization {name!r} not found", f"未找到组织 {name!r}")
    return org


def list_orgs(session: Session, kind: str | None = None) -> list[Org]:
    query = select(Org).order_by(Org.name)
    if kind:
        query = query.where(Org.kind == kind)
    return list(session.scalars(query))


def add_org(
    session: Session, actor: Actor, name: str, kind: str, title_zh: str = "", title_en: str = ""
) -> Org:
    """Create an organisation of ``kind`` (one of :data:`hub.models.ORG_KINDS`)."""
    details = {"name": name, "kind": kind, "title_zh": title_zh, "title_en": title_en}
    with audited(session, actor.name, "org.add", "org", name, details):
        require(actor, "org.add")
        _check_name(name, "name")
        if kind not in ORG_KINDS:
            raise ValidationError(f"kind: must be one of {', '.join(ORG_KINDS)} (got {kind!r})",
                                  f"kind：必须是 {', '.join(ORG_KINDS)} 之一（实际为 {kind!r}）")
        if session.scalars(select(Org).where(Org.name == name)).first():
            raise AlreadyExists(f"organization {name!r} already exists", f"组织 {name!r} 已存在")
        org = Org(name=name, kind=kind, title_zh=title_zh, title_en=title_en)
        session.add(org)
        session.flush()
    return org


def get_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise NotFound(f"user {username!r} not found", f"未找到用户 {username!r}")
    return user


def list_users(session: Session, org: str | None = None) -> list[User]:
    query = select(User).order_by(User.username)
    if org:
        query = query.where(User.org_id == get_org(session, org).id)
    return list(session.scalars(query))


def _check_roles(roles: Iterable[str], org: Org) -> frozenset[str]:
    wanted = frozenset(roles)
    for role in sorted(wanted):
        if role not in ROLES:
            raise ValidationError(f"roles: unknown role {role!r}; known: {', '.join(ROLES)}",
                                  f"roles：未知角色 {role!r}；可用：{', '.join(ROLES)}")
        if org.kind not in ROLE_ORG_KINDS[role]:
            kinds = ", ".join(sorted(ROLE_ORG_KINDS[role]))
            raise ValidationError(
                f"roles: {role} is only for users of a {kinds} org; {org.name} is a {org.kind}",
                f"roles：{role} 只能授予 {kinds} 类组织的用户；{org.name} 是 {org.kind}",
            )
    return wanted


def add_user(
    session: Session,
    actor: Actor,
    username: str,
    org: str,
    roles: Iterable[str],
    password: str | None = None,
    display_name: str = "",
    email: str = "",
) -> User:
    """Create a user in ``org`` with ``roles`` (at least one); password optional (set later)."""
    roles = sorted(set(roles))
    details = {"username": username, "org": org, "roles": roles, "password_set": bool(password)}
    with audited(session, actor.name, "user.add", "user", username, details):
        require(actor, "user.add")
        _check_name(username, "username")
        if username == SYSTEM:
            raise ValidationError("username: 'system' is reserved", "username：'system' 为保留名")
        if not roles:
            raise ValidationError("roles: at least one role is required", "roles：至少需要一个角色")
        the_org = get_org(session, org)
        if session.scalars(select(User).where(User.username == username)).first():
            raise AlreadyExists(f"user {username!r} already exists", f"用户 {username!r} 已存在")
        user = User(username=username, org=the_org, display_name=display_name, email=email,
                    password_hash=hash_password(password) if password else None)
        user.role_rows = [UserRole(role=role) for role in _check_roles(roles, the_org)]
        session.add(user)
        session.flush()
    return user


def set_password(session: Session, actor: Actor, username: str, password: str) -> None:
    """Set ``username``'s password (admins for anyone, a user for themselves)."""
    with audited(session, actor.name, "user.set_password", "user", username):
        if actor.name != username:
            require(actor, "user.set_password")
        user = get_user(session, username)
        user.password_hash = hash_password(password)


def set_roles(
    session: Session, actor: Actor, username: str,
    add: Iterable[str] = (), remove: Iterable[str] = (),
) -> frozenset[str]:
    """Add and remove roles; a user keeps at least one. Returns the new role set."""
    add, remove = sorted(set(add)), sorted(set(remove))
    with audited(session, actor.name, "user.roles", "user", username,
                 {"add": add, "remove": remove}) as act:
        require(actor, "user.roles")
        user = get_user(session, username)
        new = (user.roles | _check_roles(add, user.org)) - frozenset(remove)
        if not new:
            raise ValidationError("roles: a user keeps at least one role",
                                  "roles：用户至少保留一个角色")
        user.role_rows = [row for row in user.role_rows if row.role in new]
        user.role_rows += [UserRole(role=role) for role in sorted(new - user.roles)]
        session.flush()
        act.details["roles"] = sorted(new)
    return new


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user if ``password`` is right, else ``None``; both outcomes are audited."""
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    ok = bool(user and user.active and check_password(user.password_hash, password))
    record(session, username, "auth.login", "user", username, "ok" if ok else "refused")
    if not ok or user is None:
        return None
    if user.password_hash and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user
