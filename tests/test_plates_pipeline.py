"""Plates through the real pipeline, on short clips made from two of the shared plate stills: indexing reads the
plate, search finds it (fuzzy, ranked, audited), the crop is served and audited, a camera with plates off reads
none, and the backfill reads plates for events indexed before, from the stored footage, without re-detecting."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api.models import AuditEntry
from detection.jobs import queue_segments
from detection.models import Event, EventPlateCrop, Job, JobStatus
from footage.db import session_scope
from footage.models import Camera, Segment, SegmentStatus
from tests.conftest import bearer, make_user
from tests.support_jobs import T0, add_segment, make_camera, run_all

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from plate_clips import MATERIAL, make_clip

STILLS = {"szad670401_A.jpg": ("浙F·EQ635", "浙FEQ635"), "detectRecog_3.jpg": ("皖A·MK620", "皖AMK620")}


@pytest.fixture(scope="session")
def plate_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three-second clips with slight motion, made once per test session from the stills."""
    if not MATERIAL.is_dir():
        pytest.fail(f"plate material not found at {MATERIAL}")
    folder = tmp_path_factory.mktemp("plate-clips")
    return {name: make_clip(MATERIAL / name, folder / f"{Path(name).stem}.mp4") for name in STILLS}


def _index(home: Path, camera: str, clip: Path, *, plates: bool = True) -> int:
    make_camera(camera)
    if not plates:
        with session_scope() as session:
            session.get(Camera, camera).read_plates = False
    segment_id = add_segment(home, camera, clip, T0)
    with session_scope() as session:
        queue_segments(session, [segment_id])
    [outcome] = run_all()
    assert outcome.status == JobStatus.DONE, outcome.error
    return segment_id


def _vehicle_events(segment_id: int) -> list[Event]:
    with session_scope() as session:
        events = list(session.scalars(select(Event).where(Event.segment_id == segment_id).order_by(Event.id)))
        session.expunge_all()
    return [e for e in events if e.label in {"car", "truck", "bus", "motorcycle"}]


