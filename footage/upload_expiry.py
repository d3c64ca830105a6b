"""Abandoned uploads: removed once untouched for ``GATEWATCH_UPLOAD_EXPIRE_S``, at service start and periodically.

A resumable upload that never finishes would otherwise hold its part file and its promised disk space for ever.
The service starts an ``UploadJanitor`` (``api.service_startup``); ``expire_abandoned`` is the one step it runs.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import UTC, datetime

from sqlalchemy import delete

from footage.db import rowcount, session_scope
from footage.models import UploadClaim
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
    prune_claims(max_age, moment)
    return removed


def prune_claims(max_age_s: float, now: float) -> int:
    """Delete import claims older than ``max_age_s`` whose upload is gone; how many went.

    A claim only has to outlive its upload's state file: while that exists, the claim is what refuses a second
    import; once the upload is gone, a write to it gets 404 anyway. The age bound keeps a claim whose state file
    is briefly missing (being replaced) from going early.
    """
    cutoff = datetime.fromtimestamp(now - max_age_s, UTC)
    present = [p.stem for p in uploads_dir().glob("*.json")]
    with session_scope() as session:
        query = delete(UploadClaim).where(UploadClaim.claimed_at < cutoff)
        if present:
            query = query.where(UploadClaim.upload_id.not_in(present))
        pruned = rowcount(session.execute(query))
    if pruned:
        log.info("pruned %d import claim(s) of uploads gone for over %.0f s", pruned, max_age_s)
    return pruned


class UploadJanitor(Every):
    """Runs ``expire_abandoned`` now and every ``interval_s`` seconds on a daemon thread (the service starts one)."""

    def __init__(self, interval_s: float = 600.0) -> None:
        super().__init__("gatewatch-upload-janitor", interval_s, expire_abandoned, first_now=True)
