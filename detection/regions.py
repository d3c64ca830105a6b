"""Where in a frame to run the detector: square crops around motion and zones, or the whole frame.

The detector costs about its input's pixel count. A whole 1280x720 frame is shrunk to 640x384, so a far car is
seen at half size; a square crop around the motion, run at its native resolution, costs fewer pixels *and* sees
the car at full size. Frigate does the same (``frigate/util/object.py`` ``get_cluster_region``): it clusters
motion boxes, cuts a square around each cluster, and merges overlapping squares.

``plan_regions`` is pure geometry on pixel boxes; ``Detector.detect_regions`` runs the crops and maps the boxes
back to frame coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Box = tuple[float, float, float, float]
"""x1, y1, x2, y2 in frame pixels."""

def iou(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Intersection over union of two x1, y1, x2, y2 boxes (any sequence or array of four numbers)."""
    iw = max(0.0, float(min(a[2], b[2]) - max(a[0], b[0])))
    ih = max(0.0, float(min(a[3], b[3]) - max(a[1], b[1])))
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - iw * ih
    return iw * ih / union if union > 0 else 0.0


REGION_SIZES = (320, 416, 512, 640)
"""Square crop sides in pixels, all multiples of the model's stride (32); a crop runs at its native size."""
MARGIN = 0.25
"""Context added around a motion box on each side, as a fraction of the box's longer side (at least 16 px)."""
WHOLE_FRAME_AREA = 0.5
"""Fall back to the whole frame when the crops cover this fraction of the frame: motion is everywhere."""
WHOLE_FRAME_COST = 1.25
"""... or when the crops' pixels exceed the whole frame's model input by this factor (a 1280x720 frame runs at
640x384: two 320 crops cost 0.83 of it and see far cars at twice the size; one 640 crop would cost 1.67)."""
MAX_REGIONS = 4
"""More crops than this and the whole frame is cheaper than the per-crop overhead."""
MODEL_SIZE = 640
"""The model's input side for a whole frame (settings.detect_imgsz)."""


@dataclass(frozen=True)
class Region:
    """A rectangle of a frame, in integer pixels, that the detector runs on."""

    x1: int
    """Left edge (inclusive)."""
    y1: int
    """Top edge (inclusive)."""
    x2: int
    """Right edge (exclusive)."""
    y2: int
    """Bottom edge (exclusive)."""

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1

    def contains(self, box: Box, inset: float = 0.0) -> bool:
        """Whether the box lies inside this region, at least ``inset`` pixels from its edges."""
        return (box[0] >= self.x1 + inset and box[1] >= self.y1 + inset
                and box[2] <= self.x2 - inset and box[3] <= self.y2 - inset)

    def is_whole(self, frame_size: tuple[int, int]) -> bool:
        """Whether this region is the whole frame (width, height)."""
        return (self.x1, self.y1, self.x2, self.y2) == (0, 0, frame_size[0], frame_size[1])


def whole_frame(frame_size: tuple[int, int]) -> Region:
    """The region that is the whole frame of (width, height)."""
    return Region(0, 0, frame_size[0], frame_size[1])


