"""Database models of the control plane (SQLAlchemy 2 typed declarative).

Only portable column types are used (Integer, String, Text, Boolean, JSON, timestamps) so the same
models run on SQLite (default) and PostgreSQL (``ENCLAVE_DATABASE_URL``). The schema itself is
owned by the Alembic migrations in ``hub/migrations/versions``; a test checks that the models and
the migrations agree.

Tables: ``orgs``, ``users``, ``user_roles``, ``datasets``, ``dataset_versions``,
``dataset_files``, ``dataset_twins``, ``grants``, ``grant_items``, ``grant_members``, ``audit_log``, ``audit_head``,
``airlock_*`` and ``builds``, ``build_contracts``.
Timestamps are timezone-aware UTC in Python (:class:`UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ORG_KINDS = ("operator", "developer", "provider", "regulator")
ROLES = ("admin", "analyst", "reviewer", "auditor", "provider_steward")
GRANT_STATES = ("draft", "active", "suspended", "expired", "revoked")
PURPOSES = ("public_welfare", "industry")
AUDIT_OUTCOMES = ("ok", "refused", "error")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python; naive UTC on SQLite (which has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Enclave stores aware UTC datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Org(Base):
    """An organisation: the operator, a secondary developer, a data provider or a regulator."""

    __tablename__ = "orgs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # short handle used on the CLI
    kind: Mapped[str] = mapped_column(String(16))
    title_zh: Mapped[str] = mapped_column(String(200), default="")
    title_en: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="org")


class User(Base):
    """A person who logs in; belongs to exactly one org and holds one or more roles."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org: Mapped[Org] = relationship(back_populates="users")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", order_by="UserRole.role"
    )

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(row.role for row in self.role_rows)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class Dataset(Base):
    """A catalogue entry (公共数据资源目录); its data lives in immutable versions."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # slug, also the store folder
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    domain: Mapped[str] = mapped_column(String(64))
    registration_no: Mapped[str] = mapped_column(String(64), default="")
    update_cadence: Mapped[str] = mapped_column(String(32), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    provider: Mapped[Org] = relationship()
    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", order_by="DatasetVersion.number"
    )


class DatasetVersion(Base):
    """One immutable version: files copied into the store, checksummed, profiled, classified."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    number: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)  # declared classification
    suggested_level: Mapped[int] = mapped_column(Integer)  # what the scanner's tags suggest
    format: Mapped[str] = mapped_column(String(16))
    row_count: Mapped[int] = mapped_column(Integer)
    # [{"name": str, "type": str, "tags": [entity, ...]}, ...] in file column order
    schema: Mapped[list[Any]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64))  # over (file name, file sha256) pairs
    store_path: Mapped[str] = mapped_column(String(500))  # relative to paths().store
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    dataset: Mapped[Dataset] = relationship(back_populates="versions")
    files: Mapped[list[DatasetFile]] = relationship(order_by="DatasetFile.name")

    @property
    def label(self) -> str:
        return f"{self.dataset.name}@{self.number}"

    @property
    def column_names(self) -> list[str]:
        return [column["name"] for column in self.schema]


class DatasetFile(Base):
    __tablename__ = "dataset_files"
    __table_args__ = (UniqueConstraint("version_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"))
    name: Mapped[str] = mapped_column(String(255))  # file name inside the version folder
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(Integer)


