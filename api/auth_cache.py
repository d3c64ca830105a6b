"""A short-lived cache of bearer token -> principal, so a search does not query users on every request.

Revocation is kept: a change to any user or site made through this process (disable, rotate, sites, role, delete)
clears the cache when its transaction commits, so the next request reads the database again. Another process (a
second ``serve --workers`` process, or the CLI) changing a user is seen here within ``TTL_S``. A generation count
stops a lookup that started before such a commit from storing what it read after the cache was cleared.
Unknown tokens are never cached: every wrong token is looked up (and audited as a failed sign-in).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from api.auth import Principal, authenticate_token, hash_token
from api.models import User
from footage.models import Site

TTL_S = 2.0
"""How long a principal read from the database is believed (other processes' revocations take this long)."""
MAX_ENTRIES = 10_000

_lock = threading.Lock()
_entries: dict[str, tuple[float, Principal]] = {}
_generation = 0


def clear() -> None:
    """Forget every cached principal (a user or site changed)."""
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()


def cached_principal(token: str) -> Principal | None:
    """The principal of ``token`` if it was read less than TTL_S ago and nothing changed since; else None."""
    entry = _entries.get(hash_token(token))
    if entry is None or entry[0] < time.monotonic():
        return None
    return entry[1]


def authenticate(session: Session, token: str) -> Principal:
    """``authenticate_token`` through the cache (AuthError as it raises)."""
    found = cached_principal(token)
    if found is not None:
        return found
    generation = _generation
    principal = authenticate_token(session, token)
    with _lock:
        if generation == _generation:
            if len(_entries) >= MAX_ENTRIES:
                _entries.clear()
            _entries[hash_token(token)] = (time.monotonic() + TTL_S, principal)
    return principal


def _touches_principals(session: Session) -> bool:
    return any(isinstance(obj, (User, Site)) for obj in (*session.new, *session.dirty, *session.deleted))


@event.listens_for(Session, "after_flush")
def _note_principal_change(session: Session, _context: Any) -> None:
    if _touches_principals(session) or session.info.get("principals_changed"):
        session.info["principals_changed"] = True
        clear()  # now, so nothing read from here on is cached ...


@event.listens_for(Session, "after_commit")
def _forget_on_commit(session: Session) -> None:
    if session.info.pop("principals_changed", False):
        clear()  # ... and again once committed, dropping what other threads read before the commit


@event.listens_for(Session, "after_rollback")
def _forget_flag(session: Session) -> None:
    session.info.pop("principals_changed", None)
