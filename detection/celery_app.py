"""The Celery application for indexing on many machines (`gatewatch worker`, or `celery -A detection.celery_app`).

The broker only carries job ids; job state lives in the database. Tasks are acknowledged after they finish and
rejected (so redelivered) when the worker process running them dies; each worker process takes one task at a
time (prefetch 1) because one segment keeps a CPU or GPU busy for minutes.
"""

from __future__ import annotations

import os

from celery import Celery

from footage.settings import get_settings

os.environ.setdefault("YOLO_OFFLINE", "1")

DEFAULT_QUEUE = "gatewatch-index"


def queue_name() -> str:
    """The queue index tasks go to; set GATEWATCH_CELERY_QUEUE to keep two deployments on one Redis apart."""
    return os.environ.get("GATEWATCH_CELERY_QUEUE", DEFAULT_QUEUE)


def configured_broker() -> str:
    """The broker as configured now (GATEWATCH_BROKER_URL); senders look it up each time, not at import."""
    return get_settings().broker_url or "redis://127.0.0.1:6379/0"


def make_app(broker: str | None = None) -> Celery:
    """The Celery app on ``broker`` (default: GATEWATCH_BROKER_URL)."""
    celery = Celery("gatewatch", broker=broker or configured_broker(), include=["detection.tasks"])
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
