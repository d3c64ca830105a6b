"""Cutting a clip from the stored footage: the one limit and the one cut that HTTP, the CLI and cases share.

The rule where the old copies disagreed: a clip (and a case's time range, which the export cuts as one
clip) is at most two hours long. HTTP allowed 2 h, cases 3 h and the CLI had no limit. Two hours was kept
because it is what the cut slots (``GATEWATCH_CLIP_CUTS``) were sized for: one frame-exact re-encode of a
longer window holds a slot, and the CPU, for many minutes. Longer windows are asked for as several clips.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from footage.clips import BadClipWindow, Clip, cached_clip, sources_for
from footage.settings import get_settings

MAX_CLIP = timedelta(hours=2)


class ClipTooLong(BadClipWindow):
    """The window asked for is longer than :data:`MAX_CLIP`."""


def check_clip_window(start: datetime, end: datetime, what: str = "a clip") -> None:
    """Raise :class:`ClipTooLong` when ``[start, end)`` is longer than one clip may be."""
    if end - start > MAX_CLIP:
        raise ClipTooLong(f"{what} is at most {MAX_CLIP.total_seconds() / 3600:g} hours long; "
                          f"ask for a shorter window or split it into several")


def cut_clip(session: Session, camera_id: str, start: datetime, end: datetime, *, exact: bool = False,
             cut_guard: AbstractContextManager[object] | None = None) -> Clip:
    """The camera's clip of ``[start, end)``, cut once into the clip cache and reused after.

    Raises ClipTooLong or BadClipWindow (the window), NoFootage (nothing stored there) or ClipError (FFmpeg)."""
    check_clip_window(start, end)
    sources = sources_for(session, camera_id, start, end)
    return cached_clip(get_settings().clips_dir, sources, start, end, exact=exact, cut_guard=cut_guard)
