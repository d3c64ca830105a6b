"""`gatewatch` commands: index (queue and run indexing jobs), jobs (their state), worker (a Celery worker)."""

from __future__ import annotations

import os
import time
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli.common import console, database, fail, print_json
from api.indexing_runs import IndexRunError, check_run, queue_run, run_jobs, run_summary
from api.jobs_listing import STATUSES, jobs_out


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

    try:
        check_run(engine, workers)
        with database() as session:
            job_ids = queue_run(session, camera=camera, since=since, until=until, reindex=reindex, engine=engine,
                                pending=pending)
    except IndexRunError as exc:
        fail(str(exc))
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
        from detection.jobs.worker_pool import PoolError

        try:
            run_jobs(job_ids, engine=engine, workers=workers, pending=pending, tick=tick)
        except PoolError as exc:
            fail(str(exc))
        tick(force=True)
    finally:
        if progress is not None:
            progress.stop()
    return run_summary(job_ids, engine=engine, workers=workers, wall_s=time.monotonic() - started)


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
    if status is not None and status not in STATUSES:
        fail(f"unknown status {status!r}; use {', '.join(STATUSES[:-1])} or {STATUSES[-1]}")
    with database() as session:
        out = jobs_out(session, status=status, camera=camera, limit=limit)
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

