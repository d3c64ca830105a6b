"""Plate-led vehicles: a plate found in a frame where the detector saw no vehicle at all.

A gate camera's tight view of a car's front can fill the picture so that the detector gives no box, not even an
unsure one (``unsure_tracks``): no vehicle, so nothing to read a plate on. The detection stage keeps, at a bounded
rate, small copies of frames whose centre no vehicle box holds (``unsure_tracks.Look``). Here the plate finder runs
once on each (one inference at its 320 px input: it finds plates an eighth of the frame wide or more, i.e. a car
close to the camera, which is the case in point); plates that no event or unsure vehicle holds are linked frame to
frame by overlap into plate-led tracks. Every other look is searched first, and the looks beside a plate found
next (``_sightings``), so footage without plates costs half a finder run per look.

The box of a plate-led track is NOT a detector box: it is the plate box grown to a plausible car front around it
(``car_front``), so that the clip, the thumbnail and the plate stage's vehicle cut have a car-sized box. The plate
stage treats each such track like an unsure vehicle, with one more condition: it becomes an event only when its
plate is read with a vote of at least ``stage.CONFIRM_VOTE_SCORE`` from at least MIN_FRAMES frames. Its score,
PLATE_LED_SCORE, lies under any detector box kept (``unsure_tracks.LOW_SCORE``): that marks an event as plate-led.
"""

from __future__ import annotations

import cv2
import numpy as np

from detection.colour import dominant_colour
from detection.events import track_to_event
from detection.plates.reader import MIN_PLATE_WIDTH_PX, PlateBox, PlateReader
from detection.records import EventRecord
from detection.regions import iou
from detection.tracking import Observation, Track
from detection.unsure_tracks import LINK_GAP_S, LINK_IOU, Look
from detection.zones import Polygon

PLATE_LED_SCORE = 0.05
"""The score of a plate-led event: under the detector's floor, so no detector-found event has it."""
MIN_FRAMES = 2
"""Frames a plate-led track is seen in, and frames whose reads agree with its vote, at least."""
MAX_PLATE_LED = 10
"""Plate-led tracks handed to the plate stage per segment at most (the most often seen first)."""
CAR_CLASS = 2
"""COCO's car: the label a plate-led event takes (a plate alone does not tell a car from a van)."""
FRONT_WIDTH = 4.0
"""A car front is about this many plate widths wide (1.8 m against a 0.44 m plate)..."""
FRONT_HEIGHT = 3.2
"""...and this many plate widths high, bumper to roof..."""
PLATE_DOWN = 0.75
"""...with the plate's centre this far down it."""
PROBE_STRIDE = 2
"""One look in this many is searched for a plate first; the looks around a hit are searched next."""
HELD_WITHIN_S = 1.0
"""A plate inside an event's box sampled this close in time is that vehicle's plate, not a plate-led one."""
THUMBNAIL_MAX_PX = 320


Box = tuple[float, float, float, float]


def car_front(plate: Box, frame_size: tuple[int, int]) -> Box:
    """A plausible car-front box (0..1) around a plate box (0..1): FRONT_WIDTH by FRONT_HEIGHT plate widths (in
    pixels, so the aspect holds in any frame), centred on the plate across, the plate PLATE_DOWN of the way down;
    clipped to the frame."""
    width, height = frame_size
    plate_w = (plate[2] - plate[0]) * width
    cx, cy = (plate[0] + plate[2]) / 2 * width, (plate[1] + plate[3]) / 2 * height
    front_w, front_h = FRONT_WIDTH * plate_w, FRONT_HEIGHT * plate_w
    x1, y1 = cx - front_w / 2, cy - PLATE_DOWN * front_h
    return (max(0.0, x1 / width), max(0.0, y1 / height),
            min(1.0, (x1 + front_w) / width), min(1.0, (y1 + front_h) / height))


def _held(t: float, point: tuple[float, float], records: list[EventRecord]) -> bool:
    """Whether a box of one of the records, sampled within HELD_WITHIN_S of t, holds the point."""
    x, y = point
    return any(abs(sample[0] - t) <= HELD_WITHIN_S and sample[1] <= x <= sample[3] and sample[2] <= y <= sample[4]
               for record in records for sample in record.track if len(sample) >= 5)


