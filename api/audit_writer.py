"""One batched writer per process for the audit entries of reads (searches, event and clip views, failed sign-ins).

A request hands its entry to the writer and waits until the transaction that holds it has committed, so the
response never goes out before its record is durable; if the entry cannot be written the request fails
(``AuditUnavailable``, answered 503). The writer thread takes whatever has queued while the previous batch was
committing and appends it all in one transaction under one write lock (SQLite's writer lock, or the PostgreSQL
advisory lock ``api.audit.append`` takes), so fifty concurrent searches cost one lock and one commit, not fifty,
and several processes or hosts still build one linear chain.

Failed sign-ins are not written one row each: they are counted per remote address and written as one
``login_failed`` entry per address per minute, with the count, so a flood of bad tokens costs a row a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from api import audit
from api.settings import get_api_settings
from footage.db import make_engine
from footage.settings import get_settings

log = logging.getLogger(__name__)

FAILED_LOGIN_WINDOW_S = 60.0
# Past this many distinct addresses in one window the rest are summed under one entry, so an address-spraying
# client cannot make the writer hold unbounded state.
MAX_FAILURE_ADDRESSES = 5_000
MAX_NAMES_KEPT = 20


class AuditUnavailable(Exception):
    """The audit entry of a request could not be written; the request must fail rather than go unrecorded."""


@dataclass
class _Failures:
    """Failed sign-ins from one address inside the current window."""

    first: float
    count: int = 0
    names: set[str] = field(default_factory=set)
    via: set[str] = field(default_factory=set)
    reasons: set[str] = field(default_factory=set)


def _writer_engine(url: str) -> Engine:
    """The writer's engine. Its commit returns before any request it records is answered, so an entry is durable
    before its response in this sense: on SQLite (WAL, synchronous=NORMAL) it survives a crash of gatewatch, as the
    WAL is written before the commit returns, but a power cut or OS crash may lose the last batches; with
    GATEWATCH_AUDIT_FSYNC each batch is fsynced first (synchronous=FULL), which survives those too. FULL is not the
    default because on the shared development disk it cost the 50-client load bench a quarter of its throughput
    (249 against 326 searches/s, p95 401 against 279 ms, same run; the fsync waits up to ~13 ms per batch, and
    every closed-loop client waits for it). PostgreSQL's default synchronous_commit=on always waits for the disk."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite" and get_api_settings().audit_fsync:
        @event.listens_for(engine, "connect")
        def _fsync_commits(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA synchronous=FULL")  # after make_engine's pragmas, which set NORMAL
            cursor.close()

    return engine


_Waiter = Future[int] | tuple[asyncio.AbstractEventLoop, "asyncio.Future[int]"]
"""Who waits for an entry: a thread (a concurrent future) or a coroutine (its loop and an asyncio future)."""


def _settle(outcomes: list[tuple[_Waiter, int | BaseException]]) -> None:
    """Give each waiter its entry id or the error: threads directly, each event loop in one call."""
    per_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], int | BaseException]]] = {}
    for waiter, outcome in outcomes:
        if isinstance(waiter, Future):
            if isinstance(outcome, BaseException):
                waiter.set_exception(outcome)
            else:
                waiter.set_result(outcome)
        else:
            per_loop.setdefault(waiter[0], []).append((waiter[1], outcome))
    for loop, pairs in per_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting there any more
            loop.call_soon_threadsafe(_settle_in_loop, pairs)


def _settle_in_loop(pairs: list[tuple[asyncio.Future[int], int | BaseException]]) -> None:
    for done, outcome in pairs:
        if done.done():
            continue  # timed out and gone (its request answered 503)
        if isinstance(outcome, BaseException):
            done.set_exception(outcome)
        else:
            done.set_result(outcome)


