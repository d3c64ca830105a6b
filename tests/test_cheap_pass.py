"""The cheap pass: packet sizes, keyframes and motion find the active spans; quiet stretches are skipped."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest

from detection.activity import (
    Activity,
    ActivitySettings,
    _keyframe_pictures,
    find_activity,
    keyframe_candidates,
    merge_spans,
    pad_spans,
)
from detection.decode import DecodeError, Span, grey_small, iter_frames, read_packets
from detection.motion import MotionDetector
from detection.pipeline import dense_reference, index_segment
from detection.records import CameraSpec
from tests.support_index import ROI_SPANS, cut, motorway_zone, moving_vehicles, shared_detector

PARKING_PASSES = [(4.6, 8.3), (14.8, 19.1), (25.3, 27.7)]
"""Seconds a car is in view in parking_aisle_car_detection.mp4, read off a contact sheet of every 6th frame
(frame.time printed on each) and checked frame by frame at the edges; the second pass is two cars."""
STREET_PASSES = [(5.0, 9.5), (11.5, 15.5), (26.0, 30.5), (45.0, 48.5), (50.5, 57.5), (61.0, 67.0)]
"""Cars (and a bus) driving through street_sparse_traffic.mp4, read off a contact sheet of every 10th frame."""


def _activity(path: Path, zones: dict | None = None) -> Activity:
    return find_activity(path, read_packets(path), zones or {})


def _covered(spans: list[Span], start: float, end: float, slack: float = 0.3) -> bool:
    return any(s.start_s <= start + slack and s.end_s >= end - slack for s in spans)


def test_parking_aisle_passes_are_active_and_quiet_is_skipped(footage_dir: Path) -> None:
    path = footage_dir / "parking_aisle_car_detection.mp4"
    activity = _activity(path)
    for start, end in PARKING_PASSES:
        assert _covered(activity.spans, start, end), (start, end, activity.spans)
    assert sum(s.length_s for s in activity.spans) < 0.8 * read_packets(path).duration_s


def test_brightness_flicker_is_not_activity(footage_dir: Path) -> None:
    assert _activity(footage_dir / "street_brightness_flicker_no_vehicle.avi").spans == []


def test_motorway_region_spans_match_the_published_ones(footage_dir: Path) -> None:
    activity = _activity(footage_dir / "motorway_traffic_camera.mp4", motorway_zone())
    for start, end in ROI_SPANS:
        assert _covered(activity.spans, start, end, slack=0.5), (start, end, activity.spans)
    # The region is quiet between 5.9 s and 14.4 s: most of that gap is skipped.
    busy_in_gap = sum(max(0.0, min(s.end_s, 13.0) - max(s.start_s, 7.5)) for s in activity.spans)
    assert busy_in_gap < 0.5 * (13.0 - 7.5), activity.spans


def test_street_passes_are_found_from_packets_and_keyframes(footage_dir: Path) -> None:
    """75 s is long enough to learn a quiet frame's size: the packet and keyframe signals choose what to decode."""
    path = footage_dir / "street_sparse_traffic.mp4"
    activity = _activity(path)
    assert activity.packet_signal
    assert sum(s.length_s for s in activity.candidates) < 0.9 * read_packets(path).duration_s
    for start, end in STREET_PASSES:
        assert _covered(activity.spans, start, end), (start, end, activity.spans)


def test_motion_ignores_exposure_and_sees_a_small_moving_object() -> None:
    rng = np.random.default_rng(0)
    background = rng.integers(90, 110, size=(90, 160), dtype=np.uint8)
    detector = MotionDetector()
    scores = [detector.score(background), detector.score(background)]
    brighter = np.clip(background.astype(np.float32) * 1.3, 0, 255).astype(np.uint8)
    scores.append(detector.score(brighter))
    assert max(scores) < detector.settings.min_fraction
    moved = brighter.copy()
    moved[40:50, 70:80] = 250
    assert detector.moving(moved)
    # The same change outside the camera's zones is not motion.
    zoned = MotionDetector({"gate": [(0.0, 0.0), (0.3, 0.0), (0.3, 0.3), (0.0, 0.3)]})
    for picture in (background, background, brighter):
        zoned.score(picture)
    assert not zoned.moving(moved)


def test_span_arithmetic() -> None:
    spans = [Span(5, 6), Span(0, 1), Span(1.5, 2)]
    assert merge_spans(spans) == [Span(0, 1), Span(1.5, 2), Span(5, 6)]
    assert merge_spans(spans, gap_s=0.5) == [Span(0, 2), Span(5, 6)]
    assert pad_spans(spans, 1, 1, 6.5) == [Span(0, 3), Span(4, 6.5)]


