"""The content-addressed footage store: ``HOME/store/ab/abcdef...<ext>``, one file per distinct content.

Files come in through a staging area inside the store (same file system, so the final rename is atomic):
they are copied there in chunks with their SHA-256 computed on the way, never held in memory, and only
renamed into place once the catalogue has accepted them. A refused or failed file is deleted from staging;
nothing half-written ever sits at a content address.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from footage.settings import get_settings

CHUNK_BYTES = 1024 * 1024
STAGING = ".incoming"


class StorageError(OSError):
    """The store could not take a file; the message says what to check."""


class DiskFull(StorageError):
    """Keeping the bytes asked for would eat into the disk reserve (GATEWATCH_DISK_RESERVE_BYTES)."""


def disk_reserve(total_bytes: int) -> int:
    """Bytes to keep free on a disk of ``total_bytes``: the setting, else 5 % of the disk, at most 2 GiB."""
    configured = get_settings().disk_reserve_bytes
    return configured if configured is not None else min(total_bytes // 20, 2 * 1024**3)


def check_free_space(needed: int, what: str, pending: int = 0) -> None:
    """``DiskFull`` unless ``needed`` more bytes (beyond ``pending`` promised to others) leave the reserve free.

    The real free space of the data folder's disk is read each time, so space taken by anything else counts.
    """
    home = get_settings().resolved_home
    probe_at = home if home.exists() else next(p for p in home.parents if p.exists())
    usage = shutil.disk_usage(probe_at)
    reserve = disk_reserve(usage.total)
    room = usage.free - reserve - pending
    if needed > room:
        raise DiskFull(
            f"not enough disk space for {what}: it needs {needed} bytes, the disk has {usage.free} free, "
            f"{pending} promised to uploads in progress and {reserve} kept in reserve; free space under {home} "
            "or lower GATEWATCH_DISK_RESERVE_BYTES"
        )


def store_dir() -> Path:
    return get_settings().store_dir


def relative_to_home(path: Path) -> str:
    """How the catalogue records a stored file: relative to GATEWATCH_HOME, so the folder can move."""
    return path.resolve().relative_to(get_settings().resolved_home).as_posix()


def address(sha256: str, ext: str) -> Path:
    """Where content with this hash lives in the store."""
    return store_dir() / sha256[:2] / f"{sha256}{ext.lower()}"


@dataclass
class StagedFile:
    """A file copied into the store's staging area, hashed, waiting to be kept or discarded."""

    path: Path
    """The staging file (inside the store, so keeping it is a rename)."""
    sha256: str
    """Hex SHA-256 of the content."""
    size: int
    """Bytes."""
    kept: bool = field(default=False)
    """True once renamed to its content address."""

    def keep(self, ext: str) -> Path:
        """Rename into the content address and return it; content already there is kept as is."""
        target = address(self.sha256, ext)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and target.stat().st_size == self.size:
            self.discard()
        else:
            os.replace(self.path, target)
        self.kept = True
        return target

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def _new_staging_path(suffix: str = ".part") -> Path:
    staging = store_dir() / STAGING
    staging.mkdir(parents=True, exist_ok=True)
    return staging / f"{uuid.uuid4().hex}{suffix}"


def stage_chunks(chunks: Iterable[bytes], progress: Callable[[int], None] | None = None) -> StagedFile:
    """Write chunks to a new staging file, hashing on the way. Removes the file if anything fails."""
    target = _new_staging_path()
    digest = hashlib.sha256()
    size = 0
    try:
        with target.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if progress is not None:
                    progress(len(chunk))
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return StagedFile(target, digest.hexdigest(), size)


def read_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterable[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_bytes):
            yield chunk


def stage_copy(path: Path, progress: Callable[[int], None] | None = None) -> StagedFile:
    """Copy a file into staging, hashing it on the way; the source is left untouched."""
    try:
        return stage_chunks(read_chunks(path), progress)
    except OSError as exc:
        raise StorageError(f"could not copy {path.name} into the store ({exc.strerror or exc}); "
                           f"check free space under {store_dir()}") from exc


def stage_move(path: Path, sha256: str, size: int, suffix: str = ".part") -> StagedFile:
    """Move an already hashed file (a finished upload) into staging without reading it again.

    ``suffix`` (the upload's own extension) helps FFmpeg pick the demuxer when it probes the staged file.
    """
    target = _new_staging_path(suffix)
    try:
        os.replace(path, target)
    except OSError:
        # Uploads folder on another file system: fall back to a copy.
        shutil.move(str(path), str(target))
    return StagedFile(target, sha256, size)
