"""Running the service in one or several server processes, each listening on the port with a socket of its own.

uvicorn's ``--workers`` shares one listening socket between its processes: whichever is awake accepts, and its
event loop accepts every connection waiting at that moment. Clients that connect together (a page's requests,
a load balancer's pool, fifty officers' browsers after a restart) then land mostly on one process and stay there
on keep-alive: measured with 50 clients and 2 processes, splits of 50/0, 36/14 and 35/15, so one core did most
of the work while the other idled, and the clients of the busy process waited longest. Here each process binds
its own socket with SO_REUSEPORT, and the kernel spreads new connections over the sockets by a hash of the
client's address and port, whatever the processes are doing (50 connections: about 25 each, rarely worse
than 30/20). Only processes of the same user can join the port.

    python -m api.serving --host 127.0.0.1 --port 8000 --workers 2     (what ``gatewatch serve`` runs)
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import sys
from typing import Any

APP = "api.app:create_app"


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` that other sockets of this user may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"cannot listen on {host}:{port} ({exc.strerror}); is gatewatch already running there? "
                         "Stop it or pick another --port") from exc
    return sock


def _serve_one(options: dict[str, Any]) -> None:
    """One server process: its own socket on the shared port, then uvicorn until it is told to stop."""
    import uvicorn

    # Out of the terminal's process group: Ctrl-C reaches only the parent, which sends each process one SIGTERM
    # (a second SIGINT would make uvicorn skip the shutdown that flushes the audit writer).
    os.setpgrp()
    sock = reuse_port_socket(options["host"], options["port"])
    uvicorn.Server(uvicorn.Config(APP, factory=True, **options)).run(sockets=[sock])


def run(host: str, port: int, workers: int, **options: Any) -> int:
    """Serve with ``workers`` processes (uvicorn options such as log_level, proxy_headers pass through); returns
    the exit status: 0 after a signal stopped every process, 1 when a process ended by itself (the others are
    stopped too, so a supervisor such as systemd restarts the whole service)."""
    options = {"host": host, "port": port, **options}
    if workers == 1:
        import uvicorn

        uvicorn.run(APP, factory=True, **options)
        return 0
    # Bound here first (never listening, so it takes no connections) so that a port already in use fails now,
    # with one message, instead of once per process.
    holder = reuse_port_socket(host, port)
    # Migrated once here, before any server process starts: each one's start-up migrates too, and on SQLite
    # (which has no lock for it, unlike PostgreSQL's advisory lock) two at once both ran a pending migration.
    from api.database import migrate
    from footage.db import reset_engines

    migrate()
    reset_engines()
    context = multiprocessing.get_context("spawn")  # no forked copies of this process's threads or connections
    processes = [context.Process(target=_serve_one, args=(options,), name=f"gatewatch-server-{n}")
                 for n in range(workers)]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive() and process.pid is not None:
                # SIGTERM: uvicorn finishes the requests in flight and runs the shutdown (audit writer flush).
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        process.start()
    status = 0
    try:
        while any(process.is_alive() for process in processes):
            for process in processes:
                process.join(timeout=0.5)
                if not process.is_alive() and not stopping:
                    status = 1
                    stop(signal.SIGTERM, None)
    finally:
        holder.close()
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args(argv)
    return run(args.host, args.port, args.workers, log_level=args.log_level, access_log=not args.no_access_log,
               **proxy_options())


def proxy_options() -> dict[str, Any]:
    """uvicorn's proxy options from GATEWATCH_TRUSTED_PROXIES.

    Without trusted proxies uvicorn must not read X-Forwarded-For at all: by default it believes it from
    127.0.0.1, so anyone on the host (or a local proxy that passes the header through) could pick an address.
    """
    from api.settings import get_api_settings

    proxies = get_api_settings().trusted_proxies
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or None}


if __name__ == "__main__":
    sys.exit(main())
