"""Reading video for the index: the packet trace (sizes and keyframes, no decoding) and frames of chosen spans.

Times are seconds from the segment's first frame, taken from each frame's own timestamp (never frame index
divided by fps), so variable-frame-rate files come out right. Frames are turned to the viewer's orientation
(``rotation`` degrees clockwise) before anyone measures zones on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

ROTATIONS = {0: None, 90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


class DecodeError(RuntimeError):
    """The file cannot be read as video."""


def time_base_s(stream: av.video.stream.VideoStream) -> float:
    """Seconds per timestamp tick of a video stream."""
    if stream.time_base is None:
        raise DecodeError("the video stream has no time base, so its frames have no times; remux the file "
                          "(ffmpeg -i IN -c copy OUT) and try again")
    return float(stream.time_base)


@dataclass
class PacketTrace:
    """What demuxing (without decoding) tells about every frame of the video stream, in presentation order."""

    times: np.ndarray
    """(N,) float64 seconds from the first frame."""
    sizes: np.ndarray
    """(N,) int64 compressed size of each frame in bytes: the bits the encoder spent on it."""
    keyframe: np.ndarray
    """(N,) bool: the frame is a keyframe (decodable on its own)."""
    origin_s: float
    """Presentation time of the first frame in the stream's own clock, in seconds."""
    duration_s: float
    """From the first frame to the end of the last one, in seconds."""
    width: int
    """Coded frame width in pixels (before rotation)."""
    height: int
    """Coded frame height in pixels (before rotation)."""
    codec: str
    """Decoder name, e.g. h264, mpeg4, rawvideo."""


def open_video(path: Path) -> av.container.InputContainer:
    """The file opened for demuxing; DecodeError (saying what is wrong) when it is not a video."""
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise DecodeError(f"{path.name} cannot be opened as video ({exc}); check that the file is complete.") from exc
    if not container.streams.video:
        container.close()
        raise DecodeError(f"{path.name} has no video stream; import a video file.")
    return container


def read_packets(path: Path) -> PacketTrace:
    """Demux the video stream without decoding it: per-frame times, sizes and keyframe flags."""
    with open_video(path) as container:
        stream = container.streams.video[0]
        time_base = time_base_s(stream)
        rows: list[tuple[int, int, bool, int]] = []
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                rows.append((packet.pts, packet.size, bool(packet.is_keyframe), packet.duration or 0))
        except av.FFmpegError:
            pass  # a truncated tail: keep what was read, the decoder will stop at the same place
        width, height = stream.codec_context.width, stream.codec_context.height
        codec = stream.codec_context.name
        rate = float(stream.average_rate or stream.guessed_rate or 0) or 25.0
    if not rows:
        raise DecodeError(f"{path.name} holds no video frames; check that the file is complete.")
    rows.sort(key=lambda row: row[0])
    pts = np.array([row[0] for row in rows], dtype=np.int64)
    origin = int(pts[0])
    times = (pts - origin) * time_base
    last_duration = rows[-1][3] * time_base or 1.0 / rate
    return PacketTrace(
        times=times.astype(np.float64),
        sizes=np.array([row[1] for row in rows], dtype=np.int64),
        keyframe=np.array([row[2] for row in rows], dtype=bool),
        origin_s=origin * time_base,
        duration_s=float(times[-1] + last_duration),
        width=width,
        height=height,
        codec=codec,
    )


