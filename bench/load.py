"""Service load benchmark: 50 clients searching at once over keep-alive connections, each search authenticated and
audited, against one or more code trees in the same run (e.g. main and a branch), each on its own copy of the data.

    python bench/load.py --tree main=/tmp/base --tree branch=. [--events 200000] [--requests 3000] [--workers 2]

For each tree: the service in a subprocess with that tree first on PYTHONPATH (``python -m api.serving``, what
``gatewatch serve`` runs, where the tree has it; else ``uvicorn api.app:create_app --workers N``), a warm-up, then
``--requests`` searches from ``--concurrency`` clients (``bench.raw_http``: raw HTTP/1.1 over keep-alive sockets, so
the load generator leaves the cores to the server); afterwards the audit chain is verified and every search must be
in it. Prints one JSON object (searches/s, p50/p95, errors, server CPU per search, chain check).
``--profile`` records the server with py-spy (``--py-spy PATH``) into bench/out/load/NAME.svg.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "load"
sys.path.insert(0, str(REPO))

import bench.search as search_bench  # noqa: E402  (sets GATEWATCH_HOME to its own folder; overridden below)
from bench import raw_http  # noqa: E402


def _use_home(home: Path) -> None:
    from footage.db import reset_engines
    from footage.settings import get_settings

    os.environ["GATEWATCH_HOME"] = str(home)
    get_settings.cache_clear()
    reset_engines()


def prepare(events: int, rebuild: bool) -> Path:
    """The filled data folder (this tree's schema), with an officer for the clients; built once."""
    from api.database import migrate

    seed = OUT / "seed"
    if rebuild and seed.exists():
        shutil.rmtree(seed)
    if not (seed / "gatewatch.db").exists():
        seed.mkdir(parents=True, exist_ok=True)
        _use_home(seed)
        migrate()
        search_bench.fill(events)
    return seed


POSTGRESQL_ONLY = {"0006", "0007"}
"""Migrations that only build PostgreSQL indexes (no-ops on SQLite)."""


def copy_for(seed: Path, name: str, tree: Path) -> Path:
    """A copy of the seed data folder at the schema revision ``tree`` knows (later tables dropped)."""
    home = OUT / name
    if home.exists():
        shutil.rmtree(home)
    shutil.copytree(seed, home)
    heads = sorted(p.name.split("_")[0] for p in (tree / "api" / "migrations" / "versions").glob("0*.py"))
    with sqlite3.connect(home / "gatewatch.db") as db:
        (current,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
        if heads[-1] == "0001":
            for table in ("audit_checkpoint", "web_session"):
                db.execute(f"DROP TABLE IF EXISTS {table}")
            db.execute("UPDATE alembic_version SET version_num = '0001'")
        elif heads[-1] < current and {f"{n:04d}" for n in range(int(heads[-1]) + 1, int(current) + 1)} \
                <= POSTGRESQL_ONLY:
            # The seed's later revisions change nothing on SQLite: the older tree reads the same file.
            db.execute("UPDATE alembic_version SET version_num = ?", (heads[-1],))
    return home


def start(tree: Path, home: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = search_bench.free_port()
    env = {**os.environ, "GATEWATCH_HOME": str(home), "GATEWATCH_LOCAL_WORKERS": "0", "PYTHONPATH": str(tree)}
    if (tree / "api" / "serving.py").exists():
        # The tree's own way of serving (what its ``gatewatch serve --workers N`` runs).
        command = [sys.executable, "-m", "api.serving"]
    else:
        command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
    proc = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
         "--workers", str(workers)],
        cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=(home / "server.log").open("wb"))
    import httpx

    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"uvicorn exited; see {home / 'server.log'}")
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("uvicorn did not answer /healthz in 60 s")


def connections_per_process(pid: int, port: int) -> list[int]:
    """How many of the clients' connections each server process holds (largest first): long-lived connections
    stay with the process that accepted them, so an uneven split is an uneven share of the work."""
    import psutil

    counts = []
    parent = psutil.Process(pid)
    for proc in [parent, *parent.children(recursive=True)]:
        held = sum(1 for c in proc.net_connections(kind="tcp")
                   if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port)
        if held:
            counts.append(held)
    return sorted(counts, reverse=True)


