"""Indexing benchmark: speed against the limits and the naive loop, recall against the dense reference.

Run: ``YOLO_OFFLINE=1 .venv/bin/python bench/index.py [--minutes 20] [--passes-per-hour 24]``
Prints ONE JSON object. The footage is built (and cached) by bench/build_footage.py under bench/out/;
DVR-Scan, the peer, is installed into its own venv bench/out/.venv-dvrscan (never into .venv).
See bench/RESULTS.md for what each figure means and the figures measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import av

os.environ.setdefault("YOLO_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from build_footage import FPS, build, build_noisy  # noqa: E402

from detection.regions import iou  # noqa: E402

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from detection.detector import Detector
from detection.pipeline import index_segment
from detection.records import CameraSpec
detector = Detector.load()
# Plates are read as on a camera with the default setting (on), unless the first argument is "-".
spec = CameraSpec(read_plates=sys.argv[1] == "plates")
if spec.read_plates:
    from detection.plates.stage import shared_reader
    shared_reader().warm()  # the plate networks load once per worker, like the detector: not a segment's cost
loaded = time.perf_counter() - t0
for path in sys.argv[2:]:
    result = index_segment(path, spec, detector=detector)
    events = [dict(label=e.label, start_s=e.start_s, end_s=e.end_s, stationary=e.stationary, track=e.track)
              for e in result.events]
    print(json.dumps(dict(path=path, events=events, stats=result.stats, load_s=loaded,
                          conversion_s=getattr(detector, "conversion_s", None),
                          runtime=getattr(detector, "runtime", None),
                          maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""
BUSY = ("motorway_traffic_camera.mp4", "motorway_traffic_camera_vfr.mp4", "street_sparse_traffic.mp4",
        "street_topdown_traffic.mp4", "parking_aisle_car_detection.mp4")
"""The shared vehicle clips: something moves in most seconds (the busy side of the bench)."""


def _speed(duration_s: float, wall_s: float) -> float:
    return round(duration_s / wall_s, 1) if wall_s > 0 else float("inf")


def decode_all(path: Path) -> tuple[float, int]:
    began = time.perf_counter()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames = sum(1 for _ in container.decode(stream))
    return time.perf_counter() - began, frames


def keyframes_only(path: Path) -> tuple[float, int]:
    began = time.perf_counter()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        frames = sum(1 for _ in container.decode(stream))
    return time.perf_counter() - began, frames


def naive_per_frame(path: Path, seconds: float, start_s: float) -> tuple[float, int]:
    """ultralytics ``track(persist=True)`` on every frame of a stretch; seconds per frame."""
    from detection.detector import COCO_LABELS, Detector

    model = Detector.load().yolo
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if start_s > 0:
            container.seek(int(start_s / float(stream.time_base)), stream=stream)
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(stream)
                  if f.time is not None and start_s <= f.time < start_s + seconds]
    model.track(frames[0], persist=True, verbose=False, classes=sorted(COCO_LABELS))  # warm-up
    began = time.perf_counter()
    for frame in frames:
        model.track(frame, persist=True, verbose=False, classes=sorted(COCO_LABELS))
    return (time.perf_counter() - began) / len(frames), len(frames)


def run_index_many(paths: list[Path], detect_fps: float | None, plates: bool = True) -> list[dict]:
    """Index the files in one child process (one detector load); one result per file."""
    began = time.perf_counter()
    env = {**os.environ, "YOLO_OFFLINE": "1"}
    if detect_fps:
        env["GATEWATCH_DETECT_FPS"] = str(detect_fps)
    out = subprocess.run([sys.executable, "-c", CHILD, "plates" if plates else "-", *map(str, paths)], cwd=REPO,
                         capture_output=True, text=True,
                         check=True, env=env)
    results = [json.loads(line) for line in out.stdout.strip().splitlines() if line.startswith("{")]
    for result in results:
        result["process_wall_s"] = time.perf_counter() - began
    return results


def run_index(path: Path, detect_fps: float | None, plates: bool = True) -> dict:
    return run_index_many([path], detect_fps, plates)[0]


def _shifted(events: list[dict], offset: float) -> list[dict]:
    return [{**e, "start_s": e["start_s"] + offset, "end_s": e["end_s"] + offset,
             "track": [[r[0] + offset, *r[1:]] for r in e["track"]]} for e in events]


def busy(footage: Path, detect_fps: float | None, naive_seconds: float, plates: bool = True) -> dict:
    """The busy side: each shared vehicle clip indexed, against the dense reference on all of its frames and the
    naive loop's per-frame cost on its own first seconds."""
    from detection.detector import Detector
    from detection.pipeline import dense_reference
    from detection.records import CameraSpec

    clips = [footage / name for name in BUSY]
    indexed = run_index_many(clips, detect_fps, plates)
    detector = Detector.load()
    rows, reference_all, found_all = {}, [], []
    footage_s = index_s = naive_s = 0.0
    for clip, result in zip(clips, indexed, strict=True):
        with av.open(str(clip)) as container:
            stream = container.streams.video[0]
            duration = float(container.duration) / 1e6
            frames = stream.frames or round(duration * float(stream.average_rate or 25))
        per_frame, _ = naive_per_frame(clip, min(naive_seconds, duration), 0.0)
        reference = dense_reference(clip, CameraSpec(), detector=detector)
        ref = [dict(label=e.label, start_s=e.start_s, end_s=e.end_s, stationary=e.stationary, track=e.track)
               for e in reference.events]
        wall = result["stats"]["wall_s"]
        footage_s, index_s, naive_s = footage_s + duration, index_s + wall, naive_s + per_frame * frames
        # Per-clip offsets keep the clips' events apart in the pooled accuracy.
        offset = 1000.0 * len(rows)
        reference_all += _shifted(ref, offset)
        found_all += _shifted(result["events"], offset)
        rows[clip.name] = {"duration_s": round(duration, 1), "index_wall_s": wall, "x_realtime": _speed(duration, wall),
                           "naive_x_realtime": _speed(duration, per_frame * frames),
                           "frames_detected": result["stats"]["frames_detected"],
                           "frames_whole": result["stats"].get("frames_whole"),
                           "accuracy": compare(ref, result["events"])}
    stage_keys = ("cheap_pass_s", "decode_s", "wait_s", "detect_s", "track_s", "events_s", "plate_s",
                  "frames_detected", "frames_whole", "crops")
    stages = {k: round(sum(r["stats"].get(k, 0.0) for r in indexed), 3) for k in stage_keys}
    out = {"clips": rows, "footage_s": round(footage_s, 1), "index_wall_s": round(index_s, 2),
           "x_realtime": _speed(footage_s, index_s), "naive_x_realtime": _speed(footage_s, naive_s),
           "gatewatch_over_naive": round(naive_s / index_s, 1) if index_s else None,
           "stages": stages, "model_load_s": round(indexed[0]["load_s"], 2),
           "model_conversion_s": indexed[0].get("conversion_s"), "accuracy": compare(reference_all, found_all)}
    out["targets_met"] = {"x_realtime>=15": out["x_realtime"] >= 15,
                          "x_naive>=27": (out["gatewatch_over_naive"] or 0) >= 27,
                          "recall>=0.97": (out["accuracy"]["recall"] or 0) >= 0.97,
                          "precision>=0.95": (out["accuracy"]["precision"] or 0) >= 0.95}
    return out


