"""Bringing the database to the current schema (Alembic), run on every start of the service, CLI and workers."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from footage.db import get_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine | None = None) -> None:
    """Apply every pending migration. Safe to call from many processes at once on PostgreSQL."""
    engine = engine or get_engine()
    command.upgrade(alembic_config(engine), "heads")  # branches from parallel work apply together
