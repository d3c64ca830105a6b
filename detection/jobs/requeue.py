"""The requeue step: expired leases back to the queue, and Celery tasks (re)sent for queued jobs.

A Redis restart loses the queued messages but no job: the database still lists them as queued, and the next
step sends them again. Every Celery worker's main process runs the step at start and then every
``GATEWATCH_JOB_REQUEUE_INTERVAL_S``; the service runs it every few seconds (:class:`RequeueLoop`) so jobs
that uploads queue reach the workers soon. The local worker pool needs no sending and calls
``requeue_expired`` itself.
"""

from __future__ import annotations

import logging

from celery.signals import worker_ready, worker_shutdown

from detection.jobs.queue import jobs_to_dispatch, requeue_expired
from detection.jobs.tasks import dispatch
from detection.settings import JobTimings
from footage.db import session_scope
from footage.periodic import Every

log = logging.getLogger(__name__)

SERVICE_INTERVAL_S = 5.0
"""How often the service sends the tasks of jobs queued by uploads (a worker's loop keeps its own interval)."""


def requeue_step(*, redispatch_after_s: float | None = None) -> dict[str, int]:
    """Re-queue expired leases and (re)send tasks for queued jobs not sent recently."""
    timings = JobTimings.from_settings()
    with session_scope() as session:
        requeued = requeue_expired(session)
    after = timings.redispatch_after_s if redispatch_after_s is None else redispatch_after_s
    with session_scope() as session:
        to_send = jobs_to_dispatch(session, older_than_s=after)
    sent = dispatch(to_send)
    if requeued or sent:
        log.info("requeue step: %d expired leases re-queued, %d tasks sent", len(requeued), sent)
    return {"requeued": len(requeued), "sent": sent}


class RequeueLoop(Every):
    """Runs :func:`requeue_step` on a thread every ``interval_s`` (default GATEWATCH_JOB_REQUEUE_INTERVAL_S)."""

    def __init__(self, interval_s: float | None = None) -> None:
        interval = JobTimings.from_settings().requeue_interval_s if interval_s is None else interval_s
        super().__init__("gatewatch-requeue", interval, requeue_step)


_worker_loop: list[RequeueLoop] = []


@worker_ready.connect
def _on_worker_ready(**_: object) -> None:
    # The main process of each worker: pick up what a lost broker or a dead worker left behind, then keep looking.
    loop = RequeueLoop()
    loop.run_once()
    loop.start()
    _worker_loop.append(loop)


@worker_shutdown.connect
def _on_worker_shutdown(**_: object) -> None:
    for loop in _worker_loop:
        loop.stop()
