"""Change stamps shared by every process on one data folder: caches of rarely changed tables notice at once.

A process that commits a change to users or cameras appends a byte to ``HOME/.changed-NAME``; a cache keeps the
file's size at the time it read the table and believes what it holds only while the size is the same. One
``stat`` a request, so a change made by the CLI or another service process is seen by the next request.
(A change made by hand in SQL touches no stamp; the caches' short TTL bounds that case.)
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from footage.settings import Settings, get_settings

_folder: tuple[Settings, Path] | None = None


def _path(name: str) -> Path:
    global _folder
    settings = get_settings()
    folder = _folder
    if folder is None or folder[0] is not settings:
        # resolved_home calls realpath; once per settings object, not once a request.
        folder = _folder = (settings, settings.resolved_home)
    return folder[1] / f".changed-{name}"


def current(name: str) -> int:
    """The stamp now (0 before any change)."""
    try:
        return os.stat(_path(name)).st_size
    except FileNotFoundError:
        return 0


def bump(name: str) -> None:
    """Record that ``name`` changed (after the change committed)."""
    with contextlib.suppress(FileNotFoundError), open(_path(name), "ab") as fh:
        fh.write(b".")
