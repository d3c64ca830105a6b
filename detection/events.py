"""Tracks into events: one event per tracked object, with label, times, zones, dwell, stationarity and looks.

Tracks broken by the index's gaps are joined first: a fast object that the tracker lost for a frame or
two at a few frames a second shows up again where it was heading; a vehicle that stopped (motion ended, so detection
paused) and later drove off is seen as two tracks standing in the same place; a parked car is seen once
per active span. Both become one event, so a stop at the barrier keeps its whole dwell and a parked car is
reported once per segment, flagged stationary.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from detection.colour import dominant_colour
from detection.labels import COCO_LABELS, MOTOR_VEHICLES, VEHICLE_LABELS
from detection.records import EventRecord
from detection.regions import iou
from detection.tracking import TRACK_MEMORY_S, Observation, Track
from detection.zones import Polygon, ground_point, zones_at

MIN_OBSERVATIONS = 2
"""Tracks seen fewer times than this are noise."""
MIN_BEST_SCORE = 0.35
"""Tracks whose best score stays below this are noise."""
UNSURE_VEHICLE_SCORE = 0.1
"""A vehicle track whose best score is at least this (but under MIN_BEST_SCORE) is an unsure vehicle: it becomes an
event only if the plate stage reads a plate on it (a legible plate is strong evidence a vehicle was there)."""
MAX_UNSURE = 20
"""Unsure vehicles tried per segment at most: bounds the plate stage's extra cost on footage full of weak boxes."""
STILL_FRACTION = 0.2
"""An object stands still while its centre stays within this fraction of its size of where it stopped."""
STATIONARY_FRACTION = 0.3
"""An object is stationary when its centre never strays further than this fraction of its size."""
JOIN_IOU = 0.5
"""Two tracks of one object overlap at least this much where one ends and the other begins."""
THUMBNAIL_MAX_PX = 320
TRACK_SAMPLES = 60
"""Boxes kept in an event's track summary."""


def _group(label: str) -> str:
    return "vehicle" if label in MOTOR_VEHICLES else label


def _label(observations: list[Observation]) -> str:
    votes: dict[str, float] = {}
    for obs in observations:
        label = COCO_LABELS.get(obs.cls, "car")
        votes[label] = votes.get(label, 0.0) + obs.score
    return max(sorted(votes), key=votes.__getitem__)


