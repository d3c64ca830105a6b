"""Celery tasks and worker hooks: the same claim -> run -> complete code as the local pool, driven by a broker.

A task carries only a job id. Each worker process loads the detector once (``worker_process_init``). The worker's
main process runs the *requeue step* at start and then every ``GATEWATCH_JOB_REQUEUE_INTERVAL_S``: jobs whose
lease expired go back to the queue, and queued jobs whose task was not sent recently are sent (again). That is
how a Redis restart, which loses the queued messages, loses no job: the database still lists them as queued.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict
from typing import Any

from celery.signals import worker_process_init, worker_ready, worker_shutdown

from detection.celery_app import app, configured_broker, queue_name
from detection.jobs import (
    JobTimings,
    claim_job,
    fail_attempt,
    jobs_to_dispatch,
    mark_dispatched,
    requeue_expired,
    worker_name,
)
from detection.models import JobStatus
from footage.db import session_scope

log = logging.getLogger(__name__)

_process: dict[str, Any] = {"detector": None, "worker": None}
_requeue_stop = threading.Event()


def dispatch(job_ids: list[int]) -> int:
    """Send one task per job and note when; returns how many were sent."""
    if not job_ids:
        return 0
    queue = queue_name()
    with app.connection_for_write(configured_broker()) as connection:
        for job_id in job_ids:
            index_job.apply_async(args=[job_id], queue=queue, connection=connection)
    with session_scope() as session:
        mark_dispatched(session, job_ids)
    return len(job_ids)


def requeue_step(*, redispatch_after_s: float | None = None) -> dict[str, int]:
    """Re-queue expired leases and (re)send tasks for queued jobs not sent recently."""
    timings = JobTimings()
    with session_scope() as session:
        requeued = requeue_expired(session)
    after = timings.redispatch_after_s if redispatch_after_s is None else redispatch_after_s
    with session_scope() as session:
        to_send = jobs_to_dispatch(session, older_than_s=after)
    sent = dispatch(to_send)
    if requeued or sent:
        log.info("requeue step: %d expired leases re-queued, %d tasks sent", len(requeued), sent)
    return {"requeued": len(requeued), "sent": sent}


def _requeue_loop(interval_s: float) -> None:
    while not _requeue_stop.wait(interval_s):
        try:
            requeue_step()
        except Exception:
            log.exception("requeue step failed; trying again in %.0f s", interval_s)


@worker_ready.connect
def _on_worker_ready(**_: object) -> None:
    # The main process of each worker: pick up what a lost broker or a dead worker left behind, then keep looking.
    try:
        requeue_step()
    except Exception:
        log.exception("requeue step at start failed")
    interval = JobTimings().requeue_interval_s
    threading.Thread(target=_requeue_loop, args=(interval,), name="gatewatch-requeue", daemon=True).start()


@worker_shutdown.connect
def _on_worker_shutdown(**_: object) -> None:
    _requeue_stop.set()


@worker_process_init.connect
def _on_process_init(**_: object) -> None:
    # A forked child must not share the parent's database connections; drop them without closing the sockets.
    import footage.db as db

    for engine in list(db._engines.values()):
        engine.dispose(close=False)
    db._engines.clear()
    from detection.detector import Detector

    _process["worker"] = worker_name("celery")
    try:
        _process["detector"] = Detector.load()
    except Exception:
        # Left unloaded: the first task tries again and records the error on its job, where operators look.
        log.exception("the detector could not be loaded in worker process %s", _process["worker"])


def _detector() -> Any:
    if _process["detector"] is None:
        from detection.detector import Detector

        _process["detector"] = Detector.load()
    return _process["detector"]


@app.task(name="gatewatch.index_job", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def index_job(job_id: int) -> dict[str, Any]:
    """Claim job ``job_id`` and run it; a job already taken, done or failed is left alone."""
    from detection.indexing import run_job

    timings = JobTimings()
    me = _process["worker"] or worker_name("celery")
    with session_scope() as session:
        claimed = claim_job(session, me, lease_s=timings.lease_s, engine="celery", job_ids=[job_id])
    if claimed is None:
        # Sent twice, or running elsewhere under a live lease: if that worker dies, its lease expires and the
        # requeue step sends the job again.
        return {"job_id": job_id, "status": "not claimable"}
    try:
        detector = _detector()
    except Exception as exc:
        error = f"the detector could not be loaded on {me}: {type(exc).__name__}: {exc}"
        with session_scope() as session:
            status = fail_attempt(session, job_id, me, error).status
        return {"job_id": job_id, "status": status, "error": error}
    outcome = run_job(claimed, me, detector=detector, timings=timings)
    if outcome.status == JobStatus.QUEUED:
        dispatch([job_id])
    return asdict(outcome)