def ensure_dvrscan(out_dir: Path) -> Path:
    venv = out_dir / ".venv-dvrscan"
    exe = venv / "bin" / "dvr-scan"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "dvr-scan"], check=True)
    return exe


def run_dvrscan(exe: Path, path: Path, minutes: float, out_dir: Path) -> dict:
    """DVR-Scan over the first ``minutes`` of the file (motion only, no labels), timed."""
    end = time.strftime("%H:%M:%S", time.gmtime(minutes * 60))
    began = time.perf_counter()
    proc = subprocess.run([str(exe), "-i", str(path), "-so", "-et", end, "-q"], capture_output=True, text=True,
                          cwd=out_dir)
    wall = time.perf_counter() - began
    return {"returncode": proc.returncode, "wall_s": round(wall, 2), "scanned_s": minutes * 60,
            "x_realtime": _speed(minutes * 60, wall), "stderr_tail": proc.stderr[-300:]}


def _box_at(track: list[list[float]], t: float) -> list[float]:
    return min(track, key=lambda row: abs(row[0] - t))[1:]


def _same_object(a: dict, b: dict) -> bool:
    """Overlap in time and, at the middle of that overlap, boxes that overlap in space."""
    lo, hi = max(a["start_s"], b["start_s"]), min(a["end_s"], b["end_s"])
    if hi < lo - 0.5:
        return False
    middle = (lo + hi) / 2
    return iou(_box_at(a["track"], middle), _box_at(b["track"], middle)) >= 0.2


