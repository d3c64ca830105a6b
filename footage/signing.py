"""The installation's Ed25519 signing key: created once under the keys folder (0600), used to sign evidence manifests.

The same folder holds other small secrets (the web sessions' HMAC secret); ``private_secret`` creates those the
same careful way: written once, atomically, readable only by the service's user.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "evidence_ed25519.pem"
ALGORITHM = "Ed25519"


class SigningKeyError(Exception):
    """The signing key file or a public key given for checking cannot be used."""


def _write_once(path: Path, data: bytes) -> bytes:
    """Write ``data`` to ``path`` (0600) unless it exists; return what the file holds afterwards.

    Two processes starting at once must end up with the same secret, so the file is created with O_EXCL from a
    fully written temporary file (a hard link), and the loser reads the winner's file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    if path.exists():
        return path.read_bytes()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


def private_secret(keys_dir: Path, name: str, nbytes: int = 32) -> bytes:
    """A random secret kept in ``keys_dir/name`` (0600), created on first use."""
    return _write_once(keys_dir / name, secrets.token_bytes(nbytes))


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, hex: short enough to read out over the phone in parts."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    """Read a PEM public key (as printed by ``GET /api/v1/signing-key``)."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SigningKeyError("the public key is not a PEM public key; copy it from GET /api/v1/signing-key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("the public key is not an Ed25519 key; use the key from /api/v1/signing-key")
    return key


@dataclass(frozen=True)
class SigningKey:
    """The installation's private key with its public half's PEM and fingerprint."""

    private_key: Ed25519PrivateKey
    """Signs manifests; never leaves the keys folder."""
    public_key_pem: str
    """The public key, PEM (SubjectPublicKeyInfo), as shipped inside every package."""
    fingerprint: str
    """SHA-256 hex of the raw public key."""

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)


def load_or_create(keys_dir: Path) -> SigningKey:
    """The installation key under ``keys_dir``; a new one is made (0600) the first time."""
    path = keys_dir / KEY_FILE
    if path.exists():
        pem = path.read_bytes()
    else:
        fresh = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        pem = _write_once(path, fresh)
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except ValueError as exc:
        raise SigningKeyError(f"{path} is not a readable private key; restore it from backup") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 key; restore the installation's key")
    public = key.public_key()
    return SigningKey(private_key=key, public_key_pem=public_key_pem(public), fingerprint=fingerprint(public))


def existing_public_key_pem(keys_dir: Path) -> str | None:
    """This installation's public key (PEM) when its key file exists under ``keys_dir``; nothing is created.

    ``gatewatch verify`` calls this: on a machine without gatewatch data (a prosecutor's laptop) there is no
    installation key, and the checker must name the key it trusts instead.
    """
    path = keys_dir / KEY_FILE
    if not path.is_file():
        return None
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"{path} is not a readable private key; restore it from backup") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 key; restore the installation's key")
    return public_key_pem(key.public_key())


def signature_valid(public_key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
