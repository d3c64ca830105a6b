"""Which frames of an active span the detector sees, and where in them: the adaptive rate and the region plan.

Inside an active span frames are decoded on a fixed grid (``settings.detect_fps``). For each grid frame the
planner decides, from what the tracker knows so far and from the motion since the last detector frame:

- **whether** to run the detector (the adaptive rate): every grid frame at a stretch's start (birth), at its
  last frame, while motion appears that no moving track's path explains (a new object), while a moving track is
  young, was missed where the detector looked, strays from where its speed put it, nears the frame's edge (its
  end) or stands in a zone (the barrier), and right after a sure box that no track holds yet (the tracker
  confirms a new track only on its second sighting); otherwise, while every track is confirmed and moving
  predictably, every ``slow_every_s``; with no moving track and no motion, only at the periodic refresh;
- **where**: square crops around the motion, the moving tracks' paths, the boxes waiting for confirmation and
  the camera's zones (``detection.regions.plan_regions``, native resolution, whole frame when they cover most of
  it), and the whole frame at a stretch's start, every ``refresh_s`` (parked vehicles, anything motion missed)
  and while a moving track passes a parked one (in a crop the two became one box, or the track moved onto the
  parked car). With ``partial`` a frame between the slow ones looks only where the full rate is needed.

Deterministic: decisions depend only on the frames and the tracker's output, never on timing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from detection.regions import Box, Region, iou, plan_regions, whole_frame, zone_boxes
from detection.tracking import TRACK_MEMORY_S

MOTION_WIDTH = 160
"""Width of the grey pictures motion boxes are measured on (as the cheap pass)."""
MOTION_THRESHOLD = 18
"""Grey-level change that marks a pixel as moving (the cheap pass's ``pixel_threshold``)."""


BIRTH_SCORE = 0.25
"""A box this sure that no track holds starts a track, which the tracker confirms only if the next detector frame
finds it again (ByteTrack's ``new_track_thresh``, tracking.SegmentTracker): that frame must look there."""
BIRTH_IOU = 0.5
"""A found box overlapping a tracked box this much is that track's."""
PARKED_OVERLAP = 0.2
"""A moving track whose predicted box covers this much of a parked one (or is this much inside it) passes it."""
MIN_UNEXPLAINED_CELLS = 3
"""Changed pixels of the small grey picture (one is 8x8 frame pixels at 1280 wide) that no moving track explains,
below which the motion is noise or a tracked object's fringe, not something new."""


@dataclass(frozen=True)
class SamplingSettings:
    """How the detection stage samples frames; the defaults were measured on the bench (bench/RESULTS.md)."""

    regions: bool = True
    """Run the detector on crops around motion, tracks and zones instead of whole frames."""
    adaptive: bool = True
    """Skip grid frames while every track is confirmed and predictable (False: every grid frame)."""
    partial: bool = False
    """Between the slow frames, look only where the full rate is needed (crops around the motion no moving track
    explains and the tracks that need it); False: such a frame looks everywhere, as a slow frame does. Off: on
    the busy clips it saved no detector pixels (on a motorway the crops cover most of the frame anyway), and it
    made events hang on boxes near the score threshold (OpenVINO and ONNX Runtime then differ by ~1 s)."""
    slow_every_s: float = 0.4
    """Every moving track is looked at least this often (all of them, when they are confirmed and predictable)."""
    birth_frames: int = 3
    """Grid frames at a stretch's start run whole and at the full rate (new and parked objects get tracks)."""
    refresh_s: float = 2.0
    """A whole frame at least this often: parked vehicles stay tracked, and what motion misses is still seen."""
    young_s: float = 1.0
    """A track younger than this is at its birth: full rate."""
    edge_fraction: float = 0.06
    """A moving track heading out whose predicted box comes this close (fraction of the frame) to an edge is
    ending (negative: never)."""
    stationary_fraction: float = 0.3
    """A track older than ``young_s`` whose centre stayed within this fraction of its size is parked."""
    surprise_fraction: float = 0.5
    """A track whose sighting lies further than this fraction of its size from its prediction is unpredictable."""
    confirm_births: bool = True
    """Look again, in the next detector frame, at sure boxes no track holds (the tracker confirms a new track
    only on a second sighting)."""
    whole_at_parked: bool = True
    """Run the whole frame, not crops, while a moving track passes a parked one (see ``_passes_parked``)."""
    explain_margin: float = 0.25
    """Motion within this fraction of a moving track's size around its path since it was last seen (its last box
    to its predicted one) is that track's own: explained."""

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
    misses: int = 0
    """Detector frames in a row that looked where this track was heading and did not find it."""

    @property
    def size(self) -> float:
        return math.sqrt(max(1.0, float(self.box[2] - self.box[0])) * max(1.0, float(self.box[3] - self.box[1])))

    def centre(self) -> tuple[float, float]:
        return float(self.box[0] + self.box[2]) / 2, float(self.box[1] + self.box[3]) / 2

    def predicted(self, t: float) -> np.ndarray:
        dt = t - self.last_t
        return self.box + np.array([self.velocity[0], self.velocity[1]] * 2) * dt

    def path(self, t: float) -> np.ndarray:
        """The box swept from the last sighting to where its speed puts it at ``t``."""
        ahead = self.predicted(t)
        return np.concatenate([np.minimum(self.box[:2], ahead[:2]), np.maximum(self.box[2:], ahead[2:])])


@dataclass
class FramePlan:
    """What to do with one grid frame."""

    detect: bool
    regions: list[Region] = field(default_factory=list)
    """Where to run the detector (one whole-frame region for a whole frame)."""
    whole: bool = False


def changed_cells(previous: np.ndarray | None, grey: np.ndarray) -> np.ndarray | None:
    """The pixels (0 or 255) that changed between two small grey pictures, brightness-matched first."""
    if previous is None or previous.shape != grey.shape:
        return None
    a = cv2.GaussianBlur(previous, (5, 5), 0).astype(np.float32)
    b = cv2.GaussianBlur(grey, (5, 5), 0).astype(np.float32)
    # Exposure acts on the whole picture: match means so a brightness step is not motion (as the cheap pass).
    b *= max(float(a.mean()), 1.0) / max(float(b.mean()), 1.0)
    changed: np.ndarray = (cv2.absdiff(a, b) > MOTION_THRESHOLD).astype(np.uint8) * 255
    return cv2.morphologyEx(changed, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))


