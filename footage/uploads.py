"""Uploads in progress: single-request bodies and resumable (tus 1.0.0 core) uploads, streamed to disk.

A resumable upload is two files in ``HOME/uploads``: ``<id>.json`` (camera, file name, stated start, declared
length, who started it, and once finished the import result) and ``<id>.part`` (the bytes so far). The part
file's size is the offset: whatever reached the disk before a dropped connection counts, and the client
resumes from there (HEAD tells it where). The SHA-256 is computed on the way in; if the service restarted
between two chunks, the bytes already stored are hashed once more before the next chunk.

Nothing here knows HTTP: the routes translate these exceptions into status codes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import threading
import unicodedata
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from footage.db import session_scope, utcnow
from footage.models import UploadClaim
from footage.settings import get_settings
from footage.storage import DiskFull, check_free_space

UPLOAD_ID_LENGTH = 32


class UploadError(ValueError):
    """An upload request that cannot be carried out; the message says what to change."""


class BadFileName(UploadError):
    pass


class UploadNotFound(UploadError):
    pass


class OffsetMismatch(UploadError):
    pass


class UploadTooLarge(UploadError):
    pass


class UploadBusy(UploadError):
    pass


class UploadFinished(UploadError):
    pass


class UploadImporting(UploadFinished):
    """Every byte is in and the import has begun; no request may write to it any more."""


class NoSpace(UploadError):
    """The disk cannot take the declared length without eating into the reserve."""


class TooManyUploads(UploadError):
    """The user has as many unfinished uploads as the setting allows."""


def clean_filename(name: str | None) -> str:
    """The file name an uploader gave, if it is a plain base name; ``BadFileName`` otherwise.

    Refused: separators (so ``../x`` and ``/etc/passwd``), ``.`` and ``..``, control characters, names that
    are empty after trimming spaces, and names over 255 bytes. Nothing is silently rewritten: the name is
    what the segment will be called and what its start time may be read from.
    """
    if name is None:
        raise BadFileName("give the file's name (filename), e.g. ch01_20241107050000.mp4")
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise BadFileName("the file name is empty; give the file's name, e.g. ch01_20241107050000.mp4")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise BadFileName("the file name holds control characters; give the plain name of the file")
    if "/" in name or "\\" in name or name in (".", "..") or (len(name) > 1 and name[1] == ":"):
        raise BadFileName(
            f"the file name {name!r} is a path; give only the file's own name, without folders, '..' or a drive"
        )
    if len(name.encode()) > 255:
        raise BadFileName("the file name is longer than 255 bytes; shorten it")
    return name


def parse_metadata(header: str | None) -> dict[str, str]:
    """tus ``Upload-Metadata``: ``key base64value,key base64value`` (a key may have no value)."""
    metadata: dict[str, str] = {}
    for item in (header or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(" ")
        try:
            metadata[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value else ""
        except (ValueError, UnicodeDecodeError) as exc:
            raise UploadError(f"Upload-Metadata value of {key!r} is not base64 of UTF-8 text; encode it so") from exc
    return metadata


@dataclass
class UploadState:
    """A resumable upload as stored in ``<id>.json``."""

    id: str
    """Random id (hex), also the file names' stem."""
    camera_id: str
    """The camera the footage is for."""
    filename: str
    """The uploader's (clean) file name."""
    start: str | None
    """The start time the uploader stated, as given, or None."""
    length: int
    """Declared total bytes (Upload-Length)."""
    created_by: str
    """The user who started the upload."""
    created_at: str
    """When it started (ISO 8601, UTC)."""
    complete: bool = False
    """True once every byte arrived and the import ran."""
    result: dict[str, Any] | None = None
    """The import result, once complete."""
    sha256: str | None = None
    """SHA-256 of the whole file, once complete."""

    @property
    def offset(self) -> int:
        # Once every byte is in (sha256 known) the part file moves into the store while the import runs.
        if self.complete or self.sha256:
            return self.length
        return part_path(self.id).stat().st_size if part_path(self.id).exists() else 0

    def to_dict(self) -> dict[str, Any]:
        return {"offset": self.offset, "length": self.length, "filename": self.filename,
                "complete": self.complete, "result": self.result}


