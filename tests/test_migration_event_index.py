"""Migration 0006: on PostgreSQL the search index carries the search's filters (camera, start, end, dwell,
stationary), so they are checked on index entries, not on table rows; SQLite keeps (camera, start); upgrade and
downgrade keep the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from conftest import _drop_postgres_database, _fresh_postgres_database
from sqlalchemy import Engine, create_engine, inspect, text

from api.database import alembic_config

NEW, OLD = "ix_event_camera_start_filters", "ix_event_camera_start"


def _event_indexes(engine: Engine) -> dict[str, list[str]]:
    return {ix["name"]: list(ix["column_names"]) for ix in inspect(engine).get_indexes("event")}


def _fill_old_schema(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO site (id, name, created_at) VALUES (1, 'Palm', '2024-11-07')"))
        conn.execute(text("INSERT INTO camera (id, site_id, gate, timezone, clock_offset_s, zones, created_at) "
                          "VALUES ('palm-n', 1, 'N', 'UTC', 0, '{}', '2024-11-07')"))
        conn.execute(text(
            "INSERT INTO segment (id, camera_id, path, original_name, sha256, size_bytes, start, \"end\", "
            "start_source, fps, variable_frame_rate, codec, width, height, rotation, status, imported_at, probe) "
            "VALUES (1, 'palm-n', 'store/a.mp4', 'a.mp4', :sha, 1, '2024-11-07 00:00:00', '2024-11-08 00:00:00', "
            "'stated', 25.0, false, 'h264', 1280, 720, 0, 'indexed', '2024-11-07 00:00:00', '{}')"),
            {"sha": "a" * 64})
        for n in range(3):
            conn.execute(text(
                "INSERT INTO event (camera_id, segment_id, label, start, \"end\", score, zones, dwell_s, stationary, "
                "track) VALUES ('palm-n', 1, 'car', :start, :end, 0.9, '[]', :dwell, false, '[]')"),
                {"start": f"2024-11-07 0{n}:00:00", "end": f"2024-11-07 0{n}:00:30", "dwell": 5.0 * n})


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_upgrade_replaces_the_index_and_downgrade_restores_it(backend: str, tmp_path: Path) -> None:
    url = _fresh_postgres_database() if backend == "postgresql" else f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    try:
        command.upgrade(alembic_config(engine), "0005")
        _fill_old_schema(engine)
        assert _event_indexes(engine)[OLD] == ["camera_id", "start"] and NEW not in _event_indexes(engine)
        command.upgrade(alembic_config(engine), "0006")
        indexes = _event_indexes(engine)
        if backend == "postgresql":
            assert indexes[NEW] == ["camera_id", "start", "end", "dwell_s", "stationary"]
            assert OLD not in indexes and "ix_event_start" in indexes
        else:
            assert indexes[OLD] == ["camera_id", "start"] and NEW not in indexes
        command.downgrade(alembic_config(engine), "0005")
        indexes = _event_indexes(engine)
        assert indexes[OLD] == ["camera_id", "start"] and NEW not in indexes
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM event")).scalar() == 3
        command.upgrade(alembic_config(engine), "heads")
        assert (NEW if backend == "postgresql" else OLD) in _event_indexes(engine)
    finally:
        engine.dispose()
        if backend == "postgresql":
            _drop_postgres_database(url)


def _overnight_plan(analyze: bool) -> str:
    """The plan of a site's overnight week with min_dwell (the search the index is for), on a few events."""
    from detection.models import Event
    from detection.search import build_search, explain, make_query
    from footage.db import get_engine, session_scope
    from footage.models import Camera, Segment, Site

    start = datetime(2024, 11, 4, tzinfo=UTC)
    with session_scope() as session:
        site = Site(name="Palm")
        other = Site(name="Cedar")
        session.add_all([site, other])
        session.flush()
        session.add(Camera(id="palm-n", site_id=site.id, gate="N", timezone="Asia/Shanghai", zones={}))
        session.add_all(Camera(id=f"cedar-{n}", site_id=other.id, gate="E", timezone="Asia/Shanghai", zones={})
                        for n in range(9))
        session.flush()
        segment = Segment(camera_id="palm-n", path="store/a.mp4", original_name="a.mp4", sha256="a" * 64,
                          size_bytes=1, start=start, end=start + timedelta(days=7), start_source="stated", fps=25.0,
                          codec="h264", width=1280, height=720, status="indexed")
        session.add(segment)
        session.flush()
        # Ten cameras, so that one site's camera is a selective bound as it is on a real installation.
        session.add_all(Event(camera_id="palm-n" if n % 10 == 0 else f"cedar-{n % 9}", segment_id=segment.id,
                              label="car",
                              start=start + timedelta(minutes=3 * n), end=start + timedelta(minutes=3 * n, seconds=20),
                              score=0.9, zones=[], dwell_s=float(n % 30), stationary=n % 50 == 0, track=[])
                        for n in range(3000))
    if get_engine().dialect.name == "postgresql":
        with get_engine().begin() as conn:
            conn.execute(text("ANALYZE event"))
    with session_scope() as session:
        if session.get_bind().dialect.name == "postgresql":
            # A few thousand rows fit on a handful of pages, where PostgreSQL would rightly read the whole table;
            # the plan for millions of rows is what is asked here.
            session.execute(text("SET LOCAL enable_seqscan = off"))
        statement, _ = build_search(session, make_query(
            session, sites=["Palm"], time_of_day="22:00-06:00", min_dwell=10, start=start.isoformat(),
            end=(start + timedelta(days=7)).isoformat()))
        return " | ".join(explain(session, statement, analyze=analyze))


def test_the_overnight_search_filters_on_the_index(gw_home_any_db: Path) -> None:
    from footage.db import get_engine

    postgres = get_engine().dialect.name == "postgresql"
    plan = _overnight_plan(analyze=postgres)
    assert (NEW if postgres else OLD) in plan, plan
    if postgres:
        # dwell_s and stationary sit in the index condition: checked on index entries, so rows that fail them
        # never get into the bitmap and are never fetched from the table (with INCLUDE columns, or on the old
        # index, they were only a filter on each fetched row).
        conditions = [line for line in plan.split(" | ") if "Index Cond" in line]
        assert any("dwell_s" in line and "stationary" in line for line in conditions), plan
    else:
        assert "SCAN event" not in plan, plan
