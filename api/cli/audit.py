"""`gatewatch audit ...`: page through the audit trail, sign checkpoints of its head, and verify it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer

from api.audit import AuditQueryError, ChainProblem, entry_dict, head, list_entries, verify_chain
from api.audit_checkpoints import CheckpointFileError, export_dict, latest, read_export, sign_head, verify_checkpoints
from api.cli.common import console, database, fail, print_json
from api.models import AuditEntry
from footage import times
from footage.settings import get_settings
from footage.signing import load_or_create


def _when(text: str | None, name: str) -> datetime | None:
    """--since/--until as aware UTC; the trail spans every camera's zone, so an offset is required."""
    if text is None:
        return None
    if times.has_offset(text) is False:
        fail(f"--{name} {text!r} needs a UTC offset, e.g. {times.EXAMPLE}")
    try:
        return times.parse_time(text, None, f"--{name}")
    except times.BadTime as exc:
        fail(str(exc))


trail = typer.Typer(help="The audit trail: who did what, when, from where.", no_args_is_help=True)


@trail.command("list")
def list_(
    user: str | None = typer.Option(None, "--user", help="Only this user's entries."),
    action: str | None = typer.Option(None, "--action", help="Only this action (search, export, ...)."),
    since: str | None = typer.Option(None, "--since", help="At or after (ISO 8601 with offset)."),
    until: str | None = typer.Option(None, "--until", help="Before (ISO 8601 with offset)."),
    limit: int = typer.Option(50, "--limit", help="Entries per page."),
    cursor: str | None = typer.Option(None, "--cursor", help="next_cursor of the previous page."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Entries newest first, filtered; prints the cursor of the next page when there is one."""
    try:
        with database() as session:
            page = list_entries(session, user=user, action=action, since=_when(since, "since"),
                                until=_when(until, "until"), limit=limit, cursor=cursor)
            rows = [entry_dict(entry) for entry in page.entries]
    except AuditQueryError as exc:
        fail(str(exc))
    if json_out:
        print_json({"entries": rows, "next_cursor": page.next_cursor})
        return
    for row in rows:
        detail = json.dumps(row["detail"], ensure_ascii=False, separators=(",", ":"))
        typer.echo(f"{row['id']:>7}  {row['at']}  {row['user'] or '-'}  {row['action']}  "
                   f"{row['object'] or '-'}  {row['remote_addr'] or '-'}  {detail}")
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")


@trail.command("checkpoint")
def checkpoint(
    export: Path | None = typer.Option(
        None, "--export", help="Also write the latest checkpoint to FILE (JSON, verifiable offline)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Sign the chain's head with the installation key now (the service also does it every minute).

    Example: gatewatch audit checkpoint --export /media/usb/audit-checkpoint.json
    """
    key = load_or_create(get_settings().keys_dir)
    with database() as session:
        signed = sign_head(session, key)
        session.commit()
        newest = latest(session)
    if newest is None:
        fail("the audit trail is empty: there is nothing to checkpoint yet")
    data = export_dict(newest, key)
    if export is not None:
        export.write_text(json.dumps(data, indent=2) + "\n")
    if json_out:
        print_json({**data, "new": signed is not None, "exported_to": str(export) if export else None})
        return
    state = "signed" if signed is not None else "already signed"
    typer.echo(f"{state}: entry {newest.entry_id} hash {newest.entry_hash} at {newest.at} "
               f"(key {newest.key_fingerprint[:16]}...)")
    if export is not None:
        typer.echo(f"exported to {export}; keep it outside this machine and check later with "
                   f"'gatewatch audit verify --checkpoint {export}'")


@trail.command("verify")
def verify(
    expect_head: str | None = typer.Option(
        None, "--expect-head", help="ID:HASH of an entry noted earlier (see the output); it must still be there."
    ),
    checkpoint_file: Path | None = typer.Option(
        None, "--checkpoint", help="An exported checkpoint (audit checkpoint --export) to check against too."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Re-hash the whole trail and check it against every signed checkpoint; exit 1 naming where it breaks."""
    key = load_or_create(get_settings().keys_dir)
    extra = []
    if checkpoint_file is not None:
        try:
            extra.append(read_export(checkpoint_file.read_text()))
        except (OSError, CheckpointFileError) as exc:
            fail(f"cannot use {checkpoint_file}: {exc}")
    with database() as session:
        count, problems = verify_chain(session)
        report = verify_checkpoints(session, key, extra)
        problems += [ChainProblem(entry_id, reason) for entry_id, reason in report.problems]
        last = head(session)
        if expect_head is not None:
            noted_id, _, noted_hash = expect_head.partition(":")
            entry = session.get(AuditEntry, int(noted_id)) if noted_id.isdigit() else None
            if entry is None or entry.hash != noted_hash:
                problems.append(ChainProblem(int(noted_id) if noted_id.isdigit() else 0,
                                             "the entry noted earlier is gone or different: the trail was cut "
                                             "or rewritten"))
    head_text = f"{last.id}:{last.hash}" if last else None
    if json_out:
        print_json({"entries": count, "ok": not problems, "head": head_text,
                    "checkpoints_ok": report.checked, "entries_after_last_checkpoint": report.uncovered,
                    "problems": [{"entry": p.entry_id, "reason": p.reason} for p in problems]})
    elif not problems:
        typer.echo(f"ok: {count} entries, the hash chain is intact and matches {report.checked} signed "
                   f"checkpoint(s); head {head_text}")
        if report.uncovered:
            typer.echo(f"note: the newest {report.uncovered} entries are not yet under a checkpoint "
                       "(run 'gatewatch audit checkpoint')")
    else:
        for problem in problems:
            typer.echo(f"entry {problem.entry_id}: {problem.reason}")
        console.print(f"[bold red]the audit trail was tampered with:[/] {len(problems)} problem(s) "
                      f"in {count} entries", highlight=False)
    if problems:
        raise SystemExit(1)