class AuditWriter:
    """The process's single appender for request-path audit entries (a thread; start lazily, stop at shutdown)."""

    def __init__(self, wait_s: float = 15.0) -> None:
        self.wait_s = wait_s
        """How long a request waits for its entry's commit before failing with 503."""
        self._queue: list[tuple[audit.Pending, _Waiter]] = []
        self._failures: dict[str, _Failures] = {}
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._own_engine: Engine | None = None
        self._engine_url: str | None = None
        self.batches = 0
        """Transactions committed so far (for tests and the benchmark's report)."""

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gatewatch-audit-writer", daemon=True)
            self._thread.start()

    def submit(self, item: audit.Pending) -> Future[int]:
        """Queue ``item``; the future gives its entry id once committed (or the error). The caller must wait for
        it (``write``, or ``write_async`` on an event loop) before answering the request it records."""
        done: Future[int] = Future()
        self._enqueue(item, done)
        return done

    def _enqueue(self, item: audit.Pending, waiter: _Waiter) -> None:
        with self._cond:
            if self._stopping:
                raise AuditUnavailable("the service is shutting down; try again in a moment")
            self._ensure_thread()
            self._queue.append((item, waiter))
            self._cond.notify()

    def write(self, item: audit.Pending) -> int:
        """Queue ``item`` and return its entry id once committed; AuditUnavailable when that does not happen."""
        done = self.submit(item)
        try:
            return done.result(timeout=self.wait_s)
        except FutureTimeout as exc:
            raise self._timed_out() from exc
        except Exception as exc:
            raise AuditUnavailable(f"the audit entry could not be written ({exc}); try again") from exc

    async def write_async(self, item: audit.Pending) -> int:
        """``write`` for an event loop: waits for the commit without holding a thread.

        The writer settles all of a loop's waiters of a batch with one call into that loop (a thread-safe
        future per request cost a wake-up of the loop per request)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        self._enqueue(item, (loop, done))
        try:
            async with asyncio.timeout(self.wait_s):
                return await done
        except TimeoutError as exc:
            raise self._timed_out() from exc
        except Exception as exc:
            raise AuditUnavailable(f"the audit entry could not be written ({exc}); try again") from exc

    def _timed_out(self) -> AuditUnavailable:
        return AuditUnavailable(f"the audit trail did not accept the entry within {self.wait_s:.0f} s; "
                                "try again (the database may be locked or down)")

    def failed_login(self, addr: str, name: str | None, reason: str, via: str) -> None:
        """Count one failed sign-in; it is written within a minute, folded into its address's entry."""
        now = time.monotonic()
        with self._cond:
            self._ensure_thread()
            key = addr if (addr in self._failures or len(self._failures) < MAX_FAILURE_ADDRESSES) else "(others)"
            failures = self._failures.setdefault(key, _Failures(first=now))
            failures.count += 1
            failures.via.add(via)
            failures.reasons.add(reason[:200])
            if name is not None and len(failures.names) < MAX_NAMES_KEPT:
                failures.names.add(name[:100])

    def _due_failures(self, now: float, everything: bool) -> list[audit.Pending]:
        due = [addr for addr, f in self._failures.items() if everything or now - f.first >= FAILED_LOGIN_WINDOW_S]
        items = []
        for addr in due:
            f = self._failures.pop(addr)
            names = sorted(f.names)
            detail: dict[str, Any] = {"count": f.count, "via": sorted(f.via), "reasons": sorted(f.reasons),
                                      "names": names, "window_s": round(min(now - f.first, FAILED_LOGIN_WINDOW_S))}
            items.append(audit.pending(user_name=names[0] if len(names) == 1 else None, action="login_failed",
                                       detail=detail, remote_addr=None if addr == "(others)" else addr))
        return items

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue and not self._stopping:
                    self._cond.wait(timeout=1.0)
                batch, self._queue = self._queue, []
                stopping = self._stopping
                failures = self._due_failures(time.monotonic(), everything=stopping)
            if batch or failures:
                self._commit(batch, failures)
            if stopping:
                with self._cond:
                    if not self._queue:
                        return

    def _engine(self) -> Engine:
        # Its own engine (one connection): requests waiting for their entry hold connections of the shared pool,
        # and the writer must never queue behind them for one.
        url = get_settings().resolved_database_url
        with self._cond:
            if self._engine_url != url:
                if self._own_engine is not None:
                    self._own_engine.dispose()
                self._own_engine, self._engine_url = _writer_engine(url), url
            assert self._own_engine is not None
            return self._own_engine

    def _commit(self, batch: list[tuple[audit.Pending, _Waiter]], failures: list[audit.Pending]) -> None:
        try:
            with Session(self._engine(), expire_on_commit=False) as session, session.begin():
                ids = audit.append_ids(session, [item for item, _ in batch] + failures)
        except Exception as exc:
            log.exception("writing %d audit entries failed; their requests get 503", len(batch) + len(failures))
            _settle([(waiter, exc) for _, waiter in batch])
            return
        self.batches += 1
        _settle([(waiter, entry_id) for (_, waiter), entry_id in zip(batch, ids, strict=False)])

    def flush_failed_logins(self) -> None:
        """Write every failed sign-in counted so far now, without waiting for its minute to end."""
        with self._cond:
            items = self._due_failures(time.monotonic(), everything=True)
        if items:
            self._commit([], items)

    def stop(self) -> None:
        """Write what is queued (and the failed sign-ins counted so far), then end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
        if self._own_engine is not None:
            self._own_engine.dispose()
