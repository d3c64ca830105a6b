"""Keyset pagination: opaque cursors that carry the sort key of the last row of a page."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from detection.models import Event
from detection.search.errors import BadCursor


def encode_cursor(sort: str, event: Any) -> str:
    key: list[Any] = [event.score if sort == "score" else event.start.isoformat(), event.id]
    raw = json.dumps({"s": sort, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        value, event_id = data["k"]
        if data["s"] != sort:
            raise BadCursor(f"this cursor belongs to a search sorted by {data['s']!r}; repeat that search or "
                            "start again without a cursor")
        event_id = int(event_id)
        if not 0 <= event_id < 2**62:
            raise ValueError("event id out of range")
        if sort == "score":
            return float(value), event_id
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("cursor time without offset")
        return moment.astimezone(UTC), event_id
    except BadCursor:
        raise
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error, json.JSONDecodeError) as exc:
        raise BadCursor("the cursor is not one this search handed out; start again without a cursor") from exc


def keyset_after(sort: str, cursor: str | None) -> tuple[list[ColumnElement[bool]], list[Any]]:
    if sort == "time":
        order = [Event.start.asc(), Event.id.asc()]
    elif sort == "-time":
        order = [Event.start.desc(), Event.id.desc()]
    else:
        order = [Event.score.desc(), Event.id.asc()]
    if cursor is None:
        return [], order
    value, event_id = decode_cursor(sort, cursor)
    if sort == "time":
        after = or_(Event.start > value, and_(Event.start == value, Event.id > event_id))
    elif sort == "-time":
        after = or_(Event.start < value, and_(Event.start == value, Event.id < event_id))
    else:
        after = or_(Event.score < value, and_(Event.score == value, Event.id > event_id))
    return [after], order
