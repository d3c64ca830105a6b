"""The detection stage: decode the active spans on one thread while the detector and tracker run on another.

PyAV's decoder and OpenVINO's (or ONNX Runtime's) inference both release the GIL, so a decoding thread that
fills a small bounded queue lets the two cores work at once: the next frames are decoded while the detector
runs on this one. The file is opened once for the whole stage (``decode.FrameReader``), never per span.
Which frames are detected, and where in them, is ``detection.sampling``'s plan.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from detection.decode import FrameReader, Span
from detection.detector import Detector
from detection.sampling import SamplingPlanner, SamplingSettings, small_grey, whole_in_a_region
from detection.tracking import TRACK_MEMORY_S, SegmentTracker, TrackBook

FOLLOW_S = 2.0
"""Seconds detection goes on past a span's end while a tracked object is still moving, or stands where it drove."""
STAND_FOLLOW_S = 5.0
"""Following goes on while a track still in view moved within this many seconds: a car that drove in and stopped
(at the kerb, at the frame's edge) shows the cheap pass no motion, and may drive off again (the bench's window B:
two cars stand at the left edge for 5 s, and were cut short). One that stands longer is parked: seen again at
the next active span and joined by events.join_tracks. 10 s found the same events on the bench, 4 % more frames."""
PROGRESS_EVERY = 25
"""Detector frames between progress reports inside a span (a job's stop and lease checks ride on them)."""
MAX_FOLLOW_S = 120.0
"""Following stops after this long past a span's end (an object that stays is joined by events.join_tracks)."""
QUEUE_FRAMES = 8
"""Decoded frames the decoding thread may run ahead of the detector (memory: 8 frames of 1080p is 50 MB)."""

_END = object()


class _Prefetch:
    """Decodes one span on a thread into a bounded queue: (time, BGR frame, small grey) in time order."""

    def __init__(self, reader: FrameReader, span: Span, every_s: float, timings: dict[str, float]) -> None:
        self._queue: queue.Queue[object] = queue.Queue(QUEUE_FRAMES)
        self._stop = threading.Event()
        self._timings = timings
        self._thread = threading.Thread(target=self._work, args=(reader, span, every_s), daemon=True,
                                        name="gatewatch-decode")
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self, reader: FrameReader, span: Span, every_s: float) -> None:
        busy = 0.0
        try:
            tick = time.perf_counter()
            for t, frame in reader.read(span, every_s):
                grey = small_grey(frame)
                busy += time.perf_counter() - tick
                if not self._put((t, frame, grey)):
                    return
                tick = time.perf_counter()
            busy += time.perf_counter() - tick
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            self._put(exc)
        finally:
            self._timings["decode_s"] = self._timings.get("decode_s", 0.0) + busy

    def __iter__(self) -> Iterator[tuple[float, np.ndarray, np.ndarray]]:
        while True:
            tick = time.perf_counter()
            item = self._queue.get()
            self._timings["wait_s"] = self._timings.get("wait_s", 0.0) + time.perf_counter() - tick
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _with_last(items: Iterator[tuple[float, np.ndarray, np.ndarray]]
               ) -> Iterator[tuple[float, np.ndarray, np.ndarray, bool]]:
    """Each item with a flag telling whether it is the last (one item of look-ahead)."""
    previous = None
    for item in items:
        if previous is not None:
            yield (*previous, False)
        previous = item
    if previous is not None:
        yield (*previous, True)