def model_input_pixels(width: int, height: int, model_size: int = MODEL_SIZE) -> int:
    """Pixels the model sees for a whole frame letterboxed to ``model_size`` (long side), padded to stride 32."""
    scale = model_size / max(width, height)
    w = -(-round(width * scale) // 32) * 32
    h = -(-round(height * scale) // 32) * 32
    return w * h


def _square_around(box: Box, side: int, frame_size: tuple[int, int]) -> Region:
    """A side x side square centred on the box, shifted (not shrunk) to lie inside the frame."""
    width, height = frame_size
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x1 = round(float(cx - side / 2))
    y1 = round(float(cy - side / 2))
    x1 = min(max(0, x1), width - side)
    y1 = min(max(0, y1), height - side)
    return Region(x1, y1, x1 + side, y1 + side)


def _padded(box: Box, frame_size: tuple[int, int]) -> Box:
    pad = max(16.0, MARGIN * max(box[2] - box[0], box[3] - box[1]))
    return (max(0.0, box[0] - pad), max(0.0, box[1] - pad),
            min(float(frame_size[0]), box[2] + pad), min(float(frame_size[1]), box[3] + pad))


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _side_for(box: Box, sizes: Sequence[int], limit: int) -> int | None:
    need = max(box[2] - box[0], box[3] - box[1])
    for side in sizes:
        if side >= need and side <= limit:
            return side
    return None


def plan_regions(
    frame_size: tuple[int, int],
    boxes: Sequence[Box],
    *,
    sizes: Sequence[int] = REGION_SIZES,
    max_regions: int = MAX_REGIONS,
    whole_frame_area: float = WHOLE_FRAME_AREA,
    whole_frame_cost: float = WHOLE_FRAME_COST,
    model_size: int = MODEL_SIZE,
) -> list[Region]:
    """Square crops that together cover every box (motion boxes, zone boxes) with some context around each.

    ``frame_size`` is (width, height); boxes are x1, y1, x2, y2 in frame pixels. Boxes are padded, clustered
    (a box joins a cluster when the cluster's bounding square still fits the largest crop size) and each cluster
    gets the smallest square from ``sizes`` that holds it, at native resolution. Returns ``[whole_frame]`` when
    there are no boxes worth cropping for (an empty list of boxes gives an empty plan: nothing to detect), when
    a box does not fit any crop, when there would be more than ``max_regions`` crops, when the crops cover
    ``whole_frame_area`` of the frame, or when they cost more than ``whole_frame_cost`` times the whole frame's
    model input.
    """
    width, height = frame_size
    whole = [whole_frame(frame_size)]
    if not boxes:
        return []
    limit = min(width, height)
    sizes = sorted(s for s in sizes if s <= limit)
    if not sizes:
        return whole
    clusters: list[Box] = []
    for box in sorted((_padded(b, frame_size) for b in boxes), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]),
                      reverse=True):
        if _side_for(box, sizes, limit) is None:
            return whole
        for i, cluster in enumerate(clusters):
            merged = _union(cluster, box)
            if _side_for(merged, sizes, limit) is not None:
                clusters[i] = merged
                break
        else:
            clusters.append(box)
    # Merging can make two clusters' squares overlap a lot; one more pass joins clusters that now fit together.
    joined = True
    while joined and len(clusters) > 1:
        joined = False
        for i in range(len(clusters)):
            for j in range(i + 1, len(clusters)):
                merged = _union(clusters[i], clusters[j])
                if _side_for(merged, sizes, limit) is not None:
                    clusters[i] = merged
                    del clusters[j]
                    joined = True
                    break
            if joined:
                break
    if len(clusters) > max_regions:
        return whole
    regions = []
    for cluster in clusters:
        side = _side_for(cluster, sizes, limit)
        assert side is not None  # every cluster was built to fit
        regions.append(_square_around(cluster, side, frame_size))
    cost = sum(r.width * r.height for r in regions)
    if cost >= whole_frame_area * width * height or cost > whole_frame_cost * model_input_pixels(
            width, height, model_size):
        return whole
    return sorted(regions, key=lambda r: (r.y1, r.x1))


def zone_boxes(zones: dict[str, list[tuple[float, float]]], frame_size: tuple[int, int]) -> list[Box]:
    """The pixel bounding box of each zone polygon (zones in 0..1 coordinates, as ``detection.zones`` keeps them)."""
    width, height = frame_size
    out: list[Box] = []
    for name in sorted(zones):
        polygon = zones[name]
        if len(polygon) < 3:
            continue
        xs = [p[0] * width for p in polygon]
        ys = [p[1] * height for p in polygon]
        out.append((max(0.0, min(xs)), max(0.0, min(ys)), min(float(width), max(xs)), min(float(height), max(ys))))
    return out
