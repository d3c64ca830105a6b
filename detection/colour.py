"""The dominant colour of a vehicle as a word, from the middle of its best crop (HSV, no model)."""

from __future__ import annotations

import cv2
import numpy as np

COLOURS = ("white", "black", "grey", "red", "orange", "yellow", "green", "blue", "brown", "purple")

_HUES = (  # OpenCV hue runs 0..179
    (0, 7, "red"),
    (8, 14, "orange"),
    (15, 34, "yellow"),
    (35, 84, "green"),
    (85, 129, "blue"),
    (130, 154, "purple"),
    (155, 179, "red"),
)
CHROMATIC_SHARE = 0.18
"""Share of saturated pixels above which the body is taken to be coloured rather than white, grey or black."""
BLUE_SATURATION = 140
"""CCTV pictures often carry a blue cast: a bluish pixel must be this saturated to count as blue paint."""
DARK_BLUE_OVER_SCENE = 50
"""A dark car whose bluish pixels are this much more saturated (80th percentile) than the whole picture's is dark
blue paint, not a cast: the demo's blue car scores 62 over its scene, the nearest dark grey or black car 39
(bench/colour.py measure). Without the scene the cast and the paint cannot be told apart on the crop alone."""
DARK_BLUE_MAX_VALUE = 110
"""... and only a dark body (median value below this): a silver car reflecting the sky is not blue."""
SCENE_WIDTH = 320


def _bluish_saturation(bgr: np.ndarray) -> float | None:
    """80th percentile saturation of the picture's bluish, not-black pixels; None when there are too few."""
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV).reshape(-1, 3)
    hue, sat, val = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    bluish = (hue >= 85) & (hue <= 129) & (val > 35)
    return float(np.percentile(sat[bluish], 80)) if int(bluish.sum()) > 20 else None


def scene_blue_saturation(frame_bgr: np.ndarray) -> float | None:
    """How saturated the whole picture's bluish pixels are (its blue cast), for ``dominant_colour``'s ``scene``."""
    if frame_bgr is None or frame_bgr.size == 0:
        return None
    height = max(1, round(frame_bgr.shape[0] * SCENE_WIDTH / frame_bgr.shape[1]))
    return _bluish_saturation(cv2.resize(frame_bgr, (SCENE_WIDTH, height), interpolation=cv2.INTER_AREA))


def _hue_word(hue: float) -> str:
    for low, high, word in _HUES:
        if low <= hue <= high:
            return word
    return "red"


def dominant_colour(crop_bgr: np.ndarray, scene: float | None = None) -> str | None:
    """white, black, grey, red, orange, yellow, green, blue, brown or purple; None for an empty crop.

    The central half of the box is read (the body or roof, not the road around it); saturated pixels vote by
    hue when they are a fair share of it, otherwise brightness decides between white, grey and black, except
    that a dark body much bluer than its picture (``scene``: ``scene_blue_saturation`` of the frame the crop
    came from) is dark blue.
    """
    if crop_bgr is None or crop_bgr.size == 0 or min(crop_bgr.shape[:2]) < 4:
        return None
    height, width = crop_bgr.shape[:2]
    centre = crop_bgr[height // 4 : height - height // 4, width // 4 : width - width // 4]
    hsv = cv2.cvtColor(centre, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.float32)
    hue, sat, val = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    bluish = (hue >= 85) & (hue <= 129)
    chromatic = (val > 50) & (((sat > 90) & ~bluish) | (sat > BLUE_SATURATION))
    if chromatic.mean() >= CHROMATIC_SHARE:
        hues = hue[chromatic]
        votes: dict[str, int] = {}
        for word in (_hue_word(h) for h in np.round(hues[:: max(1, len(hues) // 2000)])):
            votes[word] = votes.get(word, 0) + 1
        word = max(sorted(votes), key=votes.__getitem__)
        if word in {"orange", "red"} and float(np.median(val[chromatic])) < 110:
            return "brown" if word == "orange" else "red"
        return word
    if scene is not None and float(np.median(val)) < DARK_BLUE_MAX_VALUE:
        own = _bluish_saturation(centre)
        if own is not None and own - scene >= DARK_BLUE_OVER_SCENE:
            return "blue"
    # Between the median and the bright end: windows and shadows pull the median of a white car down.
    brightness = float(np.percentile(val, 50) + np.percentile(val, 90)) / 2
    if brightness >= 160:
        return "white"
    if brightness <= 70:
        return "black"
    return "grey"
