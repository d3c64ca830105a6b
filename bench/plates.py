"""Plate benchmark: the shared plate material through the real pipeline (import, index, plate stage, search).

Run: ``YOLO_OFFLINE=1 .venv/bin/python bench/plates.py [--out bench/out/plates]``
Prints ONE JSON object. Each of the 23 stills in ../shared/plates/ becomes a 3-second clip with slight motion
(bench/plate_clips.py); the two short videos are used as they are. All are imported as segments of one camera
into a fresh data folder, indexed by `gatewatch index`'s own code (local worker pool, one worker), then searched.

Figures, per plate in the material (ground truth from its README):
* exact: some vehicle event of the plate's segment has exactly that plate (its key: case and separators aside);
* char_accuracy: 1 - edit distance / length of the closest read in the segment (0 when nothing was read);
* found: a plate search for its letters and digits (no province character) returns an event of its segment;
* false_events: events returned by searches for plates that are in none of the footage (plate_clips.ABSENT);
* wrong_hits: events of another plate's segment returned by the letters-and-digits searches (a fuzzy match of
  a different plate);
* cost: the plate stage's seconds per vehicle event it tried, and its share of the indexing time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from plate_clips import ABSENT, MATERIAL, PLATES, make_clip  # noqa: E402

VIDEOS = {
    "parkpow_cars.mp4": ["34A-368.37", "34A-231.26", "89C-203.39"],
    "Cambricon_cars_short.mp4": ["京B·Q1959"],
}
"""The material's videos and the plates they show (README)."""
T0 = datetime(2024, 11, 7, 5, 0, 0, tzinfo=UTC)
CAMERA = "plate-bench"


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "plates")
    parser.add_argument("--no-videos", action="store_true", help="Only the 23 stills.")
    args = parser.parse_args(argv)
    clips_dir = args.out / "clips"
    home = args.out / "home"
    shutil.rmtree(home, ignore_errors=True)
    os.environ["GATEWATCH_HOME"] = str(home)
    os.environ.pop("GATEWATCH_DATABASE_URL", None)

    from sqlalchemy import select

    from api.cli.indexing import run_index
    from api.database import migrate
    from detection.models import Event, Job
    from detection.plates.frames import PLATE_LABELS
    from detection.plates.text import normalise, split_province
    from detection.search import make_query, search_events
    from footage.catalogue import add_camera, add_site, import_file
    from footage.db import session_scope
    from footage.models import Segment

    made = time.perf_counter()
    sources: list[tuple[Path, list[str]]] = [
        (make_clip(MATERIAL / name, clips_dir / f"{Path(name).stem}.mp4"), [plate]) for name, plate in PLATES.items()
    ]
    if not args.no_videos:
        sources += [(MATERIAL / name, plates) for name, plates in VIDEOS.items()]
    clips_s = time.perf_counter() - made

    migrate()
    truth: dict[int, list[str]] = {}
    with session_scope() as session:
        add_site(session, "Plate bench")
        add_camera(session, CAMERA, "Plate bench", "Barrier", "UTC")
        for i, (path, plates) in enumerate(sources):
            result = import_file(session, path, CAMERA, T0 + timedelta(minutes=10 * i))
            if result.segment_id is None:
                raise SystemExit(f"{path.name} was not imported: {result.to_dict()}")
            truth[result.segment_id] = [normalise(p) for p in plates]
        session.commit()

    indexed = run_index(camera=CAMERA, since=None, until=None, workers=1, reindex=False, pending=False,
                        engine="local", show_progress=False)

    per_plate = []
    false_events = 0
    wrong_hits = 0
    with session_scope() as session:
        names = {s.id: s.original_name for s in session.scalars(select(Segment))}
        events = list(session.scalars(select(Event).where(Event.label.in_(sorted(PLATE_LABELS)))))
        reads: dict[int, list[str]] = {}
        for event in events:
            if event.plate_norm:
                reads.setdefault(event.segment_id, []).append(event.plate_norm)
        plate_s = vehicle_targets = index_wall = 0.0
        for job in session.scalars(select(Job).where(Job.kind == "index")):
            plate_s += float((job.stats or {}).get("plate_s", 0.0))
            vehicle_targets += float((job.stats or {}).get("plate_targets", 0.0))
            index_wall += float((job.stats or {}).get("wall_s", 0.0))
        for segment_id, plates in truth.items():
            for plate in plates:
                got = reads.get(segment_id, [])
                closest = min(got, key=lambda r: (_distance(r, plate), r), default=None)
                body = split_province(plate)[1]
                query = make_query(session, cameras=[CAMERA], plate=body, limit=50)
                hits = search_events(session, query).events
                found = any(h.segment_id == segment_id for h in hits)
                wrong_hits += sum(1 for h in hits if plate not in truth[h.segment_id])
                per_plate.append({
                    "file": Path(names[segment_id]).name, "plate": plate, "read": sorted(set(got)),
                    "exact": plate in got, "found": found,
                    "char_accuracy": round(max(0.0, 1 - _distance(closest, plate) / len(plate)), 3) if closest else 0.0,
                })
        for absent in ABSENT:
            false_events += len(search_events(session, make_query(session, cameras=[CAMERA], plate=absent)).events)

    still_rows = per_plate[:len(PLATES)]

    def rates(rows: list[dict]) -> dict[str, float]:
        n = max(1, len(rows))
        return {"plates": len(rows), "exact_rate": round(sum(r["exact"] for r in rows) / n, 3),
                "char_accuracy": round(sum(r["char_accuracy"] for r in rows) / n, 3),
                "found_rate": round(sum(r["found"] for r in rows) / n, 3)}

    index_only = max(1e-6, index_wall - plate_s)
    print(json.dumps({
        "stills": rates(still_rows),
        "videos": rates(per_plate[len(PLATES):]) if not args.no_videos else None,
        "all": rates(per_plate),
        "false_events": false_events, "absent_queries": len(ABSENT), "wrong_hits": wrong_hits,
        "vehicle_events": sum(1 for _ in events), "vehicle_events_tried": int(vehicle_targets),
        "plate_s": round(plate_s, 3),
        "plate_ms_per_vehicle_event": round(1000 * plate_s / max(1.0, vehicle_targets), 1),
        "plate_share_of_index": round(plate_s / index_only, 3),
        "index": {k: indexed[k] for k in ("segments", "done", "failed", "events", "wall_s")},
        "clips_s": round(clips_s, 1),
        "per_plate": per_plate,
    }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
