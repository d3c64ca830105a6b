"""Tables of the detection floor: events (one tracked object each) and indexing jobs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from footage.db import Base, UTCDateTime, utcnow


class Event(Base):
    """One tracked object seen by one camera in one segment (times in UTC)."""

    __tablename__ = "event"
    __table_args__ = (
        # The search's range (camera_id, start); on PostgreSQL followed by its filters, checked on the index entry
        # instead of the row (migration 0006 says why, and why not on SQLite).
        Index("ix_event_camera_start", "camera_id", "start").ddl_if(dialect="sqlite"),
        Index("ix_event_camera_start_filters", "camera_id", "start", "end", "dwell_s", "stationary")
        .ddl_if(dialect="postgresql"),
        Index("ix_event_start", "start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("camera.id", ondelete="RESTRICT"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(32))
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    score: Mapped[float] = mapped_column(Float)
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    dwell_s: Mapped[float] = mapped_column(Float, default=0.0)
    dwell_zone: Mapped[str | None] = mapped_column(String(100), nullable=True)
    stationary: Mapped[bool] = mapped_column(default=False)
    colour: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Sampled boxes [[t_offset_s, x1, y1, x2, y2], ...] in 0..1 coordinates, for overlays and audits.
    track: Mapped[list[list[float]]] = mapped_column(JSON, default=list)
    # The licence plate read across the track's best frames: as printed (黑A·12345), its search key (upper case,
    # no separators) and how sure the read is (0..1). None: not a vehicle, plates off, or nothing legible.
    plate: Mapped[str | None] = mapped_column(String(32), nullable=True)
    plate_norm: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    plate_score: Mapped[float | None] = mapped_column(Float, nullable=True)


class EventThumbnail(Base):
    """The best crop of an event, kept apart so event scans stay narrow."""

    __tablename__ = "event_thumbnail"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), primary_key=True)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)


class EventPlateCrop(Base):
    """The best crop of an event's licence plate (JPEG), kept apart like the thumbnail."""

    __tablename__ = "event_plate_crop"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), primary_key=True)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)


class JobStatus(StrEnum):
    """Where an indexing job stands; stored as its text value."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(Base):
    """Indexing work for one segment; the database is the source of truth for its state."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default="index")
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    engine: Mapped[str] = mapped_column(String(16), default="local")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # A running job whose lease has expired belongs to a dead worker and may be claimed again.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
