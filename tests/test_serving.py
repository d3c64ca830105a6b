"""Serving in several processes (``python -m api.serving``, what ``gatewatch serve --workers N`` runs): each process
listens with a socket of its own, so connections opened together spread over them; SIGTERM stops them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _established(proc: psutil.Process, port: int) -> int:
    return sum(1 for c in proc.net_connections(kind="tcp")
               if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port)


def test_two_processes_share_connections_opened_together_and_stop_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("GATEWATCH_DATABASE_URL", "GATEWATCH_BROKER_URL")}
    env.update({"GATEWATCH_HOME": str(tmp_path / "home"), "GATEWATCH_LOCAL_WORKERS": "0",
                "PYTHONPATH": str(REPO)})
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "api.serving", "--port", str(port), "--workers", "2",
                               "--log-level", "warning"], cwd=REPO, env=env, stdout=log, stderr=log)
    sockets: list[socket.socket] = []
    try:
        parent = psutil.Process(server.pid)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if len(_listening(parent, port)) == 2 and _probe(port):
                break
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        servers = _listening(parent, port)
        assert len(servers) == 2, (tmp_path / "serve.log").read_text()
        # Forty clients connect at once and stay (keep-alive), as a burst of browsers or a pool would.
        sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
        for sock in sockets:
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        for sock in sockets:
            assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        held = sorted(_established(child, port) for child in servers)
        assert sum(held) == 40 and len(held) == 2, held
        # uvicorn's shared socket gave 50/0 and 36/14 splits; by hash, 40 split worse than 30/10 about once in 800.
        assert held[0] >= 10, held
        # Migrated once by the parent before the processes started (two SQLite migrations at once collided).
        from sqlalchemy import create_engine

        engine = create_engine(f"sqlite:///{tmp_path / 'home' / 'gatewatch.db'}")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        engine.dispose()
        server.send_signal(signal.SIGTERM)
        for sock in sockets:
            sock.close()
        assert server.wait(timeout=60) == 0
        _gone, alive = psutil.wait_procs(servers, timeout=10)
        assert not alive
    finally:
        for sock in sockets:
            sock.close()
        if server.poll() is None:
            server.kill()
        log.close()


def _listening(parent: psutil.Process, port: int) -> list[psutil.Process]:
    """The server processes: those listening on the port (multiprocessing's resource tracker does not)."""
    return [child for child in parent.children()
            if any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                   for c in child.net_connections(kind="tcp"))]


def _probe(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_audit_writer_fsyncs_its_commits_when_asked(gw_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.audit_writer import AuditWriter
    from api.settings import get_api_settings

    # 1 = NORMAL (WAL: survives a crash of gatewatch), 2 = FULL (fsynced: survives a power cut too).
    for fsync, expected in (("0", 1), ("1", 2)):
        monkeypatch.setenv("GATEWATCH_AUDIT_FSYNC", fsync)
        get_api_settings.cache_clear()
        writer = AuditWriter()
        with writer._engine().connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == expected
        writer.stop()
    get_api_settings.cache_clear()
