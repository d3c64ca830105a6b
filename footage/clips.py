"""Clips cut from the stored segments with FFmpeg, across segment boundaries, and the clip cache.

A clip is cut by FFmpeg's concat demuxer from the original files (the imageio-ffmpeg binary, driven through
ffmpeg-python). The default is stream copy: the clip starts at the keyframe at or before the requested time
(found with PyAV, so the real start is known before FFmpeg runs) and ends where the requested window ends.
``exact`` re-encodes with libx264 and trims to the first frame at or after the requested start. Every clip is
MP4 with ``+faststart`` (a browser can play it while it downloads) and carries its real wall-clock start as
``creation_time``. Gaps between the given segments are skipped, not filled: ``Clip.sources`` says which files
went into it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import av
import ffmpeg
import imageio_ffmpeg
from sqlalchemy import select
from sqlalchemy.orm import Session

from footage import spans as spans_rule
from footage.hashing import file_sha256
from footage.models import Camera, Segment
from footage.settings import get_settings

# Bumped whenever the cutting changes, so cached clips of an older cut are not served.
CUT_VERSION = 1
START_COMMENT = "gatewatch clip; first frame at "


@dataclass
class ClipSource:
    """A stored segment a clip may be cut from."""

    path: Path
    """Absolute path of the segment's file."""
    start: datetime
    """Wall-clock time of the segment's first frame (aware, UTC)."""
    end: datetime
    """Wall-clock time the segment ends (aware, UTC)."""
    sha256: str
    """SHA-256 of the segment's file, as catalogued."""


@dataclass
class Clip:
    """A cut clip: where it lies and the wall-clock span it really covers."""

    path: Path
    """The MP4 file."""
    start: datetime
    """Real wall-clock time of the clip's first frame (aware, UTC); a keyframe at or before the request."""
    end: datetime
    """Real wall-clock time the clip's last frame ends (aware, UTC)."""
    sha256: str
    """SHA-256 of the MP4 file."""
    size: int
    """Size of the MP4 file in bytes."""
    sources: list[ClipSource] = field(default_factory=list)
    """The segments the clip was cut from, in order."""
    exact: bool = False
    """True when re-encoded frame-exact, False for stream copy."""


class ClipError(RuntimeError):
    """FFmpeg could not cut the clip from the stored files."""


class BadClipWindow(ValueError):
    """The requested clip window is empty or reversed."""


class NoFootage(LookupError):
    """No stored footage overlaps the requested window; ``spans`` lists what does exist."""

    def __init__(self, message: str, spans: list[tuple[datetime, datetime]] | None = None) -> None:
        super().__init__(message)
        self.spans: list[tuple[datetime, datetime]] = spans or []


@dataclass
class _Piece:
    """The part of one source that goes into a clip, in the file's own timestamps."""

    source: ClipSource
    inpoint: float | None
    """Seconds in the file where the piece starts (None: from the first frame)."""
    outpoint: float | None
    """Seconds in the file where the piece ends (None: to the last frame)."""
    wall_start: datetime
    """Wall-clock time of the piece's first frame."""
    has_audio: bool


def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise BadClipWindow(f"clip time {value.isoformat()} has no time zone; give an offset such as +08:00")
    return value.astimezone(UTC)


def merge_spans(spans: list[tuple[datetime, datetime]], gap_s: float = 1.0) -> list[tuple[datetime, datetime]]:
    """Join spans that touch or overlap (or are within ``gap_s``), oldest first (see footage.spans)."""
    return spans_rule.merge_spans(spans, timedelta(seconds=gap_s))


def describe_spans(spans: list[tuple[datetime, datetime]], tz: str = "UTC", limit: int = 10) -> str:
    zone = ZoneInfo(tz)
    parts = [f"{a.astimezone(zone).isoformat()} to {b.astimezone(zone).isoformat()}" for a, b in spans[:limit]]
    if len(spans) > limit:
        parts.append(f"and {len(spans) - limit} more")
    return "; ".join(parts) if parts else "none"


