"""Fill the search bench at district scale (10,000,000 events) fast, on SQLite or PostgreSQL, and time it.

The same sites, cameras, segments and event distributions as ``bench.search.fill`` (which stays the 1M default):
the event table's indexes are dropped first and built again after the rows are in, and each build is timed
(one sort per index instead of ten million random index inserts).

- SQLite: numpy makes the rows a million at a time; ``executemany`` inserts them (plain Python lists, no per-row
  conversion of numpy scalars).
- PostgreSQL: the server makes the rows itself with ``generate_series`` and ``random()`` (the same label, colour
  and zone shares; log-normal durations by Box-Muller), a million per statement; then ``ANALYZE``.
"""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
from sqlalchemy import insert, text

from bench import search as sb
from footage.db import get_engine, session_scope
from footage.models import Camera, Segment, Site

# The event indexes the migrations create, rebuilt with exactly these definitions after the fill (0006 widens the
# camera index on PostgreSQL only).
EVENT_INDEXES = {
    "ix_event_camera_start": "CREATE INDEX ix_event_camera_start ON event (camera_id, start)",
    "ix_event_start": "CREATE INDEX ix_event_start ON event (start)",
    "ix_event_segment_id": "CREATE INDEX ix_event_segment_id ON event (segment_id)",
}
POSTGRES_INDEXES = {
    **{k: v for k, v in EVENT_INDEXES.items() if k != "ix_event_camera_start"},
    "ix_event_camera_start_filters": "CREATE INDEX ix_event_camera_start_filters ON event "
                                     "(camera_id, start, \"end\", dwell_s, stationary)",
}
CHUNK = 1_000_000


