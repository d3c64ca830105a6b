"""The audit trail: append-only entries, each carrying the hash of the one before."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, text
from sqlalchemy.orm import Session

from api.models import AuditEntry
from footage.db import utcnow

GENESIS = "0" * 64
AUDIT_TABLE = cast(Table, AuditEntry.__table__)
# Any fixed number: the PostgreSQL advisory lock that serialises appenders across processes and machines.
_PG_LOCK_KEY = 0x6761_7465_7761_7463
MAX_PAGE = 500


class AuditQueryError(ValueError):
    """A filter or cursor for the audit listing is not usable, with what to send instead."""


def _entry_hash(prev_hash: str, at: datetime, user_name: str | None, action: str, obj: str | None,
                detail: dict[str, Any], remote_addr: str | None) -> str:
    payload = json.dumps(
        [prev_hash, at.isoformat(), user_name, action, obj, detail, remote_addr],
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class Pending:
    """An entry not yet written: what it records, before it is numbered and chained."""

    user_name: str | None
    action: str
    obj: str | None
    detail: dict[str, Any]
    remote_addr: str | None


def pending(*, user_name: str | None, action: str, obj: str | None = None, detail: dict[str, Any] | None = None,
            remote_addr: str | None = None) -> Pending:
    # Round-trip through JSON now, so what is hashed is exactly what the database gives back later.
    return Pending(user_name, action, obj, json.loads(json.dumps(detail or {}, default=str)), remote_addr)


def _chained(session: Session, items: list[Pending]) -> list[dict[str, Any]]:
    """The rows for ``items``, numbered and chained after the newest entry, with the write lock held."""
    _serialise_appenders(session)
    last = session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    last_id, prev_hash = (last.id, last.hash) if last else (0, GENESIS)
    # Microsecond precision differs between databases; truncate so the stored value hashes the same.
    at = utcnow().replace(microsecond=0)
    rows = []
    for item in items:
        last_id += 1
        entry_hash = _entry_hash(prev_hash, at, item.user_name, item.action, item.obj, item.detail, item.remote_addr)
        rows.append(dict(
            # Numbered here, not by a sequence: a rolled-back append on PostgreSQL would otherwise leave a gap that
            # reads as a deleted entry.
            id=last_id, at=at, user_name=item.user_name, action=item.action, object=item.obj, detail=item.detail,
            remote_addr=item.remote_addr, prev_hash=prev_hash, hash=entry_hash,
        ))
        prev_hash = entry_hash
    return rows


def append(session: Session, items: list[Pending]) -> list[AuditEntry]:
    """Chain and add ``items`` in the caller's transaction, holding the write lock until it ends (one lock for all)."""
    entries = [AuditEntry(**row) for row in _chained(session, items)]
    session.add_all(entries)
    session.flush()
    return entries


def append_ids(session: Session, items: list[Pending]) -> list[int]:
    """``append`` as one multi-row INSERT, without ORM objects (the batched writer's path); the new ids."""
    rows = _chained(session, items)
    if rows:
        # Core on the session's connection: the ORM's bulk-insert path cost the writer thread more than the rows.
        session.connection().execute(insert(AUDIT_TABLE), rows)
    return [row["id"] for row in rows]


def record(session: Session, *, user_name: str | None, action: str, obj: str | None = None,
           detail: dict[str, Any] | None = None, remote_addr: str | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction; it lands or vanishes with the action it records.

    For actions that change data (they take the write lock anyway). Reads (searches, views) go through
    ``api.audit_writer`` instead, so they never hold the lock themselves.
    """
    item = pending(user_name=user_name, action=action, obj=obj, detail=detail, remote_addr=remote_addr)
    return append(session, [item])[0]


def _serialise_appenders(session: Session) -> None:
    """Hold the database's write lock until the caller's transaction ends, so two entries never share a parent."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif dialect == "sqlite":
        # A write statement (even one touching no row) takes SQLite's single writer lock now, before the last entry
        # is read; a second appender waits on busy_timeout instead of chaining to the same predecessor.
        session.execute(text("UPDATE audit SET id = id WHERE 0"))


@dataclass
class AuditPage:
    """One page of the audit trail, newest first."""

    entries: list[AuditEntry]
    """The entries on this page."""
    next_cursor: str | None
    """Pass as ``cursor`` for the next (older) page; None on the last page."""


def list_entries(session: Session, *, user: str | None = None, action: str | None = None,
                 since: datetime | None = None, until: datetime | None = None, limit: int = 100,
                 cursor: str | None = None) -> AuditPage:
    """Entries matching every filter given, newest first, ``limit`` at a time."""
    if not 1 <= limit <= MAX_PAGE:
        raise AuditQueryError(f"limit must be between 1 and {MAX_PAGE}")
    for name, moment in (("since", since), ("until", until)):
        if moment is None:
            continue
        if moment.tzinfo is None:
            raise AuditQueryError(f"'{name}' needs a UTC offset, e.g. 2024-11-07T05:00:00+08:00")
        try:
            moment.astimezone(UTC)
        except OverflowError as exc:
            raise AuditQueryError(f"'{name}' is out of range; give a time between years 1 and 9999") from exc
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if user is not None:
        query = query.where(AuditEntry.user_name == user)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if cursor is not None:
        if not cursor.isdigit() or len(cursor) > 18:
            raise AuditQueryError("cursor is not one this listing gave; pass next_cursor from the previous page")
        query = query.where(AuditEntry.id < int(cursor))
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(entries=rows, next_cursor=str(rows[-1].id) if more and rows else None)


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    """An entry as plain JSON-ready data (times in UTC, ISO 8601)."""
    return {
        "id": entry.id, "at": entry.at.isoformat(), "user": entry.user_name, "action": entry.action,
        "object": entry.object, "detail": entry.detail, "remote_addr": entry.remote_addr,
        "prev_hash": entry.prev_hash, "hash": entry.hash,
    }


def head(session: Session) -> AuditEntry | None:
    """The newest entry. Its id and hash, noted somewhere outside the database, let a later check notice
    entries cut off the end of the trail, which the chain alone cannot show."""
    return session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))


@dataclass
class ChainProblem:
    """Where the chain breaks and why."""

    entry_id: int
    reason: str


def verify_chain(session: Session) -> tuple[int, list[ChainProblem]]:
    """Walk the whole trail; return how many entries were checked and every break found."""
    problems: list[ChainProblem] = []
    prev_hash = GENESIS
    prev_id = 0
    count = 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000):
        count += 1
        if entry.id != prev_id + 1:
            problems.append(ChainProblem(entry.id, f"entries {prev_id + 1}..{entry.id - 1} are missing"))
        if entry.prev_hash != prev_hash:
            problems.append(ChainProblem(entry.id, "does not chain to the entry before it"))
        expected = _entry_hash(entry.prev_hash, entry.at, entry.user_name, entry.action, entry.object,
                               entry.detail, entry.remote_addr)
        if expected != entry.hash:
            problems.append(ChainProblem(entry.id, "its contents were changed after it was written"))
        prev_hash = entry.hash
        prev_id = entry.id
    return count, problems
