"""Plate search on the real database: ranking (closeness, then score), parked cars included, the other filters and
the asker's sites still apply, paging, and refusals that say what to fix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from detection.models import Event
from footage.db import session_scope
from tests.conftest import bearer, make_user
from tests.support_events import PARKING, add_event, add_site_camera, local, store_segment


def _plates(footage_dir: Path) -> dict[str, int]:
    """Events with plates on two sites' cameras; ids by name."""
    reads = {
        "exact_low": ("cam-a", "黑A12345", "黑A·12345", 0.60, False),
        "exact_high": ("cam-a", "黑A12345", "黑A·12345", 0.95, True),   # parked at the gate
        "province_other": ("cam-a", "吉A12345", "吉A·12345", 0.90, False),
        "one_off": ("cam-a", "黑A12346", "黑A·12346", 0.99, False),
        "two_off": ("cam-a", "黑A12366", "黑A·12366", 0.99, False),
        "other_site": ("cam-b", "黑A12345", "黑A·12345", 0.99, False),
        "latin": ("cam-a", "34A36837", "34A-368.37", 0.80, False),
    }
    ids: dict[str, int] = {}
    with session_scope() as session:
        add_site_camera(session, "cam-a", "Palm Court", "north", "Asia/Shanghai")
        add_site_camera(session, "cam-b", "Cedar Court", "east", "Asia/Shanghai")
        start = local(2024, 11, 7, 5, 0)
        segments = {cam: store_segment(session, cam, footage_dir / PARKING, start).id for cam in ("cam-a", "cam-b")}
        for i, (name, (cam, norm, text, score, parked)) in enumerate(reads.items()):
            event_id = add_event(session, cam, segments[cam], "car", local(2024, 11, 7, 5, 0, 1.0 + i),
                                 seconds=2.0, stationary=parked)
            event = session.get(Event, event_id)
            event.plate, event.plate_norm, event.plate_score = text, norm, score
            ids[name] = event_id
        add_event(session, "cam-a", segments["cam-a"], "car", local(2024, 11, 7, 5, 0, 30.0))  # no plate read
    return ids


@pytest.fixture
def any_db_client(gw_home_any_db: Path) -> Iterator[TestClient]:
    """The app on SQLite and on the real PostgreSQL server."""
    from api.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


def test_results_rank_by_closeness_then_score_and_stay_in_scope(any_db_client: TestClient, footage_dir: Path) -> None:
    client = any_db_client
    ids = _plates(footage_dir)
    officer = bearer(make_user("officer", "o-all"))

    def found(plate: str, **params: object) -> list[int]:
        response = client.get("/api/v1/events", params={"plate": plate, **params}, headers=officer)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["events"]]

    # Without a province: every 12345 first (surest first, the parked one included), then the one-off.
    assert found("a12345") == [ids["other_site"], ids["exact_high"], ids["province_other"], ids["exact_low"],
                               ids["one_off"]]
    # With one: the other province is one character off, like 12346.
    assert found("黑A·12345", camera="cam-a") == [ids["exact_high"], ids["exact_low"], ids["one_off"],
                                                  ids["province_other"]]
    # ? fills the last place: 12345 and 12346 match exactly (surest first); 12366 is one off.
    assert found("A1234?", camera="cam-a") == [ids["one_off"], ids["exact_high"], ids["province_other"],
                                                ids["exact_low"], ids["two_off"]]
    assert found("34a 368 37") == [ids["latin"]]
    # The timeline's counts are of the same matches.
    summary = client.get("/api/v1/events/summary", headers=officer, params={
        "plate": "a12345", "from": "2024-11-07T05:00:00+08:00", "to": "2024-11-07T06:00:00+08:00", "bucket": 3600})
    assert summary.status_code == 200, summary.text
    assert {c["camera"]: sum(b["count"] for b in c["counts"]) for c in summary.json()["cameras"]} == {
        "cam-a": 4, "cam-b": 1}
    assert found("a12345", label="truck") == []  # the other filters still apply

    # An officer of one site sees only that site's plates.
    palm = bearer(make_user("officer", "o-palm", sites=["Palm Court"]))
    response = client.get("/api/v1/events", params={"plate": "a12345"}, headers=palm)
    assert ids["other_site"] not in [e["id"] for e in response.json()["events"]]

    # Paging through a ranked list: the pages join up to the whole list.
    first = client.get("/api/v1/events", params={"plate": "a12345", "limit": 2}, headers=officer).json()
    second = client.get("/api/v1/events", params={"plate": "a12345", "limit": 2, "cursor": first["next_cursor"]},
                        headers=officer).json()
    assert [e["id"] for e in first["events"] + second["events"]] == found("a12345")[:4]
    # A cursor of another search, or garbage, is refused and says so.
    other = client.get("/api/v1/events", params={"plate": "a12346", "cursor": first["next_cursor"]}, headers=officer)
    assert other.status_code == 422 and "cursor" in other.text
    refused = client.get("/api/v1/events", params={"plate": "-·-"}, headers=officer)
    assert refused.status_code == 422 and "letters or digits" in refused.text


def test_cli_plate_search_and_camera_switch(gw_home: Path, footage_dir: Path) -> None:
    import json

    from sqlalchemy import select
    from typer.testing import CliRunner

    from api.cli.main import app as cli_app
    from api.models import AuditEntry
    from footage.models import Camera

    ids = _plates(footage_dir)
    runner = CliRunner()
    result = runner.invoke(cli_app, ["search", "--plate", "34A-368.37", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["id"], r["plate"]) for r in rows] == [(ids["latin"], "34A-368.37")]
    assert rows[0]["plate_crop_url"].endswith(f"/events/{ids['latin']}/plate.jpg")
    with session_scope() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "search")).all()[-1]
        assert entry.detail["plate"] == "34A-368.37" and entry.detail["results"] == 1

    assert runner.invoke(cli_app, ["cameras", "set", "cam-a", "--plates", "maybe"]).exit_code != 0
    switched = runner.invoke(cli_app, ["cameras", "set", "cam-a", "--plates", "off", "--json"])
    assert switched.exit_code == 0, switched.output
    assert json.loads(switched.stdout)["read_plates"] is False
    with session_scope() as session:
        assert session.get(Camera, "cam-a").read_plates is False and session.get(Camera, "cam-b").read_plates
        change = session.scalars(select(AuditEntry).where(AuditEntry.action == "camera_update")).all()[-1]
        assert change.detail == {"read_plates": False}
