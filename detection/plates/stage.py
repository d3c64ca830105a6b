"""The plate stage: after a segment's events are known, read the plate of each vehicle event from the file.

Indexing runs it on the events it has just found; the backfill runs it on events stored before plates were read.
Both hand it the same thing (each vehicle's sampled track), so both choose the same frames. The frames are
decoded in one forward pass over the file (seeking only across long gaps); only the vehicle cuts are kept, never
whole frames, so a busy segment costs memory per vehicle, not per frame. The cost is bounded per track:
``frames.CANDIDATES`` frames decoded, the plate finder on each (every other one first, the rest only for tracks
where a plate was found: that saves a third of the searches on a street camera with no legible plate), ``frames.READS``
frames read, two recogniser reads per plate found.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detection.decode import Span, iter_frames, read_packets
from detection.plates.frames import PlateTarget, best_to_read, choose_candidates, sharpness, vehicle_cut
from detection.plates.model import PlateModelError
from detection.plates.plate_led import MIN_FRAMES, PLATE_LED_SCORE, give_thumbnail, plate_led_vehicles
from detection.plates.reader import PlateBox, PlateReader, crop_jpeg
from detection.plates.text import vote
from detection.records import EventRecord
from detection.unsure_tracks import Look
from detection.zones import Polygon

log = logging.getLogger(__name__)

FRAME_TOLERANCE_S = 0.03
"""A decoded frame stands for a track time this close (track times are the detector's frame times, rounded)."""
MERGE_GAP_S = 1.0
"""Wanted frames closer than this are decoded in one span."""
MIN_VOTE_SCORE = 0.35
"""Votes below this are not kept: the reads disagree or the recogniser was unsure."""
PROBE_FROM = 3
"""A track with this many candidate cuts or more has every other one searched for its plate first (``read_plates``)."""
CONFIRM_VOTE_SCORE = 0.6
"""An unsure vehicle (``events.events_and_unsure_vehicles``) becomes an event only on a vote at least this sure."""


@dataclass
class PlateRead:
    """The plate of one vehicle event."""

    text: str
    """As shown: 黑A·12345, or a Latin plate as printed."""
    norm: str
    """The search key."""
    score: float
    """0..1 (see ``text.vote``)."""
    crop_jpeg: bytes | None
    """The best plate crop."""
    frames: int = 1
    """Frames whose own reads gave the agreed plate."""
    vehicle: np.ndarray | None = None
    """The vehicle cut the best plate crop was read in (a plate-led event's thumbnail)."""


@dataclass
class StageReport:
    """What the stage did for a segment."""

    reads: dict[int, PlateRead] = field(default_factory=dict)
    """Per target key, the plate read (targets without a legible plate are absent)."""
    targets: int = 0
    """Vehicle events tried (wide enough for a plate)."""
    frames_decoded: int = 0
    """Frames decoded for vehicle cuts."""
    plates_found: int = 0
    """Plate boxes found (one per read frame at most)."""
    cuts: int = 0
    """Vehicle cuts decoded (candidate frames of the targets)."""
    cuts_searched: int = 0
    """Of those, the cuts the plate finder ran on."""
    seconds: float = 0.0
    """Wall seconds the stage took."""

    def stats(self) -> dict[str, float]:
        return {"plate_targets": float(self.targets), "plate_frames": float(self.frames_decoded),
                "plates_found": float(self.plates_found), "plates_read": float(len(self.reads)),
                "plate_cuts": float(self.cuts), "plate_cuts_searched": float(self.cuts_searched),
                "plate_s": round(self.seconds, 3)}


def _frame_size(path: Path, rotation: int) -> tuple[int, int, float]:
    trace = read_packets(path)
    width, height = trace.width, trace.height
    if rotation % 180 == 90:
        width, height = height, width
    return width, height, trace.origin_s


def _decode_candidates(path: Path, targets: list[PlateTarget], rotation: int, origin_s: float) -> int:
    """Fill each candidate's vehicle cut and sharpness from one pass over the file; return the frames cut from."""
    wanted: dict[float, list] = {}
    for target in targets:
        for candidate in target.candidates:
            wanted.setdefault(round(candidate.t, 3), []).append(candidate)
    if not wanted:
        return 0
    times = sorted(wanted)
    spans: list[Span] = []
    for t in times:
        start, end = t - FRAME_TOLERANCE_S, t + FRAME_TOLERANCE_S
        # Nearby times share one span: the frames between are decoded anyway (no seek under 2 s), and
        # iter_frames drops frames the decoder flushes at the end of the file when one span ends among them.
        if spans and start <= spans[-1].end_s + MERGE_GAP_S:
            spans[-1] = Span(spans[-1].start_s, end)
        else:
            spans.append(Span(max(0.0, start), end))
    decoded = 0
    pending = list(times)
    def near_a_wanted_time(t: float) -> bool:
        i = bisect.bisect_left(times, t - FRAME_TOLERANCE_S)
        return i < len(times) and times[i] <= t + FRAME_TOLERANCE_S

    for _, t, frame in iter_frames(path, spans, every_s=0.0, rotation=rotation, origin_s=origin_s,
                                   wanted=near_a_wanted_time):
        decoded += 1
        # Each wanted time takes the decoded frame nearest to it.
        for wanted_t in [w for w in pending if abs(w - t) <= FRAME_TOLERANCE_S]:
            for candidate in wanted[wanted_t]:
                if candidate.crop is None or abs(wanted_t - t) < abs(wanted_t - candidate.sharpness_t):
                    candidate.crop = vehicle_cut(frame, candidate.box)
                    candidate.sharpness = sharpness(candidate.crop)
                    candidate.sharpness_t = t
        pending = [w for w in pending if w >= t - FRAME_TOLERANCE_S]
    return decoded


def read_plates(path: Path, targets: list[PlateTarget], reader: PlateReader, *, rotation: int = 0,
                origin_s: float | None = None, progress: Callable[[float], None] | None = None) -> StageReport:
    """Read the plate of each target (vehicle event) from the video file ``path``; ``progress`` (when given)
    hears the fraction done after decoding and after the plate search."""
    began = time.perf_counter()
    report = StageReport()
    width, height, file_origin = _frame_size(Path(path), rotation)
    for target in targets:
        target.candidates = choose_candidates(target, width, height)
    tried = [t for t in targets if t.candidates]
    report.targets = len(tried)
    if not tried:
        report.seconds = time.perf_counter() - began
        return report
    report.frames_decoded = _decode_candidates(Path(path), tried, rotation,
                                               file_origin if origin_s is None else origin_s)
    if progress is not None:
        progress(0.5)
    # Every decoded cut is searched for its plate (the finder is cheap and its confidence swings from frame
    # to frame); the reads go to the frames where the plate was found best.
    decoded = [(target, c, c.crop) for target in tried for c in target.candidates
               if c.crop is not None and c.crop.size]
    # The finder is the stage's main cost (decoding is a tenth of it): every other cut of a track is searched
    # first, and the rest only of tracks where a plate was found (a plate seen in a track is seen in several cuts).
    probed = {id(c) for target in tried for i, c in enumerate(target.candidates)
              if len(target.candidates) < PROBE_FROM or i % 2 == 0}
    first = [(target, c, crop) for target, c, crop in decoded if id(c) in probed]
    for (_, candidate, _), box in zip(first, reader.find_in_cuts([crop for _, _, crop in first]), strict=True):
        candidate.plate = box
    hit = {target.key for target, c, _ in first if c.plate is not None}
    rest = [(target, c, crop) for target, c, crop in decoded if id(c) not in probed and target.key in hit]
    for (_, candidate, _), box in zip(rest, reader.find_in_cuts([crop for _, _, crop in rest]), strict=True):
        candidate.plate = box
    boxes = [c.plate for _, c, _ in first + rest]
    report.cuts, report.cuts_searched = len(decoded), len(boxes)
    found: list[tuple[PlateTarget, np.ndarray, PlateBox]] = []
    for target in tried:
        for candidate in best_to_read(target.candidates):
            assert candidate.crop is not None and candidate.plate is not None
            found.append((target, candidate.crop, candidate.plate))
    report.plates_found = sum(1 for box in boxes if box is not None)
    if progress is not None:
        progress(0.8)
    reads = reader.read_many([(crop, box) for _, crop, box in found])
    per_plate = len(reads) // max(1, len(found))
    by_target: dict[int, list[tuple[np.ndarray, PlateBox, list[tuple[str, float]]]]] = {}
    for i, (target, crop, box) in enumerate(found):
        by_target.setdefault(target.key, []).append((crop, box, reads[i * per_plate:(i + 1) * per_plate]))
    for key, plates in by_target.items():
        agreed = vote([r for _, _, rs in plates for r in rs])
        if agreed is None or agreed.score < MIN_VOTE_SCORE:
            continue
        # The crop shown is the plate whose own reads came closest to the agreed plate, most confidently.
        crop, box, _ = max(plates, key=lambda p: (sum(1 for text, _ in p[2] if _matches(text, agreed.norm)),
                                                  max((s for _, s in p[2]), default=0.0) * p[1].score))
        frames = sum(1 for _, _, rs in plates if any(_matches(text, agreed.norm) for text, _ in rs))
        report.reads[key] = PlateRead(agreed.text, agreed.norm, agreed.score, crop_jpeg(crop, box), frames, crop)
    report.seconds = time.perf_counter() - began
    return report


def _matches(text: str, norm: str) -> bool:
    from detection.plates.text import clean_read

    return clean_read(text) == norm


_shared: PlateReader | None = None


def shared_reader() -> PlateReader:
    """One reader per worker process (its models load on first use and stay)."""
    global _shared
    if _shared is None:
        _shared = PlateReader.load()
    return _shared


def read_event_plates(path: Path, events: list[EventRecord], *, rotation: int = 0, origin_s: float | None = None,
                      reader: PlateReader | None = None, unsure: list[EventRecord] | None = None,
                      looks: list[Look] | None = None, zones: dict[str, Polygon] | None = None) -> dict[str, float]:
    """Read the plates of a segment's new event records in place; return the stage's figures for the job stats.

    ``unsure`` are would-be vehicle events the detector was unsure of (``events.events_and_unsure_vehicles``): each
    is tried like an event (same per-track cost) and joins ``events`` (kept in start order) only when its plate is
    read with a vote of at least CONFIRM_VOTE_SCORE; ``plates_confirmed`` in the figures counts them. ``looks`` are
    frames where the detector saw no vehicle at the centre (``unsure_tracks.Look``): plates found in them become
    plate-led would-be events (``plate_led``, in ``zones``), confirmed likewise but only from at least
    ``plate_led.MIN_FRAMES`` agreeing frames; ``plates_led`` counts those confirmed, and ``plate_s`` includes the
    looks' plate search (``plate_looks_s``).

    A plate model that cannot be loaded (PlateModelError) does not fail the indexing: the events are kept without
    plates, the stats say ``plate_error``, and the message goes to the log (`gatewatch plates` can read them once
    the model is back)."""
    unsure = unsure or []
    try:
        reader = reader or shared_reader()
        began = time.perf_counter()
        led = plate_led_vehicles(looks or [], reader, [*events, *unsure], zones or {})
        looks_s = time.perf_counter() - began
        tried = [*events, *unsure, *led]
        targets = [PlateTarget(key=i, label=e.label, track=e.track) for i, e in enumerate(tried)]
        report = read_plates(path, targets, reader, rotation=rotation, origin_s=origin_s)
    except PlateModelError as exc:
        log.warning("plates not read for %s: %s", Path(path).name, exc)
        return {"plate_error": 1.0}
    confirmed: list[EventRecord] = []
    sure, first_led = len(events), len(events) + len(unsure)
    for key, read in sorted(report.reads.items()):
        record = tried[key]
        if key >= sure:
            # A weak box of a car already an event (its front, beside the tracked box) reads that car's plate.
            if read.score < CONFIRM_VOTE_SCORE or (key >= first_led and read.frames < MIN_FRAMES) or any(
                    e.plate_norm == read.norm and e.start_s <= record.end_s and record.start_s <= e.end_s
                    for e in [*events, *confirmed]):
                continue
            if key >= first_led:
                give_thumbnail(record, read.vehicle)
            confirmed.append(record)
        record.plate, record.plate_norm, record.plate_score = read.text, read.norm, read.score
        record.plate_crop_jpeg = read.crop_jpeg
    if confirmed:
        events.extend(confirmed)
        events.sort(key=lambda e: (e.start_s, e.end_s, e.label, e.score))
    stats = report.stats()
    # A read of an unsure vehicle that was not confirmed is dropped with it: not counted as read.
    stats["plates_read"] = float(sum(1 for key in report.reads if key < sure) + len(confirmed))
    stats["plates_confirmed"] = float(len(confirmed))
    stats["plate_looks"] = float(len(looks or []))
    stats["plate_looks_s"] = round(looks_s, 3)
    stats["plates_led"] = float(sum(1 for e in confirmed if e.score == PLATE_LED_SCORE))
    stats["plate_s"] = round(report.seconds + looks_s, 3)
    return stats
