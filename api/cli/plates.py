"""`gatewatch plates`: read licence plates for vehicle events indexed before plates were read (a backfill job).

The work is queued as jobs of kind "plates" (one per segment; `gatewatch jobs` lists them) and run here, one
after another, with progress like `gatewatch index`: the stored footage is read again for the frames each
vehicle's track names, nothing is detected again and no event is replaced.
"""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from api.cli.common import console, database, fail, print_json
from api.cli.indexing import PLAIN_PROGRESS_EVERY_S, _hms
from api.indexing_runs import IndexRunError, run_window


def run_backfill(*, camera: str | None, since: str | None, until: str | None, again: bool,
                 show_progress: bool, plain_progress: bool = False) -> dict[str, Any]:
    """Queue and run the plates jobs a `gatewatch plates` run asks for; returns the summary `--json` prints."""
    from detection.jobs import worker_name
    from detection.plates.backfill import queue_plate_jobs, run_plate_jobs, segments_to_read, summarize_plate_jobs
    from footage.models import Camera

    with database() as session:
        if camera is not None:
            row = session.get(Camera, camera)
            if row is None:
                fail(f"no camera {camera!r}; list cameras with 'gatewatch cameras list'")
            if not row.read_plates:
                fail(f"camera {camera!r} has plate reading off; turn it on with "
                     f"'gatewatch cameras set {camera} --plates on'")
        try:
            start_utc, end_utc = run_window(session, camera, since, until)
        except IndexRunError as exc:
            fail(str(exc))
        segment_ids = segments_to_read(session, camera=camera, since=start_utc, until=end_utc, again=again)
        job_ids = queue_plate_jobs(session, segment_ids)
        session.commit()
    started = time.monotonic()
    progress = Progress(TextColumn("[bold]plates[/]"), BarColumn(),
                        TextColumn("{task.completed:.0f}/{task.total:.0f} segments"), TextColumn("{task.fields[read]}"),
                        TimeElapsedColumn(), console=console, transient=False) if show_progress and job_ids else None
    task = progress.add_task("plates", total=len(job_ids), read="") if progress is not None else None
    last = [0.0]

    def tick() -> None:
        if progress is None and not plain_progress:
            return
        if progress is None and time.monotonic() - last[0] < PLAIN_PROGRESS_EVERY_S:
            return
        last[0] = time.monotonic()
        summary = summarize_plate_jobs(job_ids)
        finished = summary["done"] + summary["failed"]
        if progress is not None:
            progress.update(task, completed=finished, read=f"{summary['plates_read']} plates read")  # type: ignore[arg-type]
        else:
            print(f"plates: {finished}/{len(job_ids)} segments, {_hms(summary['footage_done_s'])}/"
                  f"{_hms(summary['footage_s'])} footage, {summary['plates_read']} plates read", flush=True)

    if progress is not None:
        progress.start()
    try:
        if job_ids:
            run_plate_jobs(job_ids, worker_name("plates"), on_tick=tick)
    finally:
        if progress is not None:
            progress.stop()
    summary = summarize_plate_jobs(job_ids)
    summary.pop("footage_done_s")
    summary["wall_s"] = round(time.monotonic() - started, 3)
    summary["running_elsewhere"] = summary.pop("pending")
    return summary


app = typer.Typer()


@app.command("plates")
def plates(
    camera: str | None = typer.Option(None, "--camera", help="Only this camera's segments."),
    since: str | None = typer.Option(None, help="Only segments that end after this ISO 8601 time."),
    until: str | None = typer.Option(None, help="Only segments that start before this ISO 8601 time."),
    again: bool = typer.Option(False, "--again", help="Read plates again where some were read already."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Read licence plates for vehicle events indexed before plates were read, from the stored footage."""
    summary = run_backfill(camera=camera, since=since, until=until, again=again,
                           show_progress=not json_out and console.is_terminal,
                           plain_progress=not json_out and not console.is_terminal)
    if json_out:
        print_json(summary)
    else:
        console.print(f"{summary['done']} of {summary['segments']} segments read, {summary['events']} vehicle "
                      f"events, {summary['plates_read']} plates read in {summary['wall_s']:.1f} s; "
                      f"{summary['failed']} failed", highlight=False)
        for failure in summary["failures"]:
            console.print(f"[red]failed:[/] segment {failure['segment']}: {failure['error']}", highlight=False)
    if summary["failed"]:
        raise SystemExit(1)

