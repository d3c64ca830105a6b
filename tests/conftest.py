"""Shared fixtures: real footage, a fresh data folder and database per test, the app, users."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

os.environ.setdefault("YOLO_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
FOOTAGE = Path(os.environ.get("GATEWATCH_TEST_FOOTAGE", REPO.parent / "shared" / "footage"))
POSTGRES_URL = os.environ.get("GATEWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("GATEWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def footage_dir() -> Path:
    if not (FOOTAGE / "parking_aisle_car_detection.mp4").exists():
        pytest.fail(f"real footage not found at {FOOTAGE}; set GATEWATCH_TEST_FOOTAGE")
    return FOOTAGE


def _configure(monkeypatch: pytest.MonkeyPatch, home: Path, database_url: str | None) -> None:
    from footage.db import reset_engines
    from footage.settings import get_settings

    monkeypatch.setenv("GATEWATCH_HOME", str(home))
    if database_url:
        monkeypatch.setenv("GATEWATCH_DATABASE_URL", database_url)
    else:
        monkeypatch.delenv("GATEWATCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("GATEWATCH_BROKER_URL", raising=False)
    get_settings.cache_clear()
    reset_engines()


def _fresh_postgres_database() -> str:
    """A new, empty database on the test server; dropped by the caller."""
    name = f"gw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


def _drop_postgres_database(url: str) -> None:
    from footage.db import reset_engines

    reset_engines()
    name = url.rsplit("/", 1)[1]
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def gw_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data folder with a migrated SQLite database, configured through the environment."""
    from api.database import migrate
    from footage.db import reset_engines

    home = tmp_path / "home"
    _configure(monkeypatch, home, None)
    migrate()
    yield home
    reset_engines()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def gw_home_any_db(request: pytest.FixtureRequest, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Like gw_home, once on SQLite and once on the real PostgreSQL server."""
    from api.database import migrate
    from footage.db import reset_engines

    home = tmp_path / "home"
    url = _fresh_postgres_database() if request.param == "postgresql" else None
    _configure(monkeypatch, home, url)
    migrate()
    yield home
    reset_engines()
    if url:
        _drop_postgres_database(url)


@pytest.fixture
def db(gw_home: Path) -> Iterator[Session]:
    from footage.db import session_factory

    session = session_factory()()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def client(gw_home: Path):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


def make_user(role: str, name: str | None = None, sites: list[str] | None = None) -> str:
    """Create a user in the configured database and return its bearer token."""
    from api.users import create_user
    from footage.db import session_scope

    with session_scope() as session:
        _, token = create_user(session, name or f"{role}-{uuid.uuid4().hex[:6]}", role, sites)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin_headers(gw_home: Path) -> dict[str, str]:
    return bearer(make_user("admin", "admin"))
