"""Request and response bodies of users, sign-in and "who am I"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

UserName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")]
SiteName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class UserCreate(BaseModel):
    name: UserName = Field(description="Letters, digits, '.', '_', '@', '-'.")
    role: str = Field(description="admin, officer or manager.", max_length=16)
    sites: list[SiteName] = Field(
        default_factory=list, max_length=100,
        description="Managers: exactly one site. Officers: the sites granted (none: every site). Admins: none.",
    )


class UserOut(BaseModel):
    name: str
    role: str
    sites: list[str]
    disabled: bool
    created_at: datetime | None


class UserWithToken(UserOut):
    token: str = Field(description="The bearer token; shown this once, stored only hashed.")


class Me(BaseModel):
    name: str
    role: str
    sites: list[str] = Field(description="Names of the sites the caller may reach (every site for admins).")
    all_sites: bool = Field(description="True when the caller reaches every site.")


class Login(BaseModel):
    name: UserName
    token: str = Field(min_length=1, max_length=200)
