"""Users: created with a role (and a site for managers), a token shown once and stored hashed."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import record
from api.auth import hash_token, new_token
from api.models import Role, User
from footage.models import Site

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
ADMIN_NAME = "admin"


class UserError(ValueError):
    """A user request that cannot be carried out, with the reason in words."""


class UnknownUser(UserError):
    """No user has the name given."""


def _audit(session: Session, action: str, user: User, actor: str | None, remote_addr: str | None,
           detail: dict[str, Any] | None = None) -> None:
    if actor is not None:
        record(session, user_name=actor, action=action, obj=f"user:{user.name}", detail=detail,
               remote_addr=remote_addr)


def create_user(session: Session, name: str, role: str, site_names: list[str] | None = None, *,
                actor: str | None = None, remote_addr: str | None = None) -> tuple[User, str]:
    """Create a user and return it with its token (the only time the token is seen).

    With ``actor`` (who asked), the change is recorded in the audit trail in the same transaction.
    """
    site_names = site_names or []
    if not NAME_PATTERN.fullmatch(name):
        raise UserError("a user name is 1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
    if role not in Role.ALL:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(Role.ALL)}")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise UserError(f"a user named {name!r} exists already")
    if role == Role.MANAGER and len(site_names) != 1:
        raise UserError("a manager needs exactly one site: pass --site NAME")
    if role == Role.ADMIN and site_names:
        raise UserError("an admin reaches every site; do not pass --site")
    sites: list[Site] = []
    for site_name in dict.fromkeys(site_names):
        site = session.scalar(select(Site).where(Site.name == site_name))
        if site is None:
            raise UserError(f"no site named {site_name!r}; add it first with 'gatewatch sites add'")
        sites.append(site)
    token = new_token()
    user = User(name=name, role=role, token_hash=hash_token(token), sites=sites)
    session.add(user)
    session.flush()
    _audit(session, "user_create", user, actor, remote_addr, {"role": role, "sites": site_names})
    return user, token


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UnknownUser(f"no user named {name!r}; see 'gatewatch users list'")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def disable_user(session: Session, name: str, *, actor: str | None = None, remote_addr: str | None = None) -> User:
    """Disable a user: their token and every web session stop working at once (audited with ``actor``)."""
    user = get_user(session, name)
    user.disabled = True
    session.flush()
    _audit(session, "user_disable", user, actor, remote_addr)
    return user


def rotate_token(session: Session, name: str, *, actor: str | None = None,
                 remote_addr: str | None = None) -> tuple[User, str]:
    """Give a user a new token (returned, the only time it is seen); the old one and its sessions stop working.

    Audited with ``actor``."""
    user = get_user(session, name)
    token = new_token()
    user.token_hash = hash_token(token)
    session.flush()
    _audit(session, "user_rotate_token", user, actor, remote_addr)
    return user, token


def ensure_admin(session: Session) -> str | None:
    """Create user "admin" when no enabled admin exists and return its token; None when there is one already."""
    if session.scalar(select(User.id).where(User.role == Role.ADMIN, User.disabled.is_(False)).limit(1)) is not None:
        return None
    existing = session.scalar(select(User).where(User.name == ADMIN_NAME))
    if existing is not None:
        # The name is taken by a disabled or demoted account: give the installation a fresh admin under a new name.
        suffix = 2
        while session.scalar(select(User.id).where(User.name == f"{ADMIN_NAME}{suffix}")) is not None:
            suffix += 1
        _, token = create_user(session, f"{ADMIN_NAME}{suffix}", Role.ADMIN)
        return token
    _, token = create_user(session, ADMIN_NAME, Role.ADMIN)
    return token


def user_dict(user: User) -> dict[str, Any]:
    """A user as plain data (never the token or its hash)."""
    return {
        "name": user.name,
        "role": user.role,
        "sites": sorted(site.name for site in user.sites),
        "disabled": user.disabled,
        "created_at": user.created_at.isoformat() if user.created_at else None,
    }
