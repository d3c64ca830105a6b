"""Helpers for the auth, audit, case and evidence tests: a site with a camera, a real stored segment, events."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import imageio_ffmpeg

from detection.models import Event, EventThumbnail
from footage.db import session_scope
from footage.models import Camera, Segment, Site
from footage.settings import get_settings

# 05:00 at the gate, Singapore time (UTC+8): the seed case's morning.
SEGMENT_START = datetime(2024, 11, 6, 21, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Scene:
    """A site, its camera, one stored segment and two events on it."""

    site: str
    """Site name."""
    camera: str
    """Camera id."""
    segment_id: int
    """The stored segment."""
    event_ids: list[int]
    """Events on the segment (the first has a thumbnail)."""
    segment_start: datetime
    """Wall-clock start of the segment (UTC)."""


def short_clip(source: Path, out: Path, seconds: float = 6.0) -> Path:
    """The first ``seconds`` of a real video, stream-copied with the imageio-ffmpeg binary."""
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(source), "-t", str(seconds), "-c", "copy",
         "-movflags", "+faststart", str(out)],
        check=True,
    )
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def store_segment(footage_file: Path, camera_id: str, start: datetime) -> int:
    """Copy a real video into the store and catalogue it as a segment of ``camera_id`` starting at ``start``."""
    home = get_settings().resolved_home
    digest = _sha256(footage_file)
    target = home / "store" / digest[:2] / f"{digest}{footage_file.suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(footage_file, target)
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        duration = float(stream.duration * stream.time_base) if stream.duration else container.duration / 1e6
        fps = float(stream.average_rate or 0)
        codec, width, height = stream.codec_context.name, stream.codec_context.width, stream.codec_context.height
    with session_scope() as session:
        segment = Segment(
            camera_id=camera_id, path=target.relative_to(home).as_posix(), original_name=footage_file.name,
            sha256=digest, size_bytes=target.stat().st_size, start=start, end=start + timedelta(seconds=duration),
            start_source="stated", fps=fps, codec=codec, width=width, height=height,
        )
        session.add(segment)
        session.flush()
        return segment.id


def make_scene(footage_file: Path, site: str = "Palm Grove", camera: str = "palm-north",
               timezone: str = "Asia/Singapore", start: datetime = SEGMENT_START) -> Scene:
    """A site with one camera, the given real video stored as its segment, and two events on it."""
    with session_scope() as session:
        site_row = Site(name=site)
        session.add(site_row)
        session.flush()
        session.add(Camera(id=camera, site_id=site_row.id, gate="north gate", timezone=timezone, zones={}))
    segment_id = store_segment(footage_file, camera, start)
    with session_scope() as session:
        events = [
            Event(camera_id=camera, segment_id=segment_id, label="car", start=start + timedelta(seconds=1),
                  end=start + timedelta(seconds=3), score=0.9, zones=[], colour="white", track=[]),
            Event(camera_id=camera, segment_id=segment_id, label="person", start=start + timedelta(seconds=2),
                  end=start + timedelta(seconds=4), score=0.8, zones=[], track=[]),
        ]
        session.add_all(events)
        session.flush()
        session.add(EventThumbnail(event_id=events[0].id, jpeg=_tiny_jpeg(footage_file)))
        event_ids = [event.id for event in events]
    return Scene(site=site, camera=camera, segment_id=segment_id, event_ids=event_ids, segment_start=start)


def _tiny_jpeg(footage_file: Path) -> bytes:
    """A real JPEG: the video's first frame, shrunk."""
    with av.open(str(footage_file)) as container:
        frame = next(container.decode(video=0))
        image = frame.to_image()
    image.thumbnail((96, 96))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()
