"""`gatewatch` commands: index (queue and run indexing jobs), jobs (their state), worker (a Celery worker)."""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from datetime import datetime
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from api.cli.common import console, database, fail, print_json

ENGINES = ("local", "celery")


def _parse_window(session: Any, camera: str | None, since: str | None, until: str | None
                  ) -> tuple[datetime | None, datetime | None]:
    """--since/--until as UTC; a time without an offset is read in the camera's (or every camera's) time zone."""
    from footage.catalogue import CatalogueError, parse_time
    from footage.models import Camera
    from footage.times import has_offset

    if since is None and until is None:
        return None, None
    if camera is not None:
        row = session.get(Camera, camera)
        if row is None:
            fail(f"no camera {camera!r}; list cameras with 'gatewatch cameras list'")
        zones = {row.timezone}
    else:
        zones = set(session.scalars(select(Camera.timezone).distinct())) or {"UTC"}
    needs_zone = any(text is not None and has_offset(text) is False for text in (since, until))
    if needs_zone and len(zones) > 1:
        fail("the cameras are in different time zones; give --since/--until with an offset, e.g. "
             "2024-11-07T05:00:00+08:00, or pick one --camera")
    zone = next(iter(zones))
    try:
        return (parse_time(since, zone, "--since") if since else None,
                parse_time(until, zone, "--until") if until else None)
    except CatalogueError as exc:
        fail(str(exc))


def _hms(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


# How often a plain progress line is printed when the output is not a terminal.
PLAIN_PROGRESS_EVERY_S = 5.0


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]indexing[/]"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} segments"),
        TextColumn("{task.fields[hours]}"),
        TextColumn("{task.fields[speed]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def run_index(*, camera: str | None, since: str | None, until: str | None, workers: int, reindex: bool,
              pending: bool, engine: str, show_progress: bool, plain_progress: bool = False) -> dict[str, Any]:
    """Queue and run an indexing run; returns the summary `--json` prints.

    ``plain_progress`` prints a plain line every few seconds instead of the bar, for output going to a log.
    """
    from detection.indexing import summarize
    from detection.jobs import queue_for_run
    from detection.settings import get_detection_settings

    settings = get_detection_settings()
    if engine not in ENGINES:
        fail(f"unknown engine {engine!r}; use --engine local or --engine celery")
    if engine == "celery" and not settings.broker_url:
        fail("--engine celery needs a broker; set GATEWATCH_BROKER_URL=redis://HOST:6379/0 (or use --engine local)")
    if workers < 1:
        fail("--workers must be 1 or more")
    with database() as session:
        start_utc, end_utc = _parse_window(session, camera, since, until)
        if camera is not None:
            from footage.models import Camera

            if session.get(Camera, camera) is None:
                fail(f"no camera {camera!r}; list cameras with 'gatewatch cameras list'")
        job_ids = queue_for_run(session, camera=camera, since=start_utc, until=end_utc, reindex=reindex,
                                engine=engine, include_queued=pending)
    started = time.monotonic()
    progress = _progress() if show_progress and job_ids else None
    task = None
    last_tick = [0.0]

    plain = plain_progress and progress is None and bool(job_ids)

    def tick(force: bool = False) -> None:
        every_s = PLAIN_PROGRESS_EVERY_S if plain else 1.0
        if (progress is None and not plain) or (not force and time.monotonic() - last_tick[0] < every_s):
            return
        last_tick[0] = time.monotonic()
        summary = summarize(job_ids)
        wall = max(1e-6, time.monotonic() - started)
        if plain:
            # A log has no bar to redraw: one line per tick, flushed, so `tail -f` shows it at once.
            print(f"indexing: {summary.done + summary.failed}/{len(job_ids)} segments, "
                  f"{_hms(summary.footage_done_s)}/{_hms(summary.footage_total_s)} footage, "
                  f"{summary.footage_done_s / wall:.1f}x real time", flush=True)
            return
        if progress is None:
            return
        progress.update(
            task, completed=summary.done + summary.failed,  # type: ignore[arg-type]
            hours=f"{_hms(summary.footage_done_s)}/{_hms(summary.footage_total_s)} footage",
            speed=f"{summary.footage_done_s / wall:.1f}x real time",
        )

    if progress is not None:
        progress.start()
        task = progress.add_task("index", total=len(job_ids), hours="", speed="")
    try:
        if job_ids and engine == "local":
            from detection.jobs.worker_pool import PoolError, WorkerPool

            pool = WorkerPool(workers, job_ids=None if pending else job_ids, exit_when_idle=True)
            try:
                pool.run(on_tick=tick)
            except PoolError as exc:
                fail(str(exc))
            if not pending:
                # Jobs of this selection that another run holds: wait for them, so the summary is complete.
                _wait_for(job_ids, tick, celery=False)
        elif job_ids:
            from detection.jobs.requeue import requeue_step

            requeue_step()
            _wait_for(job_ids, tick, celery=True)
        tick(force=True)
    finally:
        if progress is not None:
            progress.stop()
    wall_s = time.monotonic() - started
    summary = summarize(job_ids)
    out = asdict(summary)
    out.pop("footage_done_s")
    out.update(engine=engine, workers=workers if engine == "local" else None, wall_s=round(wall_s, 3),
               footage_s=round(summary.footage_s, 3), footage_total_s=round(summary.footage_total_s, 3),
               speed=round(summary.footage_s / wall_s, 2) if wall_s > 0 else None,
               running_elsewhere=summary.pending)
    del out["pending"]
    return out


