"""Helpers for the indexing pipeline's tests: one detector for all of them, clips cut from the real footage."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import ffmpeg
import imageio_ffmpeg

from detection.detector import Detector
from detection.records import EventRecord, SegmentIndex

MOTORWAY_SIZE = (1280, 720)
ROI_PX = (631, 532, 210, 127)
"""x, y, w, h of the region published with DVR-Scan's test suite (footage README)."""
ROI_SPANS = [(0.4, 5.9), (14.4, 19.6), (21.7, 23.0)]
"""Seconds with motion in that region, as published (frames 10-148, 359-490, 543-575 at 25 fps)."""


def motorway_zone() -> dict[str, list[tuple[float, float]]]:
    x, y, w, h = ROI_PX
    width, height = MOTORWAY_SIZE
    return {"roi": [(x / width, y / height), ((x + w) / width, y / height),
                    ((x + w) / width, (y + h) / height), (x / width, (y + h) / height)]}


def moving_vehicles(result: SegmentIndex | list[EventRecord]) -> list[EventRecord]:
    events = result.events if isinstance(result, SegmentIndex) else result
    return [e for e in events if e.label in {"car", "truck", "bus", "motorcycle", "bicycle"} and not e.stationary]


def cut(source: Path, start_s: float, duration_s: float, target: Path) -> Path:
    """A stream copy of part of a clip (keeps its timestamps' spacing, so a VFR cut stays VFR)."""
    if not target.exists():
        (
            ffmpeg.input(str(source), ss=start_s, t=duration_s)
            .output(str(target), c="copy", avoid_negative_ts="make_zero")
            .global_args("-loglevel", "error")
            .run(cmd=imageio_ffmpeg.get_ffmpeg_exe(), overwrite_output=True)
        )
    return target


@lru_cache(maxsize=1)
def shared_detector() -> Detector:
    """One detector for all the indexing tests (loading costs seconds)."""
    return Detector.load()
