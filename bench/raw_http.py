"""A cheap load generator: HTTP/1.1 GETs over keep-alive sockets with asyncio (uvloop when installed).

The service and its clients share the machine's cores, so the client must cost as little as it can: httpx spends
several milliseconds of CPU per request, which on 2 cores is as much as the server itself. This client writes the
request bytes once per request and reads ``Content-Length`` bodies; nothing else (no chunked bodies, no redirects):
gatewatch's JSON answers always carry a length.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit


class RawHTTPError(RuntimeError):
    """The server closed the connection or sent something this client does not read."""


class Connection:
    """One keep-alive connection; ``get`` sends a request and returns (status, body)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self._head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def get(self, target: str) -> tuple[int, bytes]:
        reader, writer = await self._open()
        writer.write(f"GET {target} HTTP/1.1\r\n{self._head}\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = None
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
            elif name == b"transfer-encoding":
                raise RawHTTPError("chunked bodies are not read by this client")
        if length is None:
            raise RawHTTPError(f"no Content-Length in the answer to {target}")
        body = await reader.readexactly(length)
        if close:
            writer.close()
            self._reader = self._writer = None
        return status, body

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def target(path: str, params: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(params)}" if params else path


async def closed_loop(url: str, headers: dict[str, str], targets: list[tuple[str, str]], concurrency: int,
                      on_start: Callable[[], None] | None = None) -> tuple[dict[str, list[float]], list[int], float]:
    """``concurrency`` clients, one connection each, taking the next (name, target) as soon as they are answered.

    Returns latencies in ms per name, the status codes that were not 200 (and -1 per broken connection), and
    the wall time in seconds from the first request to the last answer.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    connections = [Connection(host, port, headers) for _ in range(concurrency)]
    # Open every connection before the clock starts: the figure is for keep-alive traffic.
    await asyncio.gather(*(c._open() for c in connections))
    latencies: dict[str, list[float]] = {}
    errors: list[int] = []
    jobs = iter(targets)

    async def client(conn: Connection) -> None:
        for name, path in jobs:
            start = time.perf_counter()
            try:
                status, _ = await conn.get(path)
            except (OSError, asyncio.IncompleteReadError, RawHTTPError):
                conn._reader = conn._writer = None
                status = -1
            latencies.setdefault(name, []).append((time.perf_counter() - start) * 1000)
            if status != 200:
                errors.append(status)

    if on_start is not None:
        on_start()
    t0 = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    wall = time.perf_counter() - t0
    for conn in connections:
        conn.close()
    return latencies, errors, wall


def run(coro: object) -> object:
    """asyncio.run, on uvloop when it is installed (cheaper per request)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    return uvloop.run(coro)  # type: ignore[arg-type]
