"""Evidence packages: clips and thumbnails in a zip with a signed manifest, and their offline verification.

A package holds ``manifest.json`` (what each file is, where and when it was recorded, its SHA-256 and the SHA-256 of
every source segment it was cut from), ``manifest.sig`` (Ed25519 over the exact manifest bytes) and
``public_key.pem``. This module knows clip files and their metadata only; which events or cameras went into a
case, and who may export it, is decided above it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from footage.hashing import file_sha256 as file_sha256  # re-exported: api/ imports it from here
from footage.hashing import file_sha256_and_size, stream_sha256
from footage.package_zip import AmbiguousPackage, member_name_problem, read_members
from footage.signing import (
    ALGORITHM,
    SigningKey,
    SigningKeyError,
    fingerprint,
    load_public_key,
    signature_valid,
)

FORMAT = "gatewatch-evidence/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"


class EvidenceError(Exception):
    """A package cannot be built from what was given."""


@dataclass(frozen=True)
class SourceRecord:
    """One original segment a clip was cut from."""

    name: str
    """The segment's file name (no folders)."""
    sha256: str
    """SHA-256 of the whole original segment file."""
    start: datetime
    """Wall-clock start of the segment (aware)."""
    end: datetime
    """Wall-clock end of the segment (aware)."""


@dataclass(frozen=True)
class EventRecordRef:
    """An indexed event shown in a clip."""

    id: int
    """The event's id in the catalogue."""
    label: str
    """What was seen (car, truck, person, ...)."""
    start: datetime
    """When it was first seen (aware)."""
    end: datetime
    """When it was last seen (aware)."""
    plate: str | None = None
    """The licence plate read for it (None: not a vehicle, not read, or plate reading off)."""
    plate_score: float | None = None
    """How sure that read is, 0..1."""


@dataclass
class PackageClip:
    """A clip file to put in a package, with what the manifest says about it."""

    path: Path
    """The clip on disk; copied into the zip as it is."""
    camera: str
    """Camera id."""
    site: str
    """Site (community) name."""
    gate: str
    """Gate name."""
    timezone: str
    """IANA time zone of the camera; times in the manifest carry its offset."""
    start: datetime
    """Wall-clock time of the clip's first frame (aware)."""
    end: datetime
    """Wall-clock time of the clip's end (aware)."""
    sources: list[SourceRecord]
    """The original segments it was cut from."""
    events: list[EventRecordRef] = field(default_factory=list)
    """Events the clip shows (empty for a plain time range)."""
    exact: bool = False
    """True when re-encoded frame-exactly rather than stream-copied."""
    burn_in: bool = False
    """True when the wall-clock time is burned into the picture."""
    sha256: str | None = None
    """The clip's SHA-256 as its cutter computed it; checked against the file when given."""


@dataclass(frozen=True)
class PackageThumbnail:
    """An event's thumbnail to put in a package."""

    event_id: int
    """The event it belongs to."""
    jpeg: bytes
    """The JPEG bytes."""


@dataclass(frozen=True)
class PackageHeader:
    """Who exported which case, when, with which version of gatewatch."""

    case_name: str
    """The case's name."""
    reference: str | None
    """The outside reference (police case number), if any."""
    exported_by: str
    """User name of whoever exported it."""
    exported_at: datetime
    """When (aware)."""
    version: str
    """gatewatch version that built the package."""
    notes: list[dict[str, Any]] = field(default_factory=list)
    """Anything the exporter wants on record, e.g. items with no footage."""