class DatasetTwin(Base):
    """The synthetic twin of one version (at most one; a rebuild replaces it).

    The files live in ``store_path`` (relative to ``paths().store``) beside the version folder;
    ``manifest_sha256`` is the SHA-256 of the twin's ``twin.json``, which lists every file's hash.
    """

    __tablename__ = "dataset_twins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"), unique=True)
    seed: Mapped[int] = mapped_column(Integer)
    generator: Mapped[str] = mapped_column(String(64))
    store_path: Mapped[str] = mapped_column(String(500))
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    # [{"name": str, "sha256": str, "row_count": int}, ...]
    files: Mapped[list[Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[DatasetVersion] = relationship()


class Grant(Base):
    """An authorization (授权) from the operator to a secondary developer for one scenario."""

    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    developer_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    scenario: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(32))
    price_minor: Mapped[int | None] = mapped_column(Integer, nullable=True)  # fen / cents
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    trial_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    state_reason: Mapped[str] = mapped_column(Text, default="")  # e.g. why it was revoked
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    operator_org: Mapped[Org] = relationship(foreign_keys=[operator_org_id])
    developer_org: Mapped[Org] = relationship(foreign_keys=[developer_org_id])
    items: Mapped[list[GrantItem]] = relationship(cascade="all, delete-orphan")
    member_rows: Mapped[list[GrantMember]] = relationship(cascade="all, delete-orphan")

    @property
    def member_ids(self) -> frozenset[int]:
        return frozenset(row.user_id for row in self.member_rows)


class GrantItem(Base):
    """One dataset version in a grant, optionally limited to some columns."""

    __tablename__ = "grant_items"

    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"), primary_key=True)
    columns: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)  # None: all columns

    version: Mapped[DatasetVersion] = relationship()


class GrantMember(Base):
    __tablename__ = "grant_members"

    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)

    user: Mapped[User] = relationship()


