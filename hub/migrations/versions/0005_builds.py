"""Batch builds (papermill runs on real data) and product contracts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "build_contracts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("grant_id", sa.Integer, sa.ForeignKey("grants.id"), nullable=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("notebook_name", sa.String(500), nullable=False),
        sa.Column("notebook_sha256", sa.String(64), nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("schedule", sa.String(64), nullable=False),
        sa.Column("output_patterns", sa.JSON, nullable=False),
        sa.Column("thresholds", sa.JSON, nullable=False),
        sa.Column("output_schema", sa.JSON, nullable=True),
        sa.Column("first_build_id", sa.Integer, nullable=True),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("approved_at", UTCDateTime, nullable=True),
        sa.Column("next_run_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "builds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("grant_id", sa.Integer, sa.ForeignKey("grants.id"), nullable=False),
        sa.Column("requester_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("contract_id", sa.Integer, sa.ForeignKey("build_contracts.id"), nullable=True),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_reason", sa.Text, nullable=False),
        sa.Column("notebook_name", sa.String(500), nullable=False),
        sa.Column("notebook_sha256", sa.String(64), nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("timeout_s", sa.Integer, nullable=False),
        sa.Column("image", sa.String(200), nullable=True),
        sa.Column("image_digest", sa.String(200), nullable=True),
        sa.Column("datasets", sa.JSON, nullable=True),
        sa.Column("outputs", sa.JSON, nullable=True),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("airlock_requests.id"), nullable=True),
        sa.Column("contract_check", sa.JSON, nullable=True),
        sa.Column("review_route", sa.String(16), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("finished_at", UTCDateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("builds")
    op.drop_table("build_contracts")
