"""Running one claimed indexing job in a worker process: pipeline in, events out in one transaction.

The pipeline works without the database; this module reads what it needs about the segment, keeps the job's
lease alive with a heartbeat thread (which also records progress, about once a second), and when the pipeline
returns replaces the segment's events and closes the job in one transaction. Any exception fails the attempt
with its text recorded; the job is retried until it runs out of attempts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from detection.jobs import ClaimedJob, JobLost, JobTimings, complete_job, fail_attempt, heartbeat, release_job
from detection.jobs.queue import job_segment
from detection.models import Event, Job, JobStatus
from detection.records import CameraSpec, EventRecord, SegmentIndex
from footage.db import session_scope
from footage.models import Segment
from footage.settings import get_settings

if TYPE_CHECKING:  # the detector pulls in torch or OpenVINO; a job that is handed one needs only its type
    from detection.detector import Detector

MAX_ERROR_CHARS = 2000


class StopRequested(Exception):
    """The worker is shutting down; the job goes back to the queue without using an attempt."""


@dataclass
class JobOutcome:
    """How one attempt at a job ended."""

    job_id: int
    """The job's id."""
    status: str
    """done, queued (failed, will be retried), failed (out of attempts), lost (lease taken) or released."""
    events: int = 0
    """Events written (done only)."""
    duration_s: float = 0.0
    """Footage seconds indexed (done only)."""
    wall_s: float = 0.0
    """Seconds this attempt took."""
    error: str | None = None
    """What went wrong, for failed and re-queued attempts."""


@dataclass
class _SegmentWork:
    """What the pipeline and the event rows need to know about the job's segment, read once."""

    path: Path
    """The stored file."""
    camera: CameraSpec
    """The camera's zones."""
    rotation: int
    """Degrees clockwise that turn the decoded picture upright."""
    start: datetime
    """The segment's first frame, UTC."""
    camera_id: str
    """The camera's id."""
    segment_id: int
    """The segment's id."""


class Heartbeat:
    """A thread that renews the job's lease and writes its progress until stopped; notes when the job is lost."""

    def __init__(self, job_id: int, worker: str, timings: JobTimings) -> None:
        self.job_id = job_id
        self.worker = worker
        self.timings = timings
        self.progress = 0.0
        self.lost = False
        self._written = -1.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        # The lease must be renewed well before it runs out, whatever the progress rate.
        interval = max(0.05, min(self.timings.heartbeat_s, self.timings.lease_s / 3))
        while not self._stop.wait(interval):
            progress = self.progress if self.progress != self._written else None
            try:
                with session_scope() as session:
                    held = heartbeat(session, self.job_id, self.worker, progress=progress,
                                     lease_s=self.timings.lease_s)
            except Exception:
                # A database hiccup is retried on the next beat; the lease still has time left.
                continue
            if not held:
                self.lost = True
                return
            if progress is not None:
                self._written = progress


def _read_work(job_id: int) -> _SegmentWork:
    with session_scope() as session:
        _, segment, camera = job_segment(session, job_id)
        if camera is None:
            raise LookupError(f"camera {segment.camera_id} of segment {segment.id} does not exist")
        zones = {name: [(float(x), float(y)) for x, y in polygon] for name, polygon in (camera.zones or {}).items()}
        return _SegmentWork(
            path=get_settings().resolved_home / segment.path,
            camera=CameraSpec(zones=zones, read_plates=bool(camera.read_plates)),
            rotation=segment.rotation or 0,
            start=segment.start,
            camera_id=segment.camera_id,
            segment_id=segment.id,
        )


def event_rows(work: _SegmentWork, records: list[EventRecord]) -> tuple[list[Event], list[bytes | None]]:
    """Database rows (and their thumbnails) for the pipeline's records, in wall-clock time; each row's plate crop
    rides on it as ``plate_crop_jpeg`` (not a column) for ``complete_job``."""
    events: list[Event] = []
    thumbnails: list[bytes | None] = []
    for record in records:
        events.append(Event(
            camera_id=work.camera_id,
            segment_id=work.segment_id,
            label=record.label,
            start=work.start + timedelta(seconds=record.start_s),
            end=work.start + timedelta(seconds=record.end_s),
            score=float(record.score),
            zones=list(record.zones),
            dwell_s=float(record.dwell_s),
            dwell_zone=record.dwell_zone,
            stationary=bool(record.stationary),
            colour=record.colour,
            # Track times become offsets from the event's own start, so an event stands on its own.
            track=[[round(point[0] - record.start_s, 3), *(round(v, 4) for v in point[1:])]
                   for point in record.track],
            plate=record.plate,
            plate_norm=record.plate_norm,
            plate_score=record.plate_score,
        ))
        events[-1].plate_crop_jpeg = record.plate_crop_jpeg  # type: ignore[attr-defined]
        thumbnails.append(record.thumbnail_jpeg)
    return events, thumbnails


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text[:MAX_ERROR_CHARS]


