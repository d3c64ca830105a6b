"""Request and response bodies of the footage lifecycle: camera and site edits, case closing, the status."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.footage import Polygon


class CameraPatch(BaseModel):
    retain_days: int | None = Field(None, ge=1, le=36500, description="Days footage is kept; null: site default.")
    gate: str | None = Field(None, min_length=1, max_length=200)
    timezone: str | None = Field(None, max_length=64, description="IANA time zone of the recorder.")
    zones: dict[str, Polygon] | None = Field(None, max_length=50, description="Replaces every zone when given.")
    read_plates: bool | None = Field(None, description="Read licence plates when indexing this camera's footage.")


class SitePatch(BaseModel):
    retain_days: int | None = Field(description="Days footage is kept by default; null: keep for ever.",
                                    ge=1, le=36500)


class CaseClose(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why the case is closed (audited).")


class PurgeDue(BaseModel):
    segments: int = Field(description="Segments past their retention that no open case holds.")
    hours: float
    bytes: int
    newest_end: str | None = Field(description="End of the newest of them (ISO 8601, camera's offset).")


class CameraStatus(BaseModel):
    camera: str
    site: str
    gate: str
    timezone: str
    segments: int
    hours: float
    bytes: int
    oldest: str | None = Field(description="Start of the oldest footage (ISO 8601, camera's offset).")
    newest: str | None = Field(description="End of the newest footage (ISO 8601, camera's offset).")
    retain_days: int | None = Field(description="Days kept (the camera's own or its site's); null: kept for ever.")
    retention_from: str | None = Field(description="'camera', 'site', or null when nothing is set.")
    held_segments: int
    held_bytes: int
    held_cases: int = Field(description="Open cases holding this camera's footage.")
    held_by: list[str] = Field(description="Their names (admins only; empty for a manager).")
    purge_due: PurgeDue = Field(description="What the next purge deletes of this camera's footage.")


class SiteStatus(BaseModel):
    site: str
    retain_days: int | None = Field(description="The site's default retention; null: keep.")
    cameras: int
    hours: float
    bytes: int
    held_bytes: int
    purge_due_bytes: int


class NextPurge(BaseModel):
    segments: int
    hours: float
    bytes: int
    held_segments: int = Field(description="Segments past retention or not, kept because an open case holds them.")
    last_run: str | None = Field(description="When the last purge ran (UTC); null: never.")
    due_by: str | None = Field(description="The daily purge runs again by then (UTC); null: unknown.")


class Backlog(BaseModel):
    hours: float = Field(description="Footage hours waiting to be indexed.")
    speed: float | None = Field(description="Footage seconds indexed per wall second; null: not measured yet.")
    eta_s: float | None = Field(description="Seconds to index the backlog at that speed; null: unknown.")


class DataFolder(BaseModel):
    store_bytes: int = Field(description="Admin: the store on disk. Manager: the stored files of their footage.")
    clip_cache_bytes: int
    uploads_bytes: int
    free_bytes: int
    total_bytes: int | None = Field(description="The disk's size (admins only).")
    room_bytes: int = Field(description="Free space uploads may still use, after the reserve and open uploads.")


class StatusOut(BaseModel):
    scope: str = Field(description="'machine' (admin) or 'sites' (a manager's own sites).")
    sites: list[SiteStatus]
    cameras: list[CameraStatus]
    next_purge: NextPurge
    backlog: Backlog
    data: DataFolder
    warnings: list[str]
