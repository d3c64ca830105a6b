"""Signed checkpoints of the audit chain's head, so a rewrite by someone with database access is caught.

Entry hashes alone prove nothing against someone who can write to the database: they can delete an entry and
re-hash everything after it. A checkpoint is the head's entry id and hash, signed with the installation's Ed25519
key, which lives in the keys folder, never in the database. Verifying recomputes the chain from the first entry
and compares it with every checkpoint: the first checkpoint that no longer matches shows where the rewrite begins
(after the last checkpoint that still matches, at or before the one that does not). The latest checkpoint can
be exported as JSON and kept outside the service (mailed to the prosecutor, printed, published), which also
catches a rewrite that deletes the checkpoints stored in the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import GENESIS, _entry_hash, head
from api.models import AuditCheckpoint, AuditEntry
from footage.db import utcnow
from footage.signing import SigningKey, SigningKeyError, fingerprint, load_public_key, signature_valid

FORMAT = "gatewatch-audit-checkpoint/1"


class CheckpointFileError(ValueError):
    """An exported checkpoint file cannot be read, with what to give instead."""


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: entry ``entry_id`` of the trail had hash ``entry_hash`` at ``at``."""

    entry_id: int
    """The head entry when the checkpoint was made."""
    entry_hash: str
    """Its chain hash, hex."""
    at: str
    """When it was signed, ISO 8601 UTC."""
    key_fingerprint: str
    """SHA-256 of the raw public key that signed it."""
    signature: str
    """Ed25519 signature of ``payload()``, hex."""

    def payload(self) -> bytes:
        body = {"format": FORMAT, "entry_id": self.entry_id, "entry_hash": self.entry_hash, "at": self.at,
                "key_fingerprint": self.key_fingerprint}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def of(cls, row: AuditCheckpoint) -> Checkpoint:
        return cls(row.entry_id, row.entry_hash, row.at.isoformat(), row.key_fingerprint, row.signature)


def sign_head(session: Session, key: SigningKey, *, force: bool = False) -> Checkpoint | None:
    """Sign the current head (in the caller's transaction). Skipped (None) when the trail is empty or the latest
    checkpoint already covers the head, unless ``force``."""
    last = head(session)
    if last is None:
        return None
    latest = session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))
    if latest is not None and latest.entry_id == last.id and latest.entry_hash == last.hash and not force:
        return None
    at = utcnow().replace(microsecond=0)
    unsigned = Checkpoint(last.id, last.hash, at.isoformat(), key.fingerprint, "")
    signature = key.sign(unsigned.payload()).hex()
    session.add(AuditCheckpoint(at=at, entry_id=last.id, entry_hash=last.hash, key_fingerprint=key.fingerprint,
                                signature=signature))
    session.flush()
    return Checkpoint(last.id, last.hash, unsigned.at, key.fingerprint, signature)


def latest(session: Session) -> Checkpoint | None:
    row = session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))
    return Checkpoint.of(row) if row is not None else None


def export_dict(checkpoint: Checkpoint, key: SigningKey) -> dict[str, Any]:
    """The checkpoint as a self-describing JSON object, verifiable offline with the public key it names."""
    return {"format": FORMAT, "entry_id": checkpoint.entry_id, "entry_hash": checkpoint.entry_hash,
            "at": checkpoint.at, "key_fingerprint": checkpoint.key_fingerprint, "algorithm": "Ed25519",
            "public_key_pem": key.public_key_pem, "signature": checkpoint.signature,
            "signed_payload": checkpoint.payload().decode()}


def read_export(text: str) -> Checkpoint:
    """A checkpoint from an exported file; CheckpointFileError when it is not one."""
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise CheckpointFileError(f"not a {FORMAT} file; export one with 'gatewatch audit checkpoint --export'")
        return Checkpoint(int(data["entry_id"]), str(data["entry_hash"]), str(data["at"]),
                          str(data["key_fingerprint"]), str(data["signature"]))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, CheckpointFileError):
            raise
        raise CheckpointFileError("the checkpoint file is not readable JSON with entry_id, entry_hash, at, "
                                  "key_fingerprint and signature; export it again") from exc


