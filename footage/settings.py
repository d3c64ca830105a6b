"""Settings of the footage floor (data folder, database, store, uploads, clip cache), from ``GATEWATCH_*``.

Each floor has one settings class: this one, ``detection.settings.DetectionSettings`` (detector, jobs,
Celery) and ``api.settings.ApiSettings`` (people reaching the API). :func:`env_variables` lists a class's
variables with their defaults and descriptions, for the README's table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWATCH_", env_file=None, extra="ignore")

    home: Path = Field(Path("./var"), description="Data folder: database, footage store, clip cache, keys.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default is SQLite (WAL) at HOME/gatewatch.db."
    )
    max_upload_bytes: int = Field(200 * 1024**3, gt=0, description="Largest footage file accepted (bytes).")
    upload_chunk_bytes: int = Field(8 * 1024**2, gt=0, description="Largest upload chunk accepted (bytes).")
    disk_reserve_bytes: int | None = Field(
        None, ge=0, description="Free space kept on the data folder's disk: uploads and imports that would eat into "
        "it are refused. Unset: 5 % of the disk, at most 2 GiB.")
    max_open_uploads_per_user: int = Field(4, ge=1, description="Resumable uploads one user may have open at once.")
    upload_expire_s: float = Field(
        24 * 3600.0, gt=0, description="Seconds after its last byte that an unfinished upload is deleted.")
    base_url: str = Field("", description="Public URL prefix used in links (empty: relative links).")
    clip_cache_bytes: int = Field(
        10 * 1024**3, ge=0, description="Bytes of cut clips kept under HOME/clips; beyond, the least recently "
        "used are deleted.")
    purge_pause_s: float = Field(
        0.0, ge=0, description="Testing only: seconds a purge waits between its journal and deleting files, so a "
        "test can kill it there.")

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


@dataclass(frozen=True)
class EnvVariable:
    """One environment variable a settings class reads."""

    name: str
    """The variable, e.g. GATEWATCH_HOME."""
    default: str
    """Its default as text ('' when unset means off or derived; see the description)."""
    description: str
    """What it sets, in one or two sentences."""


def env_variables(settings_class: type[BaseSettings]) -> list[EnvVariable]:
    """The variables ``settings_class`` reads, in field order (refuses a field that has no description)."""
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    found: list[EnvVariable] = []
    for name, info in settings_class.model_fields.items():
        if not info.description:
            raise ValueError(f"{settings_class.__name__}.{name} has no description; every setting needs one")
        if info.default_factory is not None:
            # An empty collection reads as unset; anything else is computed on the host (e.g. its cores).
            default = "" if info.default_factory in (list, dict, set, tuple) else "(derived)"
        else:
            default = "" if info.default is None else str(info.default)
        found.append(EnvVariable(f"{prefix}{name}".upper(), default, info.description))
    return found