def run_job(claimed: ClaimedJob, worker: str, *, detector: Detector | None = None, timings: JobTimings | None = None,
            should_stop: Callable[[], bool] | None = None,
            index: Callable[..., SegmentIndex] | None = None) -> JobOutcome:
    """Index the claimed job's segment and record the result; never raises for a bad segment.

    ``index`` is the pipeline entry point (default ``detection.pipeline.index_segment``).
    """
    timings = timings or JobTimings.from_settings()
    if index is None:
        from detection.pipeline import index_segment

        index = index_segment
    started = time.monotonic()
    job_id = claimed.job_id
    try:
        work = _read_work(job_id)
        with Heartbeat(job_id, worker, timings) as beat:

            def on_progress(fraction: float, *_: object) -> None:
                beat.progress = float(fraction)
                if beat.lost:
                    raise JobLost(f"job {job_id} was taken from this worker")
                if should_stop is not None and should_stop():
                    raise StopRequested()

            result = index(work.path, work.camera, detector=detector, rotation=work.rotation, progress=on_progress)
        events, thumbnails = event_rows(work, result.events)
        stats: dict[str, Any] = {key: float(value) for key, value in (result.stats or {}).items()
                                 if isinstance(value, int | float)}
        stats.update(duration_s=float(result.duration_s), wall_s=round(time.monotonic() - started, 3),
                     attempt=claimed.attempt)
        with session_scope() as session:
            complete_job(session, job_id, worker, events, thumbnails, stats)
        return JobOutcome(job_id, JobStatus.DONE, events=len(events), duration_s=float(result.duration_s),
                          wall_s=time.monotonic() - started)
    except JobLost as exc:
        return JobOutcome(job_id, "lost", wall_s=time.monotonic() - started, error=str(exc))
    except StopRequested:
        with session_scope() as session:
            release_job(session, job_id, worker)
        return JobOutcome(job_id, "released", wall_s=time.monotonic() - started)
    except Exception as exc:
        error = _error_text(exc)
        try:
            with session_scope() as session:
                job = fail_attempt(session, job_id, worker, error)
                status = job.status
        except JobLost:
            status = "lost"
        return JobOutcome(job_id, status, wall_s=time.monotonic() - started, error=error)


@dataclass
class RunSummary:
    """Totals over a set of jobs, for `gatewatch index --json` and the benchmark."""

    segments: int = 0
    """Jobs in the set."""
    done: int = 0
    """Jobs done."""
    failed: int = 0
    """Jobs failed for good."""
    pending: int = 0
    """Jobs still queued or running (elsewhere, when this run has stopped)."""
    events: int = 0
    """Events written by the done jobs."""
    footage_s: float = 0.0
    """Footage seconds of the done jobs."""
    footage_done_s: float = 0.0
    """Footage seconds done, counting the running jobs' progress."""
    footage_total_s: float = 0.0
    """Footage seconds of every job in the set."""
    failures: list[dict[str, Any]] = field(default_factory=list)
    """Each failed job's id, segment and error."""


def summarize(job_ids: list[int]) -> RunSummary:
    """Read the state of these jobs from the database."""
    from sqlalchemy import select

    summary = RunSummary(segments=len(job_ids))
    with session_scope() as session:
        for start in range(0, len(job_ids), 500):
            chunk = job_ids[start:start + 500]
            rows = session.execute(
                select(Job, Segment).join(Segment, Segment.id == Job.segment_id).where(Job.id.in_(chunk))
            ).all()
            for job, segment in rows:
                duration = segment.duration_s
                summary.footage_total_s += duration
                if job.status == JobStatus.DONE:
                    summary.done += 1
                    summary.events += int((job.stats or {}).get("events", 0))
                    summary.footage_s += duration
                    summary.footage_done_s += duration
                elif job.status == JobStatus.FAILED:
                    summary.failed += 1
                    summary.footage_done_s += duration
                    summary.failures.append({"job": job.id, "segment": segment.id, "camera": segment.camera_id,
                                             "file": segment.original_name, "error": job.error})
                else:
                    summary.pending += 1
                    if job.status == JobStatus.RUNNING:
                        summary.footage_done_s += duration * (job.progress or 0.0)
    return summary
