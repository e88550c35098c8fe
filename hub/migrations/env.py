"""Alembic environment: runs on the connection :func:`hub.db.upgrade` hands over.

``render_as_batch`` lets future revisions alter columns on SQLite (copy-and-move in a
transaction) without losing data.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from hub.config import database_url
from hub.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
elif context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    with create_engine(database_url()).begin() as own_connection:
        _run(own_connection)