def test_frames_carry_their_own_time_on_variable_frame_rate(footage_dir: Path) -> None:
    path = footage_dir / "motorway_traffic_camera_vfr.mp4"
    times = [t for _, t, _ in iter_frames(path, [Span(10, 14)], grey_width=64)]
    steps = np.round(np.diff(times), 3)
    assert set(steps) == {0.04, 0.08}  # 25 fps, then 12.5 fps from 11.52 s: frame index / fps would be wrong
    assert times[0] == pytest.approx(10.0, abs=0.05) and times[-1] == pytest.approx(14.0, abs=0.1)


def test_rotation_and_unseekable_files_and_tiny_rawvideo(footage_dir: Path) -> None:
    street = footage_dir / "street_sparse_traffic.mp4"  # its MP4 index refuses seeking: read forward instead
    got = list(iter_frames(street, [Span(40.0, 40.5), Span(60.0, 60.3)], rotation=90))
    assert got and all(40.0 <= t <= 40.5 or 60.0 <= t <= 60.3 for _, t, _ in got)
    assert got[0][2].shape == (640, 360, 3)  # turned a quarter clockwise
    tiny = list(iter_frames(footage_dir / "tiny_48x48_rawvideo.avi", [Span(0, 10)], grey_width=32))
    assert len(tiny) == 51 and tiny[0][2].shape == (32, 32)


def test_not_a_video_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video")
    with pytest.raises(DecodeError, match="cannot be opened"):
        read_packets(fake)


@pytest.mark.slow
def test_cheap_pass_skips_work_not_events(footage_dir: Path, tmp_path: Path) -> None:
    """On 16 s of the street (quiet, a red car crossing, quiet), the index runs the detector on a fraction of
    the frames and still finds every moving vehicle the dense reference (every frame) tracks for >= 1 s."""
    detector = shared_detector()
    clip = cut(footage_dir / "street_sparse_traffic.mp4", 17.0, 16.0, tmp_path / "street_17_33.mp4")
    found = index_segment(clip, CameraSpec(), detector=detector)
    reference = dense_reference(clip, CameraSpec(), detector=detector)
    assert found.stats["frames_detected"] < 0.5 * reference.stats["frames_detected"]
    targets = [e for e in moving_vehicles(reference) if e.end_s - e.start_s >= 1.0]
    assert targets
    for target in targets:
        matches = [e for e in moving_vehicles(found) if e.start_s <= target.end_s and e.end_s >= target.start_s]
        assert matches, (target.start_s, target.end_s)
        # 1.5 s, not the bench's 1 s median: the red car crosses fast from the frame's edge, and YOLO11n misses
        # it in 3 of the 5 frames it sees in its first second at 5 frames a second (measured), which every
        # frame of the reference does not.
        assert min(abs(e.start_s - target.start_s) for e in matches) <= 1.5
        assert min(abs(e.end_s - target.end_s) for e in matches) <= 1.5


def test_keyframe_signal_decoded_in_two_halves_matches_one_pass(footage_dir: Path) -> None:
    """The keyframe signal's two halves run on two threads; what they decode is exactly one pass's keyframes,
    also in a file whose MP4 index refuses seeking (street_sparse_traffic.mp4: nothing seeks)."""
    settings = ActivitySettings()
    for name in ("people_one_by_one.mp4", "street_sparse_traffic.mp4"):  # 140 and 37 keyframes
        path = footage_dir / name
        trace = read_packets(path)
        whole = _keyframe_pictures(path, trace, 0, settings.motion.width, 0.0, math.inf)
        with av.open(str(path)) as container:  # one plain pass: the decoder skips what is not a keyframe
            stream = container.streams.video[0]
            stream.codec_context.skip_frame = "NONKEY"
            plain = [grey_small(frame, settings.motion.width) for frame in container.decode(stream)]
        assert len(whole) == len(plain) >= 8
        assert all(np.array_equal(a, b) for (_, a), b in zip(whole, plain, strict=True))
        split = float(trace.times[trace.keyframe][len(whole) // 2])
        halves = (_keyframe_pictures(path, trace, 0, settings.motion.width, 0.0, split)
                  + _keyframe_pictures(path, trace, 0, settings.motion.width, split, math.inf))
        assert [t for t, _ in halves] == [t for t, _ in whole]
        assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(halves, whole, strict=True))
        spans, decoded = keyframe_candidates(path, trace, {}, 0, settings)
        assert decoded == len(whole) and spans  # people and cars move between keyframes
