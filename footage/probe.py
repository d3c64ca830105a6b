"""What a video file holds (duration, frame rate, codec, size, rotation), and proof it reads to the end.

``probe(path)`` runs the work in a child process (``python -m footage.probe PATH`` printing JSON) with a
timeout, so a decoder that crashes or hangs on hostile input fails that one file, never the caller's
process. ``probe_in_process`` is the work itself: PyAV demuxes every packet of the video stream (cheap,
nothing decoded) to find the true duration from the last packet's timestamps, whether the frame rate is
variable, and the keyframe interval; then it decodes the first frame, so a file that only looks like a
video is caught here rather than by the indexer hours later.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

# Seconds a child probe may take: a base for start-up plus time to read the file at a slow disk's pace.
PROBE_BASE_TIMEOUT_S = 60.0
PROBE_READ_BYTES_PER_S = 40 * 1024 * 1024
# Frame intervals further than this from the typical one make the frame rate variable.
VFR_TOLERANCE = 0.10
VFR_MIN_SHARE = 0.02
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
# Containers whose index sits at the end: a copy cut short loses it and every demuxer gives up.
_ISO_BMFF_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")


class ProbeError(Exception):
    """A file that cannot be used as footage; the message says why and what to do."""

    kind = "unreadable"


class EmptyFile(ProbeError):
    kind = "empty"


class NotAVideo(ProbeError):
    kind = "not_a_video"


class NoVideoStream(ProbeError):
    kind = "no_video_stream"


class TruncatedVideo(ProbeError):
    kind = "truncated"


class UndecodableVideo(ProbeError):
    kind = "undecodable"


class ProbeCrashed(ProbeError):
    kind = "probe_crashed"


class ProbeTimedOut(ProbeError):
    kind = "probe_timed_out"


_ERRORS: dict[str, type[ProbeError]] = {
    cls.kind: cls
    for cls in (ProbeError, EmptyFile, NotAVideo, NoVideoStream, TruncatedVideo, UndecodableVideo, ProbeCrashed,
                ProbeTimedOut)
}


@dataclass(frozen=True)
class VideoProbe:
    """What one video file holds, read from its video stream."""

    duration_s: float
    """Seconds from the first frame's timestamp to the end of the last frame."""
    fps: float
    """Frames a second (the average when the rate is variable)."""
    variable_frame_rate: bool
    """True when frame intervals vary, so frame number does not map to time."""
    codec: str
    """FFmpeg's codec name, e.g. "h264", "hevc", "mpeg4", "rawvideo"."""
    width: int
    """Coded width in pixels."""
    height: int
    """Coded height in pixels."""
    rotation: int
    """Display rotation in degrees (0, 90, 180, 270), from the display matrix or "rotate" metadata."""
    creation_time: str | None
    """The container's creation_time as ISO 8601 (UTC when the file says so), or None."""
    frame_count: int
    """Video packets in the stream (one frame each)."""
    keyframe_interval_s: float | None
    """Median seconds between keyframes, or None with fewer than two keyframes."""
    container: str
    """FFmpeg's name of the container format."""
    size_bytes: int
    """Size of the file."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _looks_like_iso_bmff(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(12)
    return len(head) >= 8 and head[4:8] in _ISO_BMFF_BOXES


def _creation_time(*metadata: dict[str, str]) -> str | None:
    for meta in metadata:
        raw = meta.get("creation_time")
        if not raw:
            continue
        try:
            stamp = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            continue
        # Encoders that know no time write the epoch of MP4 (1904) or of Unix (1970).
        if stamp.year < 1990:
            continue
        return stamp.isoformat()
    return None


def _normalise_rotation(value: float) -> int:
    return int(round(value / 90.0) * 90) % 360


def probe_in_process(path: str | os.PathLike[str]) -> VideoProbe:
    """Probe ``path`` in this process. Raises a ``ProbeError`` subclass for anything unusable."""
    import av  # deferred: the API process only ever imports this module to run the child

    path = Path(path)
    if not path.is_file():
        raise ProbeError(f"{path.name} is not a file; give the path of a video file")
    size = path.stat().st_size
    if size == 0:
        raise EmptyFile(f"{path.name} is empty (0 bytes); export or copy it again from the recorder")

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        if _looks_like_iso_bmff(path):
            raise TruncatedVideo(
                f"{path.name} is an MP4 whose index is missing, so it was cut short while copying or exporting "
                f"({exc.strerror or exc}); copy or export it again"
            ) from exc
        raise NotAVideo(
            f"{path.name} is not a video file gatewatch can read ({exc.strerror or exc}); "
            "export the footage from the recorder as MP4, AVI or DAV"
        ) from exc

    with container:
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams})
            held = f"only {' and '.join(kinds)}" if kinds else "no streams"
            raise NoVideoStream(f"{path.name} holds {held}, no video; upload the camera's video file instead")
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        width, height = stream.codec_context.width, stream.codec_context.height
        time_base = stream.time_base or Fraction(1, 90000)

        # Hours of footage are hundreds of thousands of packets: keep one int each, and counts.
        stamps: list[int] = []  # presentation time of each packet
        durations: Counter[int] = Counter()
        last_end: int | None = None
        key_stamps: list[int] = []
        try:
            for packet in container.demux(stream):
                if packet.size == 0:  # the demuxer's flush packet at the end
                    continue
                pts = packet.pts if packet.pts is not None else packet.dts
                if pts is None:
                    continue
                stamps.append(pts)
                durations[packet.duration or 0] += 1
                end = pts + (packet.duration or 0)
                last_end = end if last_end is None else max(last_end, end)
                if packet.is_keyframe:
                    key_stamps.append(pts)
        except av.error.FFmpegError as exc:
            raise TruncatedVideo(
                f"{path.name} stops in the middle of its video after {len(stamps)} frames ({exc.strerror or exc}); "
                "copy or export it again"
            ) from exc
        if not stamps:
            raise UndecodableVideo(f"{path.name} has a video stream with no frames; export it again")

        # An index that promises more frames than the file holds means the end was cut off.
        promised = stream.frames or 0
        if promised and len(stamps) < promised * 0.98:
            raise TruncatedVideo(
                f"{path.name} holds {len(stamps)} of the {promised} frames its index lists, so it was cut short; "
                "copy or export it again"
            )

        frame = _first_frame(av, path, stream.index)
        rotation = _normalise_rotation(getattr(frame, "rotation", 0) or 0)
        if rotation == 0 and stream.metadata.get("rotate"):
            try:
                rotation = _normalise_rotation(float(stream.metadata["rotate"]))
            except ValueError:
                rotation = 0

        stamps.sort()  # decode order to presentation order (B-frames)
        ordered = stamps
        typical: float | None = _weighted_median({d: n for d, n in durations.items() if d > 0})
        deltas = [b - a for a, b in itertools.pairwise(ordered) if b > a]
        if typical is None and deltas:
            typical = statistics.median(deltas)
        last_end = max(last_end or ordered[-1], ordered[-1])
        if last_end <= ordered[-1] and typical:
            last_end = ordered[-1] + int(typical)
        duration_s = float((last_end - ordered[0]) * time_base)
        if duration_s <= 0:
            raise UndecodableVideo(f"{path.name} has no usable timestamps; re-export it as MP4")

        variable = False
        if deltas and typical:
            median_delta = statistics.median(deltas)
            off = sum(1 for d in deltas if abs(d - median_delta) > VFR_TOLERANCE * median_delta)
            variable = off >= max(2, VFR_MIN_SHARE * len(deltas))
        # A variable rate has no nominal value worth reporting: give the average over the timestamps.
        fps = len(ordered) / duration_s if variable or not stream.average_rate else float(stream.average_rate)

        key_gaps = [float((b - a) * time_base) for a, b in itertools.pairwise(sorted(key_stamps))]
        keyframe_interval = round(statistics.median(key_gaps), 3) if key_gaps else None

        return VideoProbe(
            duration_s=round(duration_s, 6),
            fps=round(fps, 4),
            variable_frame_rate=variable,
            codec=codec,
            width=int(width or frame.width),
            height=int(height or frame.height),
            rotation=rotation,
            creation_time=_creation_time(dict(container.metadata), dict(stream.metadata)),
            frame_count=len(ordered),
            keyframe_interval_s=keyframe_interval,
            container=container.format.name,
            size_bytes=size,
        )


def _weighted_median(counts: dict[int, int]) -> int | None:
    """The median of values given as {value: how many times it occurs}."""
    total = sum(counts.values())
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen * 2 >= total:
            return value
    return None


def _first_frame(av: Any, path: Path, stream_index: int) -> Any:
    """Decode the first frame from a fresh open (the probe's own container is at the end of the file)."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = container.streams[stream_index]
            for frame in container.decode(stream):
                return frame
    except av.error.FFmpegError as exc:
        raise UndecodableVideo(
            f"{path.name}: its video ({exc.strerror or exc}) cannot be decoded; export it again as H.264 MP4"
        ) from exc
    raise UndecodableVideo(f"{path.name}: no frame of its video could be decoded; export it again as H.264 MP4")


def probe_timeout(path: Path) -> float:
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return PROBE_BASE_TIMEOUT_S + size / PROBE_READ_BYTES_PER_S


def probe(path: str | os.PathLike[str], timeout_s: float | None = None) -> VideoProbe:
    """Probe ``path`` in a child process; a crash or hang there becomes a ``ProbeError`` here."""
    path = Path(path)
    timeout = timeout_s if timeout_s is not None else probe_timeout(path)
    # The child must find this package whatever the caller's working folder or install mode.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "footage.probe", str(path)],
            capture_output=True, text=True, timeout=timeout, check=False, env=env,
        )
    except subprocess.TimeoutExpired as exc:
        raise ProbeTimedOut(
            f"{path.name} took longer than {timeout:.0f} s to read, so it was given up; check the file plays"
        ) from exc
    if done.returncode in (0, 2):
        try:
            answer = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            answer = None
        if isinstance(answer, dict) and "probe" in answer:
            return VideoProbe(**answer["probe"])
        if isinstance(answer, dict) and "error" in answer:
            raise _ERRORS.get(answer["error"], ProbeError)(answer["message"])
    how = f"signal {-done.returncode}" if done.returncode < 0 else f"exit status {done.returncode}"
    raise ProbeCrashed(
        f"reading {path.name} crashed the video decoder ({how}); the file is damaged or hostile, "
        "export it again from the recorder"
    )


def _main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m footage.probe PATH\n")
        return 64
    try:
        result = probe_in_process(argv[0])
    except ProbeError as exc:
        print(json.dumps({"error": exc.kind, "message": str(exc)}))
        return 2
    print(json.dumps({"probe": result.to_dict(), "probed_at": datetime.now(UTC).isoformat()}))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
