"""One home for clip windows and their limit: the HTTP clip routes, ``gatewatch clip`` and the case export.

The rule: a clip window (an event with its pre/post roll, or a camera time range) is at most ``MAX_CLIP``,
three hours, everywhere. Before, HTTP allowed 2 h, the CLI had no limit and a case range 3 h. Three hours wins
because case ranges of up to 3 h are already stored and must stay exportable (evidence cannot become
un-exportable by an upgrade); the CPU cost of a long cut is bounded by the cut slots (``api.clip_views``), not
by the window. The CLI, unlimited before, now gets the same refusal.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from footage.clips import BadClipWindow, Clip, cached_clip, cut_clip, sources_for
from footage.settings import get_settings

MAX_CLIP = timedelta(hours=3)
MAX_ROLL_S = 600.0
"""Longest pre or post roll one may ask for around an event clip, in seconds."""


class ClipTooLong(BadClipWindow):
    """The window is longer than MAX_CLIP."""


def max_clip_hours() -> str:
    return f"{MAX_CLIP.total_seconds() / 3600:g}"


def check_window(start: datetime, end: datetime, given: tuple[str, str] | None = None) -> None:
    """Refuse a reversed, empty or too long window; ``given`` is the (from, to) text as the caller wrote it."""
    if end <= start:
        first, second = given or (start.isoformat(), end.isoformat())
        raise BadClipWindow(f"the window ends ({second}) before it starts ({first}); give a 'to' later than 'from'")
    if end - start > MAX_CLIP:
        raise ClipTooLong(f"a clip is at most {max_clip_hours()} hours long; ask for a shorter window")


def event_window(start: datetime, end: datetime, pre_s: float, post_s: float) -> tuple[datetime, datetime]:
    """An event's span widened by its pre and post roll (seconds)."""
    if not (0 <= pre_s <= MAX_ROLL_S and 0 <= post_s <= MAX_ROLL_S):
        raise BadClipWindow(f"pre and post roll are 0-{MAX_ROLL_S:g} seconds")
    return start - timedelta(seconds=pre_s), end + timedelta(seconds=post_s)


def cut_window(session: Session, camera_id: str, start: datetime, end: datetime, *, exact: bool = False,
               cut_guard: AbstractContextManager[object] | None = None) -> Clip:
    """The cached clip of a camera's window, after the limit; raises BadClipWindow, NoFootage or ClipError."""
    check_window(start, end)
    sources = sources_for(session, camera_id, start, end)
    return cached_clip(get_settings().clips_dir, sources, start, end, exact=exact, cut_guard=cut_guard)


def cut_window_to(session: Session, camera_id: str, start: datetime, end: datetime, out: Path, *,
                  exact: bool = False, burn_in_tz: str | None = None) -> Clip:
    """A fresh (uncached) cut into ``out``, after the same limit: for an evidence package."""
    check_window(start, end)
    sources = sources_for(session, camera_id, start, end)
    return cut_clip(sources, start, end, out, exact=exact, burn_in_tz=burn_in_tz)