def rotate(image: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a decoded picture ``rotation`` degrees clockwise (0, 90, 180, 270) into the viewer's orientation."""
    code = ROTATIONS.get(rotation % 360)
    return image if code is None else cv2.rotate(image, code)


def grey_small(frame: av.VideoFrame, width: int) -> np.ndarray:
    """A small grey picture from the luma plane: cheaper than a full colour conversion."""
    if frame.format.name in {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "gray"}:
        plane = frame.planes[0]
        # A VideoPlane is a buffer, but PyAV's stubs do not say so.
        luma = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]  # type: ignore[call-overload]
    else:
        luma = frame.to_ndarray(format="gray")
    height = max(1, round(luma.shape[0] * width / luma.shape[1]))
    return cv2.resize(luma, (width, height), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class Span:
    """A stretch of the segment, in seconds from its first frame."""

    start_s: float
    """Start of the stretch."""
    end_s: float
    """End of the stretch (inclusive)."""

    @property
    def length_s(self) -> float:
        return self.end_s - self.start_s


def _packet_time(packet: av.Packet, time_base: float, origin_s: float) -> float | None:
    return None if packet.pts is None else packet.pts * time_base - origin_s


def _skip_deblocking(stream: av.video.stream.VideoStream) -> None:
    """Skip the in-loop deblocking filter: motion measured on 160-px grey pictures does not see its blocks,
    and H.264 decodes ~1.8x faster without it (measured on the noisy bench footage)."""
    stream.codec_context.options = {**stream.codec_context.options, "skip_loop_filter": "all"}


class FrameReader:
    """One open decoder over a file, read span after span (in time order) without reopening it.

    ``read`` reaches each span by seeking to the keyframe before it, or by decoding on when the span starts
    within 2 s of where the last one stopped, so quiet stretches between spans are never decoded. Files the
    demuxer cannot seek in (some MP4s without an index) are read forward, and packets before the keyframe that
    precedes a span are skipped undecoded; only going backwards in such a file reopens it. Pictures are BGR at
    full size, or grey ``grey_width`` pixels wide (decoded without deblocking); both turned by ``rotation``.
    """

    def __init__(self, path: Path, *, rotation: int = 0, grey_width: int | None = None, origin_s: float = 0.0,
                 threads: bool = True) -> None:
        self.path = Path(path)
        self.rotation = rotation
        self.grey_width = grey_width
        self.origin_s = origin_s
        self._threads = threads
        self._keyframes: np.ndarray | None = None
        self._seekable = True
        self._container = self._fresh()

    def _fresh(self) -> av.container.InputContainer:
        container = open_video(self.path)
        self._stream = container.streams.video[0]
        if self._threads:
            self._stream.thread_type = "AUTO"
        if self.grey_width is not None:
            _skip_deblocking(self._stream)
        self._time_base = time_base_s(self._stream)
        self._packets: Iterator[av.Packet] | None = None
        self._pending: list[av.VideoFrame] = []  # frames decoded past the previous span's end
        self._position = -np.inf  # time of the last packet read
        return container

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _reach(self, span: Span) -> bool:
        """Put the demuxer where decoding ``span`` can begin; False when the file ends before it."""
        stream = self._stream
        if not (self._packets is None or span.start_s < self._position or span.start_s - self._position > 2.0):
            return True
        if self._seekable:
            try:
                self._container.seek(int((span.start_s + self.origin_s) / self._time_base), stream=stream,
                                     backward=True)
                stream.codec_context.flush_buffers()
                self._packets = self._container.demux(stream)
                self._pending = []
                return True
            except av.FFmpegError:
                self._seekable = False
        if self._keyframes is None:
            trace = read_packets(self.path)
            self._keyframes = trace.times[trace.keyframe]
        if self._packets is None or span.start_s < self._position:
            self._container.close()
            self._container = self._fresh()
            self._packets = self._container.demux(self._stream)
        before = self._keyframes[self._keyframes <= span.start_s + 1e-6]
        resume_at = float(before[-1]) if len(before) else 0.0
        if resume_at > self._position:
            for packet in self._packets:
                t = _packet_time(packet, self._time_base, self.origin_s)
                if t is not None:
                    self._position = t
                if packet.is_keyframe and t is not None and t >= resume_at - 1e-6:
                    break
            else:
                return False
            self._packets = _chain_one(packet, self._packets)
            self._stream.codec_context.flush_buffers()
            self._pending = []
        return True

    def read(self, span: Span, every_s: float = 0.0,
             wanted: Callable[[float], bool] | None = None) -> Iterator[tuple[float, np.ndarray]]:
        """Decode one span; yield (time, picture) about every ``every_s`` s (0: every frame).

        ``wanted``, when given, picks the frames (by time) turned into pictures; the others are decoded only.
        """
        try:
            if not self._reach(span):
                return
            assert self._packets is not None
            for _, t, picture in _decode_span(self._packets, self._pending, self._stream, span, every_s, wanted,
                                              self.rotation, self.grey_width, self.origin_s):
                yield t, picture
            self._position = max(self._position, span.end_s)
        except av.FFmpegError as exc:
            if not isinstance(exc, av.error.InvalidDataError | av.error.EOFError):
                raise DecodeError(f"{self.path.name} could not be decoded ({exc}); the file may be corrupt.") from exc


def iter_frames(
    path: Path,
    spans: list[Span],
    *,
    every_s: float = 0.0,
    rotation: int = 0,
    grey_width: int | None = None,
    origin_s: float = 0.0,
    wanted: Callable[[float], bool] | None = None,
) -> Iterator[tuple[Span, float, np.ndarray]]:
    """Decode the given spans (in time order) through one ``FrameReader``; yield (span, time, picture)."""
    with FrameReader(path, rotation=rotation, grey_width=grey_width, origin_s=origin_s) as reader:
        for span in spans:
            for t, picture in reader.read(span, every_s, wanted):
                yield span, t, picture


def _chain_one(first: av.Packet, rest: Iterator[av.Packet]) -> Iterator[av.Packet]:
    yield first
    yield from rest


def _frames(packets: Iterator[av.Packet], pending: list[av.VideoFrame],
            stream: av.video.stream.VideoStream) -> Iterator[av.VideoFrame]:
    while pending:
        yield pending.pop(0)
    for packet in packets:
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:
            continue  # a damaged packet: the next keyframe recovers
    # The end of the file: drain the decoder's delayed frames.
    yield from stream.codec_context.decode(None)


def _decode_span(
    packets: Iterator[av.Packet],
    pending: list[av.VideoFrame],
    stream: av.video.stream.VideoStream,
    span: Span,
    every_s: float,
    wanted: Callable[[float], bool] | None,
    rotation: int,
    grey_width: int | None,
    origin_s: float,
) -> Iterator[tuple[Span, float, np.ndarray]]:
    """Decode until the span's end; frames before its start are decoded (needed) but not yielded, and the
    first frame past its end is kept in ``pending`` for the next span."""
    time_base = time_base_s(stream)
    next_t = span.start_s
    for frame in _frames(packets, pending, stream):
        if frame.pts is None:
            continue
        t = frame.pts * time_base - origin_s
        if t > span.end_s + 1e-6:
            pending.append(frame)
            return
        if t < span.start_s - 1e-6 or t + 1e-6 < next_t:
            continue
        if wanted is not None and not wanted(t):
            continue  # converting a frame to a picture costs more than decoding it
        if every_s > 0:
            # On a fixed grid from the span's start: jittery frame spacing must not lower the rate.
            next_t = span.start_s + (np.floor((t - span.start_s) / every_s + 1e-6) + 1) * every_s
        picture = grey_small(frame, grey_width) if grey_width else frame.to_ndarray(format="bgr24")
        yield span, float(t), rotate(picture, rotation)
