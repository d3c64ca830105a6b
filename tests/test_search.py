"""The event query layer: each filter narrows as promised, overnight windows in each camera's zone, pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support_events import World, add_event, build_world, local

from detection.search import (
    BadCursor,
    BadFilter,
    BadTimeOfDay,
    InvalidWindow,
    MalformedTime,
    SearchForbidden,
    UnknownCamera,
    build_search,
    explain,
    make_query,
    parse_time_of_day,
    search_events,
    summarise_events,
    time_of_day_intervals,
)
from footage.db import session_scope

MORNING = {"start": "2024-11-07T05:00:00", "end": "2024-11-07T05:01:00"}
WIDE = {"start": "2024-11-01T00:00:00+00:00", "end": "2024-11-10T00:00:00+00:00"}


@pytest.fixture
def world(gw_home_any_db: Path, footage_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(footage_dir, tmp_path_factory.getbasetemp() / "halves")


@pytest.fixture
def sqlite_world(gw_home: Path, footage_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(footage_dir, tmp_path_factory.getbasetemp() / "halves")


def found(world: World, site_ids: frozenset[int] | None = None, **filters: object) -> set[str]:
    """Names of the events a search returns (all pages, up to 500)."""
    names = {v: k for k, v in world.events.items()}
    with session_scope() as session:
        query = make_query(session, limit=500, site_ids=site_ids, **filters)  # type: ignore[arg-type]
        page = search_events(session, query, site_ids)
    return {names.get(e.id, str(e.id)) for e in page.events}


NORTH_MORNING = {"barrier_car", "north_truck", "north_person", "early_van"}


def test_window_matches_overlapping_events_on_both_databases(world: World) -> None:
    # Naive times are read in the camera's zone (Shanghai); early_van began at 04:59:50 and overlaps.
    assert found(world, cameras=["north"], **MORNING) == NORTH_MORNING
    # An event that starts exactly at the window's end, or ends exactly at its start, does not overlap it.
    assert found(world, cameras=["north"], start="2024-11-07T05:00:20", end="2024-11-07T05:00:22") == {
        "north_truck"}
    # The same instant written with an offset.
    assert found(world, cameras=["north"], start="2024-11-06T21:00:00Z", end="2024-11-06T21:01:00Z") == NORTH_MORNING


def test_filters_narrow_on_both_databases(world: World) -> None:
    # One pass over the filters whose SQL differs between SQLite and PostgreSQL (zones, colour, span bound).
    assert found(world, cameras=["north"], zones=["barrier"], **MORNING) == {"barrier_car"}
    assert found(world, cameras=["north"], colours=["WHITE"], **WIDE) == {"barrier_car", "north_night", "north_noon"}
    assert found(world, cameras=["north"], min_dwell=30, **MORNING) == {"barrier_car"}
    with session_scope() as session:
        query = make_query(session, cameras=["north", "south"], **MORNING)
        summary = summarise_events(session, query, 60)
    counts = {c.camera.id: [(b.start, b.count) for b in c.counts] for c in summary.cameras}
    minute = local(2024, 11, 7, 5, 0).astimezone(UTC)
    assert counts == {"north": [(minute, 4)], "south": [(minute, 1)]}


def test_site_filter(sqlite_world: World) -> None:
    assert found(sqlite_world, sites=["Green Park"], **MORNING) == NORTH_MORNING | {"south_bus"}
    assert found(sqlite_world, sites=["River Court"], start="2024-11-06T00:00:00-05:00",
                 end="2024-11-07T00:00:00-05:00") == {"river_day", "river_night"}


def test_gate_filter_ignores_case(sqlite_world: World) -> None:
    assert found(sqlite_world, gates=["south gate"], **MORNING) == {"south_bus"}
    assert found(sqlite_world, gates=["North gate", "SOUTH GATE"], **MORNING) == NORTH_MORNING | {"south_bus"}


def test_camera_filter(sqlite_world: World) -> None:
    assert found(sqlite_world, cameras=["south"], **MORNING) == {"south_bus"}
    assert found(sqlite_world, cameras=["north", "south"], **MORNING) == NORTH_MORNING | {"south_bus"}


def test_label_filter_and_vehicle(sqlite_world: World) -> None:
    assert found(sqlite_world, cameras=["north"], labels=["vehicle"], **MORNING) == NORTH_MORNING - {"north_person"}
    assert found(sqlite_world, cameras=["north"], labels=["person"], **MORNING) == {"north_person"}
    assert found(sqlite_world, cameras=["north"], labels=["truck,person"], **MORNING) == {
        "north_truck", "early_van", "north_person"}
    with pytest.raises(BadFilter, match="vehicle"):
        found(sqlite_world, cameras=["north"], labels=["spaceship"], **MORNING)


def test_zone_filter(sqlite_world: World) -> None:
    assert found(sqlite_world, cameras=["north"], zones=["barrier"], **MORNING) == {"barrier_car"}
    assert found(sqlite_world, cameras=["north"], zones=["bar%"], **MORNING) == set()


def test_min_dwell_filter(sqlite_world: World) -> None:
    assert found(sqlite_world, cameras=["north"], min_dwell=30, **MORNING) == {"barrier_car"}
    assert found(sqlite_world, cameras=["north"], min_dwell=0, **MORNING) == NORTH_MORNING


def test_stationary_excluded_unless_asked(sqlite_world: World) -> None:
    early = {"start": "2024-11-07T04:30:00", "end": "2024-11-07T05:01:00"}
    assert "parked_car" not in found(sqlite_world, cameras=["north"], **early)
    assert "parked_car" in found(sqlite_world, cameras=["north"], stationary=True, **early)


def test_colour_filter(sqlite_world: World) -> None:
    assert found(sqlite_world, cameras=["north"], colours=["red"], **MORNING) == {"north_truck"}
    assert found(sqlite_world, sites=["Green Park"], colours=["white", "blue"], **MORNING) == {
        "barrier_car", "south_bus"}


def test_min_score_filter(sqlite_world: World) -> None:
    assert found(sqlite_world, cameras=["north"], min_score=0.7, **MORNING) == {"barrier_car", "north_person"}


def test_overnight_time_of_day_in_each_cameras_zone(sqlite_world: World) -> None:
    # 22:00-06:00 over several days: Shanghai cameras by Shanghai nights, the New York camera by New York nights.
    got = found(sqlite_world, time_of_day="22:00-06:00", start="2024-11-04T00:00:00Z", end="2024-11-08T00:00:00Z")
    assert got == NORTH_MORNING | {"north_night", "south_bus", "river_night"}
    # Daytime instead: the noon event, and river_day (14:00 New York, 03:00 in Shanghai).
    got = found(sqlite_world, time_of_day="10:00-16:00", start="2024-11-04T00:00:00Z", end="2024-11-08T00:00:00Z")
    assert got == {"north_noon", "river_day"}


def test_time_of_day_intervals_follow_daylight_saving() -> None:
    # New York left daylight saving on 2024-11-03: 22:00 local is 02:00Z before, 03:00Z after.
    tod = parse_time_of_day("22:00-06:00")
    got = time_of_day_intervals(tod, datetime(2024, 11, 1, 8, tzinfo=UTC), datetime(2024, 11, 5, 12, tzinfo=UTC),
                                "America/New_York")
    starts = [a.isoformat() for a, _ in got]
    assert "2024-11-02T02:00:00+00:00" in starts and "2024-11-04T03:00:00+00:00" in starts
    assert all((b - a) <= timedelta(hours=9) for a, b in got)
    # 04:00 in New York: the first night is cut at the window's start, and ends at 06:00 local.
    assert got[0] == (datetime(2024, 11, 1, 8, tzinfo=UTC), datetime(2024, 11, 1, 10, tzinfo=UTC))


def test_sort_orders(sqlite_world: World) -> None:
    with session_scope() as session:
        for sort, key, reverse in (("time", "start", False), ("-time", "start", True), ("score", "score", True)):
            events = search_events(session, make_query(session, sort=sort, **WIDE)).events
            values = [getattr(e, key) for e in events]
            assert values == sorted(values, reverse=reverse) and len(values) == 9


@pytest.mark.parametrize("sort", ["time", "-time", "score"])
def test_pagination_returns_every_event_once(gw_home: Path, footage_dir: Path, sort: str,
                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    world = build_world(footage_dir, tmp_path_factory.getbasetemp() / "halves")
    with session_scope() as session:
        base = local(2024, 11, 7, 6, 0)
        for i in range(40):
            # Ties on start time and score, so the id must break them.
            add_event(session, "south", world.segments["south"], "car", base + timedelta(seconds=(i // 4) * 10),
                      score=0.5 + (i % 3) / 10)
    expected = found(world, cameras=["south"], start="2024-11-07T00:00:00", end="2024-11-08T00:00:00")
    assert len(expected) == 41
    seen: list[int] = []
    cursor = None
    pages = 0
    with session_scope() as session:
        while True:
            query = make_query(session, cameras=["south"], start="2024-11-07T00:00:00", end="2024-11-08T00:00:00",
                               sort=sort, limit=7, cursor=cursor)
            page = search_events(session, query)
            seen.extend(e.id for e in page.events)
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
    assert pages == 6 and len(seen) == 41 and len(set(seen)) == 41
    names = {v: k for k, v in world.events.items()}
    assert {names.get(i, str(i)) for i in seen} == expected
    with session_scope() as session:
        first = search_events(session, make_query(session, cameras=["south"], sort=sort, limit=3, **WIDE))
        other = "score" if sort != "score" else "time"
        with pytest.raises(BadCursor, match="sorted by"):
            search_events(session, make_query(session, sort=other, cursor=first.next_cursor, **WIDE))
        with pytest.raises(BadCursor, match="without a cursor"):
            search_events(session, make_query(session, sort=sort, cursor="bm90IGEgY3Vyc29y", **WIDE))


def test_queries_use_the_indexes(sqlite_world: World) -> None:
    with session_scope() as session:
        for filters in ({"gates": ["North gate"], "labels": ["vehicle"], **MORNING},
                        {"sites": ["Green Park"], "time_of_day": "22:00-06:00", "min_dwell": 10, **WIDE},
                        dict(WIDE)):
            statement, _ = build_search(session, make_query(session, **filters))
            plan = " | ".join(explain(session, statement))
            assert "USING INDEX ix_event_" in plan or "USING COVERING INDEX ix_event_" in plan, plan
            assert "SCAN event" not in plan, plan


def test_invalid_input_says_what_to_fix(sqlite_world: World) -> None:
    with session_scope() as session:
        with pytest.raises(InvalidWindow, match="later than"):
            make_query(session, start="2024-11-07T06:00:00+08:00", end="2024-11-07T05:00:00+08:00")
        with pytest.raises(UnknownCamera, match="known cameras: north, river, south"):
            make_query(session, cameras=["west"])
        with pytest.raises(MalformedTime, match="ISO 8601"):
            make_query(session, cameras=["north"], start="yesterday at five", end="2024-11-07T05:00:00")
        with pytest.raises(MalformedTime, match="offset"):
            make_query(session, start="2024-11-07T05:00:00", end="2024-11-07T06:00:00")  # two time zones
        with pytest.raises(BadTimeOfDay, match="HH:MM-HH:MM"):
            make_query(session, time_of_day="late", **WIDE)
        with pytest.raises(BadTimeOfDay):
            make_query(session, time_of_day="25:00-06:00", **WIDE)
        with pytest.raises(InvalidWindow, match="from and to"):
            make_query(session, time_of_day="22:00-06:00")


def test_site_restriction(sqlite_world: World) -> None:
    from sqlalchemy import select

    from footage.models import Site

    with session_scope() as session:
        river = session.scalar(select(Site.id).where(Site.name == "River Court"))
    only_river = frozenset({river})
    assert found(sqlite_world, site_ids=only_river, **WIDE) == {"river_night", "river_day"}
    with pytest.raises(SearchForbidden):
        found(sqlite_world, site_ids=only_river, cameras=["north"], **WIDE)
    with pytest.raises(SearchForbidden):
        found(sqlite_world, site_ids=only_river, cameras=["no-such-camera"], **WIDE)


def test_longest_span_keeps_up_with_new_events(sqlite_world: World) -> None:
    # A long event indexed after the first query must still be found by a window that only its tail overlaps.
    assert found(sqlite_world, cameras=["south"], start="2024-11-07T08:59:00", end="2024-11-07T09:00:00") == set()
    with session_scope() as session:
        add_event(session, "south", sqlite_world.segments["south"], "truck", local(2024, 11, 7, 6, 0), 3 * 3600.0)
    assert len(found(sqlite_world, cameras=["south"], start="2024-11-07T08:59:00", end="2024-11-07T09:00:00")) == 1
    # Parked objects are kept apart (they last as long as their segment); asking for them still finds the tail.
    with session_scope() as session:
        add_event(session, "south", sqlite_world.segments["south"], "bus", local(2024, 11, 7, 0, 0), 10 * 3600.0,
                  stationary=True)
    tail = {"start": "2024-11-07T09:59:00", "end": "2024-11-07T10:00:00"}
    assert len(found(sqlite_world, cameras=["south"], **tail)) == 0
    assert len(found(sqlite_world, cameras=["south"], stationary=True, **tail)) == 1
