"""A short-lived cache of bearer token -> principal, so a search does not query users on every request.

Revocation is kept: a change to any user or site (disable, rotate, sites, role, delete) clears this process's
cache when its transaction commits and bumps the ``principals`` change stamp (``footage.change_stamp``), which
every process checks on each lookup, so the next request anywhere reads the database again (the CLI and a second
``serve --workers`` process included). A change made by hand in SQL is seen within ``TTL_S``. A generation count
stops a lookup that started before such a commit from storing what it read after the cache was cleared.
Unknown tokens are never cached: every wrong token is looked up (and audited as a failed sign-in).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session

# api.models imports this module last, so api.auth may still be loading here: look its names up when called.
import api.auth
from api.models import User
from footage import change_stamp
from footage.models import Site

if TYPE_CHECKING:
    from api.auth import Principal

TTL_S = 2.0
"""How long a principal read from the database is believed at most (changes made by hand in SQL take this long)."""
STAMP = "principals"
MAX_ENTRIES = 10_000

_lock = threading.Lock()
_entries: dict[str, tuple[float, int, Principal]] = {}
_generation = 0


def clear() -> None:
    """Forget every cached principal (a user or site changed)."""
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()


def cached_principal(token: str) -> Principal | None:
    """The principal of ``token`` if it was read less than TTL_S ago and nothing changed since; else None."""
    entry = _entries.get(api.auth.hash_token(token))
    if entry is None or entry[0] < time.monotonic() or entry[1] != change_stamp.current(STAMP):
        return None
    return entry[2]


def authenticate(session: Session, token: str) -> Principal:
    """``authenticate_token`` through the cache (AuthError as it raises)."""
    found = cached_principal(token)
    if found is not None:
        return found
    generation, stamp = _generation, change_stamp.current(STAMP)
    principal = api.auth.authenticate_token(session, token)
    with _lock:
        if generation == _generation:
            if len(_entries) >= MAX_ENTRIES:
                _entries.clear()
            _entries[api.auth.hash_token(token)] = (time.monotonic() + TTL_S, stamp, principal)
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
        change_stamp.bump(STAMP)  # and every other process's


@event.listens_for(Session, "after_rollback")
def _forget_flag(session: Session) -> None:
    session.info.pop("principals_changed", None)
