"""Camera zones: named polygons in 0..1 frame coordinates; which zone a ground point is in, and pixel masks."""

from __future__ import annotations

import cv2
import numpy as np

Polygon = list[tuple[float, float]]


def zones_at(x: float, y: float, zones: dict[str, Polygon]) -> list[str]:
    """Names of the zones that contain the point (x, y), given in 0..1 coordinates, in name order."""
    inside = []
    for name in sorted(zones):
        contour = np.asarray(zones[name], dtype=np.float32).reshape(-1, 1, 2)
        if len(contour) >= 3 and cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0:
            inside.append(name)
    return inside


def zone_mask(zones: dict[str, Polygon], width: int, height: int) -> np.ndarray | None:
    """A uint8 mask (255 inside any zone) of a width x height picture; None when the camera has no zones."""
    polygons = [p for p in zones.values() if len(p) >= 3]
    if not polygons:
        return None
    mask = np.zeros((height, width), dtype=np.uint8)
    for polygon in polygons:
        points = np.round(np.asarray(polygon, dtype=np.float64) * [width - 1, height - 1]).astype(np.int32)
        cv2.fillPoly(mask, [points], 255)
    return mask


def ground_point(box: tuple[float, float, float, float]) -> tuple[float, float]:
    """Where an object stands: the bottom centre of its box (0..1 coordinates in, 0..1 out)."""
    x1, _, x2, y2 = box
    return (x1 + x2) / 2, y2
