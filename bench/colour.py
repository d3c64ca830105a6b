"""Colour accuracy on hand-labelled vehicle crops from the shared clips.

Two steps:
- ``bench/colour.py sheet``: run the detector on a few frames of each shared clip, keep the vehicle boxes big
  enough to judge, write a numbered contact sheet (bench/out/colour_sheet.png) and a draft TSV of the boxes
  (bench/out/colour_draft.tsv) whose ``colour`` column a person fills in by looking at the sheet;
- ``bench/colour.py measure``: read bench/colour_labels.tsv (the labelled boxes, committed), cut each crop
  from the footage again and print one JSON object: accuracy of ``detection.colour.dominant_colour``, the
  confusions, and the misses.
Silver cars may be labelled ``grey|white`` (either word is right): CCTV cannot tell them apart.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections import Counter
from pathlib import Path

import av
import cv2
import numpy as np

os.environ.setdefault("YOLO_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from detection.colour import dominant_colour, scene_blue_saturation  # noqa: E402

FRAMES = {
    "street_sparse_traffic.mp4": [6.5, 13.0, 28.0, 47.0, 54.0, 64.0],
    "motorway_traffic_camera.mp4": [3.0, 9.0, 16.0, 21.0],
    "street_topdown_traffic.mp4": [2.0, 10.0, 17.0],
    "parking_aisle_car_detection.mp4": [6.0, 16.8, 26.0],
    "traffic_1080p_short.mp4": [0.3],
}
SAMPLES = {"north-gate": REPO / "samples" / "footage" / "north-gate" / "ch01_20241107053000.mp4"}
LABELS = REPO / "bench" / "colour_labels.tsv"
MIN_SIDE = 40
"""Boxes narrower or lower than this (pixels) are too small to judge a colour by eye."""


def frame_at(path: Path, t: float) -> np.ndarray:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= t:
                return frame.to_ndarray(format="bgr24")
    raise ValueError(f"{path.name} has no frame at {t} s")


def clip_path(footage: Path, clip: str) -> Path:
    return SAMPLES.get(clip, footage / clip)


def sheet(footage: Path, out: Path) -> None:
    from detection.detector import COCO_LABELS, VEHICLE_LABELS, Detector

    detector = Detector.load()
    rows, tiles = [], []
    frames = {**FRAMES, "north-gate": [2.0, 6.0, 10.0, 14.0, 18.0]}
    for clip, times in frames.items():
        for t in times:
            image = frame_at(clip_path(footage, clip), t)
            dets = detector.detect([image])[0]
            for box, score, cls in zip(dets.xyxy, dets.conf, dets.cls, strict=True):
                label = COCO_LABELS.get(int(cls))
                x1, y1, x2, y2 = (round(float(v)) for v in box)
                if label not in VEHICLE_LABELS or score < 0.5 or min(x2 - x1, y2 - y1) < MIN_SIDE:
                    continue
                crop = image[y1:y2, x1:x2]
                rows.append([clip, t, x1, y1, x2, y2, dominant_colour(crop), ""])
                tile = cv2.resize(crop, (160, 120))
                cv2.putText(tile, str(len(rows) - 1), (3, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 255), 2)
                tiles.append(tile)
    while len(tiles) % 8:
        tiles.append(np.zeros((120, 160, 3), np.uint8))
    grid = np.vstack([np.hstack(tiles[i : i + 8]) for i in range(0, len(tiles), 8)])
    out.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out / "colour_sheet.png"), grid)
    with open(out / "colour_draft.tsv", "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["clip", "t", "x1", "y1", "x2", "y2", "predicted", "colour"])
        writer.writerows(rows)
    print(json.dumps({"crops": len(rows), "sheet": str(out / "colour_sheet.png")}))


def measure(footage: Path) -> dict:
    with open(LABELS, newline="") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["colour"]]
    cache: dict[tuple[str, float], np.ndarray] = {}
    right, confusions, misses = 0, Counter(), []
    for row in rows:
        key = (row["clip"], float(row["t"]))
        if key not in cache:
            cache[key] = frame_at(clip_path(footage, row["clip"]), key[1])
        x1, y1, x2, y2 = (int(row[k]) for k in ("x1", "y1", "x2", "y2"))
        said = dominant_colour(cache[key][y1:y2, x1:x2], scene_blue_saturation(cache[key]))
        allowed = set(row["colour"].split("|"))
        if said in allowed:
            right += 1
        else:
            confusions[f"{row['colour']} -> {said}"] += 1
            misses.append([row["clip"], row["t"], x1, y1, x2, y2, row["colour"], said])
    return {"crops": len(rows), "correct": right, "accuracy": round(right / max(len(rows), 1), 3),
            "confusions": dict(confusions.most_common()), "misses": misses}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["sheet", "measure"])
    parser.add_argument("--footage", type=Path, default=REPO.parent / "shared" / "footage")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args(argv)
    if args.step == "sheet":
        sheet(args.footage, args.out)
    else:
        print(json.dumps(measure(args.footage)))


if __name__ == "__main__":
    main()