def _audit() -> list[tuple[str, str | None, dict]]:
    with session_scope() as session:
        return [(a.action, a.object, a.detail) for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


@pytest.mark.slow
def test_indexing_reads_the_plate_and_the_api_finds_it(gw_home: Path, plate_clips: dict[str, Path], client) -> None:  # type: ignore[no-untyped-def]
    segment_id = _index(gw_home, "toll-gate", plate_clips["szad670401_A.jpg"])
    read = [e for e in _vehicle_events(segment_id) if e.plate]
    assert read, "no vehicle event got a plate"
    assert read[0].plate == "浙F·EQ635" and read[0].plate_norm == "浙FEQ635" and 0.5 < read[0].plate_score <= 1.0
    with session_scope() as session:
        assert session.get(EventPlateCrop, read[0].id).jpeg[:2] == b"\xff\xd8"

    officer = bearer(make_user("officer", "plate-officer"))
    # Letters and digits only, lower case, a separator: the province is optional.
    found = client.get("/api/v1/events", params={"plate": "feq-635"}, headers=officer)
    assert found.status_code == 200, found.text
    events = found.json()["events"]
    assert [e["id"] for e in events][:1] == [read[0].id]
    assert events[0]["plate"] == "浙F·EQ635" and events[0]["plate_crop_url"].endswith(f"/events/{read[0].id}/plate.jpg")
    action, obj, detail = _audit()[-1]
    assert (action, obj) == ("search", "events") and detail["plate"] == "feq-635" and detail["results"] == len(events)

    # One wrong character in a query of five or more still finds it; ? stands for one unknown character.
    assert read[0].id in [e["id"] for e in client.get("/api/v1/events", params={"plate": "FEQ636"},
                                                          headers=officer).json()["events"]]
    assert read[0].id in [e["id"] for e in client.get("/api/v1/events", params={"plate": "浙F?Q635"},
                                                          headers=officer).json()["events"]]
    # Plates not in the footage find nothing.
    for absent in ("京A88888", "FXX999", "EQ63"):
        assert client.get("/api/v1/events", params={"plate": absent}, headers=officer).json()["events"] == []
    assert client.get("/api/v1/events", params={"plate": "·-·"}, headers=officer).status_code == 422

    crop = client.get(f"/api/v1/events/{read[0].id}/plate.jpg", headers=officer)
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg"
    assert _audit()[-1][:2] == ("plate_view", f"event:{read[0].id}")
    # The evidence manifest lists each item's plate read with its score.
    created = client.post("/api/v1/cases", headers=officer, json={"name": "Toll barrier", "events": [read[0].id]})
    assert created.status_code == 201, created.text
    exported = client.post(f"/api/v1/cases/{created.json()['id']}/export", headers=officer, json={"pre": 0, "post": 0})
    assert exported.status_code == 200, exported.text
    with zipfile.ZipFile(io.BytesIO(exported.content)) as package:
        manifest = json.loads(package.read("manifest.json"))
    listed = {e["id"]: e for clip in manifest["clips"] for e in clip["events"]}
    assert listed[read[0].id]["plate"] == "浙F·EQ635"
    assert listed[read[0].id]["plate_score"] == pytest.approx(read[0].plate_score, abs=1e-4)

    # Scoped like every event read: a site's manager has no event search, so no plate crops either.
    manager = bearer(make_user("manager", "plate-manager", sites=["Palm Court"]))
    assert client.get(f"/api/v1/events/{read[0].id}/plate.jpg", headers=manager).status_code == 403


@pytest.mark.slow
def test_a_camera_with_plates_off_reads_none_and_the_backfill_reads_them_later(
        gw_home: Path, plate_clips: dict[str, Path], client) -> None:  # type: ignore[no-untyped-def]
    from api.cli.main import app as cli_app

    segment_id = _index(gw_home, "car-park", plate_clips["detectRecog_3.jpg"], plates=False)
    before = _vehicle_events(segment_id)
    assert before and all(e.plate is None and e.plate_norm is None for e in before)
    with session_scope() as session:
        assert session.scalars(select(EventPlateCrop)).first() is None

    runner = CliRunner()
    refused = runner.invoke(cli_app, ["plates", "--camera", "car-park", "--json"])
    assert refused.exit_code != 0 and "plates on" in refused.output
    admin = bearer(make_user("admin", "plate-admin"))
    turned = client.patch("/api/v1/cameras/car-park", json={"read_plates": True}, headers=admin)
    assert turned.status_code == 200 and turned.json()["read_plates"] is True

    result = runner.invoke(cli_app, ["plates", "--camera", "car-park", "--since", "2024-11-07T00:00:00+00:00",
                                     "--json"])
    assert result.exit_code == 0, result.output
    assert '"plates_read": 1' in result.output and '"done": 1' in result.output
    after = _vehicle_events(segment_id)
    # The same events (nothing detected again), now with the plate.
    assert [e.id for e in after] == [e.id for e in before]
    assert [e.plate for e in after if e.plate] == ["皖A·MK620"]
    with session_scope() as session:
        job = session.scalar(select(Job).where(Job.kind == "plates"))
        assert job.status == JobStatus.DONE and job.stats["plates_read"] == 1 and job.stats["plate_s"] > 0
        assert session.get(Segment, segment_id).status == SegmentStatus.INDEXED
    # Nothing left to read: a second run queues nothing.
    again = runner.invoke(cli_app, ["plates", "--camera", "car-park", "--json"])
    assert again.exit_code == 0 and '"segments": 0' in again.output

    officer = bearer(make_user("officer", "lot-officer"))
    hits = client.get("/api/v1/events", params={"plate": "AMK620"}, headers=officer).json()["events"]
    assert [e["plate"] for e in hits] == ["皖A·MK620"]