def _sites_cameras_segments() -> None:
    with session_scope() as session:
        for s in range(sb.SITES):
            site = Site(name=f"Site {s:02d}")
            session.add(site)
            session.flush()
            for c in range(sb.CAMERAS_PER_SITE):
                session.add(Camera(id=f"s{s:02d}-c{c:02d}", site_id=site.id, gate=sb.GATES[c // 2],
                                   timezone=sb.ZONES_OF_SITE[s], zones={}))
    rows = []
    for ci, cam in enumerate(sb.camera_ids()):
        for d in range(sb.DAYS):
            start = sb.YEAR_START + timedelta(days=d)
            rows.append({"id": ci * sb.DAYS + d + 1, "camera_id": cam, "path": f"store/bench/{cam}/{d}.mp4",
                         "original_name": f"{d}.mp4", "sha256": f"{ci:04d}{d:04d}".ljust(64, "0"), "size_bytes": 1,
                         "start": start, "end": start + timedelta(days=1), "start_source": "stated", "fps": 25.0,
                         "variable_frame_rate": False, "codec": "h264", "width": 1280, "height": 720,
                         "rotation": 0, "status": "indexed", "imported_at": start, "probe": {}})
    with session_scope() as session:
        session.execute(insert(Segment), rows)


def _sqlite_chunk(cur: object, rng: np.random.Generator, n: int, cams: list[str]) -> None:
    cam_index = rng.integers(0, len(cams), n)
    offset_us = rng.integers(0, sb.DAYS * 86400 * 10**6, n)
    duration_s = np.clip(rng.lognormal(np.log(12), 0.8, n), 1, 300)
    stationary = rng.random(n) < 0.02
    duration_s[stationary] = 3600.0
    labels = rng.choice(sb.LABELS, n, p=sb.LABEL_P)
    scores = rng.uniform(0.3, 0.95, n).round(4)
    dwell = np.where(rng.random(n) < 0.2, rng.exponential(20, n), 0.0).round(2)
    colours = np.where(labels == "person", None, rng.choice(sb.COLOURS, n)).tolist()
    zones = np.array(sb.ZONE_SETS)[rng.integers(0, len(sb.ZONE_SETS), n)].tolist()
    base = np.datetime64("2024-01-01T00:00:00", "us")
    starts = base + offset_us.astype("timedelta64[us]")
    ends = starts + (duration_s * 1e6).astype("int64").astype("timedelta64[us]")
    start_text = np.char.replace(np.datetime_as_string(starts, unit="us"), "T", " ").tolist()
    end_text = np.char.replace(np.datetime_as_string(ends, unit="us"), "T", " ").tolist()
    segment = (cam_index * sb.DAYS + offset_us // (86400 * 10**6) + 1).tolist()
    camera = np.array(cams)[cam_index].tolist()
    rows = zip(camera, segment, labels.tolist(), start_text, end_text, scores.tolist(), zones, dwell.tolist(),
               [None] * n, stationary.astype(int).tolist(), colours, ["[]"] * n, strict=True)
    cur.executemany(  # type: ignore[attr-defined]
        "INSERT INTO event (camera_id, segment_id, label, start, \"end\", score, zones, dwell_s, dwell_zone, "
        "stationary, colour, track) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _cumulative_case(values: list[str], shares: list[float], var: str) -> str:
    edges = np.cumsum(shares)
    parts = [f"WHEN {var} < {edge:.6f} THEN '{value}'" for value, edge in zip(values[:-1], edges[:-1], strict=True)]
    return f"CASE {' '.join(parts)} ELSE '{values[-1]}' END"


def _postgres_chunk(conn: object, lo: int, n: int, camera: int | None = None) -> None:
    """``n`` events; with ``camera``, all of that camera's and inserted in time order (as indexing writes them)."""
    labels = _cumulative_case(list(sb.LABELS), sb.LABEL_P, "r_label")
    colours = _cumulative_case(list(sb.COLOURS), [1 / len(sb.COLOURS)] * len(sb.COLOURS), "r_colour")
    zones = _cumulative_case(sb.ZONE_SETS, [1 / len(sb.ZONE_SETS)] * len(sb.ZONE_SETS), "r_zone")
    days = sb.DAYS
    sql = f"""
    INSERT INTO event (camera_id, segment_id, label, start, "end", score, zones, dwell_s, dwell_zone, stationary,
                       colour, track)
    SELECT format('s%s-c%s', lpad((ci / 10)::text, 2, '0'), lpad((ci % 10)::text, 2, '0')),
           ci * {days} + floor(off_s / 86400)::int + 1, label,
           timestamp '2024-01-01' + off_s * interval '1 second',
           timestamp '2024-01-01' + (off_s + dur_s) * interval '1 second',
           round(score::numeric, 4)::float8, ({zones})::json, dwell, NULL, parked,
           CASE WHEN label = 'person' THEN NULL ELSE {colours} END, '[]'::json
    FROM (
      SELECT ci, off_s, label, score, r_colour, r_zone, parked, dwell,
             CASE WHEN parked THEN 3600.0 ELSE least(300.0, greatest(1.0, exp(ln(12) + 0.8 * normal))) END AS dur_s
      FROM (
        SELECT {"floor(random() * 100)::int" if camera is None else camera} AS ci, random() * {days} * 86400 AS off_s,
               {labels} AS label, 0.3 + random() * 0.65 AS score, r_colour, r_zone,
               random() < 0.02 AS parked,
               CASE WHEN random() < 0.2 THEN round((-20 * ln(1 - random()))::numeric, 2)::float8 ELSE 0.0 END AS dwell,
               sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS normal
        FROM (SELECT random() AS r_label, random() AS r_colour, random() AS r_zone
              FROM generate_series({lo + 1}, {lo + n})) AS g
      ) AS a
    ) AS b
    {"" if camera is None else "ORDER BY off_s"}
    """
    conn.execute(text(sql))  # type: ignore[attr-defined]


def fill_bulk(n_events: int, order: str = "random") -> dict[str, object]:
    """Sites, cameras, segments, ``n_events`` events; the times of the fill and of each index build.

    ``order`` (PostgreSQL only): ``random`` writes the rows in random order, so the rows a search reads lie on
    as many table pages as rows (the worst case); ``camera-time`` writes each camera's events in time order, as
    indexing does (a segment's events are inserted together).
    """
    t0 = time.perf_counter()
    _sites_cameras_segments()
    engine = get_engine()
    postgres = engine.dialect.name == "postgresql"
    indexes = POSTGRES_INDEXES if postgres else EVENT_INDEXES
    with engine.begin() as conn:
        for name in indexes:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
    t_rows = time.perf_counter()
    if postgres and order == "camera-time":
        per_camera = n_events // len(sb.camera_ids())
        for ci in range(len(sb.camera_ids())):
            with engine.begin() as conn:
                _postgres_chunk(conn, ci * per_camera, per_camera, camera=ci)
    elif postgres:
        for lo in range(0, n_events, CHUNK):
            with engine.begin() as conn:
                _postgres_chunk(conn, lo, min(CHUNK, n_events - lo))
    else:
        rng = np.random.default_rng(7)
        cams = sb.camera_ids()
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            for lo in range(0, n_events, CHUNK):
                _sqlite_chunk(cur, rng, min(CHUNK, n_events - lo), cams)
            raw.commit()
        finally:
            raw.close()
    rows_s = time.perf_counter() - t_rows
    builds: dict[str, float] = {}
    for name, ddl in indexes.items():
        t = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text(ddl))
        builds[name] = round(time.perf_counter() - t, 1)
    analyze_s = None
    if postgres:
        t = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("ANALYZE event"))
        analyze_s = round(time.perf_counter() - t, 1)
    return {"mode": "bulk (indexes dropped, rows, indexes built)", "order": order if postgres else "random",
            "rows_s": round(rows_s, 1),
            "index_build_s": builds, "analyze_s": analyze_s, "fill_total_s": round(time.perf_counter() - t0, 1)}
