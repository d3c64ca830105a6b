"""The data folder's permissions: footage, database, keys and uploads readable by the service's user only.

Evidence footage and the audit database are not for every account on the machine. ``secure_home`` sets the
process's umask to 077 (so everything created afterwards, by this process and the FFmpeg and worker processes it
starts, is 0600 / 0700), creates the data folder 0700, and takes group and other permissions off anything
already in it (a data folder made by an older version), saying so in the log.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from footage.settings import get_settings

log = logging.getLogger(__name__)
PRIVATE_UMASK = 0o077
_OPEN_BITS = stat.S_IRWXG | stat.S_IRWXO


def tighten(home: Path) -> list[Path]:
    """Remove group and other permissions from ``home`` and everything under it; the paths changed."""
    changed: list[Path] = []
    for folder, dirs, files in os.walk(home):
        for path in (Path(folder), *(Path(folder) / name for name in files)):
            try:
                mode = path.lstat().st_mode
                if stat.S_ISLNK(mode) or not mode & _OPEN_BITS:
                    continue
                path.chmod(stat.S_IMODE(mode) & ~_OPEN_BITS)
                changed.append(path)
            except OSError as exc:
                log.warning("could not tighten the permissions of %s (%s); fix them by hand", path, exc)
        dirs[:] = [d for d in dirs if not (Path(folder) / d).is_symlink()]
    return changed


def secure_home() -> Path:
    """Umask 077 for this process, the data folder created 0700, anything looser in it tightened (logged)."""
    os.umask(PRIVATE_UMASK)
    home = get_settings().resolved_home
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    changed = tighten(home)
    if changed:
        log.warning("the data folder %s held %d file(s) or folder(s) readable by other users; they are now "
                    "readable by the service's user only", home, len(changed))
    return home
