"""Users: created with a role (and a site for managers), a token shown once and stored hashed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import hash_token, new_token
from api.models import Role, User
from footage.models import Site


class UserError(ValueError):
    """A user request that cannot be carried out, with the reason in words."""


def create_user(session: Session, name: str, role: str, site_names: list[str] | None = None) -> tuple[User, str]:
    """Create a user and return it with its token (the only time the token is seen)."""
    site_names = site_names or []
    if role not in Role.ALL:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(Role.ALL)}")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise UserError(f"a user named {name!r} exists already")
    if role == Role.MANAGER and len(site_names) != 1:
        raise UserError("a manager needs exactly one site: pass --site NAME")
    if role == Role.ADMIN and site_names:
        raise UserError("an admin reaches every site; do not pass --site")
    sites = []
    for site_name in site_names:
        site = session.scalar(select(Site).where(Site.name == site_name))
        if site is None:
            raise UserError(f"no site named {site_name!r}; add it first with 'gatewatch sites add'")
        sites.append(site)
    token = new_token()
    user = User(name=name, role=role, token_hash=hash_token(token), sites=sites)
    session.add(user)
    session.flush()
    return user, token
