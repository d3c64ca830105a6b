"""The cheap pass: find the active spans of a segment without decoding its quiet hours.

Two signals are read for almost nothing and joined:
- packet sizes (demux only): an encoder spends more bits on a P-frame when something moves, so frames
  well above the rolling median of their neighbours' sizes mark candidate stretches at full time resolution;
- keyframes (decoded alone, ``skip_frame=NONKEY``): two consecutive keyframes that differ inside the zones
  mark the stretch between them, which catches what a constant-bit-rate encoder hides from packet sizes.
Candidates are then decoded (small grey pictures) and kept only where motion is measured inside the
camera's zones (or the whole frame). Files without inter frames (rawvideo, MJPEG) have no packet signal:
they are decoded at the motion rate throughout.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from detection.decode import FrameReader, PacketTrace, Span, grey_small, open_video, rotate, time_base_s
from detection.motion import MotionDetector, MotionSettings
from detection.zones import Polygon
from footage import spans as spans_rule


@dataclass(frozen=True)
class ActivitySettings:
    """Knobs of the cheap pass; defaults measured on the shared clips and bench footage (bench/RESULTS.md)."""

    baseline_window_s: float = 30.0
    """Length of the rolling window whose median P-frame size is the quiet baseline."""
    spike_mads: float = 4.0
    """A frame is a candidate when its size exceeds the baseline by this many median absolute deviations..."""
    spike_min_ratio: float = 0.5
    """...and by at least this fraction of the baseline."""
    spike_run: int = 5
    """Sizes are median-filtered over this many P-frames first, so only a run of large frames counts."""
    candidate_pad_s: float = 1.5
    """Seconds added on both sides of a packet candidate before motion is measured."""
    motion_fps: float = 6.0
    """Grey pictures a second measured for motion inside candidates."""
    motion_gap_s: float = 2.0
    """Moving moments closer than this are one active span."""
    active_pre_s: float = 1.0
    """Seconds of detection before the first moving moment of a span."""
    active_post_s: float = 1.5
    """Seconds of detection after the last moving moment of a span."""
    motion: MotionSettings = field(default_factory=MotionSettings)
    """How motion is measured."""


@dataclass
class Activity:
    """What the cheap pass found, with the work it did."""

    spans: list[Span]
    """Active spans: where the detector must run."""
    candidates: list[Span]
    """Stretches the packet and keyframe signals pointed at (decoded to measure motion)."""
    packet_signal: bool
    """Whether packet sizes were usable (the file has inter frames)."""
    keyframes_decoded: int = 0
    """Keyframes decoded for the keyframe signal."""
    frames_measured: int = 0
    """Grey pictures measured for motion."""


def merge_spans(spans: list[Span], gap_s: float = 0.0) -> list[Span]:
    """Sort spans and join those that overlap or lie within ``gap_s`` of each other (see footage.spans)."""
    pairs = spans_rule.merge_spans(((span.start_s, span.end_s) for span in spans), gap_s)
    return [Span(start, end) for start, end in pairs]


def pad_spans(spans: list[Span], before_s: float, after_s: float, duration_s: float) -> list[Span]:
    """Widen each span, clipped to the segment, and merge what then overlaps."""
    return merge_spans(
        [Span(max(0.0, s.start_s - before_s), min(duration_s, s.end_s + after_s)) for s in spans]
    )


def _rolling_median(values: np.ndarray, window: int) -> np.ndarray:
    """Median of each value's centred window, computed on blocks so an hour of frames costs milliseconds."""
    if len(values) == 0:
        return values.astype(np.float64)
    block = max(1, window // 8)
    n_blocks = -(-len(values) // block)
    padded = np.concatenate([values, np.full(n_blocks * block - len(values), np.nan)])
    block_medians = np.nanmedian(padded.reshape(n_blocks, block), axis=1)
    half = max(1, window // block // 2)
    smoothed = np.array(
        [np.median(block_medians[max(0, i - half) : i + half + 1]) for i in range(n_blocks)], dtype=np.float64
    )
    return np.repeat(smoothed, block)[: len(values)]


def _gop_normalised(trace: PacketTrace, longest: int = 64) -> np.ndarray:
    """Packet sizes divided by the file's median size at the same distance from the last keyframe.

    An encoder spends more bits on the P-frames just after a keyframe (sensor noise against a fresh
    reference), and less as the GOP goes on: on noisy footage with a 2 s GOP that saw-tooth alone lifted a
    fifth of the quiet frames above a plain rolling median. Dividing it out leaves what motion adds.
    """
    sizes = trace.sizes.astype(np.float64)
    since = np.zeros(len(sizes), dtype=np.int64)
    count = 0
    for i, key in enumerate(trace.keyframe):
        count = 0 if key else min(count + 1, longest)
        since[i] = count
    profile = np.ones(longest + 1)
    inter = ~trace.keyframe
    overall = float(np.median(sizes[inter])) if inter.any() else 1.0
    for position in range(1, longest + 1):
        chosen = sizes[(since == position) & inter]
        profile[position] = float(np.median(chosen)) if len(chosen) >= 5 else overall
    profile[0] = overall
    return sizes / np.maximum(profile[since], 1.0) * overall


def packet_candidates(trace: PacketTrace, settings: ActivitySettings) -> list[Span] | None:
    """Stretches whose P-frames are unusually large; None when the file has too few inter frames to tell."""
    inter = ~trace.keyframe
    if inter.sum() < 10 or inter.mean() < 0.5:
        return None
    times = trace.times[inter]
    sizes = _gop_normalised(trace)[inter]
    fps = max(1.0, len(times) / max(trace.duration_s, 1e-3))
    window = max(9, int(settings.baseline_window_s * fps))
    baseline = _rolling_median(sizes, window)
    deviation = _rolling_median(np.abs(sizes - baseline), window)
    threshold = baseline + np.maximum(settings.spike_mads * deviation, settings.spike_min_ratio * baseline)
    # Motion makes a run of large frames; a lone large frame is the encoder's (e.g. after a keyframe).
    run = settings.spike_run
    if len(sizes) >= run:
        windows = np.lib.stride_tricks.sliding_window_view(np.pad(sizes, run // 2, mode="edge"), run)
        sizes = np.median(windows, axis=1)[: len(times)]
    hot = times[sizes > threshold]
    spans = [Span(float(t), float(t)) for t in hot]
    return pad_spans(merge_spans(spans, gap_s=1.0), settings.candidate_pad_s, settings.candidate_pad_s,
                     trace.duration_s)


def _keyframe_pictures(path: Path, trace: PacketTrace, rotation: int, width: int, start_s: float,
                       end_s: float) -> list[tuple[float, np.ndarray]]:
    """Small grey pictures of the keyframes shown in [start_s, end_s).

    Only those keyframes' packets reach the decoder: every other packet is demuxed (cheap) and dropped, so no
    seek is needed (some MP4s refuse it) and each keyframe decodes exactly as it would in one pass.
    """
    out: list[tuple[float, np.ndarray]] = []
    with open_video(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        time_base = time_base_s(stream)

        def frames() -> Iterator[av.VideoFrame]:
            for packet in container.demux(stream):
                if packet.pts is None or not packet.is_keyframe:
                    continue
                t = packet.pts * time_base - trace.origin_s
                if t >= end_s - 1e-6:
                    break
                if t >= start_s - 1e-6:
                    yield from packet.decode()
            yield from stream.codec_context.decode(None)

        try:
            for frame in frames():
                if frame.pts is not None:
                    out.append((frame.pts * time_base - trace.origin_s, rotate(grey_small(frame, width), rotation)))
        except av.FFmpegError:
            pass  # a damaged tail: the packet signal and the later decode still cover it
    return out


def keyframe_candidates(
    path: Path, trace: PacketTrace, zones: dict[str, Polygon], rotation: int, settings: ActivitySettings
) -> tuple[list[Span], int]:
    """Stretches between consecutive keyframes that differ inside the zones; also the keyframes decoded.

    On noisy footage keyframes carry most of the file's bits (two thirds on the bench's quiet hour), so decoding
    them is most of the cheap pass: the file's two halves are decoded on two threads (two decoders; PyAV
    releases the GIL while decoding), then compared in order, so the spans are those of one sequential pass.
    """
    keyframe_times = trace.times[trace.keyframe]
    split = float(keyframe_times[len(keyframe_times) // 2]) if len(keyframe_times) >= 8 else math.inf
    width = settings.motion.width
    with ThreadPoolExecutor(1, thread_name_prefix="gatewatch-keyframes") as pool:
        second = pool.submit(_keyframe_pictures, path, trace, rotation, width, split, math.inf)
        pictures = _keyframe_pictures(path, trace, rotation, width, 0.0, split) + second.result()
    detector = MotionDetector(zones, MotionSettings(**{**settings.motion.__dict__, "lag": 1}))
    spans: list[Span] = []
    previous_t: float | None = None
    for t, grey in pictures:
        if detector.moving(grey) and previous_t is not None:
            spans.append(Span(previous_t, t))
        previous_t = t
    return pad_spans(spans, settings.candidate_pad_s, settings.candidate_pad_s, trace.duration_s), len(pictures)


SPLIT_GAP_S = 10.0
"""Candidates are measured in two groups on two threads only across a gap at least this long between them."""


def _motion_in(
    path: Path,
    todo: list[Span],
    trace: PacketTrace,
    zones: dict[str, Polygon],
    rotation: int,
    settings: ActivitySettings,
    bounds: tuple[float, float],
) -> tuple[list[Span], int, bool]:
    """Moving moments in the candidates ``todo`` (one reader), pictures measured, and whether following motion
    reached outside ``bounds`` (then a split measure would differ from one pass: the caller redoes it)."""
    detector = MotionDetector(zones, settings.motion)
    step = 1.0 / settings.motion_fps
    follow = max(2.0, settings.motion_gap_s)
    moments: list[Span] = []
    measured = 0
    done: list[Span] = []
    crossed = False
    todo = merge_spans(todo)
    # One decoder for every candidate: a file is opened once, not once per span.
    with FrameReader(path, rotation=rotation, grey_width=settings.motion.width, origin_s=trace.origin_s) as reader:
        while todo:
            span = todo.pop(0)
            detector.reset()
            moving_times: list[float] = []
            for t, grey in reader.read(span, step):
                measured += 1
                if detector.moving(grey):
                    moving_times.append(t)
                    # The change is measured against a picture `lag` samples back: the motion began there.
                    moments.append(Span(max(span.start_s, t - detector.settings.lag * step), t))
            done = merge_spans([*done, span])
            extra: list[Span] = []
            runs_on = moving_times and moving_times[-1] >= span.end_s - settings.motion_gap_s
            if runs_on and span.end_s < trace.duration_s:
                extra.append(Span(span.end_s, min(trace.duration_s, span.end_s + follow)))
            lead = span.start_s + (detector.settings.lag + 1) * step + settings.motion_gap_s
            if moving_times and moving_times[0] <= lead and span.start_s > 0:
                extra.append(Span(max(0.0, span.start_s - follow), span.start_s))
            for new in extra:
                if not any(d.start_s <= new.start_s and new.end_s <= d.end_s for d in done):
                    crossed |= not bounds[0] <= new.start_s <= new.end_s <= bounds[1]
                    todo = merge_spans([*todo, new])
    return moments, measured, crossed


def _split_at(todo: list[Span]) -> int | None:
    """Where to cut the sorted candidates in two groups of about equal length, at a gap of SPLIT_GAP_S or more."""
    total = sum(span.length_s for span in todo)
    best: tuple[float, int] | None = None
    before = 0.0
    for i in range(1, len(todo)):
        before += todo[i - 1].length_s
        if todo[i].start_s - todo[i - 1].end_s >= SPLIT_GAP_S:
            score = abs(before - total / 2)
            best = (score, i) if best is None or score < best[0] else best
    return None if best is None else best[1]


def measure_motion(
    path: Path,
    candidates: list[Span],
    trace: PacketTrace,
    zones: dict[str, Polygon],
    rotation: int,
    settings: ActivitySettings,
) -> tuple[list[Span], int]:
    """Decode the candidates as small grey pictures and keep the padded stretches with motion in them.

    Motion that runs into a candidate's edge is followed: the next (or previous) stretch is decoded too,
    so a signal that caught only part of a pass still yields the whole of it. The candidates before and after
    a long quiet gap are measured on two threads (two readers); if following motion crosses the gap, the
    whole is measured again in one pass, so the result is always that of one pass.
    """
    todo = merge_spans(candidates)
    split = _split_at(todo)
    everywhere = (-math.inf, math.inf)
    if split is None:
        moments, measured, _ = _motion_in(path, todo, trace, zones, rotation, settings, everywhere)
    else:
        middle = (todo[split - 1].end_s + todo[split].start_s) / 2
        with ThreadPoolExecutor(1, thread_name_prefix="gatewatch-motion") as pool:
            later = pool.submit(_motion_in, path, todo[split:], trace, zones, rotation, settings,
                                (middle, math.inf))
            moments, measured, crossed = _motion_in(path, todo[:split], trace, zones, rotation, settings,
                                                    (-math.inf, middle))
            more, measured_more, crossed_more = later.result()
        if crossed or crossed_more:
            moments, measured, _ = _motion_in(path, todo, trace, zones, rotation, settings, everywhere)
        else:
            moments, measured = moments + more, measured + measured_more
    active = merge_spans(moments, gap_s=settings.motion_gap_s)
    return pad_spans(active, settings.active_pre_s, settings.active_post_s, trace.duration_s), measured


def find_activity(
    path: Path,
    trace: PacketTrace,
    zones: dict[str, Polygon],
    rotation: int = 0,
    settings: ActivitySettings | None = None,
) -> Activity:
    """Run the cheap pass over one segment."""
    settings = settings or ActivitySettings()
    from_packets = packet_candidates(trace, settings)
    if from_packets is None or trace.duration_s < 2 * settings.baseline_window_s:
        # No inter frames, or too short a file to learn what a quiet frame costs: measure motion throughout.
        candidates = [Span(0.0, trace.duration_s)]
        keyframes = 0
    else:
        from_keyframes, keyframes = keyframe_candidates(path, trace, zones, rotation, settings)
        candidates = merge_spans(from_packets + from_keyframes)
    spans, measured = measure_motion(path, candidates, trace, zones, rotation, settings)
    return Activity(
        spans=spans,
        candidates=candidates,
        packet_signal=from_packets is not None,
        keyframes_decoded=keyframes,
        frames_measured=measured,
    )
