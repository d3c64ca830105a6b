"""Joining spans of time: the one rule for "these stretches touch, make them one".

Used for footage coverage (datetimes, joined across the recorder's 1 s cut gaps) and for the active spans of
a segment (seconds from its first frame). Spans are sorted by start, then end; a span joins the previous
one when it starts at most ``gap`` after that one ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T", bound=Any)


def merge_spans(spans: Iterable[tuple[T, T]], gap: Any) -> list[tuple[T, T]]:
    """``spans`` as (start, end) pairs, sorted, with those that overlap or lie within ``gap`` joined.

    ``gap`` has the type that adds to an end: a ``timedelta`` for datetimes, a float for seconds.
    """
    merged: list[tuple[T, T]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
