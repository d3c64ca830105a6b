"""`gatewatch search` and `gatewatch clip`: the event search and clip cutting from the shell. Both are audited."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from api import audit
from api.cli.common import LOCAL, cli_user, console, database, fail, print_json
from api.clip_service import cut_window, event_window
from api.schemas.events import event_fields
from detection.labels import LABEL_HELP
from detection.search import SearchError, SearchForbidden, find_event, make_query, parse_time, search_events
from footage.clips import BadClipWindow, ClipError, NoFootage, describe_spans
from footage.models import Camera
from footage.times import local_iso

app = typer.Typer()


@app.command("search")
def search(
    site: list[str] = typer.Option([], "--site", help="Site name (repeatable)."),
    gate: list[str] = typer.Option([], "--gate", help="Gate name, any case (repeatable)."),
    camera: list[str] = typer.Option([], "--camera", help="Camera id (repeatable)."),
    start: str | None = typer.Option(None, "--from", help="Window start, ISO 8601 (naive: the cameras' zone)."),
    end: str | None = typer.Option(None, "--to", help="Window end, ISO 8601 (naive: the cameras' zone)."),
    time_of_day: str | None = typer.Option(None, "--time-of-day",
                                           help="Daily range in each camera's zone, e.g. 22:00-06:00."),
    label: list[str] = typer.Option([], "--label",
                                    help=f"{LABEL_HELP}."),
    zone: list[str] = typer.Option([], "--zone", help="Zone the object entered (repeatable)."),
    min_dwell: float | None = typer.Option(None, "--min-dwell", help="Least seconds stood still."),
    stationary: bool = typer.Option(False, "--stationary/--no-stationary",
                                    help="Include stationary (parked) objects."),
    colour: list[str] = typer.Option([], "--colour", help="Vehicle colour word (repeatable)."),
    min_score: float | None = typer.Option(None, "--min-score", help="Least detector confidence, 0..1."),
    plate: str | None = typer.Option(None, "--plate", help="Licence plate, fuzzy (separators and case ignored, "
                                     "province optional, one wrong character for 5+, ? unknown); closest first."),
    sort: str = typer.Option("time", "--sort", help="time, -time or score."),
    limit: int = typer.Option(50, "--limit", help="Most events to print (1..500)."),
    cursor: str | None = typer.Option(None, "--cursor", help="Continue after a previous page."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list of events."),
) -> None:
    """Events that overlap the window and match the filters, oldest first unless --sort says otherwise."""
    try:
        with database() as session:
            query = make_query(
                session, sites=site, gates=gate, cameras=camera, start=start, end=end, time_of_day=time_of_day,
                labels=label, zones=zone, min_dwell=min_dwell, stationary=stationary, colours=colour,
                min_score=min_score, sort=sort, limit=limit, cursor=cursor, plate=plate,
            )
            page = search_events(session, query)
            audit.record(session, user_name=cli_user(), action="search", obj="events",
                         detail={**query.describe(), "results": len(page.events)}, remote_addr=LOCAL)
            rows = [event_fields(e, page.cameras[e.camera_id]) for e in page.events]
    except (SearchError, SearchForbidden) as exc:
        fail(str(exc))
    if json_out:
        print_json(rows)
    else:
        table = Table(box=None)
        for name in ("id", "camera", "gate", "label", "start", "end", "score", "zones", "dwell s", "colour",
                     "plate"):
            table.add_column(name, no_wrap=name in ("id", "camera", "label", "start", "end", "score"))
        for row in rows:
            table.add_row(str(row["id"]), str(row["camera"]), str(row["gate"]), str(row["label"]),
                          str(row["start"]), str(row["end"]), f"{row['score']:.2f}",
                          ", ".join(row["zones"]),  # type: ignore[arg-type]
                          f"{row['dwell_s']:.0f}", str(row["colour"] or ""),
                          f"{row['plate']} ({row['plate_score']:.2f})" if row["plate"] else "")
        if rows:
            # Results go to stdout (progress and errors go to stderr), wide enough for two full times.
            Console(width=max(140, shutil.get_terminal_size().columns)).print(table)
        else:
            console.print("no events match")
    if page.next_cursor:
        console.print(f"more events: add --cursor {page.next_cursor}", highlight=False, soft_wrap=True)


@app.command("clip")
def clip(
    event: int | None = typer.Option(None, "--event", help="Event id (with --pre/--post)."),
    camera: str | None = typer.Option(None, "--camera", help="Camera id (with --from and --to)."),
    start: str | None = typer.Option(None, "--from", help="Start, ISO 8601 (naive: the camera's zone)."),
    end: str | None = typer.Option(None, "--to", help="End, ISO 8601 (naive: the camera's zone)."),
    out: Path = typer.Option(..., "-o", "--output", help="Where to write the MP4."),
    pre: float = typer.Option(5.0, "--pre", help="Seconds before the event."),
    post: float = typer.Option(5.0, "--post", help="Seconds after the event."),
    exact: bool = typer.Option(False, "--exact", help="Frame-exact re-encode (default: keyframe-aligned copy)."),
    json_out: bool = typer.Option(False, "--json", help="Print what was cut as JSON."),
) -> None:
    """Cut a clip of an event, or of a camera's time window, from the stored segments."""
    if (event is None) == (camera is None):
        fail("give either --event ID, or --camera ID with --from and --to")
    try:
        with database() as session:
            if event is not None:
                found, info = find_event(session, event)
                camera_id, tz = info.id, info.timezone
                window = event_window(found.start, found.end, pre, post)
                obj = f"event:{event}"
            else:
                cam = session.get(Camera, camera)
                if cam is None:
                    fail(f"there is no camera {camera!r}; list them with 'gatewatch cameras list'")
                if not start or not end:
                    fail("a camera clip needs --from and --to")
                camera_id, tz = cam.id, cam.timezone
                window = (parse_time(start, tz, "--from"), parse_time(end, tz, "--to"))
                obj = f"camera:{camera_id}"
            cut = cut_window(session, camera_id, *window, exact=exact)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cut.path, out)
            audit.record(session, user_name=cli_user(), action="clip_download", obj=obj,
                         detail={"camera": camera_id, "from": window[0].isoformat(), "to": window[1].isoformat(),
                                 "exact": exact, "sha256": cut.sha256}, remote_addr=LOCAL)
    except LookupError as exc:
        if isinstance(exc, NoFootage):
            fail(f"no footage in that window; camera has footage for: {describe_spans(exc.spans, tz)}")
        fail(f"{exc}; find event ids with 'gatewatch search'")
    except (SearchError, BadClipWindow, ClipError) as exc:
        fail(str(exc))
    data = {
        "path": str(out), "camera": camera_id, "start": local_iso(cut.start, tz), "end": local_iso(cut.end, tz),
        "sha256": cut.sha256, "size": cut.size, "exact": exact,
        "sources": [{"sha256": s.sha256, "start": local_iso(s.start, tz), "end": local_iso(s.end, tz)}
                    for s in cut.sources],
    }
    if json_out:
        print_json(data)
    else:
        console.print(f"wrote {out}: {data['start']} to {data['end']} ({cut.size} bytes, "
                      f"{'exact' if exact else 'stream copy'})", highlight=False)

