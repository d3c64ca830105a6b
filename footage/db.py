"""The one database: engine, declarative base and sessions. Every floor's models use this ``Base``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, DateTime, Engine, Result, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from footage.datadir import secure_home
from footage.settings import get_settings


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the database; attach a time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # A pool as large as the request threads (anyio's 40): with the default 5 (+10 overflow) a busy service
        # opened and closed a connection, with its pragmas, for most requests.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=40,
                               max_overflow=20)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets the API read while a worker writes a segment's events.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # Reads through a memory map instead of read() calls: halves the CPU of an index-heavy search.
            cur.execute("PRAGMA mmap_size=268435456")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=40)


_engines: dict[str, Engine] = {}


_last: tuple[object, Engine] | None = None


def get_engine() -> Engine:
    global _last
    settings = get_settings()
    # Every request asks; resolving the data folder's path (realpath) each time cost ~0.5 ms of CPU a request.
    # Settings objects are immutable once made, and a changed setting makes a new one (get_settings.cache_clear).
    last = _last
    if last is not None and last[0] is settings:
        return last[1]
    url = settings.resolved_database_url
    if url not in _engines:
        # Before the database file or anything else under the data folder is created: private to this user.
        secure_home()
        _engines[url] = make_engine(url)
    _last = (settings, _engines[url])
    return _engines[url]


def reset_engines() -> None:
    """Dispose of cached engines (tests and forked workers switch databases)."""
    global _last
    from footage import camera_cache  # late: it imports the models, which import this module

    camera_cache.clear()
    _factories.clear()
    _last = None
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def forget_engines_after_fork() -> None:
    """Drop the cached engines in a forked child without closing the parent's connections (their sockets)."""
    global _last
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()
    _last = None
    _factories.clear()


_factories: dict[int, tuple[Engine, sessionmaker[Session]]] = {}


def session_factory() -> sessionmaker[Session]:
    # One sessionmaker per engine: each new one makes a Session subclass and sets up its event dispatch, which
    # cost more CPU than the rest of a request's session handling.
    engine = get_engine()
    found = _factories.get(id(engine))
    if found is None or found[0] is not engine:
        found = _factories[id(engine)] = (engine, sessionmaker(bind=engine, expire_on_commit=False))
    return found[1]


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (``Session.execute`` is typed as returning a plain ``Result``)."""
    return cast(CursorResult[Any], result).rowcount
