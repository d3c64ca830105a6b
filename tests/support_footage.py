"""Helpers for tests that need footage in the catalogue: a site and camera, real clips under NVR names.

Other areas' tests may import these (``from tests.support_footage import ...`` or, with ``tests`` on the
path, ``from support_footage import ...``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import imageio_ffmpeg
import pytest
from sqlalchemy.orm import Session

from api.ingest import import_paths
from footage.catalogue import ImportResult, add_camera, add_site
from footage.models import Camera, Site

SITE = "Maple Court"
TIMEZONE = "Asia/Shanghai"
BARRIER = {"barrier": [[0.05, 0.4], [0.85, 0.4], [0.85, 0.6], [0.05, 0.6]]}


def make_site_camera(session: Session, camera_id: str = "north-gate", site: str = SITE, gate: str = "North gate",
                     timezone: str = TIMEZONE, zones: dict | None = None, clock_offset_s: float = 0.0) -> Camera:
    """A camera (and its site, when missing), committed."""
    if session.query(Site).filter_by(name=site).one_or_none() is None:
        add_site(session, site)
    camera = add_camera(session, camera_id, site, gate, timezone, BARRIER if zones is None else zones,
                        clock_offset_s)
    session.commit()
    return camera


def nvr_copy(footage_dir: Path, clip: str, dest: Path, nvr_name: str) -> Path:
    """Copy a real clip to ``dest/nvr_name`` (which may hold folders, e.g. Dahua's dated path)."""
    target = dest / nvr_name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(footage_dir / clip, target)
    return target


def import_clip(session: Session, footage_dir: Path, dest: Path, camera_id: str = "north-gate",
                clip: str = "parking_aisle_car_detection.mp4", nvr_name: str = "ch01_20241107053000.mp4",
                start: str | None = None) -> ImportResult:
    """Import one real clip under an NVR-style name through the same path as ``gatewatch import``."""
    path = nvr_copy(footage_dir, clip, dest, nvr_name)
    [result] = import_paths(session, [path], camera_id, start, actor="test")
    return result


def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def store_files(home: Path) -> list[Path]:
    """Every file in the content-addressed store, staging included."""
    store = home / "store"
    return sorted(p for p in store.rglob("*") if p.is_file()) if store.exists() else []


@pytest.fixture(autouse=True)
def no_indexing_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Footage-in tests check what upload queues; the service's local worker must not pick it up meanwhile."""
    from footage.settings import get_settings

    monkeypatch.setenv("GATEWATCH_LOCAL_WORKERS", "0")
    get_settings.cache_clear()
