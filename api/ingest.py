"""Footage in, for people: imports and uploads through one path, queued for indexing and audited.

The CLI's ``gatewatch import``, the single-request upload and the resumable upload all end here:
each file goes through ``footage.catalogue.import_file``; an imported segment gets an index job; every file,
imported or not, gets an audit entry; each file is committed on its own, so a refused file never undoes
the ones before it. ``load_site_config`` creates a site and its cameras from a JSON description (the
demo's ``samples/site.json``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import record
from detection.jobs import queue_segments
from detection.models import Job
from footage.catalogue import (
    UPLOAD_START_HINT,
    CatalogueError,
    ImportResult,
    ImportStatus,
    add_camera,
    add_site,
    get_camera,
    import_file,
    list_segments,
    local_iso,
    parse_time,
)
from footage.models import Camera, Site
from footage.storage import stage_move

# What a folder walk picks up; files named one by one are always tried, whatever their extension.
VIDEO_SUFFIXES = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".avi", ".dav", ".ts", ".mts", ".m2ts", ".ps", ".mpg", ".mpeg", ".h264",
    ".264", ".h265", ".265", ".hevc", ".asf", ".wmv", ".flv", ".3gp", ".webm",
})


class ImportProgress(Protocol):
    """What an import reports as it goes (the CLI draws a progress bar from it)."""

    def begin(self, files: int, total_bytes: int) -> None: ...

    def file_started(self, path: Path, size: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...

    def file_done(self, result: ImportResult) -> None: ...


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, then the video files found by walking named folders (sorted, hidden skipped)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)
    return found


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _finish(session: Session, result: ImportResult, action: str, actor: str, remote_addr: str | None) -> None:
    if result.status == ImportStatus.IMPORTED and result.segment_id is not None:
        queue_segments(session, [result.segment_id])
    record(session, user_name=actor, action=action, obj=f"camera:{result.camera}", detail=result.to_dict(),
           remote_addr=remote_addr)
    session.commit()


def import_paths(session: Session, paths: Sequence[str | Path], camera_id: str,
                 stated_start: str | datetime | None = None, actor: str = "cli", remote_addr: str | None = None,
                 progress: ImportProgress | None = None) -> list[ImportResult]:
    """Import files and folders for one camera; one result per file, in order.

    Raises ``CatalogueError`` before touching any file when the camera is unknown or the start is malformed.
    With ``stated_start`` every file gets that start; it is meant for one file at a time.
    """
    camera = get_camera(session, camera_id)
    if stated_start not in (None, ""):
        parse_time(stated_start, camera.timezone)
    files = collect_files(paths)
    if progress is not None:
        progress.begin(len(files), sum(_size(p) for p in files))
    results: list[ImportResult] = []
    for path in files:
        if progress is not None:
            progress.file_started(path, _size(path))
        if not path.is_file():
            result = ImportResult(path=str(path), status=ImportStatus.REFUSED, camera=camera.id,
                                  timezone=camera.timezone,
                                  error=f"{path} is not a file or folder; check the path")
        else:
            try:
                result = import_file(session, path, camera.id, stated_start,
                                     progress=progress.advance if progress is not None else None)
            except Exception:
                session.rollback()
                raise
        _finish(session, result, "import", actor, remote_addr)
        results.append(result)
        if progress is not None:
            progress.file_done(result)
    return results


def ingest_upload(session: Session, part: Path, sha256: str, size: int, camera_id: str, filename: str,
                  stated_start: str | None, actor: str, remote_addr: str | None) -> ImportResult:
    """Import a finished upload (already on disk and hashed): moved into the store, never copied again.

    ``filename`` must already be a clean base name (``footage.uploads.clean_filename``).
    """
    suffix = PurePath(filename).suffix.lower()
    staged = stage_move(part, sha256, size, suffix if 1 < len(suffix) <= 9 and suffix[1:].isalnum() else ".part")
    try:
        result = import_file(session, staged.path, camera_id, stated_start or None, display_name=filename,
                             name_path=PurePath(filename), staged=staged, start_hint=UPLOAD_START_HINT)
    except BaseException:
        staged.discard()
        session.rollback()
        raise
    _finish(session, result, "upload", actor, remote_addr)
    return result


# --- what became of the footage ------------------------------------------------------------------------

def latest_jobs(session: Session, segment_ids: Sequence[int]) -> dict[int, Job]:
    latest: dict[int, Job] = {}
    if not segment_ids:
        return latest
    for job in session.scalars(select(Job).where(Job.segment_id.in_(list(segment_ids))).order_by(Job.id)):
        latest[job.segment_id] = job
    return latest


def segment_rows(session: Session, camera_id: str) -> list[dict[str, Any]]:
    """The camera's segments, oldest first, each with its latest indexing job (the manager's page)."""
    camera = get_camera(session, camera_id)
    segments = list_segments(session, camera.id)
    jobs = latest_jobs(session, [s.id for s in segments])
    rows = []
    for segment in segments:
        job = jobs.get(segment.id)
        rows.append({
            "id": segment.id,
            "camera": segment.camera_id,
            "original_name": segment.original_name,
            "start": local_iso(segment.start, camera.timezone),
            "end": local_iso(segment.end, camera.timezone),
            "duration_s": round(segment.duration_s, 3),
            "size_bytes": segment.size_bytes,
            "fps": segment.fps,
            "codec": segment.codec,
            "width": segment.width,
            "height": segment.height,
            "sha256": segment.sha256,
            "status": segment.status,
            "error": segment.error,
            "job": None if job is None else {
                "status": job.status, "progress": job.progress, "attempts": job.attempts, "error": job.error,
            },
        })
    return rows


# --- sites from a JSON description -----------------------------------------------------------------------

@dataclass
class ConfiguredCamera:
    """A camera named in a site configuration, with the folder its footage is in."""

    camera_id: str
    """The camera's id."""
    footage: Path | None
    """The folder (or file) of its footage, resolved against the configuration file's folder."""
    created: bool
    """True when this call created the camera."""


