"""Helpers for the indexing-job tests: a site and camera, segments made from real clips, events read back."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av

from detection.models import Job
from footage.db import session_scope
from footage.models import Camera, Segment, Site

T0 = datetime(2024, 11, 7, 5, 0, 0, tzinfo=UTC)


def make_camera(camera_id: str = "north-gate", site: str = "Palm Court", zones: dict | None = None) -> str:
    """Create a site (if needed) and a camera in the configured database."""
    from sqlalchemy import select

    with session_scope() as session:
        row = session.scalar(select(Site).where(Site.name == site))
        if row is None:
            row = Site(name=site)
            session.add(row)
            session.flush()
        session.add(Camera(id=camera_id, site_id=row.id, gate="north", timezone="Asia/Singapore", zones=zones or {}))
    return camera_id


def cut_clip(source: Path, dest: Path, start_s: float, length_s: float) -> Path:
    """A piece of a real clip (stream copy, from the keyframe at or before start_s), with the bundled FFmpeg."""
    import imageio_ffmpeg

    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-ss", f"{start_s}", "-i", str(source),
         "-t", f"{length_s}", "-c", "copy", "-an", "-movflags", "+faststart", str(dest)],
        check=True,
    )
    return dest


def add_segment(home: Path, camera_id: str, source: Path, start: datetime = T0) -> int:
    """Copy a file into the store and catalogue it as a segment of ``camera_id`` (what import does), return its id.

    A file that cannot be probed (a corrupt one) is still catalogued with guessed figures, so the tests can
    watch indexing fail on it.
    """
    data = source.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if len(data) == 0:
        sha = uuid.uuid4().hex * 2
    relative = Path("store") / camera_id / f"{sha[:16]}{source.suffix}"
    (home / relative).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, home / relative)
    try:
        with av.open(str(source)) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate or 0) or 25.0
            duration = float(stream.duration * stream.time_base) if stream.duration else float(
                container.duration or 0) / 1e6
            codec, width, height = stream.codec_context.name, stream.width, stream.height
    except (av.FFmpegError, IndexError):
        fps, duration, codec, width, height = 25.0, 10.0, "h264", 640, 360
    with session_scope() as session:
        segment = Segment(
            camera_id=camera_id, path=str(relative), original_name=source.name, sha256=sha, size_bytes=len(data),
            start=start, end=start + timedelta(seconds=duration), start_source="stated", fps=fps, codec=codec,
            width=width, height=height,
        )
        session.add(segment)
        session.flush()
        return segment.id


def event_tuples(segment_id: int) -> list[tuple]:
    """The segment's events as comparable tuples (times to the millisecond), in a stable order."""
    from sqlalchemy import select

    from detection.models import Event, EventThumbnail

    with session_scope() as session:
        rows = session.execute(
            select(Event, EventThumbnail.jpeg).outerjoin(EventThumbnail, EventThumbnail.event_id == Event.id)
            .where(Event.segment_id == segment_id)
        ).all()
        out = [
            (event.label, event.start.isoformat(timespec="milliseconds"), event.end.isoformat(timespec="milliseconds"),
             round(event.score, 4), tuple(event.zones), round(event.dwell_s, 2), event.stationary, event.colour,
             hashlib.sha256(jpeg).hexdigest()[:12] if jpeg else None)
            for event, jpeg in rows
        ]
    return sorted(out)


_detector: list[object] = []


def shared_detector() -> object:
    """The real detector, loaded once per test process (loading costs seconds)."""
    if not _detector:
        from detection.detector import Detector

        _detector.append(Detector.load())
    return _detector[0]


def corrupt_copy(source: Path, dest: Path, keep_bytes: int = 4096) -> Path:
    """A file that starts like ``source`` and then breaks off: what a failing disk or a cut transfer leaves."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    data = source.read_bytes()
    dest.write_bytes(data[:keep_bytes] + bytes(range(256)) * 64)
    return dest


def run_all(worker: str = "test-worker", **kwargs: object) -> list:
    """Claim and run jobs in this process until none is left to claim; return the outcomes in order."""
    from detection.indexing import run_job
    from detection.jobs import claim_job

    outcomes = []
    while True:
        with session_scope() as session:
            claimed = claim_job(session, worker, lease_s=60)
        if claimed is None:
            return outcomes
        outcomes.append(run_job(claimed, worker, detector=shared_detector(), **kwargs))  # type: ignore[arg-type]


def wait_for(condition: Callable[[], object], timeout_s: float, what: str, step_s: float = 0.1) -> object:
    """Poll until ``condition()`` is truthy and return its value; fail the test naming ``what`` on time-out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def load_job(job_id: int) -> Job:
    with session_scope() as session:
        return session.get(Job, job_id)