def safe_name(text: str, limit: int = 80) -> str:
    """A file or zip member name made of ``[A-Za-z0-9._-]`` only: no folders, no traversal, never empty."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:limit]
    return cleaned or "unnamed"


def _iso(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).isoformat()


def _clip_member(index: int, clip: PackageClip) -> str:
    stamp = clip.start.astimezone(ZoneInfo(clip.timezone)).strftime("%Y%m%dT%H%M%S")
    suffix = safe_name(clip.path.suffix.lstrip(".") or "mp4", 8)
    return f"clips/{index:02d}_{safe_name(clip.camera, 40)}_{stamp}.{suffix}"


def build_manifest(header: PackageHeader, key_fingerprint: str, clips: list[tuple[str, PackageClip, str, int]],
                   thumbnails: list[tuple[str, PackageThumbnail, str, int]]) -> dict[str, Any]:
    """The manifest as a dict: (member name, item, sha256, size) for every clip and thumbnail."""
    return {
        "format": FORMAT,
        "case": {"name": header.case_name, "reference": header.reference},
        "exported_by": header.exported_by,
        "exported_at": header.exported_at.astimezone(UTC).isoformat(),
        "gatewatch_version": header.version,
        "signing_key": {"algorithm": ALGORITHM, "fingerprint": key_fingerprint},
        "clips": [
            {
                "file": member,
                "camera": clip.camera,
                "site": clip.site,
                "gate": clip.gate,
                "timezone": clip.timezone,
                "start": _iso(clip.start, clip.timezone),
                "end": _iso(clip.end, clip.timezone),
                "duration_s": round((clip.end - clip.start).total_seconds(), 3),
                "sha256": digest,
                "size": size,
                "exact": clip.exact,
                "burn_in": clip.burn_in,
                "sources": [
                    {"name": source.name, "sha256": source.sha256,
                     "start": _iso(source.start, clip.timezone), "end": _iso(source.end, clip.timezone)}
                    for source in clip.sources
                ],
                "events": [
                    {"id": event.id, "label": event.label,
                     "start": _iso(event.start, clip.timezone), "end": _iso(event.end, clip.timezone),
                     "plate": event.plate, "plate_score": event.plate_score}
                    for event in clip.events
                ],
            }
            for member, clip, digest, size in clips
        ],
        "thumbnails": [
            {"file": member, "event_id": thumb.event_id, "sha256": digest, "size": size}
            for member, thumb, digest, size in thumbnails
        ],
        "notes": header.notes,
    }


def build_package(out: Path, header: PackageHeader, clips: list[PackageClip], thumbnails: list[PackageThumbnail],
                  key: SigningKey) -> dict[str, Any]:
    """Write the signed zip to ``out`` (atomically) and return its manifest."""
    if not clips and not thumbnails:
        raise EvidenceError("nothing to export: the case has no clips with footage; add events or time ranges")
    clip_rows: list[tuple[str, PackageClip, str, int]] = []
    for index, clip in enumerate(clips, start=1):
        if not clip.path.is_file():
            raise EvidenceError(f"clip file {clip.path} is missing; cut the clip again")
        digest, size = file_sha256_and_size(clip.path)
        if clip.sha256 is not None and clip.sha256 != digest:
            raise EvidenceError(f"clip file {clip.path} changed after it was cut; cut the clip again")
        clip_rows.append((_clip_member(index, clip), clip, digest, size))
    thumb_rows = [
        (f"thumbnails/event_{thumb.event_id}.jpg", thumb, hashlib.sha256(thumb.jpeg).hexdigest(), len(thumb.jpeg))
        for thumb in thumbnails
    ]
    manifest = build_manifest(header, key.fingerprint, clip_rows, thumb_rows)
    manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        with zipfile.ZipFile(tmp, "w") as package:
            package.writestr(MANIFEST, manifest_bytes, compress_type=zipfile.ZIP_DEFLATED)
            package.writestr(SIGNATURE, key.sign(manifest_bytes))
            package.writestr(PUBLIC_KEY, key.public_key_pem)
            for member, clip, _, _ in clip_rows:
                # Video is compressed already; stored members also let a viewer stream them out of the zip.
                package.write(clip.path, member, compress_type=zipfile.ZIP_STORED)
            for member, thumb, _, _ in thumb_rows:
                package.writestr(member, thumb.jpeg, compress_type=zipfile.ZIP_STORED)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return manifest


@dataclass
class Verification:
    """What checking a package found."""

    problems: list[str] = field(default_factory=list)
    """Every failure, one sentence each; empty when the package is intact and signed by a trusted key."""
    checked: list[str] = field(default_factory=list)
    """Files whose hash and size matched the manifest."""
    fingerprint: str | None = None
    """Fingerprint of the key that signed the package (the one inside it)."""
    trusted_by: str | None = None
    """What vouched for that key: "key file", "fingerprint" or "installation"; None when nothing did."""
    manifest: dict[str, Any] | None = None
    """The manifest, when it could be read."""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def key_trusted(self) -> bool:
        return self.trusted_by is not None


def _normalise_fingerprint(text: str) -> str:
    return re.sub(r"[^0-9a-f]", "", text.lower())


def _member_digest(package: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, int]:
    with package.open(info) as member:
        return stream_sha256(member)


def _listed_files(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    listed = []
    names: set[str] = set()
    for section in ("clips", "thumbnails"):
        entries = manifest.get(section)
        if not isinstance(entries, list):
            raise ValueError(f"'{section}' is not a list")
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
                raise ValueError(f"an entry of '{section}' has no file name")
            problem = member_name_problem(entry["file"])
            if problem is not None:
                raise ValueError(f"it lists a file gatewatch would never write: {problem}")
            if entry["file"] in names or entry["file"] in (MANIFEST, SIGNATURE, PUBLIC_KEY):
                raise ValueError(f"it lists {entry['file']!r} twice")
            names.add(entry["file"])
            listed.append(entry)
    return listed


def _check_trust(result: Verification, signer: Ed25519PublicKey, given: Ed25519PublicKey | None,
                 expect_fingerprint: str | None, installation: Ed25519PublicKey | None) -> None:
    """Whose key signed it, and whether the checker vouched for that key; a problem otherwise."""
    signed_by = fingerprint(signer)
    if given is not None:
        if fingerprint(given) == signed_by:
            result.trusted_by = "key file"
        else:
            result.problems.append(f"the package was signed with key {signed_by}, not with the key given "
                                   f"({fingerprint(given)})")
    elif expect_fingerprint is not None:
        wanted = _normalise_fingerprint(expect_fingerprint)
        if wanted == signed_by:
            result.trusted_by = "fingerprint"
        else:
            result.problems.append(f"the package was signed with key {signed_by}, not the expected {wanted}")
    elif installation is not None:
        if fingerprint(installation) == signed_by:
            result.trusted_by = "installation"
        else:
            result.problems.append(
                f"the package was signed with key {signed_by}, not this installation's key "
                f"{fingerprint(installation)}; if another installation made it, check it with --key FILE "
                "(its GET /api/v1/signing-key) or --expect-fingerprint"
            )
    else:
        result.problems.append(
            f"the package was signed with key {signed_by}, and nothing here says whose key that is (this machine "
            "holds no gatewatch key); pass the installation's public key with --key FILE (GET /api/v1/signing-key "
            "or 'gatewatch signing-key --export' on the service) or its fingerprint with --expect-fingerprint"
        )


def verify_package(path: Path, *, public_key_pem: str | None = None, expect_fingerprint: str | None = None,
                   installation_key_pem: str | None = None) -> Verification:
    """Check the zip's layout, the signature, whose key made it and every file's SHA-256 and size, offline.

    The signature counts only when the signing key is vouched for: by ``public_key_pem`` (a key file the
    checker holds), by ``expect_fingerprint``, or else by ``installation_key_pem`` (this installation's own
    key). A package that carries a forger's key and a forger's signature is consistent, so the key inside it
    proves nothing by itself. Nothing is extracted to disk.
    """
    result = Verification()
    try:
        strict = read_members(path)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        result.problems.append(f"{path} is not a readable zip file ({exc})")
        return result
    except AmbiguousPackage as exc:
        result.problems.append(f"{path} is refused: it could be read in more than one way ({exc})")
        return result
    with strict.archive as package:
        members = strict.members
        missing_meta = [name for name in (MANIFEST, SIGNATURE, PUBLIC_KEY) if name not in members]
        if missing_meta:
            result.problems.append(f"the package lacks {', '.join(missing_meta)}; it is not a gatewatch package")
            return result
        try:
            manifest_bytes = package.read(members[MANIFEST])
            signature = package.read(members[SIGNATURE])
            embedded_pem = package.read(members[PUBLIC_KEY])
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            result.problems.append(f"the package's manifest, signature or key cannot be read ({exc})")
            return result

        try:
            embedded_key = load_public_key(embedded_pem)
            given = load_public_key(public_key_pem) if public_key_pem is not None else None
            installation = load_public_key(installation_key_pem) if installation_key_pem is not None else None
        except SigningKeyError as exc:
            result.problems.append(str(exc))
            return result
        result.fingerprint = fingerprint(embedded_key)
        _check_trust(result, embedded_key, given, expect_fingerprint, installation)
        if not signature_valid(embedded_key, signature, manifest_bytes):
            result.problems.append(
                f"{SIGNATURE} does not match {MANIFEST} under key {result.fingerprint}: "
                "the manifest was changed or signed by another key"
            )

        try:
            manifest = json.loads(manifest_bytes)
            if not isinstance(manifest, dict):
                raise ValueError("it is not a JSON object")
            listed = _listed_files(manifest)
        except ValueError as exc:
            result.problems.append(f"{MANIFEST} cannot be read: {exc}")
            return result
        result.manifest = manifest
        stated = manifest.get("signing_key")
        if not isinstance(stated, dict) or stated.get("fingerprint") != result.fingerprint:
            result.problems.append(f"{MANIFEST} names another signing key than {PUBLIC_KEY} ({result.fingerprint})")

        seen = {MANIFEST, SIGNATURE, PUBLIC_KEY}
        for entry in listed:
            name = entry["file"]
            seen.add(name)
            info = members.get(name)
            if info is None:
                result.problems.append(f"{name}: listed in the manifest but missing from the package")
                continue
            try:
                digest, size = _member_digest(package, info)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
                result.problems.append(f"{name}: cannot be read from the zip ({exc})")
                continue
            if digest != entry.get("sha256"):
                result.problems.append(f"{name}: SHA-256 {digest} differs from the manifest's {entry.get('sha256')}")
            elif size != entry.get("size"):
                result.problems.append(f"{name}: size {size} differs from the manifest's {entry.get('size')}")
            else:
                result.checked.append(name)
        for name in members:
            if name not in seen:
                result.problems.append(f"{name}: in the package but not listed in the manifest")
    return result
