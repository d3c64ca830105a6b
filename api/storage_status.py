"""What is stored and what will go: per site and camera the footage, its retention, what the next purge deletes
and what open cases hold; the indexing backlog; the data folder by kind and the free space; warnings.

An admin (``site_ids`` None) sees the whole machine: the data folder's bytes are measured on disk. A manager
sees their own sites only: their footage's store files, the cached clips cut from them and their cameras' open
uploads, and how much room is left for uploads, but not the disk's size or what other sites use. Case names
are shown to admins only; a manager learns that footage is held, not by which investigation.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.lifecycle import held_ranges, last_purge
from detection.models import Job, JobStatus
from footage import uploads
from footage.models import Camera, Segment, SegmentStatus
from footage.retention import effective_retention, holding_cases, plan_purge
from footage.settings import get_settings
from footage.storage import disk_reserve

BACKLOG_WARN_H = 8.0
FREE_WARN_FRACTION = 0.10
PURGE_INTERVAL_H = 24  # the service's daily purge (api.service_startup)
WAITING = (SegmentStatus.STORED, SegmentStatus.QUEUED, SegmentStatus.INDEXING)


def _folder_bytes(folder: Path) -> int:
    if not folder.exists():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _indexing_speed(session: Session) -> float | None:
    """Footage seconds indexed per wall second, over the finished jobs that recorded their times."""
    query = (select(Segment.start, Segment.end, Job.started_at, Job.finished_at)
             .join(Job, Job.segment_id == Segment.id)
             .where(Job.status == JobStatus.DONE, Job.kind == "index", Job.started_at.is_not(None),
                    Job.finished_at.is_not(None)))
    rows = session.execute(query).all()
    footage = sum((r.end - r.start).total_seconds() for r in rows)
    wall = sum((r.finished_at - r.started_at).total_seconds() for r in rows)
    # The speed is the machine's, measured over every site's jobs; only the backlog is per site.
    return footage / wall if rows and wall > 0 else None


def _local(moment: datetime | None, zone: str) -> str | None:
    return moment.astimezone(ZoneInfo(zone)).isoformat() if moment is not None else None


def _clip_cache_bytes(shas: set[str] | None) -> int:
    """Cached clips (video and index) cut from these contents; all of them when ``shas`` is None."""
    clips = get_settings().clips_dir
    if shas is None:
        return _folder_bytes(clips)
    total = 0
    for meta in clips.glob("*.json") if clips.exists() else []:
        try:
            sources = {s.get("sha256") for s in json.loads(meta.read_text()).get("sources", [])}
            if sources & shas:
                video = meta.with_suffix(".mp4")
                total += meta.stat().st_size + (video.stat().st_size if video.exists() else 0)
        except (OSError, ValueError, AttributeError):
            continue
    return total


def storage_status(session: Session, site_ids: frozenset[int] | None = None,
                   now: datetime | None = None) -> dict[str, Any]:
    """The storage report; ``site_ids`` limits it to a manager's sites (None: everything, for an admin)."""
    now = now or datetime.now(UTC)
    admin = site_ids is None
    holds = held_ranges(session)
    cameras = [c for c in session.scalars(select(Camera).order_by(Camera.id))
               if site_ids is None or c.site_id in site_ids]
    visible = {c.id for c in cameras}
    plan = plan_purge(session, now, holds)
    due: dict[str, list[Segment]] = {}
    for segment in plan.expired:
        due.setdefault(segment.camera_id, []).append(segment)

    out_cameras: list[dict[str, Any]] = []
    sites: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    backlog_s = 0.0
    paths: dict[str, int] = {}
    shas: set[str] = set()
    for camera in cameras:
        segments = session.scalars(select(Segment).where(Segment.camera_id == camera.id)).all()
        retention = effective_retention(camera)
        held = [(s, holding_cases(s, holds)) for s in segments]
        held = [(s, cases) for s, cases in held if cases]
        going = due.get(camera.id, [])
        backlog_s += sum(s.duration_s for s in segments if s.status in WAITING)
        for s in segments:
            paths[s.path] = s.size_bytes
            shas.add(s.sha256)
        row: dict[str, Any] = {
            "camera": camera.id, "site": camera.site.name, "gate": camera.gate, "timezone": camera.timezone,
            "segments": len(segments),
            "hours": round(sum(s.duration_s for s in segments) / 3600, 4),
            "bytes": sum(s.size_bytes for s in segments),
            "oldest": _local(min((s.start for s in segments), default=None), camera.timezone),
            "newest": _local(max((s.end for s in segments), default=None), camera.timezone),
            "retain_days": retention,
            "retention_from": None if retention is None else "camera" if camera.retain_days is not None else "site",
            "held_segments": len(held),
            "held_bytes": sum(s.size_bytes for s, _ in held),
            "held_cases": len({c for _, cases in held for c in cases}),
            "held_by": sorted({c for _, cases in held for c in cases}) if admin else [],
            "purge_due": {
                "segments": len(going), "hours": round(sum(s.duration_s for s in going) / 3600, 4),
                "bytes": sum(s.size_bytes for s in going),
                "newest_end": _local(max((s.end for s in going), default=None), camera.timezone),
            },
        }
        out_cameras.append(row)
        site = sites.setdefault(camera.site.name, {
            "site": camera.site.name, "retain_days": camera.site.retain_days, "cameras": 0, "hours": 0.0,
            "bytes": 0, "held_bytes": 0, "purge_due_bytes": 0})
        site["cameras"] += 1
        site["hours"] = round(site["hours"] + row["hours"], 4)
        for key, value in (("bytes", row["bytes"]), ("held_bytes", row["held_bytes"]),
                           ("purge_due_bytes", row["purge_due"]["bytes"])):
            site[key] += value
        if retention is None:
            fix = (f"set one with 'gatewatch cameras set {camera.id} --retain-days N'" if admin
                   else "ask your administrator to set one")
            warnings.append(f"camera {camera.id} has no retention: its footage is kept for ever ({fix})")

    settings = get_settings()
    home = settings.resolved_home
    usage = shutil.disk_usage(home if home.exists() else next(p for p in home.parents if p.exists()))
    open_uploads = [u for u in uploads.open_uploads() if admin or u.camera_id in visible]
    pending = sum(max(0, u.length - u.offset) for u in uploads.open_uploads())
    room = max(0, usage.free - disk_reserve(usage.total) - pending)
    speed = _indexing_speed(session)
    eta = backlog_s / speed if speed else None
    if usage.free < usage.total * FREE_WARN_FRACTION:
        warnings.append(f"under 10 % of the disk is free ({usage.free} of {usage.total} bytes); purge or add space"
                        if admin else "the server's disk is almost full: uploads may soon be refused; "
                        "tell your administrator")
    if room == 0:
        warnings.append("no room is left for uploads: the free space is all kept in reserve; imports and uploads "
                        + ("are refused until space is freed (purge, or GATEWATCH_DISK_RESERVE_BYTES)" if admin
                           else "are refused; tell your administrator"))
    if eta is not None and eta > BACKLOG_WARN_H * 3600:
        warnings.append(f"indexing will take {eta / 3600:.1f} h at the measured speed, longer than a night")
    going_all = [s for s in plan.expired if s.camera_id in visible]
    last = last_purge(session)
    return {
        "scope": "machine" if admin else "sites",
        "sites": list(sites.values()),
        "cameras": out_cameras,
        "next_purge": {
            "segments": len(going_all), "hours": round(sum(s.duration_s for s in going_all) / 3600, 4),
            "bytes": sum(s.size_bytes for s in going_all),
            "held_segments": sum(r["held_segments"] for r in out_cameras),
            "last_run": last.astimezone(UTC).isoformat() if last else None,
            "due_by": (last + timedelta(hours=PURGE_INTERVAL_H)).astimezone(UTC).isoformat() if last else None,
        },
        "backlog": {"hours": round(backlog_s / 3600, 4), "speed": speed, "eta_s": eta},
        "data": {
            "store_bytes": _folder_bytes(settings.store_dir) if admin else sum(paths.values()),
            "clip_cache_bytes": _clip_cache_bytes(None if admin else shas),
            "uploads_bytes": _folder_bytes(settings.uploads_dir) if admin else sum(u.offset for u in open_uploads),
            "free_bytes": usage.free,
            "total_bytes": usage.total if admin else None,
            "room_bytes": room,
        },
        "warnings": warnings,
    }
