"""The two-step search (the page's ids first, then their rows: the PostgreSQL default since migration 0007) returns
exactly the pages and cursors of the one-statement search, on SQLite and PostgreSQL, for every sort and filter."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from support_events import World, add_event, build_world, local

from detection.search import make_query, search_events
from footage.db import session_scope

SEARCHES: list[dict[str, object]] = [
    {"sites": ["Green Park"], "time_of_day": "22:00-06:00", "min_dwell": 10,
     "start": "2024-11-03T00:00:00", "end": "2024-11-10T00:00:00"},
    {"gates": ["North gate"], "labels": ["vehicle"], "start": "2024-11-04T20:00:00", "end": "2024-11-05T08:00:00"},
    {"time_of_day": "22:00-06:00", "stationary": True, "start": "2024-11-01T00:00:00+00:00",
     "end": "2024-11-10T00:00:00+00:00"},
    {"cameras": ["south"], "colours": ["white"], "min_score": 0.6},
]


@pytest.fixture
def crowded(gw_home_any_db: Path, footage_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> World:
    world = build_world(footage_dir, tmp_path_factory.getbasetemp() / "halves")
    with session_scope() as session:
        base = local(2024, 11, 3, 21, 0)
        for i in range(240):
            camera = ("north", "south", "river")[i % 3]
            segment = world.segments["north_a" if camera == "north" else camera]
            # Every 40 minutes over a week, in pairs with the same start and score, so the id must break ties.
            add_event(session, camera, segment, ("car", "truck", "person")[i % 3 if i % 7 else 0],
                      base + timedelta(minutes=40 * (i // 2)), 5.0 + i % 50, score=round(0.5 + (i // 2 % 5) / 10, 2),
                      dwell_s=float(i % 25), stationary=i % 11 == 0, colour=("white", "red")[i % 2])
    return world


def pages(filters: dict[str, object], sort: str, two_step: bool) -> list[tuple[list[int], str | None]]:
    out: list[tuple[list[int], str | None]] = []
    cursor = None
    with session_scope() as session:
        while True:
            query = make_query(session, sort=sort, limit=7, cursor=cursor, **filters)  # type: ignore[arg-type]
            page = search_events(session, query, None, two_step)
            out.append(([e.id for e in page.events], page.next_cursor))
            cursor = page.next_cursor
            if cursor is None or len(out) > 100:
                return out


@pytest.mark.parametrize("sort", ["time", "-time", "score"])
def test_two_steps_give_the_same_pages_and_cursors(crowded: World, sort: str) -> None:
    for filters in SEARCHES:
        one, two = pages(filters, sort, two_step=False), pages(filters, sort, two_step=True)
        assert two == one, filters
        with session_scope() as session:
            whole = search_events(session, make_query(session, sort=sort, limit=500, **filters),  # type: ignore[arg-type]
                                  None, two_step=False)
        # The pages hold the whole result once, in its order (so the comparison above is not of empty pages).
        assert [i for ids, _ in two for i in ids] == [e.id for e in whole.events], filters
        assert len(whole.events) > 7, filters
