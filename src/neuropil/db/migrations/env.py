"""Alembic environment: runs on the connection neuropil hands it (see neuropil.db.migrate)."""

from __future__ import annotations

from alembic import context

from neuropil.db.models import Base, schema_filter

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - neuropil always passes a connection
    raise RuntimeError("run migrations through `neuropil db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    # FTS5 virtual tables and the other backend's search tables are not model tables.
    include_object=schema_filter(connection.dialect.name),
)
with context.begin_transaction():
    context.run_migrations()
