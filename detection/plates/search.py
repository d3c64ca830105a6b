"""Plate search: the events whose plate matches a query (``text.match_distance``), closest first, then surest.

The database narrows the candidates (the other filters, a plate read, a key length that can match); the fuzzy
match itself runs here, on the plate keys only. Ranking by closeness cannot follow the time-ordered keyset
cursors of the other searches, so a plate search pages by position in its ranked list (its cursor says so).
Parked vehicles are included: a plate is a lead whether the car drove through or stood at the gate.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import replace
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from detection.models import Event
from detection.plates.text import length_window, match_distance, normalise_query

MAX_QUERY_CHARS = 32
MAX_CANDIDATES = 50_000
"""Plate-read events a search looks at, at most (newest first beyond that)."""


class PlateQueryError(ValueError):
    """The plate query or its cursor cannot be used."""


def check_plate_query(text: str) -> str:
    """The query's key; PlateQueryError for a query that cannot be a plate."""
    if len(text) > MAX_QUERY_CHARS or any(ord(ch) < 32 for ch in text):
        raise PlateQueryError(f"plate {text[:40]!r} is not a plate; give its letters and digits "
                              f"({MAX_QUERY_CHARS} characters at most, ? for an unknown one)")
    norm = normalise_query(text)
    if not norm or not norm.strip("?"):
        raise PlateQueryError(f"plate {text!r} has no letters or digits; give at least one, e.g. A12345 or 黑A·12345")
    return norm


def _encode(norm: str, offset: int) -> str:
    raw = json.dumps({"s": "plate", "q": norm, "o": offset}, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, norm: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = int(data["o"])
        if data["s"] != "plate" or data["q"] != norm or not 0 <= offset < MAX_CANDIDATES:
            raise ValueError("another search's cursor")
        return offset
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise PlateQueryError("the cursor is not one this plate search handed out; start again without a cursor") \
            from exc


def ranked_matches(session: Session, query: Any, site_ids: frozenset[int] | None) -> tuple[list[Any], Any]:
    """Every event matching the query's plate and other filters, ranked; with the cameras the search covers."""
    from detection.search import build_search

    norm = check_plate_query(query.plate)
    # The other filters as any search applies them (scope, window, labels...), parked vehicles included.
    base = replace(query, plate=None, stationary=True, sort="-time", cursor=None, limit=1)
    # One step: the plate conditions and the candidate limit are added to this statement's own WHERE and LIMIT.
    statement, cameras = build_search(session, base, site_ids, two_step=False)
    shortest, longest = length_window(norm)
    statement = (statement.where(Event.plate_norm.is_not(None),
                                 func.length(Event.plate_norm).between(shortest, longest))
                 .limit(MAX_CANDIDATES))
    scored = []
    for row in session.execute(statement).all():
        distance = match_distance(norm, row.plate_norm)
        if distance is not None:
            scored.append((distance, -(row.plate_score or 0.0), -row.score, row.id, row))
    scored.sort(key=lambda item: item[:4])
    return [item[4] for item in scored], cameras


def plate_buckets(session: Session, query: Any, site_ids: frozenset[int] | None,
                  bucket_s: int) -> list[tuple[str, int, int]]:
    """(camera, bucket number, events) of a plate search's matches, for the timeline summary; events that began
    before the window count in its first bucket, as in the summary of any search."""
    counts: dict[tuple[str, int], int] = {}
    rows, _ = ranked_matches(session, query, site_ids)
    for row in rows:
        offset = (row.start - query.start).total_seconds()
        key = (row.camera_id, max(0, int(offset // bucket_s)))
        counts[key] = counts.get(key, 0) + 1
    return [(camera, bucket, n) for (camera, bucket), n in sorted(counts.items())]


def plate_page(session: Session, query: Any, site_ids: frozenset[int] | None = None) -> Any:
    """One page of a plate search (a ``detection.search.SearchPage``)."""
    from detection.search import SearchPage

    norm = check_plate_query(query.plate)
    offset = _decode(query.cursor, norm) if query.cursor else 0
    rows, cameras = ranked_matches(session, query, site_ids)
    page = rows[offset:offset + query.limit]
    more = offset + query.limit < len(rows)
    return SearchPage(events=page, cameras={c.id: c for c in cameras},
                      next_cursor=_encode(norm, offset + query.limit) if more else None)


__all__ = ["PlateQueryError", "check_plate_query", "plate_buckets", "plate_page", "ranked_matches"]
