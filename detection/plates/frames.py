"""Which frames of a vehicle's track to read its plate from: large and sharp ones, a handful per track.

Candidates come from the track's sampled boxes (what indexing stored), so indexing and the backfill of older
footage choose alike: the largest boxes (the vehicle nearest the camera) and a few spread over the track, none
too small to carry a legible plate. Those frames are decoded and the vehicle cut out; the plate is looked for
in every cut, and the cuts where it was found most surely (weighted by size and sharpness) are the ones read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

PLATE_LABELS = frozenset({"car", "truck", "bus", "motorcycle"})
"""Labels that carry a licence plate (a bicycle does not)."""
MIN_VEHICLE_WIDTH_PX = 90
"""A vehicle narrower than this in the frame has a plate under ~25 px wide: too small to read, not tried."""
CANDIDATES = 5
"""Frames decoded, and searched for the plate, per track at most."""
LARGEST = 2
"""Of those, the largest boxes; the others are spread over the track."""
READS = 3
"""Of those, the frames whose plate is read (two recogniser reads each)."""
VEHICLE_MARGIN = 0.04
"""The vehicle cut is this fraction of its size larger than its box (boxes shave bumpers, where plates are)."""
SHARPNESS_WIDTH = 160


@dataclass
class Candidate:
    """One frame of one track where the vehicle is large enough to try."""

    t: float
    """Seconds from the segment's first frame."""
    box: tuple[float, float, float, float]
    """x1, y1, x2, y2 in 0..1 frame coordinates (viewer's orientation)."""
    crop: np.ndarray | None = None
    """The vehicle cut from the decoded frame (full resolution), once decoded."""
    sharpness: float = 0.0
    """Variance of the Laplacian of the cut, at a fixed width (comparable between frames)."""
    sharpness_t: float = 0.0
    """Time of the decoded frame the cut came from."""
    plate: Any = None
    """The plate box found in the cut (a ``reader.PlateBox``), or None."""

    def area(self) -> float:
        return max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1])


@dataclass
class PlateTarget:
    """A vehicle event whose plate is to be read: its key for the caller, label, and track."""

    key: int
    """The caller's index or id of the event."""
    label: str
    """car, truck, bus, motorcycle, ..."""
    track: list[list[float]]
    """Sampled boxes [[t_s, x1, y1, x2, y2], ...], t in seconds from the segment's first frame, 0..1 boxes."""
    candidates: list[Candidate] = field(default_factory=list)


def choose_candidates(target: PlateTarget, frame_width: int, frame_height: int) -> list[Candidate]:
    """Up to CANDIDATES boxes of a plate-carrying track, wide enough to read, in time order: the LARGEST biggest
    ones (the vehicle nearest the camera) and the rest spread evenly over the track. The largest box alone is
    not enough: a car close under the camera fills the frame with its roof while its plate has left the bottom
    edge (seen on the toll-gate video: its plate shows only in the first seconds of a six-second pass)."""
    if target.label not in PLATE_LABELS:
        return []
    wide = [Candidate(float(p[0]), (float(p[1]), float(p[2]), float(p[3]), float(p[4])))
            for p in target.track if len(p) >= 5 and (p[3] - p[1]) * frame_width >= MIN_VEHICLE_WIDTH_PX]
    if len(wide) <= CANDIDATES:
        return wide
    largest = sorted(wide, key=lambda c: (-c.area(), c.t))[:LARGEST]
    rest = [c for c in wide if c not in largest]
    spread = CANDIDATES - len(largest)
    picks = {round(i * (len(rest) - 1) / max(1, spread - 1)) for i in range(spread)}
    return sorted(largest + [rest[i] for i in sorted(picks)], key=lambda c: c.t)


def vehicle_cut(frame: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The vehicle from a frame, its box (0..1) grown by VEHICLE_MARGIN, in full resolution."""
    height, width = frame.shape[:2]
    bw, bh = (box[2] - box[0]) * width, (box[3] - box[1]) * height
    x1 = int(max(0, box[0] * width - VEHICLE_MARGIN * bw))
    x2 = int(min(width, box[2] * width + VEHICLE_MARGIN * bw))
    y1 = int(max(0, box[1] * height - VEHICLE_MARGIN * bh))
    y2 = int(min(height, box[3] * height + VEHICLE_MARGIN * bh))
    return frame[y1:max(y1 + 1, y2), x1:max(x1 + 1, x2)].copy()


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the lower half of the cut (where plates are) at a fixed width."""
    lower = crop[crop.shape[0] // 3:]
    grey = cv2.cvtColor(lower, cv2.COLOR_BGR2GRAY) if lower.ndim == 3 else lower
    scale = SHARPNESS_WIDTH / max(1, grey.shape[1])
    small = cv2.resize(grey, (SHARPNESS_WIDTH, max(1, round(grey.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(small, cv2.CV_32F).var())


def best_to_read(candidates: list[Candidate]) -> list[Candidate]:
    """The READS candidates with a plate found that are best to read: ranked by the finder's confidence times
    size and sharpness, each relative to the track's best (a slightly smaller but sharp frame beats a large
    blurred one)."""
    found = [c for c in candidates if c.crop is not None and c.crop.size and c.plate is not None]
    if not found:
        return []
    top_area = max(c.area() for c in found) or 1.0
    top_sharp = max(c.sharpness for c in found) or 1.0
    ranked = sorted(found, key=lambda c: (-float(c.plate.score) * (c.area() / top_area) * (c.sharpness / top_sharp),
                                          c.t))
    return ranked[:READS]
