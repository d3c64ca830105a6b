"""Alembic environment: runs against the engine the caller hands over (see api/database.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

import api.models  # noqa: F401  (registers the api tables on Base.metadata)
import detection.models  # noqa: F401
import footage.models  # noqa: F401
from footage.db import Base, get_engine

config = context.config
engine = config.attributes.get("engine") or get_engine()

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        # Several workers may start at once; one migrates, the others wait.
        connection.execute(text("SELECT pg_advisory_xact_lock(74021)"))
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
