"""Clip views in the audit trail, once per user and clip whatever the Range header, and the limit on clip cutting.

A player fetches a clip in many range requests (the first bytes, the moov atom at the end, every seek), and a
client can ask for any part first (``Range: bytes=-100000000`` is the whole clip). So every request for a clip's
bytes counts as viewing it, and "once" means: one ``clip_view`` (or ``clip_download``) entry per user and clip
(the same cut file, by its SHA-256) per ``VIEW_WINDOW_S``. A request that finds no such entry in the trail
records one, and its bytes go out only after that entry is committed. Within one process the check and the write
are serialised; two server processes racing on the same first view may both record it (twice, never zero).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi import HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import record_read
from api.models import AuditEntry
from api.settings import get_api_settings
from footage.db import utcnow

VIEW_WINDOW_S = 600
RETRY_AFTER_S = 10
_view_lock = threading.Lock()


def _already_recorded(session: Session, user: str, action: str, obj: str, sha256: str) -> bool:
    since = utcnow() - timedelta(seconds=VIEW_WINDOW_S)
    details = session.scalars(
        select(AuditEntry.detail).where(AuditEntry.user_name == user, AuditEntry.action == action,
                                        AuditEntry.object == obj, AuditEntry.at >= since)
        .order_by(AuditEntry.id.desc()).limit(50))
    return any(isinstance(d, dict) and d.get("sha256") == sha256 for d in details)


def record_clip_view(request: Request, session: Session, principal: Principal, action: str, obj: str,
                     sha256: str, detail: dict[str, Any]) -> None:
    """Record this view unless the same user's view of the same clip is in the trail from the last window."""
    with _view_lock:
        # A fresh read each time: the session's own snapshot may predate an entry another request just wrote.
        session.rollback()
        if _already_recorded(session, principal.name, action, obj, sha256):
            return
        range_header = request.headers.get("range")
        record_read(request, principal, action, obj,
                    {**detail, "sha256": sha256, "first_range": range_header[:100] if range_header else None})


class _CutSlots:
    """Clips cut at once in this process (FFmpeg re-encodes are CPU-heavy); past the limit a request gets 503."""

    def __init__(self) -> None:
        self._slots: threading.BoundedSemaphore | None = None
        self._size = 0
        self._lock = threading.Lock()

    def _semaphore(self) -> threading.BoundedSemaphore:
        size = get_api_settings().clip_cuts
        with self._lock:
            if self._slots is None or size != self._size:
                self._slots, self._size = threading.BoundedSemaphore(size), size
            return self._slots

    @contextmanager
    def slot(self) -> Iterator[None]:
        slots = self._semaphore()
        # A short wait absorbs a burst of small cuts; longer, the client is better told to come back.
        if not slots.acquire(timeout=1.0):
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                f"{self._size} clips are being cut already; try again in {RETRY_AFTER_S} s",
                                headers={"Retry-After": str(RETRY_AFTER_S)})
        try:
            yield
        finally:
            slots.release()


cut_slots = _CutSlots()
