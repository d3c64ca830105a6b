"""Request and response bodies of the footage lifecycle: camera and site edits, case closing, the status."""

from __future__ import annotations

from datetime import datetime

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


class CameraStatus(BaseModel):
    camera: str
    site: str
    segments: int
    hours: float
    bytes: int
    oldest: datetime | None
    newest: datetime | None
    retain_days: int | None
    held_bytes: int


class Backlog(BaseModel):
    hours: float = Field(description="Footage hours without a finished indexing job.")
    speed: float | None = Field(description="Footage seconds indexed per wall second; null: not measured yet.")
    eta_s: float | None = Field(description="Seconds to index the backlog at that speed; null: unknown.")


class DataFolder(BaseModel):
    store_bytes: int
    clip_cache_bytes: int
    uploads_bytes: int
    free_bytes: int
    total_bytes: int


class StatusOut(BaseModel):
    cameras: list[CameraStatus]
    backlog: Backlog
    data: DataFolder
    warnings: list[str]
