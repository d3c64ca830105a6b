"""Scale benchmark: the same footage indexed by the local worker pool with 1 and then 2 worker processes.

Run: ``YOLO_OFFLINE=1 .venv/bin/python bench/scale.py [--copies 4] [--clip street_topdown_traffic.mp4]``
Prints ONE JSON object: for each worker count the wall time (from start, worker start-up and detector loading
included, as a user of `gatewatch index --workers N` sees it), footage seconds indexed, throughput (footage
seconds per wall second, i.e. a multiple of real time), and the ratio of the two throughputs. The footage is
``--copies`` copies of one real clip from ../shared/footage, each re-muxed with a distinct tag so that each is
its own segment (the catalogue stores a file once). The data folder and SQLite database are temporary.

Workers split the machine's detector threads (settings.torch_threads) between them, so on 2 cores the ratio
measures what running segments side by side buys over one process using both cores: expect well under 2x.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
FOOTAGE = Path(os.environ.get("GATEWATCH_TEST_FOOTAGE", REPO.parent / "shared" / "footage"))
T0 = datetime(2024, 11, 7, 0, 0, tzinfo=UTC)


def make_copies(clip: Path, copies: int, out_dir: Path) -> list[Path]:
    """Stream-copied duplicates of ``clip`` that differ only in a metadata tag (so their SHA-256 differ)."""
    import imageio_ffmpeg

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(copies):
        dest = out_dir / f"copy{index:02d}{clip.suffix}"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(clip), "-c", "copy", "-an",
                        "-metadata", f"comment=gatewatch scale copy {index}", str(dest)], check=True)
        paths.append(dest)
    return paths


def catalogue(paths: list[Path]) -> list[int]:
    """Import each copy as a segment of one camera, one after the other in time."""
    from footage.catalogue import add_camera, add_site, import_file
    from footage.db import session_scope

    with session_scope() as session:
        add_site(session, "Bench")
        add_camera(session, "bench-cam", "Bench", "main")
    ids = []
    start = T0
    for path in paths:
        with session_scope() as session:
            result = import_file(session, path, "bench-cam", start.isoformat())
            if result.segment_id is None:
                raise SystemExit(f"import of {path} failed: {result.error}")
            ids.append(result.segment_id)
            start = result.end + timedelta(seconds=1)
    return ids


def run(workers: int, segment_ids: list[int]) -> dict[str, float]:
    """Queue every segment again and index them with ``workers`` processes; figures of the run."""
    from detection.indexing import summarize
    from detection.jobs import queue_segments
    from detection.jobs.worker_pool import WorkerPool
    from footage.db import session_scope

    with session_scope() as session:
        job_ids = [job.id for job in queue_segments(session, segment_ids)]
    began = time.perf_counter()
    WorkerPool(workers, job_ids=job_ids, exit_when_idle=True, poll_s=0.2).run(tick_s=0.2)
    wall = time.perf_counter() - began
    summary = summarize(job_ids)
    if summary.done != len(job_ids):
        raise SystemExit(f"{len(job_ids) - summary.done} jobs did not finish: {summary.failures}")
    return {
        "workers": workers,
        "segments": summary.done,
        "events": summary.events,
        "footage_s": round(summary.footage_s, 2),
        "wall_s": round(wall, 2),
        "throughput_x": round(summary.footage_s / wall, 2),
    }


def event_signature(segment_ids: list[int]) -> list[tuple]:
    from sqlalchemy import select

    from detection.models import Event
    from footage.db import session_scope

    with session_scope() as session:
        return sorted((e.segment_id, e.label, e.start.isoformat(), e.end.isoformat())
                      for e in session.scalars(select(Event).where(Event.segment_id.in_(segment_ids))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default="street_topdown_traffic.mp4", help="A clip from the shared footage.")
    parser.add_argument("--copies", type=int, default=4, help="How many segments (copies of the clip).")
    parser.add_argument("--workers", default="1,2", help="Worker counts to compare, comma-separated.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gatewatch-scale-") as tmp:
        home = Path(tmp) / "home"
        os.environ["GATEWATCH_HOME"] = str(home)
        os.environ.pop("GATEWATCH_DATABASE_URL", None)
        os.environ.pop("GATEWATCH_BROKER_URL", None)
        from api.database import migrate
        from detection.settings import get_detection_settings
        from footage.db import reset_engines
        from footage.settings import get_settings

        get_settings.cache_clear()
        reset_engines()
        migrate()
        segment_ids = catalogue(make_copies(FOOTAGE / args.clip, args.copies, Path(tmp) / "copies"))
        runs = []
        signatures = []
        for workers in (int(w) for w in args.workers.split(",")):
            runs.append(run(workers, segment_ids))
            signatures.append(event_signature(segment_ids))
        by_workers = {r["workers"]: r for r in runs}
        out = {
            "benchmark": "scale",
            "clip": args.clip,
            "copies": args.copies,
            "cpu_count": os.cpu_count(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "threads_total": get_detection_settings().torch_threads,
            "runs": runs,
            "ratio_2_over_1": round(by_workers[2]["throughput_x"] / by_workers[1]["throughput_x"], 2)
            if 1 in by_workers and 2 in by_workers else None,
            "events_same_across_runs": all(s == signatures[0] for s in signatures),
        }
        reset_engines()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
