"""Tables of the footage floor: sites, their cameras, and the stored video segments."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from footage.db import Base, UTCDateTime, utcnow


class Site(Base):
    """A residential community (one or more gates)."""

    __tablename__ = "site"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Days footage is kept unless a camera says otherwise; None: keep for ever.
    retain_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cameras: Mapped[list[Camera]] = relationship(back_populates="site", order_by="Camera.id")


class Camera(Base):
    """One camera at a gate. ``zones`` maps a zone name to a polygon in 0..1 frame coordinates."""

    __tablename__ = "camera"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"), index=True)
    gate: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Seconds to add to the recorder's clock to get true time (NVR clocks drift).
    clock_offset_s: Mapped[float] = mapped_column(Float, default=0.0)
    zones: Mapped[dict[str, list[list[float]]]] = mapped_column(JSON, default=dict)
    # Days this camera's footage is kept; None: the site's default.
    retain_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Whether indexing reads licence plates on this camera (some sites will not want it).
    read_plates: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    site: Mapped[Site] = relationship(back_populates="cameras")


class SegmentStatus(StrEnum):
    """Where a segment stands; stored as its text value."""

    STORED = "stored"
    QUEUED = "queued"
    INDEXING = "indexing"
    INDEXED = "indexed"
    FAILED = "failed"


class Segment(Base):
    """One stored video file of one camera, with its wall-clock span (UTC).

    The same content is one file in the store but may be a segment of several cameras (two sites that both
    hold a copy of an export): unique per camera, so a duplicate never tells one site about another's.
    """

    __tablename__ = "segment"
    __table_args__ = (
        Index("ix_segment_camera_start", "camera_id", "start"),
        UniqueConstraint("camera_id", "sha256", name="uq_segment_camera_sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("camera.id", ondelete="RESTRICT"))
    # Relative to GATEWATCH_HOME, so a data folder can move or be mounted elsewhere.
    path: Mapped[str] = mapped_column(String(500))
    original_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    # Where the start time came from: "stated", "file name", "creation_time".
    start_source: Mapped[str] = mapped_column(String(32))
    fps: Mapped[float] = mapped_column(Float)
    variable_frame_rate: Mapped[bool] = mapped_column(default=False)
    codec: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=SegmentStatus.STORED, index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    probe: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    camera: Mapped[Camera] = relationship()

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


class UploadClaim(Base):
    """A resumable upload whose last byte arrived and whose import has begun: inserted once, never twice.

    The primary key makes "complete -> importing" one atomic step across every service process, so a second
    request at the final offset (a retried or racing last chunk) cannot start a second import.
    """

    __tablename__ = "upload_claim"

    upload_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Last: registers the session hooks that keep the camera cache true in every process that can change cameras.
from footage import camera_cache  # noqa: E402,F401