def _first_pts_s(stream: av.video.stream.VideoStream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _keyframe_at_or_before(path: Path, offset: float) -> tuple[float, float, bool]:
    """(time of the keyframe at or before ``offset`` s into the file, in the file's own timestamps; the file's
    first timestamp; whether it has audio)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        first = _first_pts_s(stream)
        has_audio = bool(container.streams.audio)
        tb = stream.time_base
        if tb is None:
            raise ClipError(f"{path} has a video stream without a time base; remux it (ffmpeg -c copy) first")
        # A hair later than asked, so rounding never lands on the keyframe before the one at that time.
        target = first + offset + 1e-4
        try:
            container.seek(int(target / tb), stream=stream, backward=True, any_frame=False)
        except av.error.FFmpegError:
            # Some recorders' MP4s refuse seeking (FFmpeg answers EPERM); read the packets forward instead.
            return _last_keyframe_by_reading(container, stream, target, first), first, has_audio
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            return max(first, float(packet.pts * tb)), first, has_audio
    return first, first, has_audio


def _last_keyframe_by_reading(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                              target: float, first: float) -> float:
    """The last keyframe at or before ``target`` (file timestamps, s), found by demuxing from the start: no
    decoding, so an hour of footage costs a second or two."""
    found = first
    for packet in container.demux(stream):
        if packet.pts is None:
            continue
        at = float(packet.pts * (stream.time_base or 0))
        if at > target:
            break
        if packet.is_keyframe:
            found = max(first, at)
    return found


def _file_start(path: Path) -> tuple[float, bool]:
    with av.open(str(path)) as container:
        return _first_pts_s(container.streams.video[0]), bool(container.streams.audio)


def _plan(sources: list[ClipSource], start: datetime, end: datetime) -> list[_Piece]:
    used = sorted((s for s in sources if s.start < end and s.end > start), key=lambda s: s.start)
    if not used:
        spans = merge_spans([(s.start, s.end) for s in sources])
        raise NoFootage(
            f"no footage between {start.isoformat()} and {end.isoformat()}; footage exists for: "
            f"{describe_spans(spans)}; ask for a window inside one of those",
            spans,
        )
    for source in used:
        if not source.path.is_file():
            raise ClipError(f"the stored segment {source.path} (sha256 {source.sha256[:12]}...) is missing; restore "
                            "the footage store from its backup or re-import the file")
    try:
        return _pieces(used, start, end)
    except (av.error.FFmpegError, OSError, IndexError) as exc:
        raise ClipError(f"a stored segment could not be read ({exc}); check the footage store") from exc


def _pieces(used: list[ClipSource], start: datetime, end: datetime) -> list[_Piece]:
    pieces: list[_Piece] = []
    for i, source in enumerate(used):
        first_piece, last_piece = i == 0, i == len(used) - 1
        if first_piece and start > source.start:
            key, first_pts, has_audio = _keyframe_at_or_before(source.path, (start - source.start).total_seconds())
            # No inpoint at the file's very start: FFmpeg would seek, which some files refuse (see above).
            inpoint: float | None = key if key > first_pts else None
            wall_start = source.start + timedelta(seconds=key - first_pts)
        else:
            first_pts, has_audio = _file_start(source.path)
            inpoint = None
            wall_start = source.start
        outpoint = None
        if last_piece and end < source.end:
            outpoint = first_pts + (end - source.start).total_seconds()
        pieces.append(_Piece(source, inpoint, outpoint, wall_start, has_audio))
    return pieces


def _concat_list(pieces: list[_Piece]) -> str:
    lines = ["ffconcat version 1.0"]
    for piece in pieces:
        quoted = str(piece.source.path.resolve()).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
        if piece.inpoint is not None:
            lines.append(f"inpoint {piece.inpoint:.6f}")
        if piece.outpoint is not None:
            lines.append(f"outpoint {piece.outpoint:.6f}")
    return "\n".join(lines) + "\n"


def burn_in_font() -> Path:
    """A TrueType font for burned-in times: DejaVu Sans from matplotlib (an ultralytics dependency)."""
    spec = importlib.util.find_spec("matplotlib")
    candidates = []
    if spec and spec.origin:
        candidates.append(Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf")
    candidates.append(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise ClipError("no font found to burn the time into the picture; install matplotlib or fonts-dejavu")


def _burn_in_text(real_start: datetime, tz: str) -> str:
    zone = ZoneInfo(tz)
    local = real_start.astimezone(zone)
    offset = local.utcoffset() or timedelta(0)
    # drawtext has no time zone of its own: shift the epoch by the camera's offset and format as UTC.
    base = real_start.timestamp() + offset.total_seconds()
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = int(abs(offset.total_seconds()) // 60)
    return f"%{{pts:gmtime:{base:.6f}:%Y-%m-%d %H\\:%M\\:%S}} {sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _probe_duration(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        return (container.duration or 0) / 1_000_000


def cut_clip(sources: list[ClipSource], start: datetime, end: datetime, out: Path, *, exact: bool = False,
             burn_in_tz: str | None = None) -> Clip:
    """Cut ``[start, end)`` out of ``sources`` into ``out`` (MP4); raise NoFootage when none overlaps."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        raise BadClipWindow(f"clip window ends ({end.isoformat()}) before it starts ({start.isoformat()}); "
                            "swap the times")
    if burn_in_tz and not exact:
        raise BadClipWindow("burning the time into the picture needs a re-encode; ask for an exact clip")
    pieces = _plan(sources, start, end)
    real_start = pieces[0].wall_start
    audio = all(p.has_audio for p in pieces)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gw-clip-", dir=out.parent) as tmp:
        list_path = Path(tmp) / "sources.ffconcat"
        list_path.write_text(_concat_list(pieces))
        part = Path(tmp) / "clip.mp4"
        source = ffmpeg.input(str(list_path), f="concat", safe=0)
        streams = [source["v:0"]] + ([source["a:0"]] if audio else [])
        options: dict[str, object] = {"movflags": "+faststart", "map_metadata": -1}
        if exact:
            skip = max(0.0, (start - real_start).total_seconds())
            length = (end - start).total_seconds()
            video = source["v:0"].trim(start=skip, duration=length).setpts("PTS-STARTPTS")
            real_start = max(real_start, start)
            if burn_in_tz:
                text_path = Path(tmp) / "time.txt"
                text_path.write_text(_burn_in_text(real_start, burn_in_tz))
                video = video.drawtext(
                    fontfile=str(burn_in_font()), textfile=str(text_path), fontsize=24, fontcolor="white",
                    box=1, boxcolor="black@0.6", boxborderw=6, x=10, y=10,
                )
            streams = [video]
            if audio:
                streams.append(source["a:0"].filter("atrim", start=skip, duration=length)
                               .filter("asetpts", "PTS-STARTPTS"))
            options.update({"c:v": "libx264", "preset": "veryfast", "crf": 18, "pix_fmt": "yuv420p"})
            if audio:
                options["c:a"] = "aac"
        else:
            options.update({"c": "copy", "avoid_negative_ts": "make_zero"})
        # MP4 keeps creation_time in whole seconds; the comment carries the first frame's time to the microsecond.
        stamp = real_start.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        options["metadata"] = f"creation_time={stamp}"
        options["metadata:g"] = f"comment={START_COMMENT}{stamp}"  # a second -metadata (same target: global)
        output = ffmpeg.output(*streams, str(part), **options)
        try:
            output.run(
                cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True, overwrite_output=True
            )
        except ffmpeg.Error as exc:
            tail = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-3:]
            raise ClipError(f"the clip could not be cut from the stored footage ({' / '.join(tail)}); "
                            "check the stored segments") from exc
        os.replace(part, out)
    duration = _probe_duration(out)
    return Clip(
        path=out, start=real_start, end=real_start + timedelta(seconds=duration), sha256=file_sha256(out),
        size=out.stat().st_size, sources=[p.source for p in pieces], exact=exact,
    )


