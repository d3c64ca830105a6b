"""Web sign-in: name + token exchanged for a server-side session, and repeated failures slowed down per address.

The cookie carries only a random session id (256 bits). The database keeps an HMAC of it under an installation
secret in the keys folder (so someone who can write to the database still cannot mint a session for a cookie of
their choosing), the user, the expiry and a fingerprint of the user's token hash. Signing out deletes the row;
rotating a user's token changes the fingerprint and disabling the user fails the check, so either ends every
session of that user at once (the stale rows are deleted when next seen).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.auth import AuthError, Principal, hash_token, principal_for
from api.models import User, WebSession
from api.settings import get_api_settings
from footage.db import utcnow
from footage.settings import get_settings
from footage.signing import private_secret

SECRET_FILE = "session_secret"


def session_hours() -> int:
    return get_api_settings().session_hours


def _secret() -> bytes:
    return private_secret(get_settings().keys_dir, SECRET_FILE)


def _session_key(cookie: str) -> str:
    return hmac.new(_secret(), cookie.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def _token_fingerprint(token_hash: str) -> str:
    return hashlib.sha256(token_hash.encode()).hexdigest()[:32]


def start_session(session: Session, user: User, lifetime_s: int | None = None) -> str:
    """Store a new session for ``user`` (in the caller's transaction) and return the cookie value."""
    cookie = secrets.token_urlsafe(32)
    now = utcnow()
    lifetime = lifetime_s if lifetime_s is not None else session_hours() * 3600
    # Expired sessions of anyone are swept here, so the table holds only live ones without a timer.
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.add(WebSession(id=_session_key(cookie), user_id=user.id, token_fp=_token_fingerprint(user.token_hash),
                           created_at=now, expires_at=now + timedelta(seconds=lifetime)))
    return cookie


def end_session(session: Session, cookie: str) -> bool:
    """Delete the session this cookie names (in the caller's transaction); False when there was none."""
    result = session.execute(delete(WebSession).where(WebSession.id == _session_key(cookie)))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def principal_from_cookie(session: Session, cookie: str) -> Principal:
    """Who the session belongs to; AuthError when it is unknown, ended, expired, or its user disabled or rotated."""
    if not cookie or len(cookie) > 200:
        raise AuthError("the session cookie is not valid; sign in again")
    row = session.get(WebSession, _session_key(cookie))
    if row is None:
        raise AuthError("the session has ended or never existed; sign in again")
    user = session.get(User, row.user_id)
    ended = None
    if row.expires_at < utcnow():
        ended = "the session has expired; sign in again"
    elif user is None or not hmac.compare_digest(_token_fingerprint(user.token_hash), row.token_fp):
        ended = "the session has ended (the token was changed); sign in again"
    if ended is not None:
        session.delete(row)
        session.commit()
        raise AuthError(ended)
    assert user is not None
    if user.disabled:
        raise AuthError(f"user {user.name!r} is disabled")
    return principal_for(user)


def check_login(session: Session, name: str, token: str) -> User:
    """The user with this name and token; AuthError (without saying which part was wrong) otherwise."""
    user = session.scalar(select(User).where(User.name == name))
    # Compare even when the name is unknown, so timing says nothing about which names exist.
    stored = user.token_hash if user is not None else hash_token(secrets.token_hex(16))
    if user is None or not hmac.compare_digest(stored, hash_token(token)):
        raise AuthError("wrong name or token")
    if user.disabled:
        raise AuthError("wrong name or token")
    return user


@dataclass
class LoginThrottle:
    """Counts failed sign-ins per address; past ``allowed`` failures within ``window_s`` the address must wait."""

    allowed: int = 5
    """Failures tolerated inside the window."""
    window_s: float = 60.0
    """The sliding window, seconds."""
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, addr: str, now: float) -> deque[float]:
        times = self._failures.setdefault(addr, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, addr: str) -> int:
        """Seconds this address must wait before trying again (0: it may try now)."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(addr, now)
            if len(times) < self.allowed:
                if not times:
                    self._failures.pop(addr, None)
                return 0
            return max(1, int(times[-self.allowed] + self.window_s - now + 0.999))

    def failed(self, addr: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(addr, now).append(now)
            if len(self._failures) > 10_000:
                # Bound the memory an address-spraying client can make us hold: forget the quietest addresses.
                for stale in sorted(self._failures, key=lambda a: self._failures[a][-1] if self._failures[a] else 0)[
                    :5_000
                ]:
                    del self._failures[stale]