def cell_boxes(cells: np.ndarray | None, frame_size: tuple[int, int], min_cells: int = 1) -> list[Box]:
    """Boxes (frame pixels) around the blobs of changed pixels, each of at least ``min_cells`` of them."""
    if cells is None or not cells.any():
        return []
    grown = cv2.dilate(cells, np.ones((5, 5), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    inside = np.bincount(labels[cells > 0], minlength=count)
    sx, sy = frame_size[0] / cells.shape[1], frame_size[1] / cells.shape[0]
    out: list[Box] = []
    for label in range(1, count):
        if inside[label] < min_cells:
            continue
        x, y, w, h = (int(v) for v in stats[label, :4])
        out.append((x * sx, y * sy, (x + w) * sx, (y + h) * sy))
    return out


def motion_boxes(previous: np.ndarray | None, grey: np.ndarray, frame_size: tuple[int, int]) -> list[Box]:
    """Boxes (frame pixels) around what changed between two small grey pictures."""
    return cell_boxes(changed_cells(previous, grey), frame_size)


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


def _grown(box: np.ndarray, fraction: float, size: float | None = None) -> np.ndarray:
    pad = fraction * (size if size is not None else max(float(box[2] - box[0]), float(box[3] - box[1])))
    return box + np.array([-pad, -pad, pad, pad])


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """The fraction of the smaller of two boxes that lies inside the other."""
    iw = max(0.0, float(min(a[2], b[2]) - max(a[0], b[0])))
    ih = max(0.0, float(min(a[3], b[3]) - max(a[1], b[1])))
    smaller = min(float((a[2] - a[0]) * (a[3] - a[1])), float((b[2] - b[0]) * (b[3] - b[1])))
    return iw * ih / smaller if smaller > 0 else 0.0


def _as_box(box: np.ndarray) -> Box:
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


class SamplingPlanner:
    """Plans the grid frames of one stretch (one tracker); feed it every grid frame and every tracker output."""

    def __init__(self, settings: SamplingSettings, frame_size: tuple[int, int],
                 zones: dict[str, list[tuple[float, float]]]) -> None:
        self.settings = settings
        self.frame_size = frame_size
        self.zones = zone_boxes(zones, frame_size) if zones else []
        self.tracks: dict[int, _TrackState] = {}
        self._index = 0
        self._last_all_t = -math.inf
        """The last detector frame that looked at every moving track."""
        self._last_whole_t = -math.inf
        self._previous_grey: np.ndarray | None = None
        self._motion: np.ndarray | None = None
        """Changed pixels gathered since the last detector frame."""
        self._looked_for: set[int] = set()
        """Tracks whose predicted box the last detector frame covered."""
        self._births: list[Box] = []
        """Boxes the last detector frame found that no track holds yet: tracks waiting to be confirmed."""

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

    def _urgent(self, track: _TrackState, t: float) -> bool:
        """Whether a moving track needs the full rate: its birth, its end, an unpredictable move, a zone."""
        s = self.settings
        if t - track.first_t < s.young_s or track.surprised or track.misses == 1:
            return True  # birth, an unpredictable move, or just missed at the last detector frame (its end?)
        box = track.predicted(t)
        width, height = self.frame_size
        if s.edge_fraction >= 0:
            margin_x, margin_y = s.edge_fraction * width, s.edge_fraction * height
            vx, vy = track.velocity
            # Heading out only: a car standing at the edge (found again as a new track after a refresh) is not ending.
            if ((box[0] <= margin_x and vx < 0) or (box[1] <= margin_y and vy < 0)
                    or (box[2] >= width - margin_x and vx > 0) or (box[3] >= height - margin_y and vy > 0)):
                return True  # about to leave the frame: its end time needs the full rate
        return any(_touches(box, zone) for zone in self.zones)  # in a zone (the barrier): where an officer looks

    def _unexplained(self, t: float, moving: list[_TrackState]) -> list[Box]:
        """Boxes around the motion that no moving track's path explains: something new (parked tracks explain
        nothing: one may drive off)."""
        if self._motion is None or not self._motion.any():
            return []
        left = self._motion.copy()
        sx, sy = left.shape[1] / self.frame_size[0], left.shape[0] / self.frame_size[1]
        for track in moving:
            box = _grown(track.path(t), self.settings.explain_margin, track.size)
            x1, y1 = max(0, math.floor(box[0] * sx) - 1), max(0, math.floor(box[1] * sy) - 1)
            x2, y2 = math.ceil(box[2] * sx) + 1, math.ceil(box[3] * sy) + 1
            left[y1:max(y1, y2), x1:max(x1, x2)] = 0
        return cell_boxes(left, self.frame_size, MIN_UNEXPLAINED_CELLS)

    def _passes_parked(self, t: float, looked_at: list[_TrackState]) -> bool:
        """Whether a moving track's path runs over a parked track's box: in a crop the detector may see the two as
        one box, or the tracker may hand the moving track over to the parked car; the whole frame keeps them apart
        (measured on the street clip: one pass came out as two events, another moved onto a parked car)."""
        moving = {id(track) for track in looked_at}
        parked = [track.box for track in self.tracks.values() if id(track) not in moving and track.sightings >= 3]
        return any(_overlap(track.predicted(t), box) >= PARKED_OVERLAP for track in looked_at for box in parked)

    def plan(self, t: float, grey: np.ndarray, last: bool) -> FramePlan:
        """Decide for the grid frame at ``t`` (``grey``: its ``small_grey``; ``last``: the stretch's last)."""
        s = self.settings
        changed = changed_cells(self._previous_grey, grey)
        if changed is not None:
            self._motion = changed if self._motion is None else cv2.bitwise_or(self._motion, changed)
        self._previous_grey = grey
        index = self._index
        self._index += 1
        birth = index < s.birth_frames
        refresh = t - self._last_whole_t >= s.refresh_s - 1e-6
        moving = self._moving(t)
        motion = self._motion is not None and bool(self._motion.any())
        everything = not s.adaptive or birth or last or refresh
        urgent: list[_TrackState] = []
        unexplained: list[Box] = []
        if not everything:
            if not moving and not motion and not self._births:
                return FramePlan(False)  # nothing moves and no moving track: parked objects wait for the refresh
            urgent = [track for track in moving if self._urgent(track, t)]
            unexplained = self._unexplained(t, moving)
            needed = bool(urgent or unexplained or self._births)
            everything = t - self._last_all_t >= s.slow_every_s - 1e-6 or (not s.partial and needed)
            if not everything and not needed:
                return FramePlan(False)  # every moving track is predictable and explains all the motion
        whole = [whole_frame(self.frame_size)]
        if not s.regions or birth or refresh:
            regions = whole
        else:
            if everything:
                boxes = cell_boxes(self._motion, self.frame_size) + list(self.zones) + self._births
                boxes += [_as_box(track.path(t)) for track in moving]
            else:
                boxes = unexplained + list(self.zones) + self._births + [_as_box(track.path(t)) for track in urgent]
            regions = plan_regions(self.frame_size, boxes) or whole
            if s.whole_at_parked and self._passes_parked(t, moving if everything else urgent):
                regions = whole
        is_whole = len(regions) == 1 and regions[0].is_whole(self.frame_size)
        self._motion = None
        if is_whole:
            self._last_whole_t = t
        if is_whole or everything:
            self._last_all_t = t
        self._looked_for = {track_id for track_id, track in self.tracks.items()
                            if is_whole or any(r.contains(_as_box(track.predicted(t))) for r in regions)}
        return FramePlan(True, regions, is_whole)

    def observe(self, t: float, tracked: list[tuple[int, np.ndarray, float, int]],
                found: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """What the tracker returned for the detector frame at ``t``; ``found``: the detector's boxes (xyxy) and
        confidences there, whose sure boxes that no track holds are looked at again in the next detector frame."""
        self._births = []
        if found is not None and self.settings.confirm_births:
            held = [np.asarray(xyxy, dtype=np.float64) for _, xyxy, _, _ in tracked]
            for box, conf in zip(*found, strict=True):
                if conf >= BIRTH_SCORE and all(iou(box, other) < BIRTH_IOU for other in held):
                    self._births.append(_as_box(box))
        seen = set()
        for track_id, xyxy, _, _ in tracked:
            seen.add(track_id)
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
            state.misses = 0
        for track_id in self._looked_for - seen:
            if track_id in self.tracks:
                self.tracks[track_id].misses += 1
        # A track unseen for longer than the tracker remembers has ended.
        for track_id in [k for k, v in self.tracks.items() if t - v.last_t > TRACK_MEMORY_S]:
            del self.tracks[track_id]