VEHICLES = {"car", "truck", "bus", "motorcycle", "bicycle"}


def compare(reference: list[dict], found: list[dict]) -> dict:
    """Recall of moving-vehicle reference tracks >= 1 s, precision of moving-vehicle events, time errors."""
    def moving(e: dict) -> bool:
        return e["label"] in VEHICLES and not e["stationary"]

    targets = [e for e in reference if moving(e) and e["end_s"] - e["start_s"] >= 1.0]
    candidates = [e for e in found if moving(e)]
    used: set[int] = set()
    starts, ends, hits = [], [], 0
    for ref in targets:
        match = next((i for i, e in enumerate(candidates) if i not in used and _same_object(ref, e)), None)
        if match is None:
            match = next((i for i, e in enumerate(candidates) if _same_object(ref, e)), None)
        if match is None:
            continue
        hits += 1
        used.add(match)
        starts.append(abs(candidates[match]["start_s"] - ref["start_s"]))
        ends.append(abs(candidates[match]["end_s"] - ref["end_s"]))
    # The precision: an event counts only if it overlaps a moving reference track and lasts no longer
    # than that track plus 6 s (a parked car's sightings joined into one long "moving" event do not count).
    references_moving = [e for e in reference if moving(e)]
    true_found = sum(1 for e in candidates if any(
        _same_object(e, r) and e["end_s"] - e["start_s"] <= r["end_s"] - r["start_s"] + 6.0
        for r in references_moving))
    return {
        "reference_tracks": len(targets),
        "found_moving_vehicle_events": len(candidates),
        "recall": round(hits / len(targets), 3) if targets else None,
        "precision": round(true_found / len(candidates), 3) if candidates else None,
        "median_start_error_s": round(statistics.median(starts), 3) if starts else None,
        "median_end_error_s": round(statistics.median(ends), 3) if ends else None,
    }


