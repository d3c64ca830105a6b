"""Settings of the api floor (web sessions, proxies, clip cutting), read from the environment (prefix ``GATEWATCH_``).

Storage, database and detector settings live in ``footage.settings``; these concern only people reaching the API.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWATCH_", env_file=None, extra="ignore")

    cookie_secure: bool = Field(
        False, description="Always mark the session cookie Secure (set it when a TLS proxy sits in front)."
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed; "
        "empty: the header is ignored and the connection's address is the client's.",
    )
    clip_cuts: int = Field(2, ge=1, le=64, description="Clips cut at once per server process; more get 503.")
    audit_checkpoint_s: float = Field(
        60.0, gt=0, le=3600, description="Seconds between signed checkpoints of the audit chain while it grows."
    )
    session_hours: int = Field(12, ge=1, le=24 * 30, description="How long a web sign-in lasts.")
    audit_fsync: bool = Field(
        False, description="SQLite: fsync each batch of read audit entries before answering (synchronous=FULL), so "
        "they survive a power cut too; off: they survive a crash of gatewatch (WAL, synchronous=NORMAL).",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for part in value:
                try:
                    ipaddress.ip_network(str(part), strict=False)
                except ValueError as exc:
                    raise ValueError(f"GATEWATCH_TRUSTED_PROXIES: {part!r} is not an address or CIDR "
                                     "(e.g. 10.0.0.5,192.168.1.0/24)") from exc
        return value


@lru_cache
def get_api_settings() -> ApiSettings:
    return ApiSettings()
