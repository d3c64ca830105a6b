"""The clip half of the search bench (bench/search.py): two hour-long segments of a real recording on a camera of
its own, and the first byte and whole of 30 s clips cut from them over the HTTP API; and the bench's summaries."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select

from footage.clips import ffmpeg_exe
from footage.db import session_scope
from footage.models import Camera, Segment, Site

REPO = Path(__file__).resolve().parents[1]
FOOTAGE = Path(os.environ.get("GATEWATCH_TEST_FOOTAGE", REPO.parent / "shared" / "footage"))
CLIP_CAMERA = "clip-cam"
LOOPED_SOURCE = "parking_aisle_car_detection.mp4"


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def summary_ms(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": pct(values, 50), "p95_ms": pct(values, 95), "p99_ms": pct(values, 99),
            "max_ms": round(max(values), 2)}


def looped_segments(work: Path) -> list[Path]:
    """Two hour-long files: a real 30 s recording looped by stream copy (-stream_loop), no re-encode."""
    work.mkdir(parents=True, exist_ok=True)
    outs = []
    for n, seconds in enumerate((3600, 3590)):
        out = work / f"hour_{n}.mp4"
        if not out.exists():
            subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1", "-i",
                            str(FOOTAGE / LOOPED_SOURCE), "-t", str(seconds), "-map", "0:v", "-c", "copy",
                            str(out)], check=True)
        outs.append(out)
    return outs


def probe_video(path: Path) -> tuple[float, float, int, int, str]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        duration = float(stream.duration * stream.time_base) if stream.duration else container.duration / 1e6
        return duration, float(stream.average_rate or 0), stream.width, stream.height, stream.codec_context.name


def add_clip_camera(home: Path) -> None:
    import hashlib
    import shutil

    with session_scope() as session:
        if session.get(Camera, CLIP_CAMERA) is not None:
            return
        site = session.scalar(select(Site).where(Site.name == "Site 00"))
        session.add(Camera(id=CLIP_CAMERA, site_id=site.id, gate="Clip gate", timezone="Asia/Shanghai", zones={}))
        start = datetime(2025, 6, 1, tzinfo=UTC)
        for path in looped_segments(home / "looped"):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            stored = home / "store" / digest[:2] / f"{digest}.mp4"
            stored.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, stored)
            duration, fps, width, height, codec = probe_video(stored)
            session.add(Segment(camera_id=CLIP_CAMERA, path=str(stored.relative_to(home)), original_name=path.name,
                                sha256=digest, size_bytes=stored.stat().st_size, start=start,
                                end=start + timedelta(seconds=duration), start_source="stated", fps=fps,
                                codec=codec, width=width, height=height, status="indexed"))
            start += timedelta(seconds=duration)


async def bench_clips(url: str, token: str, home: Path) -> dict[str, object]:
    import shutil

    import httpx

    shutil.rmtree(home / "clips", ignore_errors=True)
    base = datetime(2025, 6, 1, tzinfo=UTC)
    windows = [(600 + 240 * i, "inside one segment") for i in range(8)] + [(3585, "across the join")] * 1
    first_byte: list[float] = []
    whole: list[float] = []
    rows = []
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for offset, kind in windows:
            params = {"from": (base + timedelta(seconds=offset)).isoformat(),
                      "to": (base + timedelta(seconds=offset + 30)).isoformat()}
            start = time.perf_counter()
            async with client.stream("GET", f"/api/v1/cameras/{CLIP_CAMERA}/clip.mp4", params=params) as response:
                assert response.status_code == 200, await response.aread()
                size = 0
                ttfb = None
                async for chunk in response.aiter_bytes():
                    if ttfb is None:
                        ttfb = (time.perf_counter() - start) * 1000
                    size += len(chunk)
            total = (time.perf_counter() - start) * 1000
            first_byte.append(ttfb or total)
            whole.append(total)
            rows.append({"window": kind, "first_byte_ms": round(ttfb or total, 1), "whole_ms": round(total, 1),
                         "bytes": size, "clip_start": response.headers["x-clip-start"],
                         "clip_end": response.headers["x-clip-end"]})
        start = time.perf_counter()
        response = await client.get(f"/api/v1/cameras/{CLIP_CAMERA}/clip.mp4", params=params)
        cached_ms = (time.perf_counter() - start) * 1000
    return {
        "segments": "two hour-long files, parking_aisle_car_detection.mp4 looped by -stream_loop with -c copy",
        "clip_s": 30, "mode": "stream copy", "first_byte": summary_ms(first_byte), "whole": summary_ms(whole),
        "cached_whole_ms": round(cached_ms, 1), "runs": rows,
    }
