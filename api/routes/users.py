"""HTTP routes: users (admin only). Every change lands in the audit trail."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status

from api.auth import Principal
from api.deps import DbSession, client_addr, require_role
from api.models import Role
from api.schemas.users import UserCreate, UserOut, UserWithToken
from api.users import UnknownUser, UserError, create_user, disable_user, list_users, rotate_token, user_dict

router = APIRouter(tags=["users"])
Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]
NameInPath = Annotated[str, Path(min_length=1, max_length=100)]


def _refused(exc: UserError) -> HTTPException:
    if isinstance(exc, UnknownUser):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


@router.get("/users", response_model=list[UserOut])
def users_list(session: DbSession, principal: Admin) -> list[dict]:
    """Every user, with role, sites and whether disabled (never tokens)."""
    return [user_dict(user) for user in list_users(session)]


@router.post("/users", response_model=UserWithToken, status_code=status.HTTP_201_CREATED)
def users_add(body: UserCreate, request: Request, session: DbSession, principal: Admin) -> dict:
    """Create a user; the token in the answer is shown this once."""
    try:
        user, token = create_user(session, body.name, body.role, body.sites, actor=principal.name,
                                  remote_addr=client_addr(request))
    except UserError as exc:
        raise _refused(exc) from exc
    session.commit()
    return {**user_dict(user), "token": token}


@router.post("/users/{name}/disable", response_model=UserOut)
def users_disable(name: NameInPath, request: Request, session: DbSession, principal: Admin) -> dict:
    """Disable a user: their token and web sessions stop working at once."""
    try:
        user = disable_user(session, name, actor=principal.name, remote_addr=client_addr(request))
    except UserError as exc:
        raise _refused(exc) from exc
    session.commit()
    return user_dict(user)


@router.post("/users/{name}/rotate-token", response_model=UserWithToken)
def users_rotate_token(name: NameInPath, request: Request, session: DbSession, principal: Admin) -> dict:
    """Give a user a new token (shown this once); the old token and its web sessions stop working."""
    try:
        user, token = rotate_token(session, name, actor=principal.name, remote_addr=client_addr(request))
    except UserError as exc:
        raise _refused(exc) from exc
    session.commit()
    return {**user_dict(user), "token": token}