def run_detection(
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
    zones: dict[str, list[tuple[float, float]]] | None = None,
    sampling: SamplingSettings | None = None,
    progress: Callable[[float], None] | None = None,
    timings: dict[str, float] | None = None,
) -> int:
    """Detect and track inside the spans; return the number of frames run through the detector.

    A span is followed on (FOLLOW_S at a time) while a tracked object is still moving at its end, so a pass is
    never cut short. ``timings`` gathers seconds: ``decode_s`` (the decoding thread's work), ``wait_s`` (the
    detector waiting for frames), ``detect_s``, ``track_s``, and counts: ``frames_whole``, ``crops``.
    """
    sampling = sampling or SamplingSettings()
    timings = timings if timings is not None else {}
    fps = 1.0 / every_s if every_s > 0 else _stream_fps(path)
    frames_detected = 0
    covered_until = -1.0
    tracker: SegmentTracker | None = None
    planner: SamplingPlanner | None = None
    total = sum(s.length_s for s in spans) or 1.0
    done = 0.0
    with FrameReader(path, rotation=rotation, origin_s=origin_s) as reader:
        for span in spans:
            start = span.start_s
            if start <= covered_until:
                start = covered_until + max(every_s, 1e-3) / 2
            if start > span.end_s:
                continue
            new_stretch = tracker is None or start - covered_until > 2 * max(every_s, 1.0 / fps)
            if new_stretch:
                tracker = SegmentTracker(fps)
                planner = None
                book.new_stretch()
            assert tracker is not None
            stretch = Span(start, span.end_s)
            followed = 0.0
            while True:
                last_t = stretch.start_s
                last_detected_t: float | None = None
                prefetch = _Prefetch(reader, stretch, every_s, timings)
                try:
                    for t, frame, grey, last in _with_last(iter(prefetch)):
                        if planner is None:
                            planner = SamplingPlanner(sampling, (frame.shape[1], frame.shape[0]), zones or {})
                        # A followed stretch is not its stretch's end unless following stops there.
                        plan = planner.plan(t, grey, last)
                        last_t = t
                        if not plan.detect:
                            continue
                        tick = time.perf_counter()
                        if plan.whole:
                            found = detector.detect([frame])[0]
                        else:
                            found = detector.detect_regions([frame], [plan.regions])[0]
                            found = found[whole_in_a_region(found.xyxy, plan.regions, planner.frame_size)]
                        tock = time.perf_counter()
                        tracked = tracker.update(found)
                        planner.observe(t, tracked)
                        book.add(t, frame, tracked)
                        book.unsure.add(t, frame, found.xyxy, found.conf, found.cls, tracked)
                        timings["detect_s"] = timings.get("detect_s", 0.0) + tock - tick
                        timings["track_s"] = timings.get("track_s", 0.0) + time.perf_counter() - tock
                        timings["frames_whole"] = timings.get("frames_whole", 0.0) + float(plan.whole)
                        timings["crops"] = timings.get("crops", 0.0) + (0 if plan.whole else len(plan.regions))
                        frames_detected += 1
                        last_detected_t = t
                        if progress is not None and frames_detected % PROGRESS_EVERY == 0:
                            progress(min(1.0, (done + max(0.0, min(t, span.end_s) - span.start_s)) / total))
                finally:
                    prefetch.close()
                moving_now = last_detected_t is not None and mover_in_view(book, last_detected_t, STAND_FOLLOW_S)
                covered_until = max(covered_until, stretch.end_s, last_t)
                if not (follow and moving_now and covered_until < duration_s and followed < MAX_FOLLOW_S):
                    break
                stretch = Span(covered_until + max(every_s, 1e-3) / 2, min(duration_s, covered_until + FOLLOW_S))
                followed += FOLLOW_S
            done += span.length_s
            if progress is not None:
                progress(min(1.0, done / total))
    return frames_detected


def mover_in_view(book: TrackBook, t: float, window_s: float = STAND_FOLLOW_S, fraction: float = 0.25) -> bool:
    """Whether a track still in view at ``t`` moved more than ``fraction`` of its size within ``window_s``.

    "In view": seen at ``t`` or within the tracker's memory before it (one missed detection does not end
    the following). A parked car never moved, so it does not keep detection going; a car that drove in and
    stopped does, for ``window_s`` after its last move, and so does one still driving, however slowly.
    """
    for track in book.tracks.values():
        last = track.observations[-1]
        if not t - TRACK_MEMORY_S <= last.t <= t + 1e-6:
            continue
        size = ((last.box[2] - last.box[0]) * (last.box[3] - last.box[1])) ** 0.5
        cx, cy = (last.box[0] + last.box[2]) / 2, (last.box[1] + last.box[3]) / 2
        for obs in reversed(track.observations):
            if obs.t < last.t - window_s:
                break
            if math.dist((cx, cy), ((obs.box[0] + obs.box[2]) / 2, (obs.box[1] + obs.box[3]) / 2)) > fraction * size:
                return True
    return False


def _stream_fps(path: Path) -> float:
    from detection.decode import read_packets

    trace = read_packets(path)
    return max(1.0, (len(trace.times) - 1) / max(trace.times[-1], 1e-3)) if len(trace.times) > 1 else 25.0
