"""`gatewatch import PATH... --camera ID`: NVR exports into the catalogue, queued for indexing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from api.cli.common import cli_user, console, database, fail
from api.ingest import import_paths
from footage.catalogue import CatalogueError, ImportResult, ImportStatus


class AmountColumn(ProgressColumn):
    """Megabytes on the bytes bar, a count on the files bar."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes_column = DownloadColumn()

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") == "files":
            return Text(f"{int(task.completed)}/{int(task.total or 0)} files", style="progress.download")
        return self.bytes_column.render(task)


class ProgressBar:
    """Two Rich bars: bytes of the files handled so far, and files done."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.bytes_task: TaskID | None = None
        self.files_task: TaskID | None = None
        self.file_size = 0
        self.file_read = 0

    def begin(self, files: int, total_bytes: int) -> None:
        self.bytes_task = self.progress.add_task("bytes", total=total_bytes or None, unit="bytes")
        self.files_task = self.progress.add_task("files", total=files, unit="files")

    def file_started(self, path: Path, size: int) -> None:
        self.file_size, self.file_read = size, 0
        if self.bytes_task is not None:
            self.progress.update(self.bytes_task, description=path.name[-40:])

    def advance(self, nbytes: int) -> None:
        self.file_read += nbytes
        if self.bytes_task is not None:
            self.progress.advance(self.bytes_task, nbytes)

    def file_done(self, result: ImportResult) -> None:
        if self.bytes_task is not None:
            # A refused file may not have been copied at all: count what was not read as done too.
            self.progress.advance(self.bytes_task, max(0, self.file_size - self.file_read))
        if self.files_task is not None:
            self.progress.advance(self.files_task, 1)
        self.progress.console.print(_line(result), highlight=False)


class JsonLines:
    """Prints each file's result as one compact JSON object on its own line, as soon as it is known."""

    def begin(self, files: int, total_bytes: int) -> None:
        pass

    def file_started(self, path: Path, size: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def file_done(self, result: ImportResult) -> None:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        sys.stdout.flush()


def _line(result: ImportResult) -> str:
    data = result.to_dict()
    if result.status == ImportStatus.IMPORTED:
        return f"[green]imported[/] {data['path']}: segment {data['segment_id']}, {data['start']} to {data['end']}"
    if result.status == ImportStatus.DUPLICATE:
        return (f"[yellow]duplicate[/] {data['path']}: stored already as segment {data['segment_id']} "
                f"of {data['camera']}")
    return f"[red]refused[/] {data['path']}: {data['error']}"


app = typer.Typer()


@app.command("import")
def import_(
    paths: list[Path] = typer.Argument(..., help="Video files or folders of NVR exports (walked)."),
    camera: str = typer.Option(..., "--camera", help="The camera the footage is from."),
    start: str | None = typer.Option(
        None, "--start",
        help="Start time, ISO 8601 (2024-11-07T05:00:00+08:00; without an offset, in the camera's zone). "
             "Default: from the file name, else the file's creation time.",
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print one JSON object per file, one per line; no progress bar."
    ),
) -> None:
    """Import footage; each file is probed, timed, stored once by content, and queued for indexing.

    Exits with status 1 when any file was refused.
    """
    try:
        with database() as session:
            if json_out:
                results = import_paths(session, paths, camera, start, actor=cli_user(), remote_addr="local",
                                       progress=JsonLines())
            else:
                with Progress(TextColumn("{task.description}"), BarColumn(), AmountColumn(),
                              TimeRemainingColumn(), console=console, transient=True) as progress:
                    results = import_paths(session, paths, camera, start, actor=cli_user(),
                                           remote_addr="local", progress=ProgressBar(progress))
    except CatalogueError as exc:
        fail(str(exc))
    if not json_out:
        counts = {s: sum(r.status == s for r in results) for s in ("imported", "duplicate", "refused")}
        console.print(f"{counts['imported']} imported, {counts['duplicate']} duplicate, "
                      f"{counts['refused']} refused", highlight=False)
    if not results:
        fail("no video files found in the paths given; name the files or a folder that holds them")
    if any(r.refused for r in results):
        raise typer.Exit(1)