class AuditEntry(Base):
    """One entry of the append-only, hash-chained audit log (see :mod:`hub.audit`)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))  # UTC ISO text, exactly what was hashed
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON text
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's anchor: last seq and hash, plus where the chain starts after pruning."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    base_seq: Mapped[int] = mapped_column(Integer)  # last pruned seq (0: nothing pruned)
    base_hash: Mapped[str] = mapped_column(String(64))  # hash of that entry (genesis: zeros)


# -- airlock (export requests, reviews, released products; see hub.airlock) ----------------------


class AirlockRequest(Base):
    """An export request: files from one analyst's outbox under one grant (states: hub.airlock.states).

    ``requester_org_id`` is copied from the requester so the database itself can refuse a decision
    by the requester or their org (see :class:`AirlockDecision`). ``round`` counts submissions
    (a returned request resubmitted is scanned and reviewed again in the next round).
    """

    __tablename__ = "airlock_requests"
    __table_args__ = (UniqueConstraint("id", "requester_id", "requester_org_id",
                                       name="uq_airlock_requests_requester"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requester_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    state: Mapped[str] = mapped_column(String(16), default="draft")
    state_reason: Mapped[str] = mapped_column(Text, default="")
    round: Mapped[int] = mapped_column(Integer, default=1)
    required_reviews: Mapped[int] = mapped_column(Integer, default=1)
    level: Mapped[int] = mapped_column(Integer)  # highest classification level of the grant
    policy: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # name/version/sha
    notebook_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    image_digest: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    grant: Mapped[Grant] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    files: Mapped[list[AirlockFile]] = relationship(order_by="AirlockFile.id")
    decisions: Mapped[list[AirlockDecision]] = relationship(order_by="AirlockDecision.id",
                                                            viewonly=True)
    product: Mapped[ReleasedProduct | None] = relationship(viewonly=True)

    @property
    def active_files(self) -> list[AirlockFile]:
        return [f for f in self.files if f.active]


class AirlockFile(Base):
    """One file of a request, copied by the host into ``quarantine/<request>/<file id>/<name>``."""

    __tablename__ = "airlock_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("airlock_requests.id"))
    name: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False once replaced/removed
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    context: Mapped[str] = mapped_column(Text, default="")
    justification: Mapped[str] = mapped_column(Text, default="")
    verdict: Mapped[str | None] = mapped_column(String(8), nullable=True)
    scan_report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    scanned_round: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def relative_path(self) -> str:
        return f"{self.request_id}/{self.id}/{self.name}"


class AirlockDecision(Base):
    """One reviewer's decision in one round.

    The composite foreign key ties the copied requester columns to the request, and the check
    constraint refuses a row whose reviewer is the requester or from the requester's org: a
    backstop under :func:`hub.airlock.permissions.review_conflict`, which decides the rule.
    """

    __tablename__ = "airlock_decisions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["request_id", "requester_id", "requester_org_id"],
            ["airlock_requests.id", "airlock_requests.requester_id",
             "airlock_requests.requester_org_id"],
            name="fk_airlock_decisions_request"),
        UniqueConstraint("request_id", "round", "reviewer_id", name="uq_airlock_decisions_once"),
        CheckConstraint("reviewer_id <> requester_id AND reviewer_org_id <> requester_org_id",
                        name="ck_airlock_decisions_independent"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(Integer)
    requester_id: Mapped[int] = mapped_column(Integer)
    requester_org_id: Mapped[int] = mapped_column(Integer)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewer_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    round: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(8))  # approve | reject | return
    comment: Mapped[str] = mapped_column(Text, default="")
    private_note: Mapped[str] = mapped_column(Text, default="")  # reviewers only
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])


class ReleasedProduct(Base):
    """A secondary product: the signed manifest of one released request (at most one each).

    ``request_id`` is unique (a request is released at most once) and so is
    ``previous_manifest_sha256`` (the manifest chain cannot fork). ``manifest`` is the exact text
    of ``manifest.json``; ``signature`` the hex Ed25519 signature over its UTF-8 bytes.
    """

    __tablename__ = "airlock_products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("airlock_requests.id"), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="building")  # building|published|revoked
    purpose: Mapped[str] = mapped_column(String(32))
    manifest: Mapped[str] = mapped_column(Text)
    manifest_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    signature: Mapped[str] = mapped_column(String(128))
    previous_manifest_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True,
                                                                 unique=True)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[AirlockRequest] = relationship(viewonly=True)


# -- batch builds and product contracts (see hub.builds) -----------------------------------------


class BuildContract(Base):
    """A recurring product: a pinned notebook + parameters rebuilt on a schedule (hub.builds.contracts).

    Proposed by an analyst, approved once by operator staff after its first build was released;
    approval pins ``output_schema`` (names and column types of each output) from that release.
    ``first_build_id`` is a plain integer (builds point at contracts; no foreign-key cycle).
    """

    __tablename__ = "build_contracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16), default="proposed")  # proposed|active|retired
    notebook_name: Mapped[str] = mapped_column(String(500))
    notebook_sha256: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    schedule: Mapped[str] = mapped_column(String(64))
    output_patterns: Mapped[list[Any]] = mapped_column(JSON)
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    output_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    first_build_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship()
    grant: Mapped[Grant] = relationship()


class Build(Base):
    """One papermill run of a pinned notebook on a grant's real data (states: hub.builds.states).

    ``datasets`` records each mounted version with its content hash; ``outputs`` each output file
    with size, SHA-256 and (for tables) column schema; ``request_id`` the export request made from
    the outputs; ``contract_check`` whether a contract rebuild stayed inside its contract.
    """

    __tablename__ = "builds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("build_contracts.id"),
                                                    nullable=True)
    trigger: Mapped[str] = mapped_column(String(16), default="manual")  # manual|contract|schedule
    state: Mapped[str] = mapped_column(String(16), default="queued")
    state_reason: Mapped[str] = mapped_column(Text, default="")
    notebook_name: Mapped[str] = mapped_column(String(500))
    notebook_sha256: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    timeout_s: Mapped[int] = mapped_column(Integer)
    image: Mapped[str | None] = mapped_column(String(200), nullable=True)
    image_digest: Mapped[str | None] = mapped_column(String(200), nullable=True)
    datasets: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    outputs: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("airlock_requests.id"),
                                                   nullable=True)
    contract_check: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    review_route: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    requester: Mapped[User] = relationship()
    grant: Mapped[Grant] = relationship()
    contract: Mapped[BuildContract | None] = relationship()