def _cache_key(sources: list[ClipSource], start: datetime, end: datetime, exact: bool,
               burn_in_tz: str | None) -> str:
    used = sorted((s for s in sources if s.start < end and s.end > start), key=lambda s: s.start)
    material = json.dumps({
        "v": CUT_VERSION, "sources": [[s.sha256, s.start.isoformat(), s.end.isoformat()] for s in used],
        "start": start.isoformat(), "end": end.isoformat(), "exact": exact, "burn_in_tz": burn_in_tz,
    }, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _clip_to_json(clip: Clip) -> dict[str, object]:
    return {
        "start": clip.start.isoformat(), "end": clip.end.isoformat(), "sha256": clip.sha256, "size": clip.size,
        "exact": clip.exact,
        "sources": [{"path": str(s.path), "start": s.start.isoformat(), "end": s.end.isoformat(),
                     "sha256": s.sha256} for s in clip.sources],
    }


def _clip_from_json(path: Path, data: dict[str, object]) -> Clip:
    listed = cast(list[dict[str, str]], data["sources"])
    sources = [ClipSource(Path(s["path"]), datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]),
                          s["sha256"]) for s in listed]
    return Clip(path=path, start=datetime.fromisoformat(str(data["start"])),
                end=datetime.fromisoformat(str(data["end"])), sha256=str(data["sha256"]),
                size=int(cast(int, data["size"])), sources=sources, exact=bool(data["exact"]))


