"""What every command shares: the database opened and migrated, JSON output, one-sentence errors."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from api.database import migrate
from footage.db import session_scope

console = Console(stderr=True)
LOCAL = "local"  # the audit trail's remote address for what the command line did
_migrated = False


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear sentence and exit; a user-facing error is never a traceback."""
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise SystemExit(code)


@contextmanager
def database() -> Iterator[Session]:
    global _migrated
    if not _migrated:
        migrate()
        _migrated = True
    with session_scope() as session:
        yield session


def cli_user() -> str:
    """How the audit trail names someone at this machine's shell (the operator)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def say(data: Any, json_out: bool, text: str) -> None:
    """A command's outcome: ``data`` as JSON for scripts (``--json``), else one line for a person."""
    if json_out:
        print_json(data)
    else:
        console.print(text, highlight=False)


def say_rows(rows: list[dict[str, Any]], json_out: bool, line: Callable[[dict[str, Any]], str], empty: str) -> None:
    """A listing: the rows as JSON, else a line per row, or ``empty`` (what to do next) when there are none."""
    if json_out:
        print_json(rows)
        return
    for row in rows:
        typer.echo(line(row))
    if not rows:
        console.print(empty)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()
