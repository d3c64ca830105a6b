"""Vehicle sightings the tracker never starts a track on: detector boxes of a motor vehicle scored between the
detector's floor and ByteTrack's new-track threshold, linked frame to frame by overlap.

A tight view of a car's front (a gate camera's crop) can keep the detector at 0.1-0.2 all along: ByteTrack starts
no track under 0.25, so without this the plate stage never sees that car. These tracks are never events by
themselves; ``events.events_and_unsure_vehicles`` hands them to the plate stage, which keeps one only when it reads
its plate (see ``plates.stage.read_event_plates``). Nothing here changes what the tracker tracks.

Tighter still, a car's front can fill the picture so that the detector gives no box at all. For those, the linker
also keeps *looks*: at most one frame every LOOK_EVERY_S whose centre no vehicle box (of any score kept) holds, as a
small copy at the plate finder's input size, MAX_LOOKS per segment (thinned evenly past that). The plate stage looks
for plates in them (``plates.plate_led``); the copies cost a resize each and ~170 kB, nothing else, plates on or off.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from detection.labels import COCO_LABELS, MOTOR_VEHICLES
from detection.regions import iou
from detection.tracking import TRACK_MEMORY_S, Observation, Track

LOW_SCORE = 0.1
"""Boxes at least this sure are kept (the detector's own floor)."""
NEW_TRACK_SCORE = 0.25
"""ByteTrack's new-track threshold (``tracking.SegmentTracker``): boxes at or above it are the tracker's."""
LINK_IOU = 0.3
"""A box continues an unsure track when it overlaps that track's last box at least this much."""
TRACKED_IOU = 0.5
"""A box overlapping a tracked box this much is that tracked object, not an unsure one."""
LINK_GAP_S = 2 * TRACK_MEMORY_S
"""Sightings this far apart may link: with nothing tracked the detector's adaptive rate drops to a frame a second or
two (as ``events.join_tracks`` joins a stopped object across this gap)."""
MAX_TRACKS = 200
"""Unsure tracks kept per segment at most (a bound on memory on footage full of low-score boxes)."""
LOOK_EVERY_S = 1.0
"""A look is kept at most this often (doubled each time the looks are thinned)."""
MAX_LOOKS = 48
"""Looks kept per segment at most: on reaching it every other one is dropped, so they stay spread over the segment."""
LOOK_SIDE = 320
"""The long side of a look's copy: the plate finder's input size (``plates.model.PLATE_IMGSZ``), so the copy loses
nothing the finder would have seen in the full frame."""
_MOTOR_CLASSES = frozenset(cls for cls, label in COCO_LABELS.items() if label in MOTOR_VEHICLES)


@dataclass
class Look:
    """A frame where no vehicle was seen at the centre, kept small for the plate finder."""

    t: float
    """Seconds from the segment's first frame."""
    small: np.ndarray
    """The frame (BGR), its long side LOOK_SIDE pixels."""
    frame_size: tuple[int, int]
    """The full frame's width and height in pixels."""


def _holds_centre(box: np.ndarray | tuple[float, ...]) -> bool:
    return bool(box[0] <= 0.5 <= box[2] and box[1] <= 0.5 <= box[3])


class UnsureLinker:
    """Collects a segment's unsure vehicle tracks (ids count down from -1, apart from the tracker's)."""

    def __init__(self, keep_crops: bool = True) -> None:
        self.tracks: dict[int, Track] = {}
        self.keep_crops = keep_crops
        self.looks: list[Look] = []
        self._look_every_s = LOOK_EVERY_S

    def _look(self, t: float, frame: np.ndarray) -> None:
        if self.looks and t - self.looks[-1].t < self._look_every_s:
            return
        if len(self.looks) >= MAX_LOOKS:
            self.looks = self.looks[::2]
            self._look_every_s *= 2
            if t - self.looks[-1].t < self._look_every_s:
                return
        height, width = frame.shape[:2]
        scale = LOOK_SIDE / max(width, height)
        small = frame if scale >= 1.0 else cv2.resize(
            frame, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
        self.looks.append(Look(t, small.copy() if small is frame else small, (width, height)))

    def add(self, t: float, frame: np.ndarray, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray,
            tracked: list[tuple[int, np.ndarray, float, int]]) -> None:
        """Record the frame's unsure vehicle boxes (pixels) that no tracked box (pixels) covers."""
        height, width = frame.shape[:2]
        scale = np.array([width, height, width, height], dtype=np.float64)
        tracked_boxes = [tuple(float(v) for v in box / scale) for _, box, _, _ in tracked]
        open_tracks = [track for track in self.tracks.values() if t - track.observations[-1].t <= LINK_GAP_S]
        vehicles = [box / scale for box, score, c in zip(xyxy, conf, cls, strict=True)
                    if float(score) >= LOW_SCORE and int(c) in _MOTOR_CLASSES]
        vehicles += [box / scale for _, box, _, c in tracked if int(c) in _MOTOR_CLASSES]
        if not any(_holds_centre(box) for box in vehicles):
            self._look(t, frame)
        for box_px, score, c in zip(xyxy, conf, cls, strict=True):
            if not (LOW_SCORE <= float(score) < NEW_TRACK_SCORE) or int(c) not in _MOTOR_CLASSES:
                continue
            box = np.clip(np.asarray(box_px, dtype=np.float64) / scale, 0.0, 1.0)
            if any(iou(box, other) >= TRACKED_IOU for other in tracked_boxes):
                continue
            best = max(open_tracks, key=lambda tr: iou(box, tr.observations[-1].box), default=None)
            if best is None or best.observations[-1].t >= t or iou(box, best.observations[-1].box) < LINK_IOU:
                if len(self.tracks) >= MAX_TRACKS:
                    continue
                best = Track(-1 - len(self.tracks))
                self.tracks[best.track_id] = best
            observation = Observation(t, (float(box[0]), float(box[1]), float(box[2]), float(box[3])), float(score),
                                      int(c))
            best.observations.append(observation)
            if float(score) > best.best_score:
                best.best_score = float(score)
                if self.keep_crops:
                    x1, y1, x2, y2 = (int(v) for v in box * scale)
                    best.best_crop = frame[y1:max(y1 + 1, y2), x1:max(x1 + 1, x2)].copy()
