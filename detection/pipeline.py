"""The indexing pipeline: one video file in, its events out. Pure: no database, no settings beyond detection's.

Stages (each in its own module, each testable on a clip):
1. ``decode.read_packets``: demux only, the per-frame size and keyframe trace;
2. ``activity.find_activity``: the cheap pass, active spans from packet sizes, keyframes and motion (a segment
   under SHORT_SEGMENT_S is active throughout);
3. ``detect_stage.run_detection``: frames of the active spans on a grid of ``settings.detect_fps``, decoded on
   a thread while the detector runs; ``sampling`` picks which grid frames the detector sees (the adaptive rate)
   and where (crops around motion, tracks and zones); ByteTrack; a span is followed on while a tracked object
   is still moving at its end, so a pass is never cut short;
4. ``events.tracks_to_events``: tracks into events (with plates on, a vehicle track the detector was unsure of
   becomes an event only where the plate stage reads its plate).
``dense_reference`` runs the same detector and tracker on every frame: what the index is measured against.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from detection.activity import ActivitySettings, find_activity, merge_spans
from detection.decode import Span, read_packets
from detection.detect_stage import run_detection
from detection.detector import Detector
from detection.events import events_and_unsure_vehicles, tracks_to_events
from detection.records import CameraSpec, SegmentIndex
from detection.sampling import SamplingSettings
from detection.tracking import TrackBook

SHORT_SEGMENT_S = 3.0
"""A segment shorter than this is active from end to end: detecting all of it costs a few frames, and the cheap pass
cannot tell motion in it (a 10-frame clip of a taxi entering the picture gave no active span at all)."""


def active_spans(found: list[Span], duration_s: float) -> list[Span]:
    """Where the detector runs: the cheap pass's spans, or the whole segment when it is under SHORT_SEGMENT_S."""
    return [Span(0.0, duration_s)] if 0.0 < duration_s < SHORT_SEGMENT_S else found


def _detect_fps() -> float:
    from detection.settings import get_detection_settings

    return max(0.5, float(get_detection_settings().detect_fps))


def index_segment(
    path: Path,
    camera: CameraSpec,
    *,
    detector: Detector | None = None,
    rotation: int = 0,
    progress: Callable[[float], None] | None = None,
    activity_settings: ActivitySettings | None = None,
    sampling: SamplingSettings | None = None,
) -> SegmentIndex:
    """Index one video file: events of the objects that moved or stood in view, times from its first frame.

    ``rotation`` is the degrees clockwise that turn the decoded picture into the viewer's orientation (the
    orientation the camera's zones are drawn in). Deterministic: the same file gives the same events.
    """
    began = time.perf_counter()
    path = Path(path)
    detector = detector or Detector.load()
    trace = read_packets(path)
    if progress is not None:
        progress(0.02)
    activity = find_activity(path, trace, camera.zones, rotation, activity_settings)
    activity.spans = active_spans(activity.spans, trace.duration_s)
    cheap_pass_s = time.perf_counter() - began
    if progress is not None:
        progress(0.1)
    every_s = 1.0 / _detect_fps()
    book = TrackBook()
    timings: dict[str, float] = {}

    def detection_progress(fraction: float) -> None:
        if progress is not None:
            progress(0.1 + 0.88 * fraction)

    detected = run_detection(
        path, activity.spans, detector, every_s=every_s, duration_s=trace.duration_s, origin_s=trace.origin_s,
        rotation=rotation, follow=True, book=book, zones=camera.zones, sampling=sampling,
        progress=detection_progress, timings=timings,
    )
    detection_s = time.perf_counter() - began - cheap_pass_s
    events, unsure = events_and_unsure_vehicles(list(book.tracks.values()), camera.zones,
                                                list(book.unsure.tracks.values()) if camera.read_plates else [])
    events_s = time.perf_counter() - began - cheap_pass_s - detection_s
    plate_stats: dict[str, float] = {}
    if camera.read_plates:
        from detection.plates.stage import read_event_plates

        # Vehicles the detector was unsure of become events only where their plate is read (see events).
        # So do plates found where the detector saw no vehicle at all (``plates.plate_led``).
        plate_stats = read_event_plates(path, events, rotation=rotation, origin_s=trace.origin_s, unsure=unsure,
                                        looks=book.unsure.looks, zones=camera.zones)
    if progress is not None:
        progress(1.0)
    return SegmentIndex(
        events=events,
        duration_s=trace.duration_s,
        stats={
            "frames_demuxed": float(len(trace.times)),
            "keyframes_decoded": float(activity.keyframes_decoded),
            "frames_motion": float(activity.frames_measured),
            "frames_detected": float(detected),
            "candidate_s": round(sum(s.length_s for s in activity.candidates), 3),
            "active_s": round(sum(s.length_s for s in activity.spans), 3),
            "packet_signal": float(activity.packet_signal),
            "frames_whole": timings.get("frames_whole", 0.0),
            "crops": timings.get("crops", 0.0),
            # Per stage: the cheap pass; decoding the detector's frames (the decoding thread's own work, which
            # overlaps the detector); the detector waiting for decoded frames; the detector; the tracker and
            # track book; the whole detection stage (wall); tracks into events.
            "cheap_pass_s": round(cheap_pass_s, 3),
            "decode_s": round(timings.get("decode_s", 0.0), 3),
            "wait_s": round(timings.get("wait_s", 0.0), 3),
            "detect_s": round(timings.get("detect_s", 0.0), 3),
            "track_s": round(timings.get("track_s", 0.0), 3),
            "detection_stage_s": round(detection_s, 3),
            "events_s": round(events_s, 3),
            **plate_stats,
            "wall_s": round(time.perf_counter() - began, 3),
        },
    )


def dense_reference(
    path: Path,
    camera: CameraSpec,
    *,
    detector: Detector | None = None,
    rotation: int = 0,
    spans: list[Span] | None = None,
) -> SegmentIndex:
    """The same detector and tracker on EVERY frame (of ``spans``, default the whole file): the reference."""
    began = time.perf_counter()
    path = Path(path)
    detector = detector or Detector.load()
    trace = read_packets(path)
    book = TrackBook()
    chosen = merge_spans(spans) if spans else [Span(0.0, trace.duration_s)]
    detected = run_detection(
        path, chosen, detector, every_s=0.0, duration_s=trace.duration_s, origin_s=trace.origin_s,
        rotation=rotation, follow=False, book=book, zones=camera.zones, sampling=SamplingSettings.dense(),
    )
    return SegmentIndex(
        events=tracks_to_events(list(book.tracks.values()), camera.zones),
        duration_s=trace.duration_s,
        stats={"frames_detected": float(detected), "wall_s": round(time.perf_counter() - began, 3)},
    )
