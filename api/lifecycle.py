"""Footage lifecycle on the api floor: evidence holds from open cases, audited purges and deletions, settings,
and the storage status report. HTTP routes and CLI commands are thin shells over these functions.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import audit
from api.models import Case, CaseItem
from detection.models import Job, JobStatus
from footage.catalogue import CatalogueError, UnknownCamera, UnknownSite, validate_zones, zone_of
from footage.models import Camera, Segment, Site
from footage.retention import (
    HeldRange,
    PurgeReport,
    SegmentHeld,
    delete_segments,
    effective_retention,
    holding_cases,
    purge,
)
from footage.settings import get_settings

OPEN = "open"
CLOSED = "closed"
BACKLOG_WARN_H = 8.0
FREE_WARN_FRACTION = 0.10


class LifecycleError(ValueError):
    """A lifecycle request that cannot be done as asked; the message says what to change."""


def held_ranges(session: Session) -> list[HeldRange]:
    """Every camera time range an open case holds."""
    rows = session.execute(
        select(CaseItem.camera_id, CaseItem.start, CaseItem.end, Case.name)
        .join(Case, Case.id == CaseItem.case_id).where(Case.status == OPEN)
    ).all()
    return [HeldRange(r.camera_id, r.start, r.end, r.name) for r in rows]


def run_purge(session: Session, *, actor: str, dry_run: bool = False, remote_addr: str | None = None,
              now: datetime | None = None) -> PurgeReport:
    """Purge expired footage; one audit entry (committed with the deletions) says what went and what was held."""
    def add_audit(report: PurgeReport) -> None:
        if not dry_run:
            audit.record(session, user_name=actor, action="footage_purge", obj="footage",
                         detail=report.to_dict(), remote_addr=remote_addr)

    return purge(session, now or datetime.now(UTC), held_ranges(session), dry_run=dry_run, before_commit=add_audit)


def delete_segment(session: Session, segment_id: int, reason: str, *, actor: str,
                   remote_addr: str | None = None) -> dict[str, Any]:
    """Delete one segment by hand (a wrong upload), refused while an open case holds it."""
    reason = reason.strip()
    if not reason:
        raise LifecycleError("give a reason for deleting footage (--reason TEXT); it goes into the audit trail")
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise LookupError(f"no segment {segment_id}; list them with 'gatewatch segments list CAMERA'")
    cases = holding_cases(segment, held_ranges(session))
    if cases:
        raise SegmentHeld(f"segment {segment_id} is held by open case(s) {', '.join(cases)}; close them first "
                          "with 'gatewatch cases close CASE --reason TEXT'")
    detail = {"camera": segment.camera_id, "sha256": segment.sha256, "bytes": segment.size_bytes,
              "start": segment.start.isoformat(), "end": segment.end.isoformat(), "reason": reason}
    audit.record(session, user_name=actor, action="segment_delete", obj=f"segment:{segment_id}", detail=detail,
                 remote_addr=remote_addr)
    files, clips = delete_segments(session, [segment])
    return {"id": segment_id, **detail, "files_removed": files, "clips_removed": clips}


def close_case(session: Session, case: Case, reason: str, *, actor: str, remote_addr: str | None = None) -> Case:
    """Close a case, releasing its hold on footage; audited with the reason."""
    reason = reason.strip()
    if not reason:
        raise LifecycleError("give a reason for closing the case (--reason TEXT); it goes into the audit trail")
    if case.status == CLOSED:
        raise LifecycleError(f"case {case.name!r} is already closed")
    case.status, case.closed_at, case.close_reason = CLOSED, datetime.now(UTC), reason
    audit.record(session, user_name=actor, action="case_close", obj=f"case:{case.id}",
                 detail={"name": case.name, "reason": reason}, remote_addr=remote_addr)
    session.commit()
    return case


def _check_days(days: int | None) -> int | None:
    if days is not None and not 1 <= days <= 36500:
        raise LifecycleError(f"retention of {days} days is out of range; give 1 to 36500 days, or none to keep")
    return days


_UNSET: Any = object()


def update_camera(session: Session, camera_id: str, *, actor: str, remote_addr: str | None = None,
                  retain_days: int | None = _UNSET, gate: str | None = None, timezone: str | None = None,
                  zones: dict[str, Any] | None = None, read_plates: bool | None = None) -> Camera:
    camera = session.get(Camera, camera_id)
    if camera is None:
        raise UnknownCamera(f"no camera {camera_id!r}; see 'gatewatch cameras list'")
    changes: dict[str, Any] = {}
    if retain_days is not _UNSET:
        camera.retain_days = changes["retain_days"] = _check_days(retain_days)
    if gate is not None:
        if not gate.strip():
            raise CatalogueError("the gate name is empty; give the gate it watches, e.g. 'North gate'")
        camera.gate = changes["gate"] = gate.strip()
    if timezone is not None:
        zone_of(timezone)
        camera.timezone = changes["timezone"] = timezone
    if zones is not None:
        camera.zones = changes["zones"] = validate_zones(zones)
    if read_plates is not None:
        camera.read_plates = changes["read_plates"] = bool(read_plates)
    audit.record(session, user_name=actor, action="camera_update", obj=f"camera:{camera.id}", detail=changes,
                 remote_addr=remote_addr)
    session.commit()
    return camera


def update_site(session: Session, site: Site | str | int, retain_days: int | None, *, actor: str,
                remote_addr: str | None = None) -> Site:
    found = site if isinstance(site, Site) else session.scalar(
        select(Site).where(Site.id == site if isinstance(site, int) else Site.name == site))
    if found is None:
        raise UnknownSite(f"no site {site!r}; see 'gatewatch sites list'")
    found.retain_days = _check_days(retain_days)
    audit.record(session, user_name=actor, action="site_update", obj=f"site:{found.name}",
                 detail={"retain_days": found.retain_days}, remote_addr=remote_addr)
    session.commit()
    return found


def _folder_bytes(folder: Path, skip: set[Path] = frozenset()) -> int:  # type: ignore[assignment]
    if not folder.exists():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p not in skip)


def _indexing_speed(session: Session) -> float | None:
    """Footage seconds indexed per wall second, over the finished jobs that recorded their times."""
    rows = session.execute(
        select(Segment.start, Segment.end, Job.started_at, Job.finished_at).join(Job, Job.segment_id == Segment.id)
        .where(Job.status == JobStatus.DONE, Job.kind == "index", Job.started_at.is_not(None),
               Job.finished_at.is_not(None))
    ).all()
    footage = sum((r.end - r.start).total_seconds() for r in rows)
    wall = sum((r.finished_at - r.started_at).total_seconds() for r in rows)
    return footage / wall if rows and wall > 0 else None


def storage_status(session: Session, site_ids: frozenset[int] | None = None) -> dict[str, Any]:
    """Per camera footage, retention and holds; the indexing backlog; the data folder by kind; warnings.

    ``site_ids`` limits the cameras (a manager's sites); the data folder figures are the whole machine's.
    """
    holds = held_ranges(session)
    done = set(session.scalars(select(Job.segment_id).where(Job.status == JobStatus.DONE)).all())
    cameras = [c for c in session.scalars(select(Camera).order_by(Camera.id))
               if site_ids is None or c.site_id in site_ids]
    out_cameras, warnings, backlog_s = [], [], 0.0
    for camera in cameras:
        segments = session.scalars(select(Segment).where(Segment.camera_id == camera.id)).all()
        retention = effective_retention(camera)
        backlog_s += sum(s.duration_s for s in segments if s.id not in done)
        out_cameras.append({
            "camera": camera.id, "site": camera.site.name, "segments": len(segments),
            "hours": round(sum(s.duration_s for s in segments) / 3600, 4),
            "bytes": sum(s.size_bytes for s in segments),
            "oldest": min((s.start for s in segments), default=None),
            "newest": max((s.end for s in segments), default=None),
            "retain_days": retention,
            "held_bytes": sum(s.size_bytes for s in segments if holding_cases(s, holds)),
        })
        if retention is None:
            warnings.append(f"camera {camera.id} has no retention: its footage is kept for ever "
                            f"(set one with 'gatewatch cameras set {camera.id} --retain-days N')")
    settings = get_settings()
    home = settings.resolved_home
    usage = shutil.disk_usage(home if home.exists() else Path("/"))
    speed = _indexing_speed(session)
    eta = backlog_s / speed if speed else None
    if usage.free < usage.total * FREE_WARN_FRACTION:
        warnings.append(f"under 10 % of the disk is free ({usage.free} of {usage.total} bytes); purge or add space")
    if eta is not None and eta > BACKLOG_WARN_H * 3600:
        warnings.append(f"indexing will take {eta / 3600:.1f} h at the measured speed, longer than a night")
    return {
        "cameras": out_cameras,
        "backlog": {"hours": round(backlog_s / 3600, 4), "speed": speed, "eta_s": eta},
        "data": {"store_bytes": _folder_bytes(settings.store_dir),
                 "clip_cache_bytes": _folder_bytes(settings.clips_dir),
                 "uploads_bytes": _folder_bytes(settings.uploads_dir),
                 "free_bytes": usage.free, "total_bytes": usage.total},
        "warnings": warnings,
    }
