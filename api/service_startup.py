"""What the running service starts beside the API.

Without a broker: the local indexing worker pool (``settings.local_workers`` processes, spawned when there is
queued work, so decoding never runs in the API process). With a broker (GATEWATCH_BROKER_URL): the service only
queues; a light thread runs the requeue step, so jobs queued by uploads are sent to the Celery workers.
Always: abandoned uploads are expired, and expired footage is purged daily (``_DailyPurge``).
"""

from __future__ import annotations

import logging
import threading

from fastapi import FastAPI

from footage.settings import get_settings
from footage.upload_expiry import UploadJanitor

log = logging.getLogger(__name__)


class _Dispatcher:
    """Sends tasks for queued jobs (and re-queues expired leases) every few seconds, on a thread."""

    def __init__(self, interval_s: float = 5.0) -> None:
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gatewatch-dispatch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        from detection.tasks import requeue_step

        while not self._stop.wait(self.interval_s):
            try:
                requeue_step()
            except Exception:
                log.exception("sending queued jobs to the broker failed; retrying")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class _DailyPurge:
    """Finishes an interrupted purge at start, then purges expired footage once a day, on a thread."""

    def __init__(self, interval_s: float = 86400.0) -> None:
        self.interval_s = interval_s
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
        while not self._stop.wait(self.interval_s):
            try:
                with session_scope() as session:
                    run_purge(session, actor="service", remote_addr="local")
            except Exception:
                log.exception("the daily purge failed; retrying tomorrow (or run 'gatewatch purge')")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def start_background(app: FastAPI) -> None:
    settings = get_settings()
    app.state.worker_pool = None
    app.state.dispatcher = None
    app.state.upload_janitor = UploadJanitor()  # abandoned uploads: removed now, then every 10 minutes
    app.state.upload_janitor.start()
    app.state.purge = _DailyPurge()
    app.state.purge.start()
    if settings.broker_url:
        app.state.dispatcher = _Dispatcher()
        app.state.dispatcher.start()
    elif settings.local_workers > 0:
        from detection.worker_pool import WorkerPool

        app.state.worker_pool = WorkerPool(settings.local_workers)
        app.state.worker_pool.start_background()


def stop_background(app: FastAPI) -> None:
    for name in ("dispatcher", "worker_pool", "upload_janitor", "purge"):
        running = getattr(app.state, name, None)
        if running is not None:
            running.stop()