def dense(path: Path, inserts: list, every: bool) -> tuple[list[dict], dict]:
    """The same detector and tracker on every frame of the spliced windows (pad 1 s)."""
    from detection.decode import Span
    from detection.detector import Detector
    from detection.pipeline import dense_reference
    from detection.records import CameraSpec

    detector = Detector.load()
    chosen, seen = [], set()
    for insert in inserts:
        if every or insert.window not in seen:
            chosen.append(insert)
            seen.add(insert.window)
    events: list[dict] = []
    frames, wall = 0, 0.0
    for insert in chosen:
        length = insert.src_end_s - insert.src_start_s
        # Ground truth from the inserted clip's own frames: a span that began before the splice would see the
        # still turn into the clip, and its parked cars "move" by the few pixels between the two.
        span = Span(insert.at_s, insert.at_s + length)
        result = dense_reference(path, CameraSpec(), detector=detector, spans=[span])
        frames += int(result.stats["frames_detected"])
        wall += result.stats["wall_s"]
        found = [dict(label=e.label, start_s=e.start_s, end_s=e.end_s, stationary=e.stationary, track=e.track)
                 for e in result.events]
        copies = [i for i in inserts if i.window == insert.window] if not every else [insert]
        for copy in copies:
            shift = copy.at_s - insert.at_s
            for e in found:
                events.append({**e, "start_s": e["start_s"] + shift, "end_s": e["end_s"] + shift,
                               "track": [[r[0] + shift, *r[1:]] for r in e["track"]]})
    return events, {"frames": frames, "wall_s": round(wall, 1), "per_frame_s": round(wall / max(frames, 1), 4)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0, help="length of the built footage")
    parser.add_argument("--passes-per-hour", type=int, default=24, help="windows of real passes spliced per hour")
    parser.add_argument("--footage", type=Path, default=REPO.parent / "shared" / "footage")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--naive-seconds", type=float, default=15.0, help="footage timed for the naive loop")
    parser.add_argument("--dvrscan-minutes", type=float, default=3.0, help="footage DVR-Scan scans (0: skip)")
    parser.add_argument("--dense-every-window", action="store_true",
                        help="run the dense reference on every spliced window, not once per distinct window")
    parser.add_argument("--detect-fps", type=float, default=None,
                        help="detector rate inside active spans (default: settings, GATEWATCH_DETECT_FPS)")
    parser.add_argument("--noisy", action="store_true",
                        help="the noisy quiet footage instead: one still of the empty street with fresh sensor noise "
                             "on every frame, a slow brightness drift, a 2 s GOP (bench/build_footage.build_noisy)")
    parser.add_argument("--no-plates", action="store_true", help="index without the plate stage")
    parser.add_argument("--busy", action="store_true",
                        help="also the busy side: every shared vehicle clip against its dense reference and naive loop")
    parser.add_argument("--busy-only", action="store_true",
                        help="only the busy side (no built footage, no quiet-footage index): minutes, not ten")
    args = parser.parse_args(argv)
    if args.busy_only:
        load_start = os.getloadavg()
        print(json.dumps({"busy": busy(args.footage, args.detect_fps, min(args.naive_seconds, 4.0), not args.no_plates),
                          "load_average_start": load_start, "load_average": os.getloadavg()}))
        return

    builder = build_noisy if args.noisy else build
    video, inserts = builder(args.footage, args.out, args.minutes, args.passes_per_hour)
    with av.open(str(video)) as container:
        duration = float(container.duration) / 1e6
    report: dict = {"footage": {"file": str(video.relative_to(REPO)), "duration_s": duration, "fps": FPS,
                                "windows_spliced": len(inserts),
                                "windows": [(i.window, i.at_s) for i in inserts]}}
    wall, frames = decode_all(video)
    report["decode_all"] = {"wall_s": round(wall, 2), "frames": frames, "x_realtime": _speed(duration, wall)}
    wall, frames = keyframes_only(video)
    report["keyframes_only"] = {"wall_s": round(wall, 2), "frames": frames, "x_realtime": _speed(duration, wall)}

    index = run_index(video, args.detect_fps, plates=not args.no_plates)
    index_wall = index["stats"]["wall_s"]
    stages = ("cheap_pass", "decode", "detect", "track", "events", "plate")
    report["stages_s"] = {k: index["stats"].get(f"{k}_s") for k in stages}
    plate_s = index["stats"].get("plate_s", 0.0)
    # What reading plates added to indexing: the plate stage over the rest of the index's wall time.
    report["plates"] = {"plate_s": plate_s, "added_to_index": round(plate_s / max(1e-6, index_wall - plate_s), 3),
                        "vehicle_events_tried": index["stats"].get("plate_targets", 0.0),
                        "plates_read": index["stats"].get("plates_read", 0.0)}
    report["gatewatch"] = {
        "index_wall_s": index_wall, "model_load_s": round(index["load_s"], 2),
        "model_conversion_s": index.get("conversion_s"), "runtime": index.get("runtime"),
        "process_wall_s": round(index["process_wall_s"], 2),
        "x_realtime": _speed(duration, index_wall),
        "x_realtime_with_model_load": _speed(duration, index_wall + index["load_s"]),
        "peak_rss_mb": round(index["maxrss_mb"], 1), "stats": index["stats"],
        "events": len(index["events"]),
        "detect_fps": args.detect_fps or float(os.environ.get("GATEWATCH_DETECT_FPS", 0) or 0) or "settings default",
        "detector_frames_vs_naive": round(index["stats"]["frames_detected"] / max(1, index["stats"]["frames_demuxed"]),
                                          4),
    }
    start = inserts[0].at_s
    per_frame, naive_frames = naive_per_frame(video, args.naive_seconds, start)
    naive_x = (1.0 / FPS) / per_frame
    report["naive_loop"] = {
        "method": f"ultralytics model.track(persist=True) on every frame of {naive_frames} frames "
                  f"({args.naive_seconds:g} s from {start:g} s); per-frame cost extrapolated to the whole file",
        "per_frame_s": round(per_frame, 4), "x_realtime": round(naive_x, 2),
        "extrapolated_wall_s": round(per_frame * duration * FPS, 1),
    }
    report["gatewatch_over_naive"] = round(report["gatewatch"]["x_realtime"] / naive_x, 1)

    reference, dense_stats = dense(video, inserts, args.dense_every_window)
    report["dense_reference"] = {
        "coverage": ("every frame of every spliced window" if args.dense_every_window else
                     "every frame of the first copy of each distinct window, its events shifted onto the "
                     "other copies (same source frames); the quiet loop between windows has nothing moving"),
        **dense_stats, "events": len(reference),
    }
    report["accuracy"] = compare(reference, index["events"])
    # Both event lists, for looking into a miss: what the accuracy figures were computed from.
    compared = args.out / f"{video.stem}_events.json"
    compared.write_text(json.dumps({"reference": reference, "index": index["events"]}))
    report["events_file"] = str(compared.relative_to(REPO)) if compared.is_relative_to(REPO) else str(compared)

    if args.dvrscan_minutes > 0:
        try:
            exe = ensure_dvrscan(args.out)
            report["dvr_scan"] = run_dvrscan(exe, video, min(args.dvrscan_minutes, duration / 60), args.out)
        except (subprocess.CalledProcessError, OSError) as exc:
            report["dvr_scan"] = {"error": f"could not install or run dvr-scan: {exc}"}
    if args.busy:
        report["busy"] = busy(args.footage, args.detect_fps, min(args.naive_seconds, 4.0), not args.no_plates)
    targets = {"x_realtime>=100": report["gatewatch"]["x_realtime"] >= 100,
               "x_naive>=27": report["gatewatch_over_naive"] >= 27,
               "within_70pct_of_keyframes_only": report["gatewatch"]["x_realtime"]
               >= 0.7 * report["keyframes_only"]["x_realtime"],
               "recall>=0.97": (report["accuracy"]["recall"] or 0) >= 0.97,
               "precision>=0.95": (report["accuracy"]["precision"] or 0) >= 0.95,
               "median_time_error<=1s": max(report["accuracy"]["median_start_error_s"] or 99,
                                             report["accuracy"]["median_end_error_s"] or 99) <= 1.0,
               "rss<1.5GB": report["gatewatch"]["peak_rss_mb"] < 1536,
               "plates_added<=20%": report["plates"]["added_to_index"] <= 0.2}
    report["targets_met"] = targets
    report["load_average"] = os.getloadavg()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
