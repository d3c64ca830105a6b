"""Build long, quiet gate footage with real vehicle passes spliced in at known times (for bench/index.py).

Source: ``street_sparse_traffic.mp4`` (high view of a street with parked cars; a car passes now and then).
The parking-aisle clip was the first choice, but YOLO11n labels its top-down cars "cell phone" (0.9), so
neither the dense reference nor the index has vehicle tracks there and recall would be meaningless.

How it is built:
- the quiet background is a stretch of the source with no motion (QUIET, checked with the motion pass and
  by eye), played forwards and backwards (ping-pong), so its sensor noise and light stay real;
- WINDOWS are the stretches of the source holding its real passes; they are spliced in, in turn, at evenly
  spread times (``passes_per_hour`` windows an hour), each cut in whole at a known time;
- frames are piped to the imageio-ffmpeg binary and encoded like a gate camera: H.264, no B-frames, a fixed
  4 s GOP (``-g 40 -sc_threshold 0`` at 10 fps), CRF 23.
The file and a JSON sidecar (where each window went) are cached under bench/out/.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import ffmpeg
import imageio_ffmpeg
import numpy as np

SOURCE = "street_sparse_traffic.mp4"
FPS = 10
QUIET = (33.5, 40.5)
"""Seconds of the source with nothing moving (motion pass: no activity between 32.8 s and 41.4 s)."""
WINDOWS = {"A": (3.2, 19.2), "B": (24.4, 32.8), "C": (41.4, 58.9), "D": (60.8, 68.8)}
"""Stretches of the source that hold its passes (the motion pass's active spans of the source)."""
EMPTY_EDGED_WINDOWS = {"A": (3.2, 19.2), "B": (24.4, 57.5), "C": (58.0, 68.5)}
"""The source's passes cut where no moving vehicle is in view, at both ends (the noisy footage uses these).

From the dense reference on the whole source (every frame, `detection.pipeline.dense_reference`): moving
vehicles are in view 4.6-17.1 s, 25.8-57.1 s and 60.2-66.8 s. WINDOWS B-D start or end with a car in the
middle of the picture, so a splice made a car appear or vanish there: a bench artefact, not a pass."""


@dataclass
class Insert:
    """One window of real passes spliced into the long file."""

    window: str
    """Which of WINDOWS."""
    at_s: float
    """Where its first frame lands in the long file, in seconds."""
    src_start_s: float
    """Its start in the source."""
    src_end_s: float
    """Its end in the source."""


def _frames(path: Path, start_s: float, end_s: float) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        out = []
        for frame in container.decode(stream):
            if frame.time is None or frame.time < start_s - 1e-6:
                continue
            if frame.time > end_s + 1e-6:
                break
            out.append(frame.to_ndarray(format="bgr24"))
        return out


def build(footage_dir: Path, out_dir: Path, minutes: float, passes_per_hour: int = 24) -> tuple[Path, list[Insert]]:
    """Build (or reuse) the long file; return its path and where the windows went."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"quiet_street_{minutes:g}min_{passes_per_hour}ph"
    video, sidecar = out_dir / f"{name}.mp4", out_dir / f"{name}.json"
    if video.exists() and sidecar.exists():
        return video, [Insert(**row) for row in json.loads(sidecar.read_text())["inserts"]]
    source = footage_dir / SOURCE
    quiet = _frames(source, *QUIET)
    loop = quiet + quiet[-2:0:-1]  # ping-pong: no jump where the loop restarts
    height, width = quiet[0].shape[:2]
    total = int(minutes * 60 * FPS)
    count = max(1, round(passes_per_hour * minutes / 60))
    names = sorted(WINDOWS)
    inserts: list[Insert] = []
    slot = total / count
    for i in range(count):
        window = names[i % len(names)]
        at_frame = int(i * slot + slot / 2)
        inserts.append(Insert(window, at_frame / FPS, *WINDOWS[window]))
    window_frames = {key: _frames(source, *span) for key, span in WINDOWS.items()}
    process = (
        ffmpeg.input("pipe:", format="rawvideo", pix_fmt="bgr24", s=f"{width}x{height}", framerate=FPS)
        .output(str(video.with_suffix(".part.mp4")), vcodec="libx264", pix_fmt="yuv420p", crf=23,
                preset="veryfast", g=4 * FPS, bf=0, sc_threshold=0, r=FPS, movflags="+faststart")
        .overwrite_output()
        .global_args("-loglevel", "error")
        .run_async(pipe_stdin=True, cmd=imageio_ffmpeg.get_ffmpeg_exe())
    )
    frame_no, quiet_no = 0, 0
    pending = list(inserts)
    while frame_no < total:
        if pending and frame_no >= round(pending[0].at_s * FPS):
            insert = pending.pop(0)
            insert.at_s = frame_no / FPS
            for picture in window_frames[insert.window]:
                process.stdin.write(picture.tobytes())
                frame_no += 1
            continue
        process.stdin.write(loop[quiet_no % len(loop)].tobytes())
        quiet_no += 1
        frame_no += 1
    process.stdin.close()
    if process.wait() != 0:
        raise RuntimeError("ffmpeg failed to encode the bench footage")
    video.with_suffix(".part.mp4").rename(video)
    sidecar.write_text(json.dumps({"source": SOURCE, "fps": FPS, "minutes": minutes,
                                   "inserts": [asdict(i) for i in inserts]}, indent=1))
    return video, inserts


FADE_S = 2.0
"""Seconds over which one window's still fades into the next one's (half-way between the two windows)."""


def _still_at(frame_no: int, inserts: list[Insert], ends: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The quiet picture at a frame outside the windows: the nearer window's edge, faded half-way between."""
    t = frame_no / FPS
    after = next((i for i in inserts if i.at_s > t), None)
    before = next((i for i in reversed(inserts) if i.at_s <= t), None)
    if before is None and after is not None:
        return ends[after.window][0]
    if after is None and before is not None:
        return ends[before.window][1]
    assert before is not None and after is not None
    end_of_before = before.at_s + before.src_end_s - before.src_start_s
    middle = (end_of_before + after.at_s) / 2
    w = float(np.clip((t - (middle - FADE_S / 2)) / FADE_S, 0.0, 1.0))
    return (1 - w) * ends[before.window][1] + w * ends[after.window][0]


def build_noisy(footage_dir: Path, out_dir: Path, minutes: float, passes_per_hour: int = 18,
                noise_sigma: float = 3.0, drift: float = 12.0, seed: int = 7) -> tuple[Path, list[Insert]]:
    """A noisy quiet gate stretch: stills of the empty scene (each window's own edge) with fresh temporal sensor
    noise on every frame and a slow brightness drift (+-``drift`` grey levels over the file), real passes spliced in;
    H.264 with a 2 s keyframe interval (what the issue's quiet hour asks for). Cached like ``build``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"noisy_street_{minutes:g}min_{passes_per_hour}ph_v3"  # v3: empty-edged windows, per-window stills
    video, sidecar = out_dir / f"{name}.mp4", out_dir / f"{name}.json"
    if video.exists() and sidecar.exists():
        return video, [Insert(**row) for row in json.loads(sidecar.read_text())["inserts"]]
    source = footage_dir / SOURCE
    # The quiet picture next to each window is that window's own first (or last) second, frozen: the splice
    # then changes nothing but the noise, so parked cars do not jump and nothing appears or vanishes there.
    # Between two windows the still of one fades into the next over FADE_S, half-way between them.
    ends: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key, (a, b) in EMPTY_EDGED_WINDOWS.items():
        ends[key] = (np.median(np.stack(_frames(source, a, a + 1.0)), axis=0).astype(np.float32),
                     np.median(np.stack(_frames(source, b - 1.0, b)), axis=0).astype(np.float32))
    height, width = ends["A"][0].shape[:2]
    total = int(minutes * 60 * FPS)
    count = max(1, round(passes_per_hour * minutes / 60))
    names = sorted(EMPTY_EDGED_WINDOWS)
    slot = total / count
    inserts = [Insert(names[i % len(names)], int(i * slot + slot / 2) / FPS,
                      *EMPTY_EDGED_WINDOWS[names[i % len(names)]]) for i in range(count)]
    window_frames = {key: _frames(source, *span) for key, span in EMPTY_EDGED_WINDOWS.items()}
    rng = np.random.default_rng(seed)
    part = video.with_suffix(".part.mp4")
    process = (
        ffmpeg.input("pipe:", format="rawvideo", pix_fmt="bgr24", s=f"{width}x{height}", framerate=FPS)
        .output(str(part), vcodec="libx264", pix_fmt="yuv420p", crf=23, preset="veryfast", g=2 * FPS, bf=0,
                sc_threshold=0, r=FPS, movflags="+faststart")
        .overwrite_output()
        .global_args("-loglevel", "error")
        .run_async(pipe_stdin=True, cmd=imageio_ffmpeg.get_ffmpeg_exe())
    )
    frame_no = 0
    pending = list(inserts)
    while frame_no < total:
        # The drift is a slow sine: a cloud, the sun moving; it also applies to the spliced passes.
        offset = drift * float(np.sin(2 * np.pi * frame_no / max(total, 1)))
        if pending and frame_no >= round(pending[0].at_s * FPS):
            insert = pending.pop(0)
            insert.at_s = frame_no / FPS
            for picture in window_frames[insert.window]:
                noise = noise_sigma * rng.standard_normal(picture.shape, np.float32)
                noisy = picture.astype(np.float32) + offset + noise
                process.stdin.write(np.clip(noisy, 0, 255).astype(np.uint8).tobytes())
                frame_no += 1
            continue
        still = _still_at(frame_no, inserts, ends)
        noisy = still + offset + noise_sigma * rng.standard_normal(still.shape, np.float32)
        process.stdin.write(np.clip(noisy, 0, 255).astype(np.uint8).tobytes())
        frame_no += 1
    process.stdin.close()
    if process.wait() != 0:
        raise RuntimeError("ffmpeg failed to encode the noisy bench footage")
    part.rename(video)
    sidecar.write_text(json.dumps({"source": SOURCE, "fps": FPS, "minutes": minutes, "noise_sigma": noise_sigma,
                                   "drift": drift, "inserts": [asdict(i) for i in inserts]}, indent=1))
    return video, inserts
