"""How much footage a search window covered, per camera: the recorded spans inside it and how much was indexed.

A search that finds nothing means two different things for evidence: there were no recordings in the window,
or there were and nothing matching was seen. The search summary reports this next to its counts, so the page
(and anyone reading the API) can say which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from footage.models import Segment, SegmentStatus


@dataclass
class Coverage:
    """The footage of one camera inside a window."""

    recorded_s: float = 0.0
    """Seconds of the window covered by stored footage (overlapping files counted once)."""
    indexed_s: float = 0.0
    """Of those, seconds whose footage is indexed, i.e. actually searched."""
    spans: list[tuple[datetime, datetime]] = field(default_factory=list)
    """The recorded stretches inside the window (merged, clipped to it, oldest first; aware UTC)."""


def _merge(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _seconds(spans: list[tuple[datetime, datetime]]) -> float:
    return sum((end - start).total_seconds() for start, end in spans)


def footage_coverage(session: Session, camera_ids: list[str], start: datetime, end: datetime) -> dict[str, Coverage]:
    """Per camera id (every one asked for, even with no footage): the footage inside [start, end)."""
    out = {camera_id: Coverage() for camera_id in camera_ids}
    if not camera_ids or end <= start:
        return out
    rows = session.execute(
        select(Segment.camera_id, Segment.start, Segment.end, Segment.status)
        .where(Segment.camera_id.in_(camera_ids), Segment.start < end, Segment.end > start)
    ).all()
    recorded: dict[str, list[tuple[datetime, datetime]]] = {c: [] for c in camera_ids}
    indexed: dict[str, list[tuple[datetime, datetime]]] = {c: [] for c in camera_ids}
    for camera_id, seg_start, seg_end, status in rows:
        span = (max(seg_start, start), min(seg_end, end))
        recorded[camera_id].append(span)
        if status == SegmentStatus.INDEXED:
            indexed[camera_id].append(span)
    for camera_id in camera_ids:
        spans = _merge(recorded[camera_id])
        out[camera_id] = Coverage(recorded_s=_seconds(spans), indexed_s=_seconds(_merge(indexed[camera_id])),
                                  spans=spans)
    return out


__all__ = ["Coverage", "footage_coverage"]
