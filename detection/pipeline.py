"""The indexing pipeline: one video file in, its events out. Pure: no database, no settings beyond detection's.

Stages (each in its own module, each testable on a clip):
1. ``decode.read_packets``: demux only, the per-frame size and keyframe trace;
2. ``activity.find_activity``: the cheap pass, active spans from packet sizes, keyframes and motion;
3. detection at ``settings.detect_fps`` inside the active spans, with ByteTrack; a span is followed on while
   a tracked object is still moving at its end, so a pass is never cut short;
4. ``events.tracks_to_events``: tracks into events.
``dense_reference`` runs the same detector and tracker on every frame: what the index is measured against.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from detection.activity import ActivitySettings, find_activity, merge_spans
from detection.decode import Span, iter_frames, read_packets
from detection.detector import Detector
from detection.events import tracks_to_events
from detection.records import CameraSpec, SegmentIndex
from detection.tracking import SegmentTracker, TrackBook

FOLLOW_S = 2.0
"""Seconds detection goes on past a span's end while a tracked object is still moving."""
PROGRESS_EVERY = 25
"""Detector frames between progress reports inside a span (a job's stop and lease checks ride on them)."""
MAX_FOLLOW_S = 120.0
"""Following stops after this long past a span's end (an object that stays is joined by events.join_tracks)."""


def _detect_fps() -> float:
    from detection.settings import get_detection_settings

    return max(0.5, float(get_detection_settings().detect_fps))


def _run_detection(
    path: Path,
    spans: list[Span],
    detector: Detector,
    *,
    every_s: float,
    duration_s: float,
    origin_s: float,
    rotation: int,
    follow: bool,
    book: TrackBook,
    progress: Callable[[float], None] | None = None,
    timings: dict[str, float] | None = None,
) -> int:
    """Detect and track inside the spans; return the number of frames run through the detector.

    ``timings`` (when given) gathers the seconds spent in the detector and in the tracker and track book."""
    fps = 1.0 / every_s if every_s > 0 else _stream_fps(path)
    frames_detected = 0
    covered_until = -1.0
    tracker: SegmentTracker | None = None
    total = sum(s.length_s for s in spans) or 1.0
    done = 0.0
    for span in spans:
        start = span.start_s
        if start <= covered_until:
            start = covered_until + max(every_s, 1e-3) / 2
        if start > span.end_s:
            continue
        if tracker is None or start - covered_until > 2 * max(every_s, 1.0 / fps):
            tracker = SegmentTracker(fps)
            book.new_stretch()
        stretch = Span(start, span.end_s)
        followed = 0.0
        while True:
            moving_now = False
            last_t = stretch.start_s
            for _, t, frame in iter_frames(path, [stretch], every_s=every_s, rotation=rotation, origin_s=origin_s):
                tick = time.perf_counter()
                found = detector.detect([frame])[0]
                tock = time.perf_counter()
                tracked = tracker.update(found)
                book.add(t, frame, tracked)
                if timings is not None:
                    timings["detect_s"] = timings.get("detect_s", 0.0) + tock - tick
                    timings["track_s"] = timings.get("track_s", 0.0) + time.perf_counter() - tock
                frames_detected += 1
                last_t = t
                if progress is not None and frames_detected % PROGRESS_EVERY == 0:
                    progress(min(1.0, (done + max(0.0, min(t, span.end_s) - span.start_s)) / total))
            moving_now = bool(frames_detected) and book.moving_at(last_t)
            covered_until = max(covered_until, stretch.end_s, last_t)
            if not (follow and moving_now and covered_until < duration_s and followed < MAX_FOLLOW_S):
                break
            stretch = Span(covered_until + max(every_s, 1e-3) / 2, min(duration_s, covered_until + FOLLOW_S))
            followed += FOLLOW_S
        done += span.length_s
        if progress is not None:
            progress(min(1.0, done / total))
    return frames_detected


def _stream_fps(path: Path) -> float:
    trace = read_packets(path)
    return max(1.0, (len(trace.times) - 1) / max(trace.times[-1], 1e-3)) if len(trace.times) > 1 else 25.0


def index_segment(
    path: Path,
    camera: CameraSpec,
    *,
    detector: Detector | None = None,
    rotation: int = 0,
    progress: Callable[[float], None] | None = None,
    activity_settings: ActivitySettings | None = None,
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
    cheap_pass_s = time.perf_counter() - began
    if progress is not None:
        progress(0.1)
    every_s = 1.0 / _detect_fps()
    book = TrackBook()
    timings: dict[str, float] = {}

    def detection_progress(fraction: float) -> None:
        if progress is not None:
            progress(0.1 + 0.88 * fraction)

    detected = _run_detection(
        path, activity.spans, detector, every_s=every_s, duration_s=trace.duration_s, origin_s=trace.origin_s,
        rotation=rotation, follow=True, book=book, progress=detection_progress, timings=timings,
    )
    detection_s = time.perf_counter() - began - cheap_pass_s
    events = tracks_to_events(list(book.tracks.values()), camera.zones)
    events_s = time.perf_counter() - began - cheap_pass_s - detection_s
    plate_stats: dict[str, float] = {}
    if camera.read_plates:
        from detection.plates.stage import read_event_plates

        plate_stats = read_event_plates(path, events, rotation=rotation, origin_s=trace.origin_s)
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
            # Per stage: the cheap pass; decoding the detector's frames (what the detection stage spent outside
            # the detector and tracker); the detector; the tracker and track book; tracks into events.
            "cheap_pass_s": round(cheap_pass_s, 3),
            "decode_s": round(detection_s - timings.get("detect_s", 0.0) - timings.get("track_s", 0.0), 3),
            "detect_s": round(timings.get("detect_s", 0.0), 3),
            "track_s": round(timings.get("track_s", 0.0), 3),
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
    detected = _run_detection(
        path, chosen, detector, every_s=0.0, duration_s=trace.duration_s, origin_s=trace.origin_s,
        rotation=rotation, follow=False, book=book,
    )
    return SegmentIndex(
        events=tracks_to_events(list(book.tracks.values()), camera.zones),
        duration_s=trace.duration_s,
        stats={"frames_detected": float(detected), "wall_s": round(time.perf_counter() - began, 3)},
    )