def uploads_dir() -> Path:
    folder = get_settings().uploads_dir
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _check_id(upload_id: str) -> str:
    if len(upload_id) != UPLOAD_ID_LENGTH or any(c not in "0123456789abcdef" for c in upload_id):
        raise UploadNotFound(f"no upload {upload_id!r}; start a new one")
    return upload_id


def part_path(upload_id: str) -> Path:
    return uploads_dir() / f"{_check_id(upload_id)}.part"


def state_path(upload_id: str) -> Path:
    return uploads_dir() / f"{_check_id(upload_id)}.json"


def save(state: UploadState) -> None:
    target = state_path(state.id)
    temp = target.with_suffix(".json.tmp")
    temp.write_text(json.dumps(asdict(state)), encoding="utf-8")
    os.replace(temp, target)


def load(upload_id: str) -> UploadState:
    try:
        data = json.loads(state_path(upload_id).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UploadNotFound(f"no upload {upload_id!r}; start a new one") from exc
    return UploadState(**data)


def check_length(length: int) -> None:
    limit = get_settings().max_upload_bytes
    if length > limit:
        raise UploadTooLarge(f"the file is {length} bytes, over this service's limit of {limit} bytes; "
                             "split the export into shorter files")


def open_uploads() -> list[UploadState]:
    """Every resumable upload whose bytes are not all in yet (what still claims disk space)."""
    found = []
    for path in uploads_dir().glob("*.json"):
        with contextlib.suppress(UploadError, OSError, ValueError, TypeError):
            state = load(path.stem)
            if not state.complete and not state.sha256:
                found.append(state)
    return found


def pending_bytes() -> int:
    """Bytes the open uploads have declared but not sent yet: disk space already promised."""
    return sum(max(0, state.length - state.offset) for state in open_uploads())


def create(camera_id: str, filename: str | None, length: int, start: str | None, created_by: str) -> UploadState:
    """A new resumable upload; refused when the user has too many open or the disk cannot take its length.

    The space check counts what every open upload still has to send, so twenty uploads declaring more
    than the disk holds are refused from the one that no longer fits, not discovered when the disk is full.
    """
    if length <= 0:
        raise UploadError("the file is empty (Upload-Length 0); export or copy it again from the recorder")
    check_length(length)
    name = clean_filename(filename)
    with _lock:
        # One process at a time decides, so two creations cannot both take the last free space.
        current = open_uploads()
        limit = get_settings().max_open_uploads_per_user
        if sum(state.created_by == created_by for state in current) >= limit:
            raise TooManyUploads(f"you have {limit} unfinished uploads already (the limit); finish or wait for "
                                 "them, or ask an admin to raise GATEWATCH_MAX_OPEN_UPLOADS_PER_USER")
        try:
            check_free_space(length, f"an upload of {length} bytes",
                             pending=sum(max(0, state.length - state.offset) for state in current))
        except DiskFull as exc:
            raise NoSpace(str(exc)) from exc
        state = UploadState(id=uuid.uuid4().hex, camera_id=camera_id, filename=name, start=start or None,
                            length=length, created_by=created_by, created_at=utcnow().isoformat())
        part_path(state.id).touch()
        save(state)
    return state


def claim_import(upload_id: str) -> bool:
    """Mark the upload as importing, once: True for the one caller that may import it, False for any other."""
    try:
        with session_scope() as session:
            session.add(UploadClaim(upload_id=_check_id(upload_id)))
    except IntegrityError:
        return False
    return True


def is_claimed(upload_id: str) -> bool:
    with session_scope() as session:
        return session.get(UploadClaim, _check_id(upload_id)) is not None


def discard(upload_id: str) -> None:
    part_path(upload_id).unlink(missing_ok=True)
    state_path(upload_id).unlink(missing_ok=True)


# The running hash of each upload this process is receiving: (bytes hashed, hasher).
_hashers: dict[str, tuple[int, Any]] = {}
_lock = threading.Lock()


@contextlib.contextmanager
def _writing(upload_id: str) -> Iterator[None]:
    """Hold the part file's exclusive lock (every process, not only this one) or raise ``UploadBusy``."""
    try:
        fd = os.open(part_path(upload_id), os.O_RDWR)
    except FileNotFoundError as exc:
        raise UploadImporting("every byte of this upload is in and it is being imported; "
                              "its result will be at GET /api/v1/uploads/{id}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise UploadBusy("another request is writing this upload; wait for it, then HEAD for the offset") from exc
        yield
    finally:
        os.close(fd)


def _hasher_at(upload_id: str, offset: int) -> Any:
    known = _hashers.get(upload_id)
    if known is not None and known[0] == offset:
        return known[1]
    # Unknown here (the service restarted, or another process took the earlier chunks): hash what is stored.
    digest = hashlib.sha256()
    with part_path(upload_id).open("rb") as fh:
        remaining = offset
        while remaining > 0 and (chunk := fh.read(min(1024 * 1024, remaining))):
            digest.update(chunk)
            remaining -= len(chunk)
    return digest


async def write_stream(target: Path, chunks: AsyncIterator[bytes], limit: int, hasher: Any,
                       append: bool = False) -> tuple[int, bool]:
    """Write chunks to ``target`` (appending or new), hashing on the way, at most ``limit`` bytes.

    Returns (bytes written, whether the stream ended normally). Bytes beyond ``limit`` raise
    ``UploadTooLarge`` after what fitted was written; a dropped connection (any exception from ``chunks``
    other than ours) returns what was written with ``False``.
    """
    written = 0
    complete = True
    iterator = chunks.__aiter__()
    with target.open("ab" if append else "wb") as out:
        try:
            while True:
                try:
                    chunk = await iterator.__anext__()
                except StopAsyncIteration:
                    break
                except (asyncio.CancelledError, KeyboardInterrupt):
                    raise
                except Exception:
                    # The client went away mid-body; what reached the disk stays and counts.
                    complete = False
                    break
                if not chunk:
                    continue
                if written + len(chunk) > limit:
                    raise UploadTooLarge(f"more bytes arrived than the {limit} allowed")
                out.write(chunk)
                hasher.update(chunk)
                written += len(chunk)
        finally:
            out.flush()
            os.fsync(out.fileno())
    return written, complete


async def append_chunk(state: UploadState, offset: int, chunks: AsyncIterator[bytes]) -> tuple[int, Any]:
    """Append one PATCH body at ``offset``; returns the new offset and the running hasher.

    ``OffsetMismatch`` when ``offset`` is not where the stored bytes end; ``UploadTooLarge`` when the body
    is bigger than a chunk may be or goes past the declared length; ``UploadBusy`` while another request
    writes the same upload.
    """
    if state.complete:
        raise UploadFinished("this upload is complete already; its result is at GET /api/v1/uploads/{id}")
    if state.sha256 or is_claimed(state.id):
        raise UploadImporting("every byte of this upload is in and it is being imported; "
                              "its result will be at GET /api/v1/uploads/{id}")
    with _writing(state.id):
        stored = state.offset
        if offset != stored:
            raise OffsetMismatch(f"Upload-Offset {offset} does not match the {stored} bytes stored; "
                                 "HEAD the upload and resume from its Upload-Offset")
        hasher = _hasher_at(state.id, stored)
        room = min(state.length - stored, get_settings().upload_chunk_bytes)
        try:
            written, _ = await write_stream(part_path(state.id), chunks, room, hasher, append=True)
        except UploadTooLarge:
            # Keep nothing of an oversized chunk: cut the part file back to where it was.
            with part_path(state.id).open("r+b") as fh:
                fh.truncate(stored)
            _hashers.pop(state.id, None)
            raise UploadTooLarge(
                f"a chunk may hold at most {room} bytes here (chunk limit {get_settings().upload_chunk_bytes}, "
                f"{state.length - stored} bytes left of the declared Upload-Length); send smaller chunks"
            ) from None
        _hashers[state.id] = (stored + written, hasher)
        return stored + written, hasher


def received(state: UploadState, sha256: str) -> UploadState:
    """Every byte is in: remember the hash before the part file moves on to the import."""
    state.sha256 = sha256
    save(state)
    return state


def finish(state: UploadState, result: dict[str, Any], sha256: str) -> UploadState:
    """Record the import result; the part file has been moved into the store (or discarded) by then."""
    state.complete = True
    state.result = result
    state.sha256 = sha256
    save(state)
    _hashers.pop(state.id, None)
    part_path(state.id).unlink(missing_ok=True)
    return state


def new_single_part() -> Path:
    """A fresh part file for a single-request upload."""
    return uploads_dir() / f"{uuid.uuid4().hex}.part"

