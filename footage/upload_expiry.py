"""Abandoned uploads: removed once untouched for ``GATEWATCH_UPLOAD_EXPIRE_S``, at service start and periodically.

A resumable upload that never finishes would otherwise hold its part file and its promised disk space for ever.
The service starts an ``UploadJanitor`` (``api.service_startup``); ``expire_abandoned`` is the one step it runs.
"""

from __future__ import annotations

import contextlib
import logging
import time

from footage.periodic import Every
from footage.settings import get_settings
from footage.storage import STAGING, store_dir
from footage.uploads import discard, uploads_dir

log = logging.getLogger(__name__)


def expire_abandoned(max_age_s: float | None = None, now: float | None = None) -> list[str]:
    """Delete uploads untouched for ``max_age_s`` (default: the setting) and staging leftovers; their ids.

    Unfinished uploads count from their last byte; finished ones keep their result as long for whoever polls.
    Single-request part files and store staging files that old belong to requests that died.
    """
    max_age = get_settings().upload_expire_s if max_age_s is None else max_age_s
    moment = time.time() if now is None else now
    removed: list[str] = []
    folder = uploads_dir()
    for state_file in folder.glob("*.json"):
        upload_id = state_file.stem
        files = [p for p in (state_file, folder / f"{upload_id}.part") if p.exists()]
        with contextlib.suppress(OSError):
            if files and moment - max(p.stat().st_mtime for p in files) > max_age:
                discard(upload_id)
                removed.append(upload_id)
    leftovers = [p for p in folder.glob("*.part") if not (folder / f"{p.stem}.json").exists()]
    staging = store_dir() / STAGING
    leftovers += list(staging.glob("*")) if staging.exists() else []
    for path in leftovers:
        with contextlib.suppress(OSError):
            if moment - path.stat().st_mtime > max_age:
                path.unlink()
                removed.append(path.name)
    if removed:
        log.info("removed %d abandoned upload(s) older than %.0f s: %s", len(removed), max_age, ", ".join(removed))
    return removed


class UploadJanitor(Every):
    """Runs ``expire_abandoned`` now and every ``interval_s`` seconds on a daemon thread (the service starts one)."""

    def __init__(self, interval_s: float = 600.0) -> None:
        super().__init__("gatewatch-upload-janitor", interval_s, expire_abandoned, first_now=True)