def cached_clip(cache_dir: Path, sources: list[ClipSource], start: datetime, end: datetime, *, exact: bool = False,
                burn_in_tz: str | None = None, cut_guard: AbstractContextManager[object] | None = None) -> Clip:
    """The clip for this window and mode, cut once and then reused from ``cache_dir``.

    ``cut_guard`` is entered around the cut only (not a cache hit): the API passes its concurrency limit there.
    """
    start, end = _aware(start), _aware(end)
    key = _cache_key(sources, start, end, exact, burn_in_tz)
    mp4, meta = cache_dir / f"{key}.mp4", cache_dir / f"{key}.json"
    if mp4.exists() and meta.exists():
        try:
            clip = _clip_from_json(mp4, json.loads(meta.read_text()))
            if clip.size == mp4.stat().st_size:
                os.utime(meta)  # recently used: pruned last
                return clip
        except (ValueError, KeyError, TypeError, OSError):
            pass  # a damaged (or just pruned) entry is cut again below
    cache_dir.mkdir(parents=True, exist_ok=True)
    with cut_guard or nullcontext():
        clip = cut_clip(sources, start, end, mp4, exact=exact, burn_in_tz=burn_in_tz)
    tmp_meta = meta.with_suffix(f".{os.getpid()}.tmp")
    tmp_meta.write_text(json.dumps(_clip_to_json(clip)))
    os.replace(tmp_meta, meta)
    prune_cache(cache_dir, get_settings().clip_cache_bytes, keep=key)
    return clip


def prune_cache(cache_dir: Path, max_bytes: int, keep: str | None = None) -> int:
    """Delete the least recently used cached clips until the cache holds at most ``max_bytes``; returns how many.

    Clips are cheap to cut again, so the cache only has to keep the ones being watched.
    """
    entries = []
    total = 0
    for mp4 in cache_dir.glob("*.mp4"):
        meta = mp4.with_suffix(".json")
        try:
            size = mp4.stat().st_size
            used = meta.stat().st_mtime if meta.exists() else mp4.stat().st_mtime
        except OSError:
            continue
        total += size
        entries.append((used, size, mp4, meta))
    removed = 0
    for _, size, mp4, meta in sorted(entries, key=lambda e: e[0]):
        if total <= max_bytes:
            break
        if mp4.stem == keep:
            continue
        for path in (meta, mp4):  # the index first: a clip without it is never served
            path.unlink(missing_ok=True)
        total -= size
        removed += 1
    return removed


def footage_spans(session: Session, camera_id: str) -> list[tuple[datetime, datetime]]:
    """The spans of wall-clock time that a camera has stored footage for, contiguous segments joined."""
    rows = session.execute(
        select(Segment.start, Segment.end).where(Segment.camera_id == camera_id).order_by(Segment.start)
    ).all()
    return merge_spans([(row.start, row.end) for row in rows])


def sources_for(session: Session, camera_id: str, start: datetime, end: datetime) -> list[ClipSource]:
    """The camera's stored segments that overlap ``[start, end)``, oldest first.

    Raises NoFootage (naming the spans the camera does have) when none overlaps.
    """
    start, end = _aware(start), _aware(end)
    home = get_settings().resolved_home
    rows = session.scalars(
        select(Segment).where(Segment.camera_id == camera_id, Segment.start < end, Segment.end > start)
        .order_by(Segment.start)
    ).all()
    if not rows:
        camera = session.get(Camera, camera_id)
        tz = camera.timezone if camera else "UTC"
        spans = footage_spans(session, camera_id)
        zone = ZoneInfo(tz)
        raise NoFootage(
            f"camera {camera_id!r} has no footage between {start.astimezone(zone).isoformat()} and "
            f"{end.astimezone(zone).isoformat()}; it has footage for: {describe_spans(spans, tz)}",
            spans,
        )
    return [ClipSource(path=home / row.path, start=row.start, end=row.end, sha256=row.sha256) for row in rows]
