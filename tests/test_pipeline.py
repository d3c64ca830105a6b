"""The indexing pipeline end to end on real clips with the real detector: a file in, events out."""

from __future__ import annotations

from pathlib import Path

import ffmpeg
import imageio_ffmpeg
import numpy as np
import pytest

from detection.decode import DecodeError
from detection.detect_stage import STAND_FOLLOW_S, mover_in_view
from detection.detector import VEHICLE_LABELS
from detection.pipeline import dense_reference, index_segment
from detection.records import CameraSpec
from detection.tracking import TRACK_MEMORY_S, TrackBook
from tests.support_index import ROI_SPANS, cut, motorway_zone, moving_vehicles, shared_detector


@pytest.mark.slow
def test_motorway_region_events_fall_in_the_published_spans(footage_dir: Path) -> None:
    """Vehicles whose ground point entered the published region do so inside its published spans, and in each
    span a tracked vehicle is in the region."""
    fractions: list[float] = []
    result = index_segment(footage_dir / "motorway_traffic_camera.mp4", CameraSpec(zones=motorway_zone()),
                           detector=shared_detector(), progress=fractions.append)
    entering = [e for e in result.events if "roi" in e.zones and e.label in VEHICLE_LABELS]
    assert entering
    for event in entering:
        assert any(event.start_s <= end + 1.0 and event.end_s >= start - 1.0 for start, end in ROI_SPANS), event
    # DVR-Scan's spans are motion anywhere in the region: in each, a tracked vehicle's box overlaps it (the
    # last span, cars at the clip's end, may show no ground point inside it yet).
    x1, y1, x2, y2 = (v for pair in motorway_zone()["roi"][::2] for v in pair)
    for start, end in ROI_SPANS:
        assert any(start - 0.5 <= t <= end + 0.5 and bx1 < x2 and bx2 > x1 and by1 < y2 and by2 > y1
                   for e in moving_vehicles(result) for t, bx1, by1, bx2, by2 in e.track), (start, end)
    assert any(e.start_s <= ROI_SPANS[0][1] for e in entering) and any(
        ROI_SPANS[1][0] - 0.5 <= e.end_s and e.start_s <= ROI_SPANS[1][1] for e in entering)
    assert len(moving_vehicles(result)) >= 10  # dense traffic: many vehicles outside the region too
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert result.stats["frames_detected"] < result.stats["frames_demuxed"]


def test_brightness_flicker_gives_no_moving_vehicle(footage_dir: Path) -> None:
    result = index_segment(footage_dir / "street_brightness_flicker_no_vehicle.avi", CameraSpec(),
                           detector=shared_detector())
    assert moving_vehicles(result) == []
    assert result.duration_s == pytest.approx(4.92, abs=0.1)


@pytest.mark.slow
def test_parking_aisle_events_only_at_the_car_passes(footage_dir: Path) -> None:
    """Truth: cars in view 4.6-8.3 s, 14.8-19.1 s (two cars), 25.3-27.7 s (contact sheet of every 6th frame,
    edges checked frame by frame). YOLO11n sees these top-down cars mostly as "cell phone" (0.9), which is not
    indexed, so the dense reference itself has only brief car tracks here; what the index must do is put any
    vehicle event it makes at a pass, and at most one per car."""
    passes = [(4.6, 8.3, 1), (14.8, 19.1, 2), (25.3, 27.7, 1)]
    result = index_segment(footage_dir / "parking_aisle_car_detection.mp4", CameraSpec(), detector=shared_detector())
    vehicles = [e for e in result.events if e.label in VEHICLE_LABELS]
    for start, end, cars in passes:
        inside = [e for e in vehicles if e.start_s >= start - 1.0 and e.end_s <= end + 1.0]
        assert len(inside) <= cars
    assert all(any(e.start_s >= s - 1.0 and e.end_s <= t + 1.0 for s, t, _ in passes) for e in vehicles)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the index makes no vehicle event in the parking aisle; the dense reference "
                   "tracks a moving car 17.8-18.9 s (YOLO11n, score 0.46) that the sampled detector rate misses")
def test_parking_aisle_moving_car_of_the_reference_is_found(footage_dir: Path) -> None:
    """The lower bound the upper-bound test above lacks: a moving car the dense reference (every frame) tracks
    for >= 1 s lies in a pass of the ground truth, and the index finds it there. Strict xfail: when the index
    finds it, this XPASSes and fails, so the mark must be removed then."""
    passes = [(4.6, 8.3), (14.8, 19.1), (25.3, 27.7)]
    clip = footage_dir / "parking_aisle_car_detection.mp4"
    reference = moving_vehicles(dense_reference(clip, CameraSpec(), detector=shared_detector()))
    targets = [e for e in reference if e.end_s - e.start_s >= 1.0]
    assert targets and all(any(s - 1.0 <= e.start_s and e.end_s <= t + 1.0 for s, t in passes) for e in targets)
    found = moving_vehicles(index_segment(clip, CameraSpec(), detector=shared_detector()))
    for target in targets:
        assert any(e.start_s <= target.end_s and e.end_s >= target.start_s for e in found), target


@pytest.mark.slow
def test_reindexing_gives_identical_events(footage_dir: Path, tmp_path: Path) -> None:
    clip = cut(footage_dir / "street_sparse_traffic.mp4", 24.0, 9.0, tmp_path / "street_24_33.mp4")
    first = index_segment(clip, CameraSpec(), detector=shared_detector())
    second = index_segment(clip, CameraSpec(), detector=shared_detector())
    assert first.events and first.events == second.events
    assert any(e.label == "car" and not e.stationary and e.colour == "red" for e in first.events)
    assert any(e.stationary for e in first.events)  # the parked cars, once each


