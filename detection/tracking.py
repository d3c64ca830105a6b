"""Tracking: ultralytics' ByteTrack over the frames the detector saw, with its memory set in seconds.

One ``SegmentTracker`` follows one continuous stretch of frames. Its lost-track memory is given in seconds
and turned into frames at the rate frames are fed, so the dense reference (every frame) and the index
(a few frames a second) keep tracks alive for the same time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from detection.colour import scene_blue_saturation
from detection.detector import Detections

TRACK_MEMORY_S = 1.5
"""Seconds a lost track may be re-found (ultralytics' default is 30 frames, about 1 s at 25-30 fps)."""


@dataclass
class Observation:
    """One sighting of a tracked object."""

    t: float
    """Seconds from the segment's first frame."""
    box: tuple[float, float, float, float]
    """x1, y1, x2, y2 in 0..1 frame coordinates (viewer's orientation)."""
    score: float
    """Detector confidence."""
    cls: int
    """COCO class id."""


@dataclass
class Track:
    """Every sighting of one object, in time order."""

    track_id: int
    """Identifier, unique within the segment."""
    observations: list[Observation] = field(default_factory=list)
    """Sightings in time order."""
    best_crop: np.ndarray | None = None
    """BGR crop of the best-scoring sighting (for the thumbnail and colour)."""
    best_score: float = 0.0
    """Score of that sighting."""
    best_scene: float | None = None
    """The blue cast of the frame that sighting came from (``colour.scene_blue_saturation``)."""


def _low_rate_tracker_class() -> type:
    """ByteTrack whose new tracks are confirmed on the same overlap as the others (ultralytics fixes 0.7, i.e.
    IoU >= 0.3, which a car moving most of its length between frames at a few frames a second never meets:
    its tracks would start seconds late). Written against ultralytics 8.4.190 (pinned)."""
    from ultralytics.trackers import byte_tracker
    from ultralytics.trackers.utils import matching

    class LowRateByteTracker(byte_tracker.BYTETracker):
        def _unconfirmed_association(self, unconfirmed, u_detection, detections, activated, removed):
            detections = [detections[i] for i in u_detection]
            if not unconfirmed:
                return list(range(len(detections))), detections
            dists = self.get_dists(unconfirmed, detections)
            matches, u_unconfirmed, u_detection = matching.linear_assignment(dists, thresh=self.args.match_thresh)
            for itracked, idet in matches:
                unconfirmed[itracked].update(detections[idet], self.frame_id)
                activated.append(unconfirmed[itracked])
            for it in u_unconfirmed:
                unconfirmed[it].mark_removed()
                removed.append(unconfirmed[it])
            return u_detection, detections

    return LowRateByteTracker


class SegmentTracker:
    """ByteTrack for one stretch of frames fed at about ``fps`` frames a second."""

    def __init__(self, fps: float, memory_s: float = TRACK_MEMORY_S) -> None:
        args = SimpleNamespace(
            tracker_type="bytetrack",
            track_high_thresh=0.25,
            track_low_thresh=0.1,
            new_track_thresh=0.25,
            track_buffer=max(1, round(memory_s * fps)),
            # At a few frames a second a car moves most of its length between frames: match on less overlap.
            match_thresh=0.95,
            fuse_score=True,
        )
        # This ByteTrack counts its buffer in frames fed, whatever their rate.
        self._tracker = _low_rate_tracker_class()(args)

    def update(self, detections: Detections) -> list[tuple[int, np.ndarray, float, int]]:
        """Feed one frame's detections; return (track_id, xyxy pixels, score, class) of the boxes tracked now."""
        rows = self._tracker.update(detections)
        out = []
        for row in rows:
            x1, y1, x2, y2, track_id, score, cls = row[:7]
            out.append((int(track_id), np.array([x1, y1, x2, y2], dtype=np.float64), float(score), int(cls)))
        return out


class TrackBook:
    """Collects observations of all trackers of a segment under segment-unique track ids."""

    def __init__(self, keep_crops: bool = True) -> None:
        self.tracks: dict[int, Track] = {}
        self.keep_crops = keep_crops
        from detection.unsure_tracks import UnsureLinker

        # Vehicles under the tracker's new-track threshold, for the plate stage to confirm (see unsure_tracks).
        self.unsure = UnsureLinker(keep_crops)
        self._offset = 0
        self._max_seen = 0

    def new_stretch(self) -> None:
        """The next tracker's ids start after every id used so far."""
        self._offset = self._max_seen

    def add(self, t: float, frame: np.ndarray, tracked: list[tuple[int, np.ndarray, float, int]]) -> None:
        """Record the boxes one tracker returned for the frame shown at time t."""
        height, width = frame.shape[:2]
        scene: float | None = None  # measured once per frame, only when a best crop is kept
        for local_id, xyxy, score, cls in tracked:
            track_id = self._offset + local_id
            self._max_seen = max(self._max_seen, track_id)
            track = self.tracks.setdefault(track_id, Track(track_id))
            limits = (width, height, width, height)
            x1, y1, x2, y2 = (float(np.clip(v, 0, lim)) for v, lim in zip(xyxy, limits, strict=True))
            box = (x1 / width, y1 / height, x2 / width, y2 / height)
            track.observations.append(Observation(t, box, score, cls))
            if score > track.best_score:
                track.best_score = score
                if self.keep_crops:
                    crop = frame[int(y1) : max(int(y1) + 1, int(y2)), int(x1) : max(int(x1) + 1, int(x2))]
                    track.best_crop = crop.copy()
                    if scene is None:
                        scene = scene_blue_saturation(frame)
                    track.best_scene = scene