def _front(look: Look, plate: PlateBox | None, records: list[EventRecord]) -> Box | None:
    """The car-front box of a plate found in a look, or None: no plate, too small in the full frame to read, or
    held by a record."""
    if plate is None:
        return None
    small_h, small_w = look.small.shape[:2]
    # The finder's width floor was applied in the copy's pixels; a plate must be legible in the full frame.
    if plate.width * look.frame_size[0] / small_w < MIN_PLATE_WIDTH_PX:
        return None
    box = (plate.x1 / small_w, plate.y1 / small_h, plate.x2 / small_w, plate.y2 / small_h)
    if _held(look.t, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), records):
        return None
    return car_front(box, look.frame_size)


def _sightings(looks: list[Look], reader: PlateReader, records: list[EventRecord]) -> dict[int, Box]:
    """Per look index, the car front of the plate found there. Every PROBE_STRIDE-th look is searched first and the
    neighbours of those with a plate next: a plate-led track needs MIN_FRAMES sightings close together, so this
    halves the finder's work on footage without plates and misses only plates seen in no probed look."""
    probed = list(range(0, len(looks), PROBE_STRIDE))
    fronts = dict(zip(probed, (_front(looks[i], box, records) for i, box in
                               zip(probed, reader.find_in_cuts([looks[i].small for i in probed]), strict=True)),
                      strict=True))
    around = sorted({j for i, front in fronts.items() if front is not None
                     for j in range(i - PROBE_STRIDE + 1, i + PROBE_STRIDE) if 0 <= j < len(looks) and j not in fronts})
    if around:
        boxes = reader.find_in_cuts([looks[j].small for j in around])
        fronts.update((j, _front(looks[j], box, records)) for j, box in zip(around, boxes, strict=True))
    return {i: front for i, front in fronts.items() if front is not None}


def plate_led_tracks(looks: list[Look], reader: PlateReader, records: list[EventRecord]) -> list[Track]:
    """Plate-led tracks from the looks: plates found in them (``_sightings``) that no record (event or unsure vehicle)
    holds, linked by the overlap of their car-front boxes within ``unsure_tracks.LINK_GAP_S``; those seen in at
    least MIN_FRAMES looks, at most MAX_PLATE_LED, the most often seen first."""
    tracks: list[Track] = []
    for i, front in sorted(_sightings(looks, reader, records).items()):
        t = looks[i].t
        open_tracks = [tr for tr in tracks if 0 < t - tr.observations[-1].t <= LINK_GAP_S]
        best = max(open_tracks, key=lambda tr: iou(front, tr.observations[-1].box), default=None)
        if best is None or iou(front, best.observations[-1].box) < LINK_IOU:
            best = Track(-1_000_000 - len(tracks))
            tracks.append(best)
        best.observations.append(Observation(t, front, PLATE_LED_SCORE, CAR_CLASS))
    seen = [tr for tr in tracks if len(tr.observations) >= MIN_FRAMES]
    return sorted(seen, key=lambda tr: (-len(tr.observations), tr.observations[0].t))[:MAX_PLATE_LED]


def plate_led_vehicles(looks: list[Look], reader: PlateReader, records: list[EventRecord],
                       zones: dict[str, Polygon]) -> list[EventRecord]:
    """The would-be events of the plate-led tracks (NOT events until the plate stage confirms them)."""
    out: list[EventRecord] = []
    for track in plate_led_tracks(looks, reader, records):
        event = track_to_event(track, zones, min_score=0.0, min_observations=MIN_FRAMES)
        if event is not None:
            out.append(event)
    return out


def give_thumbnail(record: EventRecord, vehicle: np.ndarray | None) -> None:
    """A confirmed plate-led event's thumbnail and colour, from the vehicle cut its plate was read in (a plate-led
    track has no detector crop)."""
    if vehicle is None or vehicle.size == 0:
        return
    scale = min(1.0, THUMBNAIL_MAX_PX / max(vehicle.shape[:2]))
    image = vehicle if scale >= 1.0 else cv2.resize(
        vehicle, (max(1, round(vehicle.shape[1] * scale)), max(1, round(vehicle.shape[0] * scale))),
        interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    record.thumbnail_jpeg = data.tobytes() if ok else None
    record.colour = dominant_colour(vehicle, None)