def check_offline(data: dict[str, Any]) -> bool:
    """Whether an exported checkpoint's signature is valid under the public key it carries (and that key's
    fingerprint is the one it names): what a verifier without gatewatch's data can check."""
    checkpoint = Checkpoint(int(data["entry_id"]), str(data["entry_hash"]), str(data["at"]),
                            str(data["key_fingerprint"]), str(data["signature"]))
    try:
        public = load_public_key(str(data["public_key_pem"]))
        signature = bytes.fromhex(checkpoint.signature)
    except (SigningKeyError, ValueError):
        return False
    return fingerprint(public) == checkpoint.key_fingerprint and signature_valid(public, signature,
                                                                                checkpoint.payload())


@dataclass
class CheckpointReport:
    """What checking the trail against its checkpoints found."""

    checked: int
    """Checkpoints whose signature was valid and whose entry still matches."""
    problems: list[tuple[int, str]]
    """(entry id, reason) for each checkpoint that failed; the first names where the rewrite begins."""
    uncovered: int
    """Entries after the newest valid checkpoint (written since; not yet protected)."""


def _recomputed(session: Session, ids: set[int]) -> tuple[dict[int, str], int]:
    """The chain hash at each id in ``ids`` recomputed from the first entry (ignoring stored hashes), and the
    last id."""
    found: dict[int, str] = {}
    chained = GENESIS
    last_id = 0
    rows = session.execute(select(AuditEntry.id, AuditEntry.at, AuditEntry.user_name, AuditEntry.action,
                                  AuditEntry.object, AuditEntry.detail, AuditEntry.remote_addr)
                           .order_by(AuditEntry.id)).yield_per(2000)
    for row in rows:
        chained = _entry_hash(chained, row.at, row.user_name, row.action, row.object, row.detail, row.remote_addr)
        last_id = row.id
        if row.id in ids:
            found[row.id] = chained
    return found, last_id


def verify_checkpoints(session: Session, key: SigningKey, extra: list[Checkpoint] | None = None) -> CheckpointReport:
    """Check every stored checkpoint (and ``extra`` ones, e.g. an exported file) against the recomputed chain."""
    checkpoints = [Checkpoint.of(row) for row in session.scalars(select(AuditCheckpoint).order_by(
        AuditCheckpoint.entry_id, AuditCheckpoint.id))]
    checkpoints = sorted([*checkpoints, *(extra or [])], key=lambda c: c.entry_id)
    hashes, last_id = _recomputed(session, {c.entry_id for c in checkpoints})
    public = key.private_key.public_key()
    problems: list[tuple[int, str]] = []
    good_before = 0
    newest_good = 0
    for checkpoint in checkpoints:
        try:
            signature = bytes.fromhex(checkpoint.signature)
        except ValueError:
            signature = b""
        if checkpoint.key_fingerprint != key.fingerprint:
            problems.append((checkpoint.entry_id, f"the checkpoint at entry {checkpoint.entry_id} was signed by "
                             f"another key ({checkpoint.key_fingerprint[:16]}...), not this installation's"))
            continue
        if not signature_valid(public, signature, checkpoint.payload()):
            problems.append((checkpoint.entry_id, f"the checkpoint at entry {checkpoint.entry_id} has a bad "
                             "signature: it was forged or altered"))
            continue
        if checkpoint.entry_id > last_id:
            problems.append((checkpoint.entry_id, f"entries {last_id + 1}..{checkpoint.entry_id} were signed at "
                             f"{checkpoint.at} and are gone: the trail was cut or rewritten after entry "
                             f"{good_before}"))
            continue
        if hashes.get(checkpoint.entry_id) != checkpoint.entry_hash:
            problems.append((checkpoint.entry_id, f"the trail was rewritten: the recomputed chain no longer matches "
                             f"the checkpoint signed at {checkpoint.at} for entry {checkpoint.entry_id}; the "
                             f"rewrite begins after entry {good_before} and at or before entry "
                             f"{checkpoint.entry_id}"))
            continue
        if not problems:
            good_before = checkpoint.entry_id
        newest_good = max(newest_good, checkpoint.entry_id)
    checked = len(checkpoints) - len(problems)
    return CheckpointReport(checked=checked, problems=problems, uncovered=max(0, last_id - newest_good))