def _centre(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _size(observations: list[Observation]) -> float:
    return float(np.median([math.sqrt(max(o.box[2] - o.box[0], 1e-4) * max(o.box[3] - o.box[1], 1e-4))
                            for o in observations]))


def _still(observations: list[Observation]) -> bool:
    """Whether these sightings (at least two) stand in one place."""
    if len(observations) < 2:
        return False
    radius = STILL_FRACTION * _size(observations)
    x0, y0 = _centre(observations[0].box)
    return all(math.dist((x0, y0), _centre(o.box)) <= radius for o in observations)


def _predicted_near(earlier: list[Observation], first: Observation) -> bool:
    """Whether ``first`` lies where the earlier track, moving on at its last speed, would be by then."""
    recent = [o for o in earlier if o.t >= earlier[-1].t - 1.0]
    if len(recent) < 2 or recent[-1].t <= recent[0].t:
        return False
    (x0, y0), (x1, y1) = _centre(recent[0].box), _centre(recent[-1].box)
    span = recent[-1].t - recent[0].t
    gap = first.t - recent[-1].t
    predicted = (x1 + (x1 - x0) / span * gap, y1 + (y1 - y0) / span * gap)
    return math.dist(predicted, _centre(first.box)) <= _size(recent)


def _parked(track: Track) -> bool:
    """Whether a track (or a join of tracks) stood in one place all along: a parked vehicle's sighting."""
    return len(track.observations) >= MIN_OBSERVATIONS and _stationary(track.observations)


def join_tracks(tracks: list[Track]) -> list[Track]:
    """Join tracks of one object split by a gap in tracking (see the module docstring); keeps time order."""
    joined: list[Track] = []
    for track in sorted(tracks, key=lambda t: (t.observations[0].t, t.track_id)):
        first = track.observations[0]
        group = _group(_label(track.observations))
        best: tuple[float, Track] | None = None
        for earlier in joined:
            last = earlier.observations[-1]
            if last.t >= first.t or _group(_label(earlier.observations)) != group:
                continue
            gap_s = first.t - last.t
            overlap = iou(last.box, first.box)
            if overlap >= JOIN_IOU:
                stopped = _still(earlier.observations[-2:]) and _still(track.observations[:2])
                if not (gap_s <= 2 * TRACK_MEMORY_S or stopped):
                    continue
                if gap_s > 2 * TRACK_MEMORY_S and _parked(earlier) != _parked(track):
                    # Across a long gap a parked car joins only its own other sightings: a passing car whose
                    # track ends on it (the tracker switched to the parked box) or a car that drove in and
                    # parked stays its own moving pass, and the parked car stays one stationary event.
                    continue
            elif not (gap_s <= 2 * TRACK_MEMORY_S and _predicted_near(earlier.observations, first)):
                # A tracker that lost a fast object at a few frames a second starts it again further on.
                continue
            score = max(overlap, 0.01)
            if best is None or score > best[0]:
                best = (score, earlier)
        if best is None:
            joined.append(Track(track.track_id, list(track.observations), track.best_crop, track.best_score,
                                track.best_scene))
            continue
        earlier = best[1]
        earlier.observations.extend(track.observations)
        if track.best_score > earlier.best_score:
            earlier.best_score, earlier.best_crop = track.best_score, track.best_crop
            earlier.best_scene = track.best_scene
    return joined


def _dwell(observations: list[Observation]) -> tuple[float, Observation | None]:
    """Longest time the object stood still, and a sighting from the middle of that stretch."""
    radius = STILL_FRACTION * _size(observations)
    best, best_mid = 0.0, None
    anchor = 0
    for i, obs in enumerate(observations):
        if math.dist(_centre(observations[anchor].box), _centre(obs.box)) > radius:
            anchor = i
        length = obs.t - observations[anchor].t
        if length > best:
            best, best_mid = length, observations[(anchor + i) // 2]
    return best, best_mid


def _stationary(observations: list[Observation]) -> bool:
    """Whether the object stayed where it was: its centre stays near its median place most of the time and it
    ends where it began. Most, not all: a parked car's box jumps while a passing car hides part of it."""
    centres = np.array([_centre(o.box) for o in observations])
    middle = np.median(centres, axis=0)
    size = _size(observations)
    spread = float(np.percentile(np.linalg.norm(centres - middle, axis=1), 80))
    return spread <= STATIONARY_FRACTION * size and math.dist(centres[0], centres[-1]) <= 2 * STATIONARY_FRACTION * size


def _thumbnail(crop: np.ndarray | None) -> bytes | None:
    if crop is None or crop.size == 0:
        return None
    scale = min(1.0, THUMBNAIL_MAX_PX / max(crop.shape[:2]))
    if scale < 1.0:
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return data.tobytes() if ok else None


def track_to_event(track: Track, zones: dict[str, Polygon], *, min_score: float = MIN_BEST_SCORE,
                   min_observations: int = MIN_OBSERVATIONS) -> EventRecord | None:
    """One event for a track, or None for a track too short or too weak (best score under ``min_score``)."""
    observations = sorted(track.observations, key=lambda o: o.t)
    if len(observations) < min_observations or max(o.score for o in observations) < min_score:
        return None
    label = _label(observations)
    entered: list[str] = []
    for obs in observations:
        for name in zones_at(*ground_point(obs.box), zones):
            if name not in entered:
                entered.append(name)
    stationary = _stationary(observations)
    dwell_s, dwell_at = _dwell(observations)
    if stationary:
        dwell_s = observations[-1].t - observations[0].t
        dwell_at = observations[len(observations) // 2]
    dwell_zone = None
    if dwell_at is not None and dwell_s > 0:
        inside = zones_at(*ground_point(dwell_at.box), zones)
        dwell_zone = inside[0] if inside else None
    step = max(1, math.ceil(len(observations) / TRACK_SAMPLES))
    summary = [[round(o.t, 3), *(round(v, 4) for v in o.box)] for o in observations[::step]]
    if summary[-1][0] != round(observations[-1].t, 3):
        summary.append([round(observations[-1].t, 3), *(round(v, 4) for v in observations[-1].box)])
    return EventRecord(
        label=label,
        start_s=round(observations[0].t, 3),
        end_s=round(observations[-1].t, 3),
        score=round(max(o.score for o in observations), 4),
        zones=entered,
        dwell_s=round(dwell_s, 3),
        dwell_zone=dwell_zone,
        stationary=stationary,
        colour=(dominant_colour(track.best_crop, track.best_scene)
                if label in VEHICLE_LABELS and track.best_crop is not None else None),
        thumbnail_jpeg=_thumbnail(track.best_crop),
        track=summary,
    )


def _ordered(events: list[EventRecord]) -> list[EventRecord]:
    return sorted(events, key=lambda e: (e.start_s, e.end_s, e.label, e.score))


def tracks_to_events(tracks: list[Track], zones: dict[str, Polygon]) -> list[EventRecord]:
    """Events for a segment's tracks, joined across gaps, in order of start time."""
    return events_and_unsure_vehicles(tracks, zones)[0]


def events_and_unsure_vehicles(tracks: list[Track], zones: dict[str, Polygon], low_tracks: list[Track] | None = None,
                               ) -> tuple[list[EventRecord], list[EventRecord]]:
    """The segment's events (as ``tracks_to_events``), and the would-be events of its unsure vehicles: motor vehicle
    tracks with a best score in [UNSURE_VEHICLE_SCORE, MIN_BEST_SCORE), and ``low_tracks`` (the boxes the tracker
    never tracked, ``unsure_tracks``). These are NOT events; the plate stage keeps those it reads a plate on (their
    score, under MIN_BEST_SCORE, tells them apart from detector-sure events). At most MAX_UNSURE, the surest."""
    events: list[EventRecord] = []
    unsure: list[EventRecord] = []
    for track in join_tracks([t for t in tracks if t.observations]):
        event = track_to_event(track, zones, min_score=UNSURE_VEHICLE_SCORE)
        if event is None:
            continue
        if max(o.score for o in track.observations) >= MIN_BEST_SCORE:
            events.append(event)
        elif event.label in MOTOR_VEHICLES:
            unsure.append(event)
    for track in low_tracks or []:
        # One sighting is enough here: the detector, with nothing tracked, looks a few times a second at most, and
        # what makes this an event is the plate read (two recogniser reads that must agree), not the sightings.
        event = track_to_event(track, zones, min_score=UNSURE_VEHICLE_SCORE, min_observations=1)
        if event is not None and event.label in MOTOR_VEHICLES:
            unsure.append(event)
    unsure = sorted(unsure, key=lambda e: -e.score)[:MAX_UNSURE]
    return _ordered(events), _ordered(unsure)
