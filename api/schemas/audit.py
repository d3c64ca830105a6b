"""Response bodies of the audit trail."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class AuditEntryOut(BaseModel):
    id: int
    at: str = Field(description="UTC, ISO 8601.")
    user: str | None
    action: str
    object: str | None
    detail: dict[str, Any]
    remote_addr: str | None
    prev_hash: str
    hash: str


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut]
    next_cursor: str | None = Field(description="Pass as 'cursor' for the next (older) page; null on the last.")
