"""Web sign-in: name + token exchanged for a signed session cookie, and repeated failures slowed down per address.

The cookie value is ``payload.mac``: the payload names the user, the expiry and a fingerprint of the user's token
hash, and the MAC is HMAC-SHA256 under an installation secret kept in the keys folder. Rotating a user's token
changes the fingerprint and disabling the user fails the lookup, so either ends every session at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import AuthError, Principal, hash_token, principal_for
from api.models import User
from footage.settings import get_settings
from footage.signing import private_secret

SECRET_FILE = "session_secret"
SESSION_HOURS = 12


def _secret() -> bytes:
    return private_secret(get_settings().keys_dir, SECRET_FILE)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _token_fingerprint(token_hash: str) -> str:
    return hashlib.sha256(token_hash.encode()).hexdigest()[:32]


def issue_cookie(user: User, lifetime_s: int = SESSION_HOURS * 3600) -> str:
    """A cookie value for this user, valid for ``lifetime_s`` seconds or until the token rotates."""
    payload = json.dumps(
        {"uid": user.id, "exp": int(time.time()) + lifetime_s, "fp": _token_fingerprint(user.token_hash)},
        separators=(",", ":"),
    ).encode()
    body = _b64(payload)
    mac = hmac.new(_secret(), body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def principal_from_cookie(session: Session, cookie: str) -> Principal:
    """Who the cookie belongs to; AuthError when it is forged, expired, or its user was disabled or rotated."""
    body, _, mac_text = cookie.partition(".")
    try:
        given_mac = _unb64(mac_text)
        expected = hmac.new(_secret(), body.encode("ascii"), hashlib.sha256).digest()
    except (ValueError, UnicodeEncodeError) as exc:
        raise AuthError("the session cookie is malformed; sign in again") from exc
    if not hmac.compare_digest(given_mac, expected):
        raise AuthError("the session cookie is not valid; sign in again")
    try:
        payload = json.loads(_unb64(body))
        user_id, expires, token_fp = int(payload["uid"]), int(payload["exp"]), str(payload["fp"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthError("the session cookie is malformed; sign in again") from exc
    if expires < time.time():
        raise AuthError("the session has expired; sign in again")
    user = session.get(User, user_id)
    if user is None or not hmac.compare_digest(_token_fingerprint(user.token_hash), token_fp):
        raise AuthError("the session has ended (the token was changed); sign in again")
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
