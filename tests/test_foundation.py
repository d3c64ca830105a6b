"""The foundation: migrations on both databases, settings from the environment, readiness."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from footage.db import get_engine
from footage.settings import get_settings


def test_migrations_create_every_floor_s_tables(gw_home_any_db: Path) -> None:
    tables = set(inspect(get_engine()).get_table_names())
    assert {"site", "camera", "segment", "event", "job", "user_account", "audit"} <= tables


def test_default_database_is_sqlite_in_wal_mode_under_home(gw_home: Path) -> None:
    settings = get_settings()
    assert settings.resolved_database_url == f"sqlite:///{gw_home.resolve() / 'gatewatch.db'}"
    with get_engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_healthz_answers_when_ready(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
