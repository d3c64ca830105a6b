"""The audit trail: append-only entries, each carrying the hash of the one before."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import AuditEntry
from footage.db import utcnow

GENESIS = "0" * 64


def _entry_hash(prev_hash: str, at: datetime, user_name: str | None, action: str, obj: str | None,
                detail: dict[str, Any], remote_addr: str | None) -> str:
    payload = json.dumps(
        [prev_hash, at.isoformat(), user_name, action, obj, detail, remote_addr],
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(session: Session, *, user_name: str | None, action: str, obj: str | None = None,
           detail: dict[str, Any] | None = None, remote_addr: str | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction; it lands or vanishes with the action it records."""
    detail = json.loads(json.dumps(detail or {}, default=str))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Serialise appenders so two entries never chain to the same predecessor.
        session.execute(select(AuditEntry.id).with_for_update().order_by(AuditEntry.id.desc()).limit(1))
    last = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    prev_hash = last.hash if last else GENESIS
    # Microsecond precision differs between databases; truncate so the stored value hashes the same.
    at = utcnow().replace(microsecond=0)
    entry = AuditEntry(
        at=at, user_name=user_name, action=action, object=obj, detail=detail, remote_addr=remote_addr,
        prev_hash=prev_hash,
        hash=_entry_hash(prev_hash, at, user_name, action, obj, detail, remote_addr),
    )
    session.add(entry)
    session.flush()
    return entry


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
