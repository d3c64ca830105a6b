"""Users' tokens and who a request is: the principal every access check looks at."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Role, User, user_site


class AuthError(Exception):
    """Credentials are missing, wrong, or belong to a disabled user."""

    def __init__(self, message: str, user_name: str | None = None) -> None:
        super().__init__(message)
        self.user_name = user_name
        """Whose credentials they were, when known (a disabled user's token), for the audit trail."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: the user's name, role and the sites they may reach (None: every site)."""

    user_id: int
    name: str
    role: str
    site_ids: frozenset[int] | None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def may_reach_site(self, site_id: int) -> bool:
        return self.site_ids is None or site_id in self.site_ids


def new_token() -> str:
    return "gw_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 is enough; no salt or slow hash is needed.
    return hashlib.sha256(token.encode()).hexdigest()


def principal_for(user: User) -> Principal:
    if user.role == Role.ADMIN or (user.role == Role.OFFICER and not user.sites):
        site_ids = None
    else:
        site_ids = frozenset(site.id for site in user.sites)
    return Principal(user_id=user.id, name=user.name, role=user.role, site_ids=site_ids)


def authenticate_token(session: Session, token: str) -> Principal:
    """The principal a bearer token belongs to, read in one query of plain rows (no ORM objects): it runs on every
    API request, and not caching it means a rotated or disabled token stops working at once, in every process."""
    digest = hash_token(token)
    rows = session.execute(
        select(User.id, User.name, User.role, User.disabled, User.token_hash, user_site.c.site_id)
        .outerjoin(user_site, user_site.c.user_id == User.id)
        .where(User.token_hash == digest)
    ).all()
    if not rows or not secrets.compare_digest(rows[0].token_hash, digest):
        raise AuthError("unknown token")
    first = rows[0]
    if first.disabled:
        raise AuthError(f"user {first.name!r} is disabled", user_name=first.name)
    sites = frozenset(row.site_id for row in rows if row.site_id is not None)
    site_ids = None if first.role == Role.ADMIN or (first.role == Role.OFFICER and not sites) else sites
    return Principal(user_id=first.id, name=first.name, role=first.role, site_ids=site_ids)
