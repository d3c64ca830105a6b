"""Request and response bodies of sites, cameras, segments, footage uploads and their results."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

Point = Annotated[list[float], Field(min_length=2, max_length=2, description="[x, y], fractions of the frame 0..1.")]
Polygon = Annotated[list[Point], Field(min_length=3, max_length=100)]


class SiteCreate(BaseModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True,
                                           pattern=r"^[^\x00-\x1f\x7f]+$")] = Field(
        description="The community's name, e.g. 'Maple Court'.")


class SiteOut(BaseModel):
    id: int
    name: str
    cameras: list[str] = Field(description="Ids of the site's cameras.")
    retain_days: int | None = Field(None, description="Days the site's footage is kept by default; null: keep.")


class CameraCreate(BaseModel):
    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                    description="Camera id (appears in URLs): letters, digits, '.', '-', '_'.")
    site: str = Field(min_length=1, max_length=200, description="Name of an existing site.")
    gate: str = Field(min_length=1, max_length=200, description="The gate it watches, e.g. 'North gate'.")
    timezone: str = Field("UTC", max_length=64, description="IANA time zone of the recorder, e.g. Asia/Shanghai.")
    clock_offset_s: float = Field(0.0, ge=-86400, le=86400,
                                  description="Seconds to add to the recorder's clock to get true time.")
    zones: dict[str, Polygon] = Field(default_factory=dict, max_length=50,
                                      description="Named polygons in 0..1 frame coordinates, at least 3 points each.")


class CameraOut(BaseModel):
    id: str
    site: str
    gate: str
    timezone: str
    clock_offset_s: float
    zones: dict[str, list[list[float]]]
    retain_days: int | None = Field(None, description="The camera's own retention in days; null: the site's.")
    effective_retain_days: int | None = Field(
        None, description="Days its footage is actually kept (its own, else its site's); null: kept for ever.")
    read_plates: bool = Field(True, description="Whether indexing reads licence plates on this camera.")


class JobBrief(BaseModel):
    status: str = Field(description="queued, running, done or failed.")
    progress: float = Field(description="0..1.")
    attempts: int
    error: str | None


class SegmentOut(BaseModel):
    id: int
    camera: str
    original_name: str
    start: str = Field(description="ISO 8601 with the camera's offset.")
    end: str = Field(description="ISO 8601 with the camera's offset.")
    duration_s: float
    size_bytes: int
    fps: float
    codec: str
    width: int
    height: int
    sha256: str
    status: str = Field(description="stored, queued, indexing, indexed or failed.")
    error: str | None
    job: JobBrief | None = Field(description="The segment's latest indexing job, if any.")


class ImportResultOut(BaseModel):
    path: str = Field(description="The file as named by the uploader or the import.")
    status: str = Field(description="imported, duplicate or refused.")
    segment_id: int | None
    camera: str | None
    start: str | None = Field(description="ISO 8601 with the camera's offset.")
    end: str | None = Field(description="ISO 8601 with the camera's offset.")
    sha256: str | None
    error: str | None = Field(description="Why the file was refused, and what to do.")


class UploadStatus(BaseModel):
    offset: int = Field(description="Bytes stored so far; resume from here.")
    length: int = Field(description="Declared total bytes.")
    filename: str
    complete: bool
    result: ImportResultOut | None = Field(description="The import result once the last byte arrived.")
