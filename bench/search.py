"""Search and clip benchmark: 1,000,000 events on 100 cameras over a year, queried through the Python layer and
through the HTTP API under 50 concurrent clients; first byte and whole of a 30 s clip out of hour-long segments.

    python bench/search.py [--events 1000000] [--rebuild] [--requests 2000] [--concurrency 50]

Prints one JSON object. The data folder is bench/out/search (kept between runs: the index is built once).
Everything runs on this machine over loopback: uvicorn in a subprocess, httpx/asyncio clients in this one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HOME = REPO / "bench" / "out" / "search"
FOOTAGE = Path(os.environ.get("GATEWATCH_TEST_FOOTAGE", REPO.parent / "shared" / "footage"))
os.environ["GATEWATCH_HOME"] = str(HOME)
os.environ.pop("GATEWATCH_DATABASE_URL", None)
os.environ["GATEWATCH_LOCAL_WORKERS"] = "0"
os.environ.setdefault("YOLO_OFFLINE", "1")
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402

from api.database import migrate  # noqa: E402
from detection.models import Event  # noqa: E402
from detection.search import build_search, explain, make_query, search_events  # noqa: E402
from footage.clips import ffmpeg_exe  # noqa: E402
from footage.db import get_engine, session_scope  # noqa: E402
from footage.models import Camera, Segment, Site  # noqa: E402

YEAR_START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 365
SITES = 10
CAMERAS_PER_SITE = 10
GATES = ["North gate", "South gate", "East gate", "West gate", "Service gate"]
ZONES_OF_SITE = ["Asia/Shanghai"] * 7 + ["Asia/Singapore", "Europe/London", "America/New_York"]
LABELS = np.array(["car", "person", "truck", "motorcycle", "bicycle", "bus"])
LABEL_P = [0.55, 0.20, 0.08, 0.07, 0.06, 0.04]
COLOURS = np.array(["white", "black", "grey", "silver", "red", "blue", "green", "yellow"])
ZONE_SETS = ['[]', '["barrier"]', '["lane"]', '["barrier", "lane"]', '["kerb"]']
CLIP_CAMERA = "clip-cam"
LOOPED_SOURCE = "parking_aisle_car_detection.mp4"


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def summary_ms(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": pct(values, 50), "p95_ms": pct(values, 95), "p99_ms": pct(values, 99),
            "max_ms": round(max(values), 2)}


def camera_ids() -> list[str]:
    return [f"s{s:02d}-c{c:02d}" for s in range(SITES) for c in range(CAMERAS_PER_SITE)]


def fill(n_events: int) -> dict[str, float]:
    """Sites, cameras, a segment per camera per day, and ``n_events`` events, by executemany in one transaction."""
    rng = np.random.default_rng(7)
    t0 = time.perf_counter()
    with session_scope() as session:
        for s in range(SITES):
            site = Site(name=f"Site {s:02d}")
            session.add(site)
            session.flush()
            for c in range(CAMERAS_PER_SITE):
                session.add(Camera(id=f"s{s:02d}-c{c:02d}", site_id=site.id, gate=GATES[c // 2],
                                   timezone=ZONES_OF_SITE[s], zones={}))
    cams = camera_ids()
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    seg_rows = []
    for ci, cam in enumerate(cams):
        for d in range(DAYS):
            start = YEAR_START + timedelta(days=d)
            seg_rows.append((ci * DAYS + d + 1, cam, f"store/bench/{cam}/{d}.mp4", f"{d}.mp4",
                             f"{ci:04d}{d:04d}".ljust(64, "0"), 1, start.strftime(fmt),
                             (start + timedelta(days=1)).strftime(fmt), "stated", 25.0, 0, "h264", 1280, 720, 0,
                             "indexed", start.strftime(fmt), "{}"))
    raw = get_engine().raw_connection()
    try:
        cur = raw.cursor()
        cur.executemany(
            "INSERT INTO segment (id, camera_id, path, original_name, sha256, size_bytes, start, \"end\", "
            "start_source, fps, variable_frame_rate, codec, width, height, rotation, status, imported_at, probe) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", seg_rows)
        cam_index = rng.integers(0, len(cams), n_events)
        offset_us = rng.integers(0, DAYS * 86400 * 10**6, n_events)
        duration_s = np.clip(rng.lognormal(np.log(12), 0.8, n_events), 1, 300)
        stationary = rng.random(n_events) < 0.02
        duration_s[stationary] = 3600.0
        labels = rng.choice(LABELS, n_events, p=LABEL_P)
        scores = rng.uniform(0.3, 0.95, n_events).round(4)
        dwell = np.where(rng.random(n_events) < 0.2, rng.exponential(20, n_events), 0.0).round(2)
        colours = rng.choice(COLOURS, n_events)
        zones = rng.integers(0, len(ZONE_SETS), n_events)
        base = np.datetime64("2024-01-01T00:00:00", "us")
        starts = base + offset_us.astype("timedelta64[us]")
        ends = starts + (duration_s * 1e6).astype("int64").astype("timedelta64[us]")
        start_text = np.char.replace(np.datetime_as_string(starts, unit="us"), "T", " ")
        end_text = np.char.replace(np.datetime_as_string(ends, unit="us"), "T", " ")
        day = (offset_us // (86400 * 10**6)).astype(int)
        batch = 100_000
        for lo in range(0, n_events, batch):
            hi = min(lo + batch, n_events)
            rows = [
                (cams[cam_index[i]], int(cam_index[i]) * DAYS + int(day[i]) + 1, str(labels[i]), str(start_text[i]),
                 str(end_text[i]), float(scores[i]), ZONE_SETS[zones[i]], float(dwell[i]), None,
                 int(stationary[i]), None if labels[i] == "person" else str(colours[i]), "[]")
                for i in range(lo, hi)
            ]
            cur.executemany(
                "INSERT INTO event (camera_id, segment_id, label, start, \"end\", score, zones, dwell_s, dwell_zone, "
                "stationary, colour, track) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        raw.commit()
    finally:
        raw.close()
    return {"fill_s": round(time.perf_counter() - t0, 1)}


def typical_queries(rng: random.Random) -> dict[str, dict[str, object]]:
    site = rng.randrange(SITES)
    gate = rng.choice(GATES)
    day = rng.randrange(DAYS - 8)
    hour = rng.randrange(22)
    two_hours_from = YEAR_START + timedelta(days=day, hours=hour)
    week_from = YEAR_START + timedelta(days=day)
    return {
        "gate_two_hours_vehicles": {
            "sites": [f"Site {site:02d}"], "gates": [gate], "labels": ["vehicle"],
            "start": two_hours_from.isoformat(), "end": (two_hours_from + timedelta(hours=2)).isoformat(),
        },
        "site_overnight_week_min_dwell": {
            "sites": [f"Site {site:02d}"], "time_of_day": "22:00-06:00", "min_dwell": 10,
            "start": week_from.isoformat(), "end": (week_from + timedelta(days=7)).isoformat(),
        },
    }


def as_params(filters: dict[str, object]) -> list[tuple[str, str]]:
    names = {"sites": "site", "gates": "gate", "labels": "label", "start": "from", "end": "to"}
    params: list[tuple[str, str]] = []
    for key, value in filters.items():
        for item in value if isinstance(value, list) else [value]:
            params.append((names.get(key, key), str(item)))
    return params


def bench_python(rounds: int) -> dict[str, object]:
    rng = random.Random(11)
    t0 = time.perf_counter()
    with session_scope() as session:
        search_events(session, make_query(session, **typical_queries(rng)["gate_two_hours_vehicles"]))
    cold_ms = (time.perf_counter() - t0) * 1000
    timings: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    results: dict[str, list[int]] = {}
    for _ in range(rounds):
        for name, filters in typical_queries(rng).items():
            start, start_cpu = time.perf_counter(), time.thread_time()
            with session_scope() as session:
                page = search_events(session, make_query(session, limit=50, **filters))
            timings.setdefault(name, []).append((time.perf_counter() - start) * 1000)
            # CPU time of this thread (SQLite runs in it): what the query costs, whatever else the machine runs.
            cpu.setdefault(name, []).append((time.thread_time() - start_cpu) * 1000)
            results.setdefault(name, []).append(len(page.events))
    plans = {}
    with session_scope() as session:
        for name, filters in typical_queries(rng).items():
            statement, _ = build_search(session, make_query(session, **filters))
            # On PostgreSQL with ANALYZE, BUFFERS: how many table pages the search read, not only which index.
            plans[name] = explain(session, statement, analyze=True)
    return {
        "first_query_ms (fills the longest-span cache)": round(cold_ms, 1),
        **{name: {**summary_ms(values), "mean_results": round(statistics.mean(results[name]), 1),
                  "cpu_p50_ms": pct(cpu[name], 50), "cpu_p95_ms": pct(cpu[name], 95)}
           for name, values in timings.items()},
        "plans": plans,
        "plans_use_index": all(plan_uses_index(lines) for lines in plans.values()),
    }


def plan_uses_index(lines: list[str]) -> bool:
    """The plan reads events through one of their indexes and never scans the whole table (SQLite or PostgreSQL)."""
    text = " | ".join(lines)
    sqlite = "USING INDEX ix_event" in text or "USING COVERING INDEX ix_event" in text
    postgres = "Index Scan on ix_event" in text or "Index Scan using ix_event" in text
    return (sqlite or postgres) and "SCAN event" not in text and "Seq Scan on event" not in text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--log-level", "warning", "--no-access-log", "--workers", str(workers)],
        cwd=REPO, env={**os.environ}, stdout=subprocess.DEVNULL, stderr=(HOME / "server.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(300):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"uvicorn exited; see {HOME / 'server.log'}")
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("uvicorn did not answer /healthz in 30 s")


def server_cpu_s(pid: int) -> float:
    """CPU seconds used so far by the server process and its children (uvicorn workers)."""
    import psutil

    proc = psutil.Process(pid)
    total = sum(proc.cpu_times()[:2])
    for child in proc.children(recursive=True):
        total += sum(child.cpu_times()[:2])
    return total


async def load(url: str, token: str, requests: int, concurrency: int, pid: int) -> dict[str, object]:
    import httpx

    rng = random.Random(13)
    jobs = []
    for _ in range(requests // 2 + 1):
        jobs.extend(typical_queries(rng).items())
    jobs = jobs[:requests]
    latencies: dict[str, list[float]] = {}
    errors: list[int] = []
    queue: asyncio.Queue[tuple[str, dict[str, object]]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:
        async def worker() -> None:
            while not queue.empty():
                name, filters = queue.get_nowait()
                start = time.perf_counter()
                response = await client.get("/api/v1/events", params=as_params(filters))
                elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 200:
                    errors.append(response.status_code)
                latencies.setdefault(name, []).append(elapsed)

        await client.get("/api/v1/events", params=as_params(jobs[0][1]))  # warm the span cache
        t0, cpu0 = time.perf_counter(), server_cpu_s(pid)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall, cpu_used = time.perf_counter() - t0, server_cpu_s(pid) - cpu0
    everything = [v for values in latencies.values() for v in values]
    return {
        "requests": len(everything), "concurrency": concurrency, "errors": len(errors),
        "throughput_rps": round(len(everything) / wall, 1),
        "server_cpu_ms_per_request": round(cpu_used * 1000 / max(1, len(everything)), 2),
        "all": summary_ms(everything),
        **{name: summary_ms(values) for name, values in latencies.items()},
    }


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


def add_clip_camera() -> None:
    import hashlib
    import shutil

    with session_scope() as session:
        if session.get(Camera, CLIP_CAMERA) is not None:
            return
        site = session.scalar(select(Site).where(Site.name == "Site 00"))
        session.add(Camera(id=CLIP_CAMERA, site_id=site.id, gate="Clip gate", timezone="Asia/Shanghai", zones={}))
        start = datetime(2025, 6, 1, tzinfo=UTC)
        for path in looped_segments(HOME / "looped"):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            stored = HOME / "store" / digest[:2] / f"{digest}.mp4"
            stored.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, stored)
            duration, fps, width, height, codec = probe_video(stored)
            session.add(Segment(camera_id=CLIP_CAMERA, path=str(stored.relative_to(HOME)), original_name=path.name,
                                sha256=digest, size_bytes=stored.stat().st_size, start=start,
                                end=start + timedelta(seconds=duration), start_source="stated", fps=fps,
                                codec=codec, width=width, height=height, status="indexed"))
            start += timedelta(seconds=duration)


async def bench_clips(url: str, token: str) -> dict[str, object]:
    import shutil

    import httpx

    shutil.rmtree(HOME / "clips", ignore_errors=True)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true", help="Delete the bench data folder and fill it again.")
    parser.add_argument("--rounds", type=int, default=200, help="Python-layer searches of each kind.")
    parser.add_argument("--requests", type=int, default=2000, help="HTTP searches in the load test.")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--api-workers", type=int, default=1,
                        help="uvicorn worker processes (1 is what 'gatewatch serve' runs).")
    parser.add_argument("--bulk-fill", action="store_true",
                        help="Fill with bench.fill_bulk (indexes built after the rows, each timed): for 10M events.")
    parser.add_argument("--fill-order", choices=["random", "camera-time"], default="random",
                        help="PostgreSQL bulk fill: rows in random order, or per camera in time order (as indexed).")
    parser.add_argument("--database-url", help="Run against this database (e.g. a PostgreSQL one made for it) "
                                               "instead of SQLite in the data folder.")
    parser.add_argument("--home", type=Path, help="The data folder (default bench/out/search).")
    parser.add_argument("--python-only", action="store_true", help="Only the fill and the Python-layer searches.")
    args = parser.parse_args()
    global HOME
    if args.home is not None or args.database_url:
        from footage.db import reset_engines
        from footage.settings import get_settings

        HOME = args.home.resolve() if args.home is not None else HOME
        os.environ["GATEWATCH_HOME"] = str(HOME)
        if args.database_url:
            os.environ["GATEWATCH_DATABASE_URL"] = args.database_url
        get_settings.cache_clear()
        reset_engines()
    if args.rebuild and HOME.exists():
        import shutil

        shutil.rmtree(HOME)
    HOME.mkdir(parents=True, exist_ok=True)
    migrate()
    out: dict[str, object] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                                          "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
                              "api_workers": args.api_workers}
    with session_scope() as session:
        have = session.scalar(select(func.count()).select_from(Event)) or 0
    if have == 0:
        if args.bulk_fill:
            from bench.fill_bulk import fill_bulk

            out["fill"] = fill_bulk(args.events, args.fill_order)
        else:
            out["fill"] = fill(args.events)
    elif have != args.events:
        raise SystemExit(f"bench/out/search holds {have} events, not {args.events}; rerun with --rebuild")
    with session_scope() as session:
        out["events"] = session.scalar(select(func.count()).select_from(Event))
        out["cameras"] = session.scalar(select(func.count()).select_from(Camera))
    out["database"] = get_engine().dialect.name
    out["python_layer"] = bench_python(args.rounds)
    if args.python_only:
        out["targets"] = {"query_p95_lt_20ms": all(
            v["p95_ms"] < 20 for v in out["python_layer"].values()  # type: ignore[union-attr]
            if isinstance(v, dict) and "p95_ms" in v)}
        print(json.dumps(out, indent=2))
        return
    add_clip_camera()
    from api.users import create_user

    with session_scope() as session:
        _, token = create_user(session, f"bench-{int(time.time())}", "officer")
    proc, url = start_server(args.api_workers)
    try:
        # One client first: the service time of a request, without queueing behind the others.
        out["http_api_one_client"] = asyncio.run(load(url, token, min(200, args.requests), 1, proc.pid))
        out["http_api"] = asyncio.run(load(url, token, args.requests, args.concurrency, proc.pid))
        out["clips"] = asyncio.run(bench_clips(url, token))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    out["targets"] = {
        "query_p95_lt_20ms": all(v["p95_ms"] < 20 for k, v in out["python_layer"].items()  # type: ignore[union-attr]
                                 if isinstance(v, dict) and "p95_ms" in v),
        "api_p95_lt_100ms": out["http_api"]["all"]["p95_ms"] < 100,  # type: ignore[index]
        "clip_first_byte_lt_300ms": out["clips"]["first_byte"]["p95_ms"] < 300,  # type: ignore[index]
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