async def timed_load(url: str, token: str, args: argparse.Namespace, pid: int,
                     profile_to: Path | None) -> dict[str, object]:
    port = int(url.rsplit(":", 1)[1])
    rng = random.Random(13)
    jobs: list[tuple[str, str]] = []
    while len(jobs) < args.requests + args.concurrency + 1:
        jobs.extend((name, raw_http.target("/api/v1/events", search_bench.as_params(filters)))
                    for name, filters in search_bench.typical_queries(rng).items())
    headers = {"Authorization": f"Bearer {token}"}
    # Warm-up: one search (fills the longest-span cache), then one per connection, untimed but audited.
    await raw_http.closed_loop(url, headers, jobs[:1], 1)
    warm, warm_errors, _ = await raw_http.closed_loop(url, headers, jobs[1:args.concurrency + 1], args.concurrency)
    timed = jobs[args.concurrency + 1:args.concurrency + 1 + args.requests]
    spy: list[subprocess.Popen[bytes]] = []
    cpu0: list[float] = []

    split: list[list[int]] = []

    def begin() -> None:
        cpu0.append(search_bench.server_cpu_s(pid))
        split.append(connections_per_process(pid, port))
        if profile_to is not None:
            # --gil: only samples holding the GIL, i.e. where the server's Python CPU goes (not its waits).
            spy.append(subprocess.Popen([args.py_spy, "record", "--pid", str(pid), "--subprocesses", "--rate", "200",
                                         "--gil", "--format", "raw", "-o", str(profile_to / "profile.txt")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(1.0)

    latencies, errors, wall = await raw_http.closed_loop(url, headers, timed, args.concurrency, begin)
    cpu_used = search_bench.server_cpu_s(pid) - cpu0[0]
    for process in spy:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    everything = [v for values in latencies.values() for v in values]
    return {
        "requests": len(everything), "concurrency": args.concurrency, "errors": len(errors) + len(warm_errors),
        "error_codes": sorted(set(errors + warm_errors)),
        "warm_up_searches": 1 + sum(len(v) for v in warm.values()),
        "throughput_rps": round(len(everything) / wall, 1),
        "server_cpu_ms_per_request": round(cpu_used * 1000 / max(1, len(everything)), 2),
        "connections_per_server_process": split[0] if split else [],
        "all": search_bench.summary_ms(everything),
        **{name: search_bench.summary_ms(values) for name, values in latencies.items()},
    }


def run_tree(name: str, tree: Path, seed: Path, args: argparse.Namespace) -> dict[str, object]:
    from sqlalchemy import func, select

    from api.audit import verify_chain
    from api.models import AuditEntry
    from api.users import create_user
    from footage.db import session_scope

    home = copy_for(seed, name, tree)
    _use_home(home)
    with session_scope() as session:
        _, token = create_user(session, "bench-officer", "officer")
    proc, url = start(tree, home, args.workers)
    try:
        result = raw_http.run(timed_load(url, token, args, proc.pid, home if args.profile else None))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    _use_home(home)
    with session_scope() as session:
        entries, problems = verify_chain(session)
        searches = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "search", AuditEntry.user_name == "bench-officer"))
    sent = int(result["requests"]) + int(result["warm_up_searches"])  # type: ignore[call-overload]
    result["audit"] = {"entries": entries, "chain_ok": not problems, "searches_recorded": searches,
                       "every_search_recorded": searches == sent}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH of a gatewatch checkout.")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn processes per service.")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during the timed searches.")
    parser.add_argument("--py-spy", default="py-spy", help="The py-spy executable (e.g. from a venv of its own).")
    args = parser.parse_args()
    seed = prepare(args.events, args.rebuild)
    out: dict[str, object] = {"machine": {"cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()},
                              "events": args.events, "workers": args.workers}
    for spec in args.tree:
        name, _, path = spec.partition("=")
        out[name] = run_tree(name, Path(path).resolve(), seed, args)
        out[name]["load_average_after"] = os.getloadavg()  # type: ignore[index]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
