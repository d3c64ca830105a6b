"""Helpers for the search and clip tests: cameras in two time zones, real segments in the store, events on them."""

from __future__ import annotations

import hashlib
import io
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import ffmpeg

from detection.models import Event, EventThumbnail
from footage.clips import ffmpeg_exe
from footage.db import session_scope
from footage.models import Camera, Segment, SegmentStatus, Site
from footage.settings import get_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
PARKING = "parking_aisle_car_detection.mp4"
# The parking-aisle clip has keyframes every 4.8 s; cut at one so both halves are whole GOPs.
SPLIT_AT_S = 14.4


def local(year: int, month: int, day: int, hour: int, minute: int = 0, second: float = 0.0,
          zone: ZoneInfo = SHANGHAI) -> datetime:
    whole = int(second)
    return datetime(year, month, day, hour, minute, whole, round((second - whole) * 1e6), tzinfo=zone)


def split_file(source: Path, at_s: float, out_dir: Path) -> tuple[Path, Path]:
    """Two halves of a real recording, cut by stream copy at a keyframe (as an NVR splits its files)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    first, second = out_dir / f"a_{source.name}", out_dir / f"b_{source.name}"
    if not first.exists():
        ffmpeg.input(str(source)).output(str(first), t=at_s, c="copy").run(cmd=ffmpeg_exe(), quiet=True,
                                                                           overwrite_output=True)
    if not second.exists():
        ffmpeg.input(str(source), ss=at_s).output(str(second), c="copy").run(cmd=ffmpeg_exe(), quiet=True,
                                                                             overwrite_output=True)
    return first, second


def probe_video(path: Path) -> tuple[float, float, int, int, str]:
    """(duration s, fps, width, height, codec) of a file's first video stream."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        duration = float(stream.duration * stream.time_base) if stream.duration else container.duration / 1e6
        return duration, float(stream.average_rate or 0), stream.width, stream.height, stream.codec_context.name


def add_site_camera(session, camera_id: str, site_name: str, gate: str, timezone: str,  # type: ignore[no-untyped-def]
                    zones: dict[str, list[list[float]]] | None = None) -> Camera:
    from sqlalchemy import select

    site = session.scalar(select(Site).where(Site.name == site_name))
    if site is None:
        site = Site(name=site_name)
        session.add(site)
        session.flush()
    camera = Camera(id=camera_id, site_id=site.id, gate=gate, timezone=timezone, zones=zones or {})
    session.add(camera)
    session.flush()
    return camera


def store_segment(session, camera_id: str, path: Path, start: datetime) -> Segment:  # type: ignore[no-untyped-def]
    """Copy a real file into the content-addressed store and catalogue it (what an import does)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    store = get_settings().store_dir / digest[:2]
    store.mkdir(parents=True, exist_ok=True)
    stored = store / f"{digest}{path.suffix}"
    shutil.copyfile(path, stored)
    duration, fps, width, height, codec = probe_video(path)
    segment = Segment(
        camera_id=camera_id, path=str(stored.relative_to(get_settings().resolved_home)), original_name=path.name,
        sha256=digest, size_bytes=stored.stat().st_size, start=start.astimezone(UTC),
        end=start.astimezone(UTC) + timedelta(seconds=duration), start_source="stated", fps=fps, codec=codec,
        width=width, height=height, status=SegmentStatus.INDEXED,
    )
    session.add(segment)
    session.flush()
    return segment


def add_event(session, camera_id: str, segment_id: int, label: str, start: datetime,  # type: ignore[no-untyped-def]
              seconds: float = 10.0, *, score: float = 0.8, zones: list[str] | None = None, dwell_s: float = 0.0,
              dwell_zone: str | None = None, stationary: bool = False, colour: str | None = None,
              thumbnail: bytes | None = None) -> int:
    event = Event(
        camera_id=camera_id, segment_id=segment_id, label=label, start=start.astimezone(UTC),
        end=start.astimezone(UTC) + timedelta(seconds=seconds), score=score, zones=zones or [], dwell_s=dwell_s,
        dwell_zone=dwell_zone, stationary=stationary, colour=colour,
        track=[[0.0, 0.1, 0.1, 0.3, 0.3], [seconds, 0.5, 0.5, 0.7, 0.7]],
    )
    session.add(event)
    session.flush()
    if thumbnail is not None:
        session.add(EventThumbnail(event_id=event.id, jpeg=thumbnail))
    return event.id


@dataclass
class World:
    """Two sites, three cameras in two time zones, real segments and named events."""

    events: dict[str, int] = field(default_factory=dict)
    """Event ids by a name that says what each is for."""
    segments: dict[str, int] = field(default_factory=dict)
    """Segment ids: north_a and north_b (the halves of the parking clip, back to back), south, river."""
    segment_start: datetime = field(default_factory=lambda: local(2024, 11, 7, 5, 0))
    """Where the north camera's footage starts (05:00 in Shanghai)."""
    halves: tuple[Path, Path] | None = None
    """The two files behind north_a and north_b."""


