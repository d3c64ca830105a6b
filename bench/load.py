"""Service load benchmark: 50 clients searching at once over keep-alive connections, each search authenticated and
audited, against one or more code trees in the same run (e.g. main and a branch), each on its own copy of the data.

    python bench/load.py --tree main=/tmp/base --tree branch=. [--events 200000] [--requests 3000] [--workers 2]

For each tree: uvicorn (``api.app:create_app``) in a subprocess with that tree first on PYTHONPATH, a warm-up, then
``--requests`` searches from ``--concurrency`` httpx clients; afterwards the audit chain is verified and every search
must be in it. Prints one JSON object (searches/s, p50/p95, errors, server CPU per search, chain check).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "load"
sys.path.insert(0, str(REPO))

import bench.search as search_bench  # noqa: E402  (sets GATEWATCH_HOME to its own folder; overridden below)


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


def copy_for(seed: Path, name: str, tree: Path) -> Path:
    """A copy of the seed data folder at the schema revision ``tree`` knows (later tables dropped)."""
    home = OUT / name
    if home.exists():
        shutil.rmtree(home)
    shutil.copytree(seed, home)
    heads = sorted(p.name.split("_")[0] for p in (tree / "api" / "migrations" / "versions").glob("0*.py"))
    with sqlite3.connect(home / "gatewatch.db") as db:
        if heads[-1] == "0001":
            for table in ("audit_checkpoint", "web_session"):
                db.execute(f"DROP TABLE IF EXISTS {table}")
            db.execute("UPDATE alembic_version SET version_num = '0001'")
    return home


def start(tree: Path, home: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = search_bench.free_port()
    env = {**os.environ, "GATEWATCH_HOME": str(home), "GATEWATCH_LOCAL_WORKERS": "0", "PYTHONPATH": str(tree)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--log-level", "warning", "--no-access-log", "--workers", str(workers)],
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
        result = asyncio.run(search_bench.load(url, token, args.requests, args.concurrency, proc.pid))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    _use_home(home)
    with session_scope() as session:
        entries, problems = verify_chain(session)
        searches = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "search", AuditEntry.user_name == "bench-officer"))
    # load() sends one warm-up search before the timed ones.
    result["audit"] = {"entries": entries, "chain_ok": not problems, "searches_recorded": searches,
                       "every_search_recorded": searches == int(result["requests"]) + 1}  # type: ignore[call-overload]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH of a gatewatch checkout.")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn processes per service.")
    parser.add_argument("--rebuild", action="store_true")
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
