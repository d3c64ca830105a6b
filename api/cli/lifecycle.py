"""`gatewatch purge`, `gatewatch segments delete`, `gatewatch cases close` and `gatewatch status`."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from api import lifecycle
from api.cases import CaseForbidden, find_case
from api.cli.common import LOCAL, cli_user, console, database, fail, print_json, say
from api.cli.evidence import _operator
from api.ingest import segment_rows
from api.storage_status import storage_status
from footage.catalogue import CatalogueError
from footage.retention import SegmentHeld


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


app = typer.Typer()


segments = typer.Typer(help="Stored footage segments.", no_args_is_help=True)
cases = typer.Typer(help="Evidence cases.", no_args_is_help=True)


@app.command("purge")
def purge_cmd(
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would go; delete nothing."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Delete footage older than its camera's (or site's) retention, keeping what open cases hold."""
    with database() as session:
        report = lifecycle.run_purge(session, actor=cli_user(), dry_run=dry_run, remote_addr=LOCAL).to_dict()
    if json_out:
        print_json(report)
        return
    verb = "would remove" if dry_run else "removed"
    console.print(f"{verb} {report['segments']} segment(s), {report['hours']:.2f} h, "
                  f"{human_bytes(int(report['bytes_removed']))}", highlight=False)  # type: ignore[call-overload]
    for gone in report["removed"]:  # type: ignore[attr-defined]
        console.print(f"  {'would remove' if dry_run else 'removed'} segment {gone['segment']} ({gone['camera']}, "
                      f"{_short(gone['start'])} to {_short(gone['end'])} UTC, {human_bytes(gone['bytes'])})",
                      highlight=False)
    for hold in report["holds"]:  # type: ignore[attr-defined]
        console.print(f"kept segment {hold['segment']} ({hold['camera']}): held by {', '.join(hold['cases'])}",
                      highlight=False)


@segments.command("list")
def segments_list(
    camera_id: str = typer.Argument(..., help="The camera's id."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The camera's segments, oldest first: id, file, times (camera time), size, indexing."""
    with database() as session:
        try:
            rows = segment_rows(session, camera_id)
        except CatalogueError as exc:
            fail(str(exc))
    if json_out:
        print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['id']}: {row['original_name']}, {_short(row['start'])} to {_short(row['end'])}, "
                   f"{human_bytes(row['size_bytes'])}, {row['status']}")
    if not rows:
        console.print(f"camera {camera_id!r} has no footage yet")


@segments.command("delete")
def segments_delete(
    segment_id: int = typer.Argument(..., help="The segment's id."),
    reason: str = typer.Option(..., "--reason", help="Why (goes into the audit trail)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Delete one segment (a wrong upload); refused while an open case holds it."""
    try:
        with database() as session:
            data = lifecycle.delete_segment(session, segment_id, reason, actor=cli_user(), remote_addr=LOCAL)
    except (SegmentHeld, LookupError, lifecycle.LifecycleError) as exc:
        fail(str(exc))
    say(data, json_out, f"deleted segment {segment_id} of {data['camera']}")


@cases.command("close")
def cases_close(
    name: str = typer.Argument(..., help="The case's name."),
    reason: str = typer.Option(..., "--reason", help="Why (goes into the audit trail)."),
) -> None:
    """Close a case: its footage is no longer held against retention."""
    try:
        with database() as session:
            case = find_case(session, _operator(), name)
            if case is None:
                fail(f"no case {name!r}; see 'gatewatch export --help' for how cases are named")
            lifecycle.close_case(session, case, reason, actor=cli_user(), remote_addr=LOCAL)
    except (CaseForbidden, lifecycle.LifecycleError) as exc:
        fail(str(exc))
    console.print(f"closed case {name!r}", highlight=False)


@app.command("status")
def status_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Footage per camera, retention and holds, indexing backlog, the data folder and free space."""
    with database() as session:
        data = storage_status(session)
    if json_out:
        print_json(data)
        return
    _print_status(data)


def _short(iso: str | None) -> str:
    """'2024-11-07 05:20:00' of an ISO time (the camera's own clock when it carries the camera's offset)."""
    return iso[:19].replace("T", " ") if iso else "-"


def _print_status(data: dict[str, Any]) -> None:
    table = Table(title="Footage (times in camera time)")
    for column in ("camera", "site", "hours", "size", "oldest", "newest", "retention", "held", "next purge"):
        table.add_column(column)
    for row in data["cameras"]:
        due = row["purge_due"]
        table.add_row(row["camera"], row["site"], f"{row['hours']:.2f}", human_bytes(row["bytes"]),
                      _short(row["oldest"])[:16], _short(row["newest"])[:16],
                      f"{row['retain_days']} d ({row['retention_from']})" if row["retain_days"] else "keep",
                      human_bytes(row["held_bytes"]) + (f" ({', '.join(row['held_by'])})" if row["held_by"] else ""),
                      f"{due['segments']}, {human_bytes(due['bytes'])}" if due["segments"] else "-")
    out = console
    out.print(table)
    last = data["next_purge"]["last_run"]
    out.print(f"next purge: {data['next_purge']['segments']} segment(s), {human_bytes(data['next_purge']['bytes'])}"
              f"; last run {_short(last) + ' UTC' if last else 'never'}", highlight=False)
    backlog, disk = data["backlog"], data["data"]
    eta = f"{backlog['eta_s'] / 3600:.1f} h" if backlog["eta_s"] is not None else "unknown (no timed jobs yet)"
    out.print(f"indexing backlog: {backlog['hours']:.2f} h of footage, estimated {eta}", highlight=False)
    out.print(f"store {human_bytes(disk['store_bytes'])}, clip cache {human_bytes(disk['clip_cache_bytes'])}, "
              f"uploads {human_bytes(disk['uploads_bytes'])}; free {human_bytes(disk['free_bytes'])} of "
              f"{human_bytes(disk['total_bytes'])}, {human_bytes(disk['room_bytes'])} usable for imports",
              highlight=False)
    for warning in data["warnings"]:
        out.print(f"[yellow]warning:[/] {warning}", highlight=False)
