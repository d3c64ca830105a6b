"""Motion inside the camera's zones (or the whole frame) on small grey pictures, DVR-Scan style.

A picture is compared with the one ``lag`` samples before it after both are brought to the same mean
brightness, so auto-exposure steps and flicker do not count as motion; what is left is thresholded,
cleaned of single-pixel sensor noise and measured as the fraction of the mask that changed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from detection.zones import Polygon, zone_mask


@dataclass(frozen=True)
class MotionSettings:
    """How sensitive motion is; the defaults were tuned on the shared clips (see tests/test_cheap_pass.py)."""

    width: int = 160
    """Width of the grey pictures compared, in pixels."""
    pixel_threshold: int = 18
    """Grey-level difference that marks a pixel as changed."""
    min_fraction: float = 0.0008
    """Fraction of the mask that must change to call the picture moving (the quiet bench footage peaks at
    0.0004 from sensor noise; a distant car crossing it scores 0.0006-0.002, a near one 0.01-0.15)."""
    lag: int = 2
    """Compare with the picture this many samples before."""


class MotionDetector:
    """Scores each grey picture fed in order: the fraction of the zone mask that changed."""

    def __init__(self, zones: dict[str, Polygon] | None = None, settings: MotionSettings | None = None) -> None:
        self.zones = zones or {}
        self.settings = settings or MotionSettings()
        self._history: deque[np.ndarray] = deque(maxlen=self.settings.lag)
        self._mask: np.ndarray | None = None
        self._mask_pixels = 1
        self._kernel = np.ones((3, 3), np.uint8)

    def reset(self) -> None:
        """Forget earlier pictures (after a seek)."""
        self._history.clear()

    def _prepare(self, grey: np.ndarray) -> np.ndarray:
        if self._mask is None or self._mask.shape != grey.shape:
            mask = zone_mask(self.zones, grey.shape[1], grey.shape[0])
            self._mask = mask if mask is not None else np.full(grey.shape, 255, np.uint8)
            self._mask_pixels = max(1, int(np.count_nonzero(self._mask)))
        blurred = cv2.GaussianBlur(grey, (5, 5), 0).astype(np.float32)
        # Exposure acts on the whole picture; a zone's own mean would move with the object inside it.
        mean = float(cv2.mean(blurred)[0])
        return blurred * (128.0 / max(mean, 1.0))

    def score(self, grey: np.ndarray) -> float:
        """Fraction of the mask that changed since ``lag`` pictures ago (0.0 for the first pictures)."""
        current = self._prepare(grey)
        if len(self._history) < self.settings.lag:
            self._history.append(current)
            return 0.0
        previous = self._history[0]
        self._history.append(current)
        if previous.shape != current.shape:
            return 0.0
        diff = cv2.absdiff(current, previous)
        changed: np.ndarray = (diff > self.settings.pixel_threshold).astype(np.uint8) * 255
        changed = cv2.morphologyEx(changed, cv2.MORPH_OPEN, self._kernel)
        assert self._mask is not None  # set by _prepare, which made ``current``
        changed = cv2.bitwise_and(changed, self._mask)
        return float(np.count_nonzero(changed)) / self._mask_pixels

    def moving(self, grey: np.ndarray) -> bool:
        """Whether the picture shows motion above the threshold."""
        return self.score(grey) >= self.settings.min_fraction