def test_tiny_rawvideo_indexes_without_error(footage_dir: Path) -> None:
    result = index_segment(footage_dir / "tiny_48x48_rawvideo.avi", CameraSpec(), detector=shared_detector())
    assert result.duration_s == pytest.approx(3.4, abs=0.1)
    assert result.stats["packet_signal"] == 0.0  # every frame is a keyframe: motion decides throughout


@pytest.mark.slow
def test_variable_frame_rate_clip_indexes_with_times_from_timestamps(footage_dir: Path, tmp_path: Path) -> None:
    """A cut (from the keyframe at 10 s) across the rate change at 11.52 s: events stay inside the clip."""
    clip = cut(footage_dir / "motorway_traffic_camera_vfr.mp4", 10.0, 5.0, tmp_path / "vfr.mp4")
    result = index_segment(clip, CameraSpec(), detector=shared_detector())
    assert result.duration_s == pytest.approx(5.0, abs=0.3)
    assert moving_vehicles(result)
    assert all(0.0 <= e.start_s <= e.end_s <= result.duration_s for e in result.events)


def _overlap(a: list[float], b: list[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.slow
def test_rotation_turns_frames_into_the_viewers_orientation(footage_dir: Path, tmp_path: Path) -> None:
    """A camera mounted on its side: the street (24-33 s, a red car crossing) stored turned a quarter
    anticlockwise, indexed with rotation=90, gives the red car at the boxes the upright clip gives. YOLO11n
    finds no car in the sideways picture at all (measured), so a pipeline ignoring the rotation fails here."""
    upright_clip = cut(footage_dir / "street_sparse_traffic.mp4", 24.0, 9.0, tmp_path / "street_24_33.mp4")
    sideways = tmp_path / "sideways.mp4"
    (
        ffmpeg.input(str(upright_clip)).output(str(sideways), vf="transpose=2", vcodec="libx264", crf=18)
        .global_args("-loglevel", "error").run(cmd=imageio_ffmpeg.get_ffmpeg_exe(), overwrite_output=True)
    )
    upright = index_segment(upright_clip, CameraSpec(), detector=shared_detector())
    turned = index_segment(sideways, CameraSpec(), detector=shared_detector(), rotation=90)
    [red] = [e for e in moving_vehicles(upright) if e.colour == "red"]
    [red_turned] = [e for e in moving_vehicles(turned) if e.colour == "red"]
    assert red_turned.start_s == pytest.approx(red.start_s, abs=1.0)
    boxes = {round(t, 1): box for t, *box in red_turned.track}
    matched = [_overlap(box, boxes[round(t, 1)]) for t, *box in red.track if round(t, 1) in boxes]
    assert len(matched) >= 3 and sorted(matched)[len(matched) // 2] > 0.6, matched


def test_truncated_and_fake_files(footage_dir: Path, tmp_path: Path) -> None:
    source = (footage_dir / "street_brightness_flicker_no_vehicle.avi").read_bytes()
    half = tmp_path / "half.avi"
    half.write_bytes(source[: len(source) // 2])
    result = index_segment(half, CameraSpec(), detector=shared_detector())
    assert result.duration_s < 4.0
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(DecodeError):
        index_segment(empty, CameraSpec(), detector=shared_detector())


def _book(*paths: list[tuple[float, float]]) -> TrackBook:
    """A track book with one track per path: (time, centre x) sightings of a 0.1-wide box."""
    book = TrackBook(keep_crops=False)
    for track_id, path in enumerate(paths, start=1):
        for t, x in path:
            box = np.array([(x - 0.05) * 640, 100.0, (x + 0.05) * 640, 164.0])
            book.add(t, np.zeros((360, 640, 3), np.uint8), [(track_id, box, 0.8, 2)])
    return book


def test_following_goes_on_while_a_car_that_drove_in_stands_and_not_for_parked_cars() -> None:
    """Detection follows a span on while a track still in view moved within STAND_FOLLOW_S: a car that drove to
    the frame's edge and stopped shows the cheap pass no motion (the bench's window B lost two cars so)."""
    drove_then_stood = [(t / 5, max(0.1, 0.9 - 0.1 * t)) for t in range(0, 60)]  # stops at 1.6 s, seen to 11.8 s
    parked = [(t / 5, 0.5) for t in range(0, 60)]
    t_end = 11.8
    assert not mover_in_view(_book(parked), t_end, STAND_FOLLOW_S)
    stood_s = t_end - 1.6
    assert mover_in_view(_book(drove_then_stood), t_end, stood_s + 0.5)
    assert not mover_in_view(_book(drove_then_stood), t_end, stood_s - 0.5)
    # Still driving, however slowly: 0.7 of its size over the window.
    creeping = [(t / 5, 0.2 + 0.0035 * t) for t in range(0, 60)]
    assert mover_in_view(_book(creeping), t_end, STAND_FOLLOW_S)
    # A track last seen longer ago than the tracker remembers has left: nothing to follow.
    gone = [(t / 5, 0.9 - 0.05 * t) for t in range(0, 10)]
    assert not mover_in_view(_book(gone, parked), t_end, STAND_FOLLOW_S)
    assert mover_in_view(_book(gone, parked), 1.8 + TRACK_MEMORY_S - 0.1, STAND_FOLLOW_S)
