"""Plain data passed between the indexing pipeline and the rest: what a camera looks like, what was found."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CameraSpec:
    """What the pipeline needs to know about a camera; no database in sight."""

    zones: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    """Named polygons in 0..1 frame coordinates (x right, y down), as the viewer sees the frame."""
    read_plates: bool = False
    """Read the licence plate of each vehicle event (the worker passes the camera's setting, on by default)."""


@dataclass
class EventRecord:
    """One tracked object found in one segment; times are seconds from the segment's first frame."""

    label: str
    """car, truck, bus, motorcycle, bicycle or person."""
    start_s: float
    """First time the object was seen, in seconds from the segment start."""
    end_s: float
    """Last time the object was seen, in seconds from the segment start."""
    score: float
    """Best detector confidence over the track."""
    zones: list[str] = field(default_factory=list)
    """Names of the camera zones the object's ground point entered."""
    dwell_s: float = 0.0
    """Longest time the object stood still, in seconds."""
    dwell_zone: str | None = None
    """The zone it stood still in (None: outside every zone, or no zones)."""
    stationary: bool = False
    """True for an object that never moved during the segment (a parked car): reported once, flagged."""
    colour: str | None = None
    """Dominant colour of a vehicle as a word (white, black, grey, red, blue, ...); None for people."""
    thumbnail_jpeg: bytes | None = None
    """The best crop of the object, JPEG-encoded."""
    track: list[list[float]] = field(default_factory=list)
    """Sampled boxes [[t_s, x1, y1, x2, y2], ...] in seconds from segment start and 0..1 coordinates."""
    plate: str | None = None
    """The licence plate as shown (黑A·12345, or Latin as printed); None when not read."""
    plate_norm: str | None = None
    """The plate's search key (upper case, no separators)."""
    plate_score: float | None = None
    """0..1: agreement of the reads times the recogniser's confidence."""
    plate_crop_jpeg: bytes | None = None
    """The best crop of the plate, JPEG-encoded."""


@dataclass
class SegmentIndex:
    """Everything indexing one segment produced, with figures about the work done."""

    events: list[EventRecord]
    duration_s: float
    stats: dict[str, float] = field(default_factory=dict)
    """Work figures: frames demuxed, decoded, run through the detector; active seconds; wall seconds."""
