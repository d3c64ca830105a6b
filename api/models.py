"""Tables of the api floor: users and their sites, the audit trail, and evidence cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from footage.db import Base, UTCDateTime, utcnow
from footage.models import Site


class Role:
    ADMIN = "admin"
    OFFICER = "officer"
    MANAGER = "manager"
    ALL = (ADMIN, OFFICER, MANAGER)


user_site = Table(
    "user_site",
    Base.metadata,
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("site.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    """A person with a role. Managers have exactly one site; officers all sites unless granted some."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(128), index=True)
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    sites: Mapped[list[Site]] = relationship(secondary=user_site, lazy="selectin")


class AuditEntry(Base):
    """One append-only, hash-chained record of who did what, when and from where."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_name: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object: Mapped[str | None] = mapped_column(String(300), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    remote_addr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Case(Base):
    """An evidence case: a name, an outside reference (police case number) and what it holds.

    ``scope_sites`` are the sites the case may hold footage of (the creator's sites; None: every site, for a
    case opened by an admin or an all-sites officer). Names are unique within a scope, so a clash never reveals
    that another site's case exists.
    """

    __tablename__ = "evidence_case"
    __table_args__ = (UniqueConstraint("scope_key", "name", name="uq_evidence_case_scope_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True)
    scope_sites: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    # The scope as text ("*" or sorted site ids, "1,4"): what the name's uniqueness is checked within.
    scope_key: Mapped[str] = mapped_column(String(400), default="*")
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # An open case holds its footage against retention and deletion; closing it releases the hold.
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    close_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    items: Mapped[list[CaseItem]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseItem.id", lazy="selectin"
    )


class CaseItem(Base):
    """An event, or a camera time range, in a case."""

    __tablename__ = "evidence_case_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("evidence_case.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="SET NULL"), nullable=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("camera.id", ondelete="RESTRICT"))
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="items")


class AuditCheckpoint(Base):
    """The audit chain's head (entry id and hash) at one moment, signed with the installation's Ed25519 key.

    The key lives in the keys folder, not in the database, so someone who rewrites the trail in the database
    cannot sign a checkpoint of the rewritten chain; ``gatewatch audit verify`` recomputes the chain against
    every checkpoint.
    """

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    entry_id: Mapped[int] = mapped_column(Integer, index=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    """Ed25519 signature of the checkpoint's canonical JSON, hex."""


class WebSession(Base):
    """A web sign-in: the cookie holds a random id, this row its keyed hash; deleting the row ends the session."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """HMAC-SHA256 of the cookie value under the installation's session secret, hex."""
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_fp: Mapped[str] = mapped_column(String(32))
    """Fingerprint of the user's token hash when signing in: a rotated token no longer matches."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


# Last: registers the session hooks that end cached principals in every process that can change users.
from api import auth_cache  # noqa: E402,F401
