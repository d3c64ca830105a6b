"""Retention: which segments have outlived their camera's (or site's) retention, and deleting them safely.

Holds come in as data (``HeldRange``: a camera, a time range and the case that holds it) because cases belong to
the api floor above. Deleting a segment row deletes its events, thumbnails and jobs with it (ON DELETE CASCADE
in the schema). Crash safety: the store files that may become unreferenced are written to a journal before the
database commit; only after the commit are files unlinked, and a file goes only when no remaining segment
(of any camera) refers to its content. ``finish_pending`` (run at the start of every purge) re-reads the
journal, so a purge killed at any point is completed by the next one and leaves no orphan files.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from footage.models import Camera, Segment
from footage.settings import get_settings

JOURNAL = ".purge-pending.json"
# A store file no segment refers to is only swept when older than this: an import renames its file into the
# store just before its catalogue commit, and must not lose it in between.
ORPHAN_GRACE_S = 3600.0
# Test hook only: seconds to sleep between the database commit and the unlinks, so a test can SIGKILL there.
PAUSE_ENV = "GATEWATCH_PURGE_PAUSE_S"


class SegmentHeld(PermissionError):
    """The segment overlaps footage an open case holds; close the case first (``gatewatch cases close``)."""


@dataclass(frozen=True)
class HeldRange:
    camera_id: str
    start: datetime
    end: datetime
    case_name: str


@dataclass
class PurgePlan:
    expired: list[Segment] = field(default_factory=list)
    held: list[tuple[Segment, list[str]]] = field(default_factory=list)


@dataclass
class PurgeReport:
    segments: int = 0
    hours: float = 0.0
    bytes_removed: int = 0
    files_removed: int = 0
    clips_removed: int = 0
    dry_run: bool = False
    holds: list[dict[str, object]] = field(default_factory=list)
    removed: list[dict[str, object]] = field(default_factory=list)
    """The segments that went (or, in a dry run, would go): id, camera, start, end, bytes."""

    def to_dict(self) -> dict[str, object]:
        return {"segments": self.segments, "hours": round(self.hours, 4), "bytes_removed": self.bytes_removed,
                "files_removed": self.files_removed, "clips_removed": self.clips_removed,
                "dry_run": self.dry_run, "removed": self.removed, "holds": self.holds}

    def audit_detail(self) -> dict[str, object]:
        """What the audit entry keeps: written before the files go, so no file or clip counts (they would read 0)."""
        return {"segments": self.segments, "hours": round(self.hours, 4), "bytes_removed": self.bytes_removed,
                "segment_ids": [r["segment"] for r in self.removed], "holds": self.holds}


def effective_retention(camera: Camera) -> int | None:
    return camera.retain_days if camera.retain_days is not None else camera.site.retain_days


def holding_cases(segment: Segment, holds: list[HeldRange]) -> list[str]:
    return sorted({h.case_name for h in holds
                   if h.camera_id == segment.camera_id and h.start < segment.end and h.end > segment.start})


def plan_purge(session: Session, now: datetime, holds: list[HeldRange]) -> PurgePlan:
    """Segments whose end is older than ``now`` minus their retention, split into expired and held."""
    plan = PurgePlan()
    for camera in session.scalars(select(Camera).order_by(Camera.id)):
        days = effective_retention(camera)
        if days is None:
            continue
        cutoff = now - timedelta(days=days)
        rows = session.scalars(select(Segment).where(Segment.camera_id == camera.id, Segment.end < cutoff)
                               .order_by(Segment.start)).all()
        for segment in rows:
            cases = holding_cases(segment, holds)
            if cases:
                plan.held.append((segment, cases))
            else:
                plan.expired.append(segment)
    return plan


def _journal_path() -> Path:
    return get_settings().store_dir / JOURNAL


def _write_journal(paths: list[str], shas: list[str]) -> None:
    journal = _journal_path()
    journal.parent.mkdir(parents=True, exist_ok=True)
    pending = _read_journal()
    data = {"paths": sorted(set(pending["paths"]) | set(paths)), "shas": sorted(set(pending["shas"]) | set(shas))}
    tmp = journal.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("w") as out:
        json.dump(data, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, journal)


def _read_journal() -> dict[str, list[str]]:
    try:
        data = json.loads(_journal_path().read_text())
        return {"paths": list(data.get("paths", [])), "shas": list(data.get("shas", []))}
    except (OSError, ValueError):
        return {"paths": [], "shas": []}


def _drop_clips(referenced: set[str]) -> int:
    """Delete cached clips cut from content no segment refers to any more."""
    removed = 0
    clips = get_settings().clips_dir
    for meta in clips.glob("*.json") if clips.exists() else []:
        try:
            sources = json.loads(meta.read_text()).get("sources", [])
        except (OSError, ValueError):
            continue
        if any(s.get("sha256") not in referenced for s in sources):
            for path in (meta, meta.with_suffix(".mp4")):  # the index first: a clip without it is never served
                path.unlink(missing_ok=True)
            removed += 1
    return removed


def finish_pending(session: Session) -> tuple[int, int]:
    """Unlink journalled store files no segment refers to, and clips cut from them; (files, clips) removed."""
    pending = _read_journal()
    referenced_paths = set(session.scalars(select(Segment.path)).all())
    referenced_shas = set(session.scalars(select(Segment.sha256)).all())
    home = get_settings().resolved_home
    files = 0
    for relative in pending["paths"]:
        if relative not in referenced_paths:
            target = home / relative
            if target.exists():
                target.unlink()
                files += 1
    files += _sweep_orphans(referenced_paths)
    clips = _drop_clips(referenced_shas)
    _journal_path().unlink(missing_ok=True)
    return files, clips


def _sweep_orphans(referenced_paths: set[str]) -> int:
    """Remove store files that no segment refers to and that are past the import grace period."""
    settings = get_settings()
    store, home = settings.store_dir, settings.resolved_home
    if not store.exists():
        return 0
    removed, cutoff = 0, time.time() - ORPHAN_GRACE_S
    for shard in store.iterdir():
        if not shard.is_dir() or shard.name.startswith("."):  # staging and the journal are not content
            continue
        for path in shard.iterdir():
            try:
                if path.is_file() and path.relative_to(home).as_posix() not in referenced_paths \
                        and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
    return removed


def delete_segments(session: Session, segments: list[Segment]) -> tuple[int, int]:
    """Delete these segment rows (their events, thumbnails and jobs cascade), commit, then remove files.

    The caller's pending changes (an audit entry) commit in the same transaction.
    """
    _write_journal([s.path for s in segments], [s.sha256 for s in segments])
    for segment in segments:
        session.delete(segment)
    session.commit()
    pause = float(os.environ.get(PAUSE_ENV, "0") or 0)
    if pause > 0:
        time.sleep(pause)
    return finish_pending(session)


def _brief(segment: Segment) -> dict[str, object]:
    return {"segment": segment.id, "camera": segment.camera_id, "start": segment.start.isoformat(),
            "end": segment.end.isoformat(), "bytes": segment.size_bytes}


def purge(session: Session, now: datetime, holds: list[HeldRange], *, dry_run: bool = False,
          before_commit: object = None) -> PurgeReport:
    """Delete expired, unheld footage; the report says what went and which holds kept what.

    ``before_commit(report)`` runs just before the commit (the api floor adds its audit entry there).
    """
    report = PurgeReport(dry_run=dry_run)
    if not dry_run:
        finish_pending(session)
    plan = plan_purge(session, now, holds)
    report.segments = len(plan.expired)
    report.hours = sum(s.duration_s for s in plan.expired) / 3600
    # Bytes freed: stored files no segment outside this purge shares.
    going = {s.id for s in plan.expired}
    kept_paths = set(session.scalars(select(Segment.path).where(Segment.id.not_in(going))).all()) if going else set()
    report.bytes_removed = sum({s.path: s.size_bytes for s in plan.expired if s.path not in kept_paths}.values())
    report.removed = [_brief(s) for s in plan.expired]
    report.holds = [{**_brief(s), "cases": cases} for s, cases in plan.held]
    if callable(before_commit):
        before_commit(report)
    if dry_run or not plan.expired:
        session.commit()
        return report
    report.files_removed, report.clips_removed = delete_segments(session, plan.expired)
    return report
