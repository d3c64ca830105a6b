"""SHA-256 of files and streams: the one way gatewatch fingerprints content (segments, clips, packages, weights).

Read in 1 MiB blocks so a multi-gigabyte recording never sits in memory.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO

BLOCK_BYTES = 1024 * 1024


def stream_sha256(stream: IO[bytes]) -> tuple[str, int]:
    """SHA-256 (hex) and byte count of everything left in ``stream``."""
    digest = hashlib.sha256()
    size = 0
    while block := stream.read(BLOCK_BYTES):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def file_sha256_and_size(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size in bytes of the file at ``path``."""
    with path.open("rb") as source:
        return stream_sha256(source)


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of the file at ``path``."""
    return file_sha256_and_size(path)[0]
