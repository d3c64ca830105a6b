"""Reading an evidence package's zip strictly: every byte of the archive belongs to exactly one named member.

A zip can say different things to different readers. Python's ``zipfile`` keeps the last of two members with
the same name, ``unzip`` extracts the first; a member may hide behind an absolute path, ``..``, a backslash or
an unnormalised name that a file system folds onto another; bytes may sit before, between or after the
members where no central directory entry points. A verifier that accepts such a file can be shown one thing
while the person who opens the package sees another. So ``read_members`` refuses every such zip, naming what
it found, before any hash is checked; gatewatch's own packages never contain any of it.
"""

from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# What gatewatch writes: folders and names of [A-Za-z0-9._-] (footage.evidence.safe_name), '/'-separated.
_MEMBER_NAME = re.compile(r"^[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*$")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_ALLOWED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_ENCRYPTED = 0x1
_DATA_DESCRIPTOR = 0x8


class AmbiguousPackage(ValueError):
    """The zip could be read in more than one way; the message names the member or bytes at fault."""


@dataclass(frozen=True)
class StrictZip:
    """A zip whose layout was checked: ``members`` by name, each name once."""

    archive: zipfile.ZipFile
    """The open archive (closed by the caller)."""
    members: dict[str, zipfile.ZipInfo]
    """Every member, by its (unique, normalised) name."""


def member_name_problem(name: str) -> str | None:
    """Why ``name`` is not a plain relative member name, or None when it is one."""
    if not name:
        return "an empty member name"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return f"{name!r} is an absolute path"
    if "\\" in name:
        return f"{name!r} holds a backslash (a folder separator on Windows)"
    parts = name.split("/")
    if ".." in parts:
        return f"{name!r} climbs out of the package with '..'"
    if "." in parts or "" in parts:
        return f"{name!r} is not normalised ('.', '//' or a trailing '/')"
    if not _MEMBER_NAME.match(name):
        return f"{name!r} holds characters gatewatch never writes (only letters, digits, '.', '_', '-' and '/')"
    return None


def _local_header_end(raw: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Offset where the member's data ends, read from its local header (not the central directory)."""
    raw.seek(info.header_offset)
    header = raw.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
        raise AmbiguousPackage(f"{info.filename}: the central directory points at no local header")
    fields = _LOCAL_HEADER.unpack(header)
    name_length, extra_length = fields[9], fields[10]
    name_start = info.header_offset + _LOCAL_HEADER.size
    local_name = raw.read(name_length)
    if local_name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437"):
        raise AmbiguousPackage(f"{info.filename}: its local header names another file ({local_name!r})")
    end = name_start + name_length + extra_length + info.compress_size
    if info.flag_bits & _DATA_DESCRIPTOR:
        raise AmbiguousPackage(f"{info.filename}: written with a trailing data descriptor, which gatewatch "
                               "never does; the package was repacked")
    return end


def read_members(path: Path) -> StrictZip:
    """Open ``path`` and check its layout; ``AmbiguousPackage`` (or ``zipfile.BadZipFile``) when it is not plain.

    Refused: duplicate names, names that are not plain relative paths, encrypted members, compression other
    than stored or deflate, and any byte not covered by a member, the central directory or its end record
    (a prefix, a gap, an overlap, or a trailing comment).
    """
    archive = zipfile.ZipFile(path)
    raw = path.open("rb")
    try:
        infos = archive.infolist()
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            problem = member_name_problem(info.orig_filename)
            if problem is not None:
                raise AmbiguousPackage(f"member name refused: {problem}")
            if info.orig_filename in members:
                raise AmbiguousPackage(
                    f"{info.orig_filename!r} appears twice; unzip and other readers would open different copies"
                )
            if info.flag_bits & _ENCRYPTED:
                raise AmbiguousPackage(f"{info.orig_filename}: encrypted; gatewatch packages are never encrypted")
            if info.compress_type not in _ALLOWED_COMPRESSION:
                raise AmbiguousPackage(f"{info.orig_filename}: compression method {info.compress_type} "
                                       "is not stored or deflate")
            members[info.orig_filename] = info
        if archive.comment:
            raise AmbiguousPackage("the zip carries a comment after its members; gatewatch writes none")
        position = 0
        for info in sorted(infos, key=lambda i: i.header_offset):
            if info.header_offset != position:
                what = "unlisted bytes lie before it" if info.header_offset > position else "it overlaps another"
                raise AmbiguousPackage(f"{info.filename}: {what} (offset {info.header_offset}, expected {position})")
            position = _local_header_end(raw, info)
        if position != archive.start_dir:
            raise AmbiguousPackage(f"bytes {position} to {archive.start_dir} belong to no member")
        return StrictZip(archive=archive, members=members)
    except BaseException:
        archive.close()
        raise
    finally:
        raw.close()
