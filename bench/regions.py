"""Region crops and the adaptive rate against whole frames, on shared clips, against the dense reference.

Run: ``YOLO_OFFLINE=1 .venv/bin/python bench/regions.py street_sparse_traffic.mp4 motorway_traffic_camera.mp4``
For each clip: the dense reference (every frame, whole), then the index three ways in the same process:
whole frames at the full rate (the old behaviour), regions at the full rate, regions with the adaptive rate, and
that with ``partial`` frames (between the slow frames, crops only where the full rate is needed).
Prints one JSON object: per clip and way, recall/precision/time errors (bench/index.py's ``compare``), detector
frames, how many ran whole, crops, and the stage seconds.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from index import compare  # noqa: E402

from detection.detector import Detector  # noqa: E402
from detection.pipeline import dense_reference, index_segment  # noqa: E402
from detection.records import CameraSpec, SegmentIndex  # noqa: E402
from detection.sampling import SamplingSettings  # noqa: E402

WAYS = {"whole_full_rate": SamplingSettings(regions=False, adaptive=False),
        "regions_full_rate": SamplingSettings(adaptive=False),
        "regions_adaptive": SamplingSettings(),
        "regions_adaptive_partial": SamplingSettings(partial=True)}


def _events(result: SegmentIndex) -> list[dict]:
    return [dict(label=e.label, start_s=e.start_s, end_s=e.end_s, stationary=e.stationary, track=e.track)
            for e in result.events]


def main(argv: list[str]) -> None:
    footage = REPO.parent / "shared" / "footage"
    detector = Detector.load()
    report: dict = {"load_average_start": os.getloadavg()}
    for name in argv or ["street_sparse_traffic.mp4"]:
        reference = dense_reference(footage / name, CameraSpec(), detector=detector)
        row: dict = {"dense_frames": reference.stats["frames_detected"]}
        for way, sampling in WAYS.items():
            result = index_segment(footage / name, CameraSpec(), detector=detector, sampling=sampling)
            stats = result.stats
            row[way] = {**compare(_events(reference), _events(result)),
                        **{k: stats.get(k) for k in ("frames_detected", "frames_whole", "crops", "detect_s",
                                                      "decode_s", "wait_s", "wall_s")}}
        report[name] = row
    report["load_average_end"] = os.getloadavg()
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
