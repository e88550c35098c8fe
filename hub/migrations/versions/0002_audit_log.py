"""Append-only, hash-chained audit log with its chain head, and the guards on it.

The database refuses UPDATE of any audit row and DELETE of rows younger than 180 days (SQLite
triggers; a PL/pgSQL trigger on PostgreSQL). The guards stop accidents and casual edits; someone
with raw write access can drop them, which is why :func:`hub.audit.verify` checks the chain itself.

Revision ID: 0002
Revises: 0001
Create Date: 2025-07-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RETENTION_DAYS = 180  # seed: network logs are kept at least 6 months

SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN
        SELECT RAISE(ABORT, 'audit log is append-only: entries cannot be changed');
    END
    """,
    f"""
    CREATE TRIGGER audit_log_retention BEFORE DELETE ON audit_log
    WHEN old.at > strftime('%Y-%m-%dT%H:%M:%S', 'now', '-{RETENTION_DAYS} days')
    BEGIN
        SELECT RAISE(ABORT, 'audit entries younger than {RETENTION_DAYS} days cannot be deleted');
    END
    """,
)

POSTGRES_GUARD = (
    f"""
    CREATE FUNCTION enclave_audit_guard() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION 'audit log is append-only: entries cannot be changed';
        END IF;
        IF OLD.at > to_char((now() AT TIME ZONE 'UTC') - interval '{RETENTION_DAYS} days',
                            'YYYY-MM-DD"T"HH24:MI:SS') THEN
            RAISE EXCEPTION 'audit entries younger than {RETENTION_DAYS} days cannot be deleted';
        END IF;
        RETURN OLD;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION enclave_audit_guard()
    """,
)


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("base_seq", sa.Integer, nullable=False),
        sa.Column("base_hash", sa.String(64), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRES_GUARD}.get(dialect, ())
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_guard ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS enclave_audit_guard()")
    op.drop_table("audit_head")
    op.drop_table("audit_log")
