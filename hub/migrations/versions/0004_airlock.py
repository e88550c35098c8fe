"""Airlock: export requests, their files, reviewer decisions and released products.

The decision table carries the requester's id and org (tied to the request by a composite foreign
key) so a CHECK constraint can refuse a decision by the requester or anyone of their org — a
database backstop under :mod:`hub.airlock.permissions`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "airlock_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("grant_id", sa.Integer, sa.ForeignKey("grants.id"), nullable=False),
        sa.Column("requester_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("requester_org_id", sa.Integer, sa.ForeignKey("orgs.id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_reason", sa.Text, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("required_reviews", sa.Integer, nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("policy", sa.JSON, nullable=True),
        sa.Column("notebook_sha256", sa.String(64), nullable=True),
        sa.Column("image_digest", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("submitted_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("id", "requester_id", "requester_org_id",
                            name="uq_airlock_requests_requester"),
    )
    op.create_table(
        "airlock_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("airlock_requests.id"),
                  nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("justification", sa.Text, nullable=False),
        sa.Column("verdict", sa.String(8), nullable=True),
        sa.Column("scan_report", sa.JSON, nullable=True),
        sa.Column("scanned_round", sa.Integer, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "airlock_decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, nullable=False),
        sa.Column("requester_id", sa.Integer, nullable=False),
        sa.Column("requester_org_id", sa.Integer, nullable=False),
        sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("reviewer_org_id", sa.Integer, sa.ForeignKey("orgs.id"), nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("private_note", sa.Text, nullable=False),
        sa.Column("decided_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id", "requester_id", "requester_org_id"],
            ["airlock_requests.id", "airlock_requests.requester_id",
             "airlock_requests.requester_org_id"],
            name="fk_airlock_decisions_request"),
        sa.UniqueConstraint("request_id", "round", "reviewer_id",
                            name="uq_airlock_decisions_once"),
        sa.CheckConstraint("reviewer_id <> requester_id AND reviewer_org_id <> requester_org_id",
                           name="ck_airlock_decisions_independent"),
    )
    op.create_table(
        "airlock_products",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("airlock_requests.id"),
                  nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("manifest", sa.Text, nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("previous_manifest_sha256", sa.String(64), nullable=True, unique=True),
        sa.Column("released_at", UTCDateTime, nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=True),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
        sa.Column("revoke_reason", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("airlock_products")
    op.drop_table("airlock_decisions")
    op.drop_table("airlock_files")
    op.drop_table("airlock_requests")
