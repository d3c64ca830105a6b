"""What the running service starts beside the API, once per data folder however many server processes there are.

Without a broker: the local indexing worker pool (``settings.local_workers`` processes, spawned when there is
queued work, so decoding never runs in the API process). With a broker (GATEWATCH_BROKER_URL): the service only
queues; a light thread runs the requeue step, so jobs queued by uploads are sent to the Celery workers. In both
cases a timer signs a checkpoint of the audit chain's head every ``audit_checkpoint_s`` while it grows.

``gatewatch serve --workers N`` starts N server processes; only the one holding the lock file
``HOME/service.lock`` runs these loops. The others try for the lock every few seconds, so if the holder dies
another takes over.
Expired footage is purged daily (``_DailyPurge``) by the same lock holder; abandoned uploads expire.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from typing import IO

from fastapi import FastAPI

from api.settings import get_api_settings
from footage.periodic import Every
from footage.settings import get_settings
from footage.upload_expiry import UploadJanitor

log = logging.getLogger(__name__)
LOCK_FILE = "service.lock"
TAKEOVER_S = 5.0


class _DailyPurge:
    """Finishes an interrupted purge at start, then purges expired footage once a day, on a thread.

    "Once a day" is counted from the last purge in the audit trail, checked hourly, so a service restarted
    more often than daily still purges (a timer counted from each start never would).
    """

    def __init__(self, interval_s: float = 86400.0, check_s: float = 3600.0) -> None:
        self.interval_s = interval_s
        self.check_s = check_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gatewatch-purge", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        from api.lifecycle import run_purge
        from footage.db import session_scope
        from footage.retention import finish_pending

        try:
            with session_scope() as session:
                finish_pending(session)
        except Exception:
            log.exception("finishing an interrupted purge failed; the daily purge retries")
        from api.lifecycle import purge_due

        while not self._stop.wait(self.check_s):
            try:
                with session_scope() as session:
                    if purge_due(session, self.interval_s):
                        run_purge(session, actor="service", remote_addr="local")
            except Exception:
                log.exception("the daily purge failed; retrying tomorrow (or run 'gatewatch purge')")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def sign_checkpoint() -> None:
    """Sign the audit chain's head if it moved since the last checkpoint."""
    from api.audit_checkpoints import sign_head
    from footage.db import session_scope
    from footage.signing import load_or_create

    key = load_or_create(get_settings().keys_dir)
    with session_scope() as session:
        sign_head(session, key)


def _try_lock() -> IO[str] | None:
    """The service lock's open file if this process got it (kept open: the lock lasts as long as the process)."""
    home = get_settings().resolved_home
    home.mkdir(parents=True, exist_ok=True)
    handle = open(home / LOCK_FILE, "a+")  # noqa: SIM115 - held for the process's lifetime
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _start_loops(app: FastAPI, lock: IO[str]) -> None:
    from api.indexing_runs import start_service_engine

    app.state.service_lock = lock
    app.state.checkpointer = Every("gatewatch-checkpoint", get_api_settings().audit_checkpoint_s,
                                    sign_checkpoint, final=True)
    app.state.checkpointer.start()
    app.state.upload_janitor = UploadJanitor()  # abandoned uploads: removed now, then every 10 minutes
    app.state.upload_janitor.start()
    app.state.purge = _DailyPurge()
    app.state.purge.start()
    engine = start_service_engine()  # the same engine choice as `gatewatch index`: api.indexing_runs
    if engine is not None:
        setattr(app.state, *engine)
    # Through uvicorn's logger, which the server configures: the operator sees which process holds the loops.
    logging.getLogger("uvicorn.error").info("process %d runs the service's background loops", os.getpid())


def start_background(app: FastAPI) -> None:
    for name in ("worker_pool", "dispatcher", "checkpointer", "upload_janitor", "purge", "takeover", "service_lock"):
        setattr(app.state, name, None)
    lock = _try_lock()
    if lock is not None:
        _start_loops(app, lock)
        return

    def take_over() -> None:
        if app.state.service_lock is None and (got := _try_lock()) is not None:
            _start_loops(app, got)

    app.state.takeover = Every("gatewatch-takeover", TAKEOVER_S, take_over)
    app.state.takeover.start()


def stop_background(app: FastAPI) -> None:
    for name in ("takeover", "dispatcher", "worker_pool", "checkpointer", "upload_janitor", "purge"):
        running = getattr(app.state, name, None)
        if running is not None:
            running.stop()
    lock = getattr(app.state, "service_lock", None)
    if lock is not None:
        lock.close()
        app.state.service_lock = None