@dataclass
class SiteConfig:
    """What ``load_site_config`` found and made."""

    site: str
    """The site's name."""
    site_created: bool
    """True when this call created the site."""
    cameras: list[ConfiguredCamera] = field(default_factory=list)
    """Every camera of the configuration, in file order."""


def load_site_config(session: Session, path: str | Path) -> SiteConfig:
    """Create the site and cameras a JSON file describes, where missing; existing ones are left as they are.

    The file: ``{"site": NAME, "cameras": [{"id", "gate", "timezone", "clock_offset_s", "zones":
    {name: [[x, y], ...]}, "footage": folder relative to the file}]}``. Commits; safe to run again.
    """
    path = Path(path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"cannot read the site configuration {path}: {exc}; give a JSON file") from exc
    if not isinstance(config, dict) or not isinstance(config.get("site"), str) \
            or not isinstance(config.get("cameras"), list):
        raise CatalogueError(f"{path} must hold an object with 'site' (a name) and 'cameras' (a list)")
    site_name = config["site"]
    site = session.scalar(select(Site).where(Site.name == site_name))
    outcome = SiteConfig(site=site_name, site_created=site is None)
    if site is None:
        site = add_site(session, site_name)
    for entry in config["cameras"]:
        if not isinstance(entry, dict) or "id" not in entry:
            raise CatalogueError(f"{path}: each camera needs at least an 'id' and a 'gate'")
        camera = session.get(Camera, entry["id"])
        created = camera is None
        if camera is None:
            add_camera(session, entry["id"], site.name, entry.get("gate", ""), entry.get("timezone", "UTC"),
                       entry.get("zones") or {}, float(entry.get("clock_offset_s", 0.0)))
        elif camera.site_id != site.id:
            raise CatalogueError(f"{path}: camera {entry['id']!r} belongs to another site already; rename it")
        footage = (path.parent / entry["footage"]).resolve() if entry.get("footage") else None
        outcome.cameras.append(ConfiguredCamera(entry["id"], footage, created))
    session.commit()
    return outcome
