"""Celery tasks and worker hooks: the same claim -> run -> complete code as the local pool, driven by a broker.

A task carries only a job id. Each worker process loads the detector once (``worker_process_init``). The
worker's main process also runs the requeue step (``detection.jobs.requeue``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from celery.signals import worker_process_init

from detection.jobs.celery_app import app, configured_broker, queue_name
from detection.jobs.queue import claim_job, fail_attempt, mark_dispatched, worker_name
from detection.models import JobStatus
from detection.settings import JobTimings
from footage.db import forget_engines_after_fork, session_scope

log = logging.getLogger(__name__)

_process: dict[str, Any] = {"detector": None, "worker": None}


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


@worker_process_init.connect
def _on_process_init(**_: object) -> None:
    # A forked child must not share the parent's database connections; drop them without closing the sockets.
    forget_engines_after_fork()
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

    timings = JobTimings.from_settings()
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
