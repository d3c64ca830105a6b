"""A step run every few seconds on a daemon thread: the service's janitors, dispatchers and timers.

A failing step is logged and tried again at the next tick, never raised: one bad tick must not stop the loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Every:
    """Runs ``step`` every ``interval_s`` on a thread named ``name``.

    ``first_now`` runs it once as the thread starts (not after the first wait); ``final`` once more on stop.
    """

    def __init__(self, name: str, interval_s: float, step: Callable[[], object], *, first_now: bool = False,
                 final: bool = False) -> None:
        self.interval_s = interval_s
        self._step = step
        self._first_now = first_now
        self._final = final
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def run_once(self) -> None:
        """One step now, on the caller's thread, its failure logged."""
        try:
            self._step()
        except Exception:
            log.exception("%s failed; trying again in %.0f s", self._thread.name, self.interval_s)

    def _run(self) -> None:
        if self._first_now:
            self.run_once()
        while not self._stop.wait(self.interval_s):
            self.run_once()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)
        if self._final:
            self.run_once()
