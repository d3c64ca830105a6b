"""Indexing jobs: the queue in the database and the two engines that work it.

- ``queue``: queue, claim, heartbeat, complete, fail, release and requeue jobs (the database is the truth).
- ``worker_pool``: N supervised processes on this machine (`gatewatch serve`, `gatewatch index`).
- ``celery_app`` and ``tasks``: the same claim -> run -> complete driven by a Celery broker.
- ``requeue``: the step that hands expired leases back and (re)sends Celery tasks; ``RequeueLoop`` runs it.

Timings and limits are detection settings (``detection.settings``). Only the queue is imported here: the
engines pull in multiprocessing or Celery, so import them from their modules.
"""

from detection.jobs.queue import (
    ACTIVE,
    ClaimedJob,
    JobLost,
    active_jobs_for,
    claim_job,
    complete_job,
    fail_attempt,
    heartbeat,
    jobs_to_dispatch,
    list_jobs,
    mark_dispatched,
    pending_segments,
    queue_for_run,
    queue_segments,
    release_job,
    requeue_expired,
    worker_name,
)
from detection.settings import JobTimings

__all__ = [
    "ACTIVE", "ClaimedJob", "JobLost", "JobTimings", "active_jobs_for", "claim_job", "complete_job",
    "fail_attempt", "heartbeat", "jobs_to_dispatch", "list_jobs", "mark_dispatched", "pending_segments",
    "queue_for_run", "queue_segments", "release_job", "requeue_expired", "worker_name",
]
