"""Short clips made from the plate stills in ../shared/plates/, so plate reading is measured through the real
pipeline (import, index, plate stage, search) and not on still images.

Each clip is a few seconds of a slow zoom towards the vehicle with a small drift sideways (a car rolling up to
a barrier, seen by a fixed camera), drawn with OpenCV and encoded with the bundled FFmpeg (H.264, yuv420p),
1280x720 at 12 frames a second. Stills larger than the frame are scaled down to fit; smaller ones are kept at
their own size on a grey surround (upscaling would invent detail the camera never had).
The plate texts are the README's ground truth, copied into ``PLATES`` below.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
MATERIAL = REPO.parent / "shared" / "plates"
SIZE = (1280, 720)
FPS = 12
SECONDS = 3.0
ZOOM = 0.25
"""How much larger the picture is at the clip's end than at its start."""
DRIFT_PX = 60

PLATES: dict[str, str] = {
    "szad670401_A.jpg": "浙F·EQ635",
    "szad670401_test1.jpg": "云A·4X315",
    "szad670401_3144391.png": "云A·D3D65",
    "szad670401_4.jpg": "云A·1EF52",
    "szad670401_5.jpg": "新A·89R95",
    "szad670401_6.jpg": "新A·533E3",
    "szad670401_7.jpg": "新H·33327",
    "szad670401_8.jpg": "新H·33327",
    "szad670401_9.jpg": "新M·52090",
    "szad670401_0.jpg": "川A·F058Y",
    "szad670401_1.jpg": "川A·35D98",
    "szad670401_2.jpg": "川A·UE022",
    "szad670401_10.jpg": "晋H·41014",
    "szad670401_12.JPG": "晋A·P186W",
    "szad670401_14.JPG": "晋A·H315P",
    "szad670401_25.JPG": "晋A·19M83",
    "szad670401_test_img.jpg": "苏E·D51712",
    "detectRecog_0.jpg": "皖A·195K9",
    "detectRecog_1.jpg": "皖A·UJ299",
    "detectRecog_2.jpg": "皖A·T022C",
    "detectRecog_3.jpg": "皖A·MK620",
    "detectRecog_4.jpg": "皖A·256R2",
    "parkpow_test.jpg": "72A-328.66",
}
"""Still -> its plate, as the material's README gives it (23 stills)."""

ABSENT = ["京A·88888", "粤B·12345", "沪C·D4471", "51F-999.99", "苏A·ZZ000"]
"""Plates in none of the material: a search for them must return nothing."""


def _fit(image: np.ndarray) -> np.ndarray:
    """The still on a 1280x720 grey canvas: scaled down to fit when larger, at its own size when smaller."""
    width, height = SIZE
    scale = min(1.0, width / image.shape[1], height / image.shape[0])
    if scale < 1.0:
        image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                           interpolation=cv2.INTER_AREA)
    canvas = np.full((height, width, 3), 96, np.uint8)
    y, x = (height - image.shape[0]) // 2, (width - image.shape[1]) // 2
    canvas[y:y + image.shape[0], x:x + image.shape[1]] = image
    return canvas


def _frames(still: np.ndarray) -> list[np.ndarray]:
    base = _fit(still)
    width, height = SIZE
    count = round(SECONDS * FPS)
    frames = []
    for i in range(count):
        progress = i / max(1, count - 1)
        zoom = 1.0 + ZOOM * progress
        shift = DRIFT_PX * (progress - 0.5)
        matrix = np.array([[zoom, 0.0, (1 - zoom) * width / 2 + shift],
                           [0.0, zoom, (1 - zoom) * height / 2]], np.float32)
        frames.append(cv2.warpAffine(base, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=(96, 96, 96)))
    return frames


def make_clip(still: Path, target: Path) -> Path:
    """An H.264 clip of ``still`` with slight motion at ``target`` (kept when it exists already)."""
    if target.exists():
        return target
    import imageio_ffmpeg

    image = cv2.imread(str(still))
    if image is None:
        raise FileNotFoundError(f"{still} is not a readable image")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.mp4")
    width, height = SIZE
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
               "-s", f"{width}x{height}", "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-preset", "veryfast",
               "-crf", "20", "-g", str(FPS * 2), "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(partial)]
    frames = b"".join(frame.tobytes() for frame in _frames(image))
    subprocess.run(command, input=frames, check=True)
    partial.rename(target)
    return target