def _wait_for(job_ids: list[int], tick: Any, *, celery: bool) -> None:
    """Watch the database until none of these jobs is queued or running; Celery runs re-send lost tasks."""
    from detection.indexing import summarize
    from detection.jobs import JobTimings, requeue_expired
    from footage.db import session_scope

    timings = JobTimings.from_settings()
    last_requeue = time.monotonic()
    while summarize(job_ids).pending:
        tick()
        if time.monotonic() - last_requeue >= min(timings.requeue_interval_s, timings.lease_s):
            last_requeue = time.monotonic()
            if celery:
                from detection.jobs.requeue import requeue_step

                requeue_step()
            else:
                with session_scope() as session:
                    requeue_expired(session)
        time.sleep(0.5)


app = typer.Typer()


@app.command()
def index(
    camera: str | None = typer.Option(None, "--camera", help="Only this camera's segments."),
    since: str | None = typer.Option(None, help="Only segments that end after this ISO 8601 time."),
    until: str | None = typer.Option(None, help="Only segments that start before this ISO 8601 time."),
    workers: int = typer.Option(1, "--workers", "-w", help="Local worker processes (each loads the detector)."),
    reindex: bool = typer.Option(False, "--reindex", help="Index again segments already indexed (or failed)."),
    pending: bool = typer.Option(
        False, "--pending",
        help="Work on every job still queued too, and do not wait for jobs other runs hold (for cron).",
    ),
    engine: str = typer.Option(
        "local", help="local: worker processes here; celery: send to `gatewatch worker`s, wait till done."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Index every segment not indexed yet (or, with --reindex, again), with a progress bar."""
    summary = run_index(camera=camera, since=since, until=until, workers=workers, reindex=reindex,
                        pending=pending, engine=engine, show_progress=not json_out and console.is_terminal,
                        plain_progress=not json_out and not console.is_terminal)
    if json_out:
        print_json(summary)
    else:
        console.print(
            f"{summary['done']} of {summary['segments']} segments indexed, {summary['events']} events, "
            f"{_hms(summary['footage_s'])} of footage in {summary['wall_s']:.1f} s "
            f"({summary['speed'] or 0:.1f}x real time); {summary['failed']} failed"
            + (f", {summary['running_elsewhere']} still running elsewhere" if summary["running_elsewhere"] else ""),
            highlight=False,
        )
        for failure in summary["failures"]:
            console.print(f"[red]failed:[/] segment {failure['segment']} {failure['file']}: {failure['error']}",
                          highlight=False)
    if summary["failed"]:
        raise SystemExit(1)


@app.command()
def jobs(
    status: str | None = typer.Option(None, help="Only jobs in this state: queued, running, done or failed."),
    camera: str | None = typer.Option(None, help="Only this camera's jobs."),
    limit: int = typer.Option(100, help="At most this many jobs, newest first."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List indexing jobs: state, attempts, progress, error."""
    from api.schemas.jobs import job_out
    from detection.jobs import list_jobs
    from footage.models import Camera

    if status is not None and status not in ("queued", "running", "done", "failed"):
        fail(f"unknown status {status!r}; use queued, running, done or failed")
    with database() as session:
        rows = list_jobs(session, status=status, camera=camera, limit=limit)
        zones = {c.id: c.timezone for c in session.scalars(select(Camera))}
        out = [job_out(job, segment, zones.get(segment.camera_id, "UTC")) for job, segment in rows]
    if json_out:
        print_json([item.model_dump(mode="json") for item in out])
        return
    table = Table("id", "camera", "segment", "status", "attempts", "progress", "worker", "error")
    for item in out:
        table.add_row(str(item.id), item.camera, str(item.segment_id), item.status,
                      f"{item.attempts}/{item.max_attempts}", f"{item.progress:.0%}", item.worker or "",
                      (item.error or "")[:80])
    console.print(table)


@app.command()
def worker(
    concurrency: int = typer.Option(1, "--concurrency", "-c", help="Worker processes (each loads the detector)."),
    loglevel: str = typer.Option("INFO", help="Celery log level."),
) -> None:
    """Start a Celery worker for indexing jobs (needs GATEWATCH_BROKER_URL)."""
    from detection.settings import get_detection_settings

    if not get_detection_settings().broker_url:
        fail("no broker configured; set GATEWATCH_BROKER_URL=redis://HOST:6379/0 (without one, "
             "'gatewatch serve' and 'gatewatch index' index on this machine)")
    if concurrency < 1:
        fail("--concurrency must be 1 or more")
    with database():
        pass
    import detection.jobs.requeue  # noqa: F401 - registers the task and the worker's requeue loop
    from detection.jobs.celery_app import app as celery_app
    from detection.jobs.celery_app import queue_name

    os.environ.setdefault("YOLO_OFFLINE", "1")
    celery_app.worker_main([
        "worker", f"--concurrency={concurrency}", f"--loglevel={loglevel}", "-Q", queue_name(),
        "-n", f"gatewatch-{os.getpid()}@%h", "--pool=prefork", "--without-gossip", "--without-mingle",
    ])

