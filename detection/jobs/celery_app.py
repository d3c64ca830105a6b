"""The Celery application for indexing on many machines (`gatewatch worker`, or `celery -A detection.jobs.celery_app`).

Its broker and queue come from the detection settings (GATEWATCH_BROKER_URL, GATEWATCH_CELERY_QUEUE).
The broker only carries job ids; job state lives in the database. Tasks are acknowledged after they finish and
rejected (so redelivered) when the worker process running them dies; each worker process takes one task at a
time (prefetch 1) because one segment keeps a CPU or GPU busy for minutes.
"""

from __future__ import annotations

from celery import Celery

from detection.settings import get_detection_settings


def queue_name() -> str:
    """The queue index tasks go to (GATEWATCH_CELERY_QUEUE), looked up each time, not at import."""
    return get_detection_settings().celery_queue


def configured_broker() -> str:
    """The broker as configured now (GATEWATCH_BROKER_URL); senders look it up each time, not at import."""
    return get_detection_settings().broker


def make_app(broker: str | None = None) -> Celery:
    """The Celery app on ``broker`` (default: GATEWATCH_BROKER_URL)."""
    celery = Celery("gatewatch", broker=broker or configured_broker(),
                    include=["detection.jobs.tasks", "detection.jobs.requeue"])
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue_name(),
        task_serializer="json",
        accept_content=["json"],
        # Results are in the database; the broker keeps no result backlog.
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        # A segment can take long; Redis must not hand an unacknowledged task to a second worker meanwhile.
        # (If it does, the second claim fails harmlessly: the job is running under a live lease.)
        broker_transport_options={"visibility_timeout": 6 * 3600},
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    return celery


app = make_app()
