"""Migration 0003 on a database made by 0001 with data in it: cases get a scope, segments stay, names stay unique."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from conftest import _drop_postgres_database, _fresh_postgres_database
from sqlalchemy import create_engine, text

from api.database import alembic_config


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_existing_cases_take_their_cameras_sites_as_scope(backend: str, tmp_path: Path) -> None:
    url = _fresh_postgres_database() if backend == "postgresql" else f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    try:
        command.upgrade(alembic_config(engine), "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO site (id, name, created_at) VALUES (1, 'Palm', '2024-11-07'), "
                              "(2, 'Cedar', '2024-11-07')"))
            conn.execute(text("INSERT INTO camera (id, site_id, gate, timezone, clock_offset_s, zones, created_at) "
                              "VALUES ('palm-n', 1, 'N', 'UTC', 0, '{}', '2024-11-07'), "
                              "('cedar-e', 2, 'E', 'UTC', 0, '{}', '2024-11-07')"))
            conn.execute(text("INSERT INTO evidence_case (id, name, created_by, created_at) VALUES "
                              "(1, 'both', 'olive', '2024-11-07'), (2, 'palm only', 'pat', '2024-11-07'), "
                              "(3, 'empty', 'olive', '2024-11-07')"))
            conn.execute(text(
                "INSERT INTO evidence_case_item (case_id, camera_id, start, \"end\", added_at) VALUES "
                "(1, 'cedar-e', '2024-11-07', '2024-11-07', '2024-11-07'), "
                "(1, 'palm-n', '2024-11-07', '2024-11-07', '2024-11-07'), "
                "(2, 'palm-n', '2024-11-07', '2024-11-07', '2024-11-07')"))
        command.upgrade(alembic_config(engine), "heads")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT name, scope_key, owner_id FROM evidence_case ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("both", "1,2", None), ("palm only", "1", None), ("empty", "*", None)]
    finally:
        engine.dispose()
        if backend == "postgresql":
            _drop_postgres_database(url)
