"""Indexing runs: queue the segments a run asks for, pick the engine (local worker pool or Celery), wait, sum up.

``gatewatch index`` and the service (``api.service_startup``) both start here, so which engine runs the jobs is
decided in one place: with a broker (GATEWATCH_BROKER_URL) jobs go to the Celery workers, without one a local
worker pool runs them. The progress display stays with the caller: it passes ``tick(force=False)``, called
about once a second while jobs run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from detection.settings import get_detection_settings
from footage import times
from footage.models import Camera

ENGINES = ("local", "celery")
Tick = Callable[..., None]


class IndexRunError(ValueError):
    """An indexing run that cannot start as asked, with what to change."""


class Stoppable(Protocol):
    def stop(self) -> None: ...


def default_engine() -> str:
    """'celery' when a broker is configured, else 'local': the service's choice."""
    return "celery" if get_detection_settings().broker_url else "local"


def check_run(engine: str, workers: int) -> None:
    if engine not in ENGINES:
        raise IndexRunError(f"unknown engine {engine!r}; use --engine local or --engine celery")
    if engine == "celery" and not get_detection_settings().broker_url:
        raise IndexRunError("--engine celery needs a broker; set GATEWATCH_BROKER_URL=redis://HOST:6379/0 "
                            "(or use --engine local)")
    if workers < 1:
        raise IndexRunError("--workers must be 1 or more")


def _camera(session: Session, camera: str) -> Camera:
    row = session.get(Camera, camera)
    if row is None:
        raise IndexRunError(f"no camera {camera!r}; list cameras with 'gatewatch cameras list'")
    return row


def run_window(session: Session, camera: str | None, since: str | None, until: str | None
               ) -> tuple[datetime | None, datetime | None]:
    """--since/--until as UTC; a time without an offset is read in the camera's (or every camera's) time zone."""
    if since is None and until is None:
        return None, None
    if camera is not None:
        zones = {_camera(session, camera).timezone}
    else:
        zones = set(session.scalars(select(Camera.timezone).distinct())) or {"UTC"}
    # has_offset is None for text that is not ISO 8601: parse_time below says what is wrong with it.
    needs_zone = any(text is not None and times.has_offset(text) is False for text in (since, until))
    if needs_zone and len(zones) > 1:
        raise IndexRunError("the cameras are in different time zones; give --since/--until with an offset, e.g. "
                            f"{times.EXAMPLE}, or pick one --camera")
    zone = next(iter(zones))
    try:
        return (times.parse_time(since, zone, "--since") if since else None,
                times.parse_time(until, zone, "--until") if until else None)
    except times.BadTime as exc:
        raise IndexRunError(str(exc)) from exc


def queue_run(session: Session, *, camera: str | None, since: str | None, until: str | None, reindex: bool,
              engine: str, pending: bool) -> list[int]:
    """Queue what the run asks for; the ids of the jobs it covers (``pending``: every queued job too)."""
    from detection.jobs import queue_for_run

    start_utc, end_utc = run_window(session, camera, since, until)
    if camera is not None:
        _camera(session, camera)
    return queue_for_run(session, camera=camera, since=start_utc, until=end_utc, reindex=reindex,
                         engine=engine, include_queued=pending)


def wait_for(job_ids: list[int], tick: Tick, *, celery: bool) -> None:
    """Watch the database until none of these jobs is queued or running; Celery runs re-send lost tasks."""
    from detection.indexing import summarize
    from detection.jobs import JobTimings, requeue_expired
    from detection.jobs.requeue import requeue_step
    from footage.db import session_scope

    timings = JobTimings.from_settings()
    last_requeue = time.monotonic()
    while summarize(job_ids).pending:
        tick()
        if time.monotonic() - last_requeue >= min(timings.requeue_interval_s, timings.lease_s):
            last_requeue = time.monotonic()
            if celery:
                requeue_step()
            else:
                with session_scope() as session:
                    requeue_expired(session)
        time.sleep(0.5)


def run_jobs(job_ids: list[int], *, engine: str, workers: int, pending: bool, tick: Tick) -> None:
    """Run (local) or dispatch (celery) these jobs and wait until each is done or failed.

    Raises ``detection.jobs.worker_pool.PoolError`` when the local pool cannot run.
    """
    if not job_ids:
        return
    if engine == "local":
        from detection.jobs.worker_pool import WorkerPool

        WorkerPool(workers, job_ids=None if pending else job_ids, exit_when_idle=True).run(on_tick=tick)
        if not pending:
            # Jobs of this selection that another run holds: wait for them, so the summary is complete.
            wait_for(job_ids, tick, celery=False)
    else:
        from detection.jobs.requeue import requeue_step

        requeue_step()
        wait_for(job_ids, tick, celery=True)


def run_summary(job_ids: list[int], *, engine: str, workers: int, wall_s: float) -> dict[str, Any]:
    """What `gatewatch index --json` prints about a finished run."""
    from detection.indexing import summarize

    summary = summarize(job_ids)
    out = asdict(summary)
    out.pop("footage_done_s")
    out.update(engine=engine, workers=workers if engine == "local" else None, wall_s=round(wall_s, 3),
               footage_s=round(summary.footage_s, 3), footage_total_s=round(summary.footage_total_s, 3),
               speed=round(summary.footage_s / wall_s, 2) if wall_s > 0 else None,
               running_elsewhere=summary.pending)
    del out["pending"]
    return out


def start_service_engine() -> tuple[str, Stoppable] | None:
    """The service's indexing engine, started: ("dispatcher", requeue loop) with a broker, ("worker_pool", pool)
    without one, None when local workers are off (GATEWATCH_LOCAL_WORKERS=0)."""
    settings = get_detection_settings()
    if default_engine() == "celery":
        from detection.jobs.requeue import SERVICE_INTERVAL_S, RequeueLoop

        loop = RequeueLoop(SERVICE_INTERVAL_S)
        loop.start()
        return "dispatcher", loop
    if settings.local_workers > 0:
        from detection.jobs.worker_pool import WorkerPool

        pool = WorkerPool(settings.local_workers)
        pool.start_background()
        return "worker_pool", pool
    return None

