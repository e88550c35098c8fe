"""Alembic migrations of the control-plane database (run by :func:`hub.db.upgrade`)."""
