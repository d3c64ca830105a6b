"""A short-lived cache of bearer token -> principal, so a search does not query users on every request.

Revocation is kept: a change to any user or site (disable, rotate, sites, role, delete) ends the cache at once
in every process (``footage.stamped_cache``); one made by hand in SQL is seen within the TTL. Unknown tokens are
never cached: every wrong token is looked up (and audited as a failed sign-in).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

# api.models imports this module last, so api.auth may still be loading here: look its names up when called.
import api.auth
from api.models import User
from footage.models import Site
from footage.stamped_cache import StampedCache

if TYPE_CHECKING:
    from api.auth import Principal

TTL_S = 2.0
"""How long a principal read from the database is believed at most (changes made by hand in SQL take this long)."""

_principals: StampedCache[Principal] = StampedCache("principals", (User, Site), TTL_S)


def clear() -> None:
    """Forget every cached principal (a user or site changed)."""
    _principals.clear()


def cached_principal(token: str) -> Principal | None:
    """The principal of ``token`` if it was read less than TTL_S ago and nothing changed since; else None."""
    return _principals.get(api.auth.hash_token(token))


def authenticate(session: Session, token: str) -> Principal:
    """``authenticate_token`` through the cache (AuthError as it raises)."""
    found = cached_principal(token)
    if found is not None:
        return found
    ticket = _principals.ticket()
    principal = api.auth.authenticate_token(session, token)
    _principals.put(api.auth.hash_token(token), principal, ticket)
    return principal
