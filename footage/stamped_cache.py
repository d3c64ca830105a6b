"""A per-process cache of a rarely changed table, believed for at most a TTL and dropped at once on any change.

Two things end an entry early. A change made through gatewatch in this process: a session flush that touches
one of the watched models clears the cache (nothing read from then on is stored from before), and its commit
clears it again (dropping what other threads read meanwhile) and bumps the table's change stamp
(``footage.change_stamp``), which every process checks on each lookup, so the CLI's or another service process's
change is seen by the next request. A change made by hand in SQL touches no stamp: the TTL bounds that case.
A generation count stops a read begun before a change from being stored after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from footage import change_stamp

V = TypeVar("V")


@dataclass(frozen=True)
class Ticket:
    """Taken before reading the database; a value read under an outdated ticket is not stored."""

    generation: int
    stamp: int


class StampedCache(Generic[V]):
    """Values by key, kept ``ttl_s`` at most and cleared when ``watched`` rows change (see the module)."""

    def __init__(self, stamp: str, watched: tuple[type, ...], ttl_s: float = 2.0, max_entries: int = 10_000) -> None:
        self.stamp = stamp
        self.ttl_s = ttl_s
        self._watched = watched
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, int, V]] = {}
        self._generation = 0
        self._flag = f"changed:{stamp}"
        event.listen(Session, "after_flush", self._after_flush)
        event.listen(Session, "after_commit", self._after_commit)
        event.listen(Session, "after_rollback", self._after_rollback)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def get(self, key: Hashable) -> V | None:
        """The value stored for ``key`` if it is younger than the TTL and nothing changed since; else None."""
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic() or entry[1] != change_stamp.current(self.stamp):
            return None
        return entry[2]

    def ticket(self) -> Ticket:
        return Ticket(self._generation, change_stamp.current(self.stamp))

    def put(self, key: Hashable, value: V, ticket: Ticket) -> None:
        """Store what was read under ``ticket``, unless the cache was cleared since it was taken."""
        with self._lock:
            if ticket.generation != self._generation:
                return
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl_s, ticket.stamp, value)

    def _after_flush(self, session: Session, _context: Any) -> None:
        touched = any(isinstance(obj, self._watched) for obj in (*session.new, *session.dirty, *session.deleted))
        if touched or session.info.get(self._flag):
            session.info[self._flag] = True
            self.clear()

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(self._flag, False):
            self.clear()
            change_stamp.bump(self.stamp)

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(self._flag, None)
