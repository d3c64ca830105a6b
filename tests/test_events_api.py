"""The events and clips HTTP API: results, pagination, summary, access, 422s, clips with Range, audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import bearer, make_user
from sqlalchemy import select
from support_events import World, build_world

from api.models import AuditEntry
from footage.db import session_scope

MORNING = {"camera": "north", "from": "2024-11-07T05:00:00", "to": "2024-11-07T05:01:00"}


@pytest.fixture
def world(gw_home: Path, footage_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(footage_dir, tmp_path_factory.getbasetemp() / "halves")


@pytest.fixture
def officer(world: World) -> dict[str, str]:
    return bearer(make_user("officer", "officer-all"))


def audit_actions() -> list[tuple[str, str | None, dict]]:
    with session_scope() as session:
        return [(a.action, a.object, a.detail) for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_search_results_carry_offsets_urls_and_are_audited(client, world: World, officer) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/events", params={**MORNING, "label": "vehicle"}, headers=officer)
    assert response.status_code == 200, response.text
    body = response.json()
    events = body["events"]
    assert [e["label"] for e in events] == ["truck", "car", "truck"] and body["next_cursor"] is None
    car = events[1]
    assert car["id"] == world.events["barrier_car"]
    assert car["start"] == "2024-11-07T05:00:03+08:00" and car["end"] == "2024-11-07T05:00:11+08:00"
    assert car["site"] == "Green Park" and car["gate"] == "North gate" and car["zones"] == ["barrier"]
    assert car["dwell_s"] == 40.0 and car["dwell_zone"] == "barrier" and car["colour"] == "white"
    assert car["thumbnail_url"] == f"/api/v1/events/{car['id']}/thumbnail.jpg"
    assert car["clip_url"] == f"/api/v1/events/{car['id']}/clip.mp4"
    action, obj, detail = audit_actions()[-1]
    assert action == "search" and obj == "events"
    assert detail["camera"] == ["north"] and detail["label"] == ["vehicle"] and detail["results"] == 3
    assert detail["from"] == "2024-11-06T21:00:00+00:00"


def test_repeated_filters_and_pages(client, world: World, officer) -> None:  # type: ignore[no-untyped-def]
    params = [("camera", "north"), ("camera", "south"), ("from", "2024-11-07T05:00:00"),
              ("to", "2024-11-07T05:01:00"), ("limit", "2"), ("sort", "-time")]
    seen: list[int] = []
    cursor = None
    while True:
        response = client.get("/api/v1/events", params=params + ([("cursor", cursor)] if cursor else []),
                              headers=officer)
        assert response.status_code == 200, response.text
        seen.extend(e["id"] for e in response.json()["events"])
        cursor = response.json()["next_cursor"]
        if not cursor:
            break
    e = world.events
    assert seen == [e["north_person"], e["north_truck"], e["south_bus"], e["barrier_car"], e["early_van"]]


def test_summary_counts_per_camera_per_bucket(client, world: World, officer) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/events/summary", headers=officer, params={
        "site": "Green Park", "from": "2024-11-05T00:00:00", "to": "2024-11-08T00:00:00", "bucket": 3600})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bucket_s"] == 3600 and body["from"] == "2024-11-05T00:00:00+08:00"
    cameras = {c["camera"]: c["counts"] for c in body["cameras"]}
    assert cameras["south"] == [{"start": "2024-11-07T05:00:00+08:00", "count": 1}]
    assert cameras["north"] == [
        {"start": "2024-11-05T12:00:00+08:00", "count": 1},
        {"start": "2024-11-05T23:00:00+08:00", "count": 1},
        {"start": "2024-11-07T04:00:00+08:00", "count": 1},
        {"start": "2024-11-07T05:00:00+08:00", "count": 3},
    ]


@pytest.mark.parametrize(("params", "says"), [
    ({"camera": "north", "from": "2024-11-07T06:00:00", "to": "2024-11-07T05:00:00"}, "later than"),
    ({"camera": "west", "from": "2024-11-07T05:00:00", "to": "2024-11-07T06:00:00"}, "known cameras"),
    ({"camera": "north", "from": "5 o'clock", "to": "2024-11-07T06:00:00"}, "ISO 8601"),
    ({"from": "2024-11-07T05:00:00", "to": "2024-11-07T06:00:00"}, "add an offset"),
    ({"camera": "north", "from": "2024-11-07T05:00:00", "to": "2024-11-08T06:00:00", "time_of_day": "night"},
     "HH:MM-HH:MM"),
    ({"camera": "north", "label": "ufo"}, "vehicle"),
    ({"camera": "north", "cursor": "not-a-cursor"}, "without a cursor"),
    ({"camera": "north", "sort": "colour"}, "sort"),
    ({"camera": "north", "min_score": "2"}, "min_score"),
    ({"camera": "north", "from": "0001-01-01T00:00:00+05:00", "to": "2024-11-07T06:00:00"}, "out of range"),
    ({"camera": "north", "zone": "bar\x00rier"}, "control characters"),
    # A cursor whose time has no offset (hand-made): refused, not a server error.
    ({"camera": "north", "cursor": "eyJzIjoidGltZSIsImsiOlsiMjAyNC0xMS0wN1QwNTowMDowMCIsMV19"}, "without a cursor"),
])
def test_bad_input_is_a_422_that_says_what_to_fix(client, world: World, officer, params, says) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/events", params=params, headers=officer)
    assert response.status_code == 422, response.text
    assert says in response.text


def test_who_may_search(client, world: World) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/events", params=MORNING).status_code == 401
    manager = bearer(make_user("manager", "mgr", ["Green Park"]))
    assert client.get("/api/v1/events", params=MORNING, headers=manager).status_code == 403
    river_officer = bearer(make_user("officer", "river-officer", ["River Court"]))
    assert client.get("/api/v1/events", params=MORNING, headers=river_officer).status_code == 403
    assert client.get("/api/v1/events", params={**MORNING, "camera": "nonexistent"},
                      headers=river_officer).status_code == 403
    everything = {"from": "2024-11-01T00:00:00Z", "to": "2024-11-10T00:00:00Z"}
    response = client.get("/api/v1/events", params=everything, headers=river_officer)
    assert response.status_code == 200
    assert {e["camera"] for e in response.json()["events"]} == {"river"}
    north_event = world.events["barrier_car"]
    for path in ("", "/thumbnail.jpg", "/clip.mp4"):
        assert client.get(f"/api/v1/events/{north_event}{path}", headers=river_officer).status_code == 403
    assert client.get("/api/v1/events/999999", headers=river_officer).status_code == 403
    assert client.get("/api/v1/cameras/north/clip.mp4", headers=river_officer,
                      params={"from": "2024-11-07T05:00:00", "to": "2024-11-07T05:00:10"}).status_code == 403


def test_event_view_and_thumbnail(client, world: World, officer) -> None:  # type: ignore[no-untyped-def]
    event_id = world.events["barrier_car"]
    response = client.get(f"/api/v1/events/{event_id}", headers=officer)
    assert response.status_code == 200
    assert response.json()["track"][0] == [0.0, 0.1, 0.1, 0.3, 0.3]
    assert audit_actions()[-1][:2] == ("event_view", f"event:{event_id}")
    thumb = client.get(f"/api/v1/events/{event_id}/thumbnail.jpg", headers=officer)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.content[:3] == b"\xff\xd8\xff"
    assert client.get(f"/api/v1/events/{world.events['north_truck']}/thumbnail.jpg",
                      headers=officer).status_code == 404
    assert client.get("/api/v1/events/999999", headers=officer).status_code == 404
    assert client.get(f"/api/v1/events/{2**70}/clip.mp4", headers=officer).status_code == 422


def test_event_clip_with_range_requests(client, world: World, officer) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/events/{world.events['barrier_car']}/clip.mp4"
    whole = client.get(url, params={"pre": 1, "post": 1}, headers=officer)
    assert whole.status_code == 200, whole.text
    assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"
    # Event 05:00:03-05:00:11, pre/post 1 s: the keyframe before 05:00:02 is the segment's first frame.
    assert whole.headers["x-clip-start"] == "2024-11-07T05:00:00+08:00"
    assert whole.headers["x-clip-end"].startswith("2024-11-07T05:00:12")
    data = whole.content
    assert len(data) == int(whole.headers["content-length"]) > 10_000
    part = client.get(url, params={"pre": 1, "post": 1}, headers={**officer, "Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    assert part.content == data[1000:2000]
    tail = client.get(url, params={"pre": 1, "post": 1}, headers={**officer, "Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == data[-500:]
    views = [a for a in audit_actions() if a[0] == "clip_view"]
    assert len(views) == 1 and views[0][2]["pre"] == 1.0  # the ranges a player fetches later are not new views
    download = client.get(url, params={"pre": 1, "post": 1, "download": True}, headers=officer)
    assert download.headers["content-disposition"].startswith("attachment")
    assert audit_actions()[-1][0] == "clip_download"


def test_camera_clip_and_no_footage(client, world: World, officer) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/cameras/north/clip.mp4", headers=officer,
                          params={"from": "2024-11-07T05:00:10", "to": "2024-11-07T05:00:20"})
    assert response.status_code == 200
    assert response.headers["x-clip-start"] == "2024-11-07T05:00:09.600+08:00"
    missing = client.get("/api/v1/cameras/north/clip.mp4", headers=officer,
                         params={"from": "2024-11-08T05:00:00", "to": "2024-11-08T05:00:10"})
    assert missing.status_code == 404
    body = missing.json()
    assert body["spans"][0]["start"] == "2024-11-07T05:00:00+08:00"
    assert "2024-11-07T05:00:00+08:00" in body["detail"]
    reversed_window = client.get("/api/v1/cameras/north/clip.mp4", headers=officer,
                                 params={"from": "2024-11-07T05:00:10", "to": "2024-11-07T05:00:00"})
    assert reversed_window.status_code == 422 and "later than" in reversed_window.text
    # One limit for every clip window (api.clip_service.MAX_CLIP, 3 h): 3 h passes the check (and finds no
    # footage on that day), a second more is refused before anything is looked up.
    three_hours = client.get("/api/v1/cameras/north/clip.mp4", headers=officer,
                             params={"from": "2024-11-08T05:00:00", "to": "2024-11-08T08:00:00"})
    assert three_hours.status_code == 404
    too_long = client.get("/api/v1/cameras/north/clip.mp4", headers=officer,
                          params={"from": "2024-11-08T05:00:00", "to": "2024-11-08T08:00:01"})
    assert too_long.status_code == 422 and "at most 3 hours" in too_long.text


def gatewatch(*args: str) -> str:
    """The real `gatewatch` command in a child process (the environment carries GATEWATCH_HOME)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "from api.cli.main import main; main()", *args],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_really_indexed_footage_filters_and_clips(gw_home: Path, footage_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Import and index 4 s of real street footage with the real detector, then search and clip it over HTTP.
    from fastapi.testclient import TestClient
    from support_events import split_file

    from api.app import create_app
    from footage.settings import get_settings

    # `gatewatch index` does the indexing here; the app's own worker pool would only compete for the two cores.
    monkeypatch.setenv("GATEWATCH_LOCAL_WORKERS", "0")
    get_settings.cache_clear()

    piece, _ = split_file(footage_dir / "street_topdown_traffic.mp4", 4.0, tmp_path)
    gatewatch("sites", "add", "Top Court")
    gatewatch("cameras", "add", "top", "--site", "Top Court", "--gate", "Main gate", "--timezone", "Asia/Shanghai",
              "--zone", "left=0,0;0.5,0;0.5,1;0,1")
    gatewatch("import", str(piece), "--camera", "top", "--start", "2024-11-07T05:00:00", "--json")
    gatewatch("index", "--camera", "top", "--workers", "1", "--json")
    headers = bearer(make_user("officer", "officer-top"))
    with TestClient(create_app()) as client:
        _search_and_clip(client, headers, tmp_path)


def _search_and_clip(client, headers: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = {"camera": "top", "from": "2024-11-07T05:00:00", "to": "2024-11-07T05:01:00", "limit": 500}

    def search(**extra: object) -> list[dict]:
        response = client.get("/api/v1/events", params={**window, **extra}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["events"]

    everything = search()
    assert len(everything) >= 2, "cars drive through this street all the time"
    assert all(e["start"].startswith("2024-11-07T05:00:0") and e["start"].endswith("+08:00") for e in everything)
    # Each filter keeps exactly the events its rule keeps, on what the pipeline really produced.
    assert search(label="car") == [e for e in everything if e["label"] == "car"]
    assert search(label="vehicle") == [e for e in everything if e["label"] != "person"]
    assert search(zone="left") == [e for e in everything if "left" in e["zones"]]
    median = sorted(e["score"] for e in everything)[len(everything) // 2]
    assert search(min_score=median) == [e for e in everything if e["score"] >= median]
    later = client.get("/api/v1/events", params={**window, "from": "2024-11-07T05:00:05"}, headers=headers)
    assert later.json()["events"] == []
    first = everything[0]
    thumb = client.get(first["thumbnail_url"], headers=headers)
    assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"
    clip = client.get(first["clip_url"], params={"pre": 1, "post": 1}, headers=headers)
    assert clip.status_code == 200
    assert clip.headers["x-clip-start"] <= first["start"] and clip.headers["x-clip-end"] >= first["end"]
    out = tmp_path / "first.mp4"
    out.write_bytes(clip.content)
    import av

    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) > 10