def build_world(footage_dir: Path, work: Path) -> World:
    """The search tests' data: every filter has an event it must keep and one it must drop."""
    world = World()
    a, b = split_file(footage_dir / PARKING, SPLIT_AT_S, work)
    world.halves = (a, b)
    thumb = _jpeg(footage_dir / PARKING)
    with session_scope() as s:
        add_site_camera(s, "north", "Green Park", "North gate", "Asia/Shanghai",
                        {"barrier": [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]})
        add_site_camera(s, "south", "Green Park", "South gate", "Asia/Shanghai")
        add_site_camera(s, "river", "River Court", "Main gate", "America/New_York")
        start_a = world.segment_start
        seg_a = store_segment(s, "north", a, start_a)
        seg_b = store_segment(s, "north", b, seg_a.end)
        seg_s = store_segment(s, "south", footage_dir / "street_topdown_traffic.mp4", local(2024, 11, 7, 5, 0))
        seg_r = store_segment(s, "river", footage_dir / "people_one_by_one.mp4",
                              local(2024, 11, 6, 23, 0, zone=NEW_YORK))
        world.segments = {"north_a": seg_a.id, "north_b": seg_b.id, "south": seg_s.id, "river": seg_r.id}
        e = world.events
        # The seed case: a white car stopped at the barrier for 40 s at 05:00 at the north gate.
        e["barrier_car"] = add_event(s, "north", seg_a.id, "car", start_a + timedelta(seconds=3), 8.0, score=0.91,
                                     zones=["barrier"], dwell_s=40.0, dwell_zone="barrier", colour="white",
                                     thumbnail=thumb)
        e["north_truck"] = add_event(s, "north", seg_b.id, "truck", start_a + timedelta(seconds=20), 6.0,
                                     score=0.55, colour="red")
        e["north_person"] = add_event(s, "north", seg_b.id, "person", start_a + timedelta(seconds=22), 5.0,
                                      score=0.74)
        e["parked_car"] = add_event(s, "north", seg_a.id, "car", local(2024, 11, 7, 4, 0), 3600.0, score=0.7,
                                    stationary=True, colour="black", dwell_s=3600.0)
        # Began before 05:00 and still there after: a window from 05:00 must find it.
        e["early_van"] = add_event(s, "north", seg_a.id, "truck", local(2024, 11, 7, 4, 59, 50), 30.0, score=0.62,
                                   colour="grey")
        e["south_bus"] = add_event(s, "south", seg_s.id, "bus", local(2024, 11, 7, 5, 0, 4), 5.0, score=0.66,
                                   colour="blue")
        e["north_night"] = add_event(s, "north", seg_a.id, "car", local(2024, 11, 5, 23, 30), 12.0, score=0.8,
                                     colour="white")
        e["north_noon"] = add_event(s, "north", seg_a.id, "car", local(2024, 11, 5, 12, 0), 12.0, score=0.8,
                                    colour="white")
        # 23:00 in New York is noon in Shanghai; 14:00 in New York is 03:00 in Shanghai.
        e["river_night"] = add_event(s, "river", seg_r.id, "motorcycle", local(2024, 11, 6, 23, 0, zone=NEW_YORK),
                                     4.0, score=0.6)
        e["river_day"] = add_event(s, "river", seg_r.id, "bicycle", local(2024, 11, 6, 14, 0, zone=NEW_YORK),
                                   4.0, score=0.6)
    return world


def _jpeg(video: Path) -> bytes:
    with av.open(str(video)) as container:
        frame = next(container.decode(video=0))
        buffer = io.BytesIO()
        frame.to_image().save(buffer, format="JPEG")
        return buffer.getvalue()
