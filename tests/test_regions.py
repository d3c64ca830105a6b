"""Regions: crops planned around motion and zones, and boxes found in them mapped back to frame pixels exactly."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from detection.detector import Detections, merge_crops, to_frame_coordinates
from detection.regions import REGION_SIZES, Region, plan_regions, whole_frame, zone_boxes
from detection.runtime import Letterboxed, decode, input_shape
from tests.support_index import shared_detector

SIZE = (1280, 720)
MOTOR_IDS = {2, 3, 5, 7}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def test_a_small_motion_box_gets_one_native_square_inside_the_frame() -> None:
    (region,) = plan_regions(SIZE, [(1200.0, 650.0, 1260.0, 710.0)])
    assert region.width == region.height == REGION_SIZES[0]
    assert region.contains((1200.0, 650.0, 1260.0, 710.0))
    assert region.x2 <= SIZE[0] and region.y2 <= SIZE[1] and region.x1 >= 0 and region.y1 >= 0


def test_nearby_boxes_share_a_crop_and_far_ones_get_their_own() -> None:
    near = plan_regions(SIZE, [(100.0, 100.0, 160.0, 150.0), (200.0, 120.0, 260.0, 170.0)])
    assert len(near) == 1 and near[0].width == 320
    far = plan_regions(SIZE, [(20.0, 20.0, 80.0, 70.0), (1200.0, 640.0, 1260.0, 700.0)])
    assert len(far) == 2
    for box in [(20.0, 20.0, 80.0, 70.0), (1200.0, 640.0, 1260.0, 700.0)]:
        assert any(r.contains(box) for r in far)


def test_motion_over_most_of_the_frame_falls_back_to_the_whole_frame() -> None:
    assert plan_regions(SIZE, [(100.0, 100.0, 1100.0, 600.0)]) == [whole_frame(SIZE)]
    corners = [(10.0, 10.0, 60.0, 60.0), (1220.0, 10.0, 1270.0, 60.0), (10.0, 660.0, 60.0, 710.0),
               (1220.0, 660.0, 1270.0, 710.0), (620.0, 340.0, 660.0, 380.0)]
    assert plan_regions(SIZE, corners) == [whole_frame(SIZE)]  # five crops: more than the whole frame is worth
    # One car filling a 640 square near the camera: the whole frame at 640x384 is cheaper and sees it well.
    assert plan_regions(SIZE, [(300.0, 200.0, 700.0, 560.0)]) == [whole_frame(SIZE)]
    assert plan_regions(SIZE, []) == []


def test_zone_polygons_become_pixel_boxes() -> None:
    zones = {"barrier": [(0.25, 0.5), (0.5, 0.5), (0.5, 0.75), (0.25, 0.75)], "line": [(0.1, 0.1), (0.2, 0.2)]}
    assert zone_boxes(zones, SIZE) == [(320.0, 360.0, 640.0, 540.0)]


def test_crop_boxes_shift_into_frame_pixels_exactly_and_edge_boxes_are_flagged() -> None:
    region = Region(400, 200, 720, 520)
    crop_boxes = np.array([[10.5, 20.25, 100.0, 90.0], [0.0, 50.0, 40.0, 80.0], [250.0, 250.0, 320.0, 319.0]],
                          dtype=np.float32)
    dets = Detections(crop_boxes, np.array([0.9, 0.8, 0.7], np.float32), np.array([2, 2, 0], np.float32))
    framed, cut = to_frame_coordinates(dets, region, *SIZE)
    np.testing.assert_array_equal(framed.xyxy, crop_boxes + np.array([400, 200, 400, 200], np.float32))
    assert cut.tolist() == [False, True, True]
    # A crop touching the frame's own edge: a box on that edge is not cut (nothing lies beyond it).
    framed, cut = to_frame_coordinates(dets, Region(0, 0, 320, 320), *SIZE)
    assert cut.tolist() == [False, False, True]


def test_letterbox_undo_maps_network_boxes_back_to_image_pixels() -> None:
    # A 1280x720 frame at 640: scale 0.5, 640x360 padded to 640x384 (12 px top). A box at network (100, 112, 200,
    # 162) is frame (200, 200, 400, 300).
    assert input_shape(1280, 720, 640) == (384, 640)
    assert input_shape(320, 320, 640) == (320, 320)
    raw = np.zeros((84, 3), np.float32)
    raw[:4, 0] = [150, 137, 100, 50]  # cx, cy, w, h
    raw[4 + 2, 0] = 0.9  # a car
    raw[4 + 4, 1] = 0.9  # an airplane: not a class gatewatch keeps
    xyxy, conf, cls = decode(raw, Letterboxed(np.zeros(0), 0.5, 0.0, 12.0), np.array([0, 1, 2, 3, 5, 7]), 0.1)
    np.testing.assert_allclose(xyxy, [[200.0, 200.0, 400.0, 300.0]])
    assert cls.tolist() == [2.0] and conf.tolist() == pytest.approx([0.9])


def test_a_cut_box_is_dropped_when_another_crop_sees_the_object_whole() -> None:
    whole = (Detections(np.array([[300, 100, 380, 160]], np.float32), np.array([0.8], np.float32),
                        np.array([2], np.float32)), np.array([False]))
    cut = (Detections(np.array([[330, 100, 380, 160], [600, 100, 640, 150]], np.float32),
                      np.array([0.9, 0.5], np.float32), np.array([2, 2], np.float32)), np.array([True, True]))
    merged = merge_crops([whole, cut])
    # The half car is gone; the other cut box has no whole twin and stays.
    assert sorted(merged.xyxy[:, 0].tolist()) == [300.0, 600.0]


@pytest.fixture(scope="module")
def motorway_frame(footage_dir: Path) -> np.ndarray:
    with av.open(str(footage_dir / "motorway_traffic_camera.mp4")) as container:
        return next(f for f in container.decode(video=0) if f.time >= 3.0).to_ndarray(format="bgr24")


def test_a_car_found_in_a_crop_is_the_car_found_in_the_whole_frame(motorway_frame: np.ndarray) -> None:
    detector = shared_detector()
    (whole,) = detector.detect([motorway_frame])
    cars = whole[(whole.cls == 2) & (whole.conf >= 0.5)]
    assert len(cars) >= 3
    matched = 0
    for box in cars.xyxy:
        regions = plan_regions(SIZE, [tuple(float(v) for v in box)])
        assert regions and not regions[0].is_whole(SIZE)
        (found,) = detector.detect_regions([motorway_frame], [regions])
        # Any motor vehicle: a car half out of the frame, seen at twice the size, can come back as a truck.
        same = [iou(box, other) for other, c in zip(found.xyxy, found.cls, strict=True) if int(c) in MOTOR_IDS]
        assert same and max(same) >= 0.85, f"car {box} not found in its crop {regions}: {same}"
        matched += 1
    assert matched == len(cars)


def test_a_whole_frame_region_gives_what_detect_gives(motorway_frame: np.ndarray) -> None:
    detector = shared_detector()
    (plain,) = detector.detect([motorway_frame])
    (regioned, empty) = detector.detect_regions([motorway_frame, motorway_frame], [[whole_frame(SIZE)], []])
    np.testing.assert_array_equal(plain.xyxy, regioned.xyxy)
    np.testing.assert_array_equal(plain.cls, regioned.cls)
    assert len(empty) == 0
