"""Which frames of an active span the detector sees, and where in them: the adaptive rate and the region plan.

Inside an active span frames are decoded on a fixed grid (``settings.detect_fps``). For each grid frame the
planner decides, from what the tracker knows so far and from the motion since the last detector frame:

- **whether** to run the detector (the adaptive rate): every grid frame at a stretch's start (birth), at its
  last frame, while motion appears that no moving track explains (a new object), while a moving track is young,
  was missed, strays from where its speed put it, nears the frame's edge (its end) or stands in a zone (the
  barrier); otherwise, while every track is confirmed and moving predictably, every ``slow_every_s``; with no
  moving track and no motion, only at the periodic whole-frame refresh;
- **where**: square crops around the motion, the moving tracks' predicted boxes and the camera's zones
  (``detection.regions.plan_regions``, native resolution, whole frame when they cover most of it), and the whole
  frame at a stretch's start and every ``refresh_s`` so parked vehicles and anything motion missed are seen.

Deterministic: decisions depend only on the frames and the tracker's output, never on timing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from detection.regions import Box, Region, plan_regions, whole_frame, zone_boxes
from detection.tracking import TRACK_MEMORY_S

MOTION_WIDTH = 160
"""Width of the grey pictures motion boxes are measured on (as the cheap pass)."""
MOTION_THRESHOLD = 18
"""Grey-level change that marks a pixel as moving (the cheap pass's ``pixel_threshold``)."""


@dataclass(frozen=True)
class SamplingSettings:
    """How the detection stage samples frames; the defaults were measured on the bench (bench/RESULTS.md)."""

    regions: bool = True
    """Run the detector on crops around motion, tracks and zones instead of whole frames."""
    adaptive: bool = True
    """Skip grid frames while every track is confirmed and predictable (False: every grid frame)."""
    slow_every_s: float = 0.4
    """Detector interval while every moving track is confirmed and moving predictably."""
    birth_frames: int = 3
    """Grid frames at a stretch's start run whole and at the full rate (new and parked objects get tracks)."""
    refresh_s: float = 2.0
    """A whole frame at least this often: parked vehicles stay tracked, and what motion misses is still seen."""
    young_s: float = 1.0
    """A track younger than this is at its birth: full rate."""
    edge_fraction: float = 0.06
    """A moving track whose predicted box comes this close (fraction of the frame) to an edge is ending."""
    stationary_fraction: float = 0.3
    """A track older than ``young_s`` whose centre stayed within this fraction of its size is parked."""
    surprise_fraction: float = 0.5
    """A track whose sighting lies further than this fraction of its size from its prediction is unpredictable."""

    @classmethod
    def dense(cls) -> SamplingSettings:
        """Every grid frame, whole: what the dense reference runs."""
        return cls(regions=False, adaptive=False)


@dataclass
class _TrackState:
    first_t: float
    first_centre: tuple[float, float]
    last_t: float
    box: np.ndarray
    """Last box, x1 y1 x2 y2 in frame pixels."""
    velocity: tuple[float, float] = (0.0, 0.0)
    """Pixels a second, from the last two sightings."""
    sightings: int = 1
    surprised: bool = False
    """The last sighting lay far from where the track's speed put it."""

    @property
    def size(self) -> float:
        return math.sqrt(max(1.0, float(self.box[2] - self.box[0])) * max(1.0, float(self.box[3] - self.box[1])))

    def centre(self) -> tuple[float, float]:
        return float(self.box[0] + self.box[2]) / 2, float(self.box[1] + self.box[3]) / 2

    def predicted(self, t: float) -> np.ndarray:
        dt = t - self.last_t
        return self.box + np.array([self.velocity[0], self.velocity[1]] * 2) * dt


@dataclass
class FramePlan:
    """What to do with one grid frame."""

    detect: bool
    regions: list[Region] = field(default_factory=list)
    """Where to run the detector (one whole-frame region for a whole frame)."""
    whole: bool = False


def motion_boxes(previous: np.ndarray | None, grey: np.ndarray, frame_size: tuple[int, int]) -> list[Box]:
    """Boxes (frame pixels) around what changed between two small grey pictures, brightness-matched first."""
    if previous is None or previous.shape != grey.shape:
        return []
    a = cv2.GaussianBlur(previous, (5, 5), 0).astype(np.float32)
    b = cv2.GaussianBlur(grey, (5, 5), 0).astype(np.float32)
    # Exposure acts on the whole picture: match means so a brightness step is not motion (as the cheap pass).
    b *= max(float(a.mean()), 1.0) / max(float(b.mean()), 1.0)
    changed: np.ndarray = (cv2.absdiff(a, b) > MOTION_THRESHOLD).astype(np.uint8) * 255
    changed = cv2.morphologyEx(changed, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    if not changed.any():
        return []
    changed = cv2.dilate(changed, np.ones((5, 5), np.uint8))
    contours, _ = cv2.findContours(changed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    sx, sy = frame_size[0] / grey.shape[1], frame_size[1] / grey.shape[0]
    out: list[Box] = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        out.append((x * sx, y * sy, (x + w) * sx, (y + h) * sy))
    return out


def whole_in_a_region(xyxy: np.ndarray, regions: list[Region], frame_size: tuple[int, int],
                      inset: float = 2.0) -> np.ndarray:
    """Which boxes lie whole inside some crop: not touching a crop edge that lies inside the frame.

    A box cut by a crop's edge is a bystander the crop caught a part of (a parked car beside a passing one):
    its box grows and shrinks with the crop, which the tracker would read as motion. Crops are centred on the
    motion and the moving tracks, so what they are for lies inside them.
    """
    keep = np.zeros(len(xyxy), dtype=bool)
    width, height = frame_size
    for r in regions:
        x1 = r.x1 + inset if r.x1 > 0 else -np.inf
        y1 = r.y1 + inset if r.y1 > 0 else -np.inf
        x2 = r.x2 - inset if r.x2 < width else np.inf
        y2 = r.y2 - inset if r.y2 < height else np.inf
        keep |= (xyxy[:, 0] > x1) & (xyxy[:, 1] > y1) & (xyxy[:, 2] < x2) & (xyxy[:, 3] < y2)
    return keep


def small_grey(frame: np.ndarray) -> np.ndarray:
    """The grey picture motion boxes are measured on."""
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    height = max(1, round(grey.shape[0] * MOTION_WIDTH / grey.shape[1]))
    return cv2.resize(grey, (MOTION_WIDTH, height), interpolation=cv2.INTER_AREA)


def _touches(a: Box | np.ndarray, b: Box | np.ndarray) -> bool:
    return bool(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def _grown(box: np.ndarray, fraction: float) -> np.ndarray:
    pad = fraction * max(float(box[2] - box[0]), float(box[3] - box[1]))
    return box + np.array([-pad, -pad, pad, pad])


class SamplingPlanner:
    """Plans the grid frames of one stretch (one tracker); feed it every grid frame and every tracker output."""

    def __init__(self, settings: SamplingSettings, frame_size: tuple[int, int],
                 zones: dict[str, list[tuple[float, float]]]) -> None:
        self.settings = settings
        self.frame_size = frame_size
        self.zones = zone_boxes(zones, frame_size) if zones else []
        self.tracks: dict[int, _TrackState] = {}
        self._index = 0
        self._last_detect_t = -math.inf
        self._previous_detect_t = -math.inf
        self._last_whole_t = -math.inf
        self._previous_grey: np.ndarray | None = None
        self._motion: list[Box] = []
        """Motion boxes gathered since the last detector frame."""

    def _moving(self, t: float) -> list[_TrackState]:
        s = self.settings
        out = []
        for track in self.tracks.values():
            old = t - track.first_t >= s.young_s and track.sightings >= 3
            cx, cy = track.centre()
            still = math.dist((cx, cy), track.first_centre) <= s.stationary_fraction * track.size
            if not (old and still):
                out.append(track)
        return out

    def _needs_full_rate(self, t: float, moving: list[_TrackState]) -> bool:
        s = self.settings
        width, height = self.frame_size
        margin_x, margin_y = s.edge_fraction * width, s.edge_fraction * height
        for track in moving:
            missed_once = self._previous_detect_t - 1e-6 <= track.last_t < self._last_detect_t - 1e-6
            if t - track.first_t < s.young_s or track.surprised or missed_once:
                return True  # birth, an unpredictable move, or just missed at the last detector frame (its end?)
            box = track.predicted(t)
            if box[0] <= margin_x or box[1] <= margin_y or box[2] >= width - margin_x or box[3] >= height - margin_y:
                return True  # about to leave the frame: its end time needs the full rate
            if any(_touches(box, zone) for zone in self.zones):
                return True  # in a zone (the barrier): where an officer looks
        explained = [_grown(track.predicted(t), 0.5) for track in moving]
        # Motion no moving track explains: something new (parked tracks do not explain motion: one may drive off).
        return any(not any(_touches(m, e) for e in explained) for m in self._motion)

    def plan(self, t: float, grey: np.ndarray, last: bool) -> FramePlan:
        """Decide for the grid frame at ``t`` (``grey``: its ``small_grey``; ``last``: the stretch's last)."""
        s = self.settings
        self._motion.extend(motion_boxes(self._previous_grey, grey, self.frame_size))
        self._previous_grey = grey
        index = self._index
        self._index += 1
        birth = index < s.birth_frames
        refresh = t - self._last_whole_t >= s.refresh_s - 1e-6
        moving = self._moving(t)
        if not s.adaptive or birth or last or refresh:
            detect = True
        elif not moving and not self._motion:
            detect = False  # nothing moves and no moving track: parked objects wait for the refresh
        else:
            detect = self._needs_full_rate(t, moving) or t - self._last_detect_t >= s.slow_every_s - 1e-6
        if not detect:
            return FramePlan(False)
        whole = [whole_frame(self.frame_size)]
        if not s.regions or birth or refresh:
            regions = whole
        else:
            boxes: list[Box] = list(self._motion) + list(self.zones)
            for track in moving:
                ahead = track.predicted(t)
                joined = np.concatenate([np.minimum(track.box[:2], ahead[:2]), np.maximum(track.box[2:], ahead[2:])])
                boxes.append(tuple(float(v) for v in joined))  # type: ignore[arg-type]
            regions = plan_regions(self.frame_size, boxes) if boxes else whole
            if not regions:
                regions = whole
        self._motion = []
        self._previous_detect_t = self._last_detect_t
        self._last_detect_t = t
        is_whole = len(regions) == 1 and regions[0].is_whole(self.frame_size)
        if is_whole:
            self._last_whole_t = t
        return FramePlan(True, regions, is_whole)

    def observe(self, t: float, tracked: list[tuple[int, np.ndarray, float, int]]) -> None:
        """What the tracker returned for the detector frame at ``t``."""
        for track_id, xyxy, _, _ in tracked:
            box = np.asarray(xyxy, dtype=np.float64)
            state = self.tracks.get(track_id)
            if state is None:
                centre = (float(box[0] + box[2]) / 2, float(box[1] + box[3]) / 2)
                self.tracks[track_id] = _TrackState(t, centre, t, box)
                continue
            dt = max(t - state.last_t, 1e-3)
            expected = state.predicted(t)
            error = math.dist(((expected[0] + expected[2]) / 2, (expected[1] + expected[3]) / 2),
                              ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
            state.surprised = state.sightings >= 2 and error > self.settings.surprise_fraction * state.size
            old_centre = state.centre()
            state.box = box
            new_centre = state.centre()
            state.velocity = ((new_centre[0] - old_centre[0]) / dt, (new_centre[1] - old_centre[1]) / dt)
            state.last_t = t
            state.sightings += 1
        # A track unseen for longer than the tracker remembers has ended.
        for track_id in [k for k, v in self.tracks.items() if t - v.last_t > TRACK_MEMORY_S]:
            del self.tracks[track_id]
