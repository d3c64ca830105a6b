"""Hostile evidence packages: zips crafted to read differently in different tools, and packages re-signed by a forger.

Every package here is a real zip written with ``zipfile`` from a real signed package; ``gatewatch verify`` runs as
a real subprocess, with its own data folder, as it would on a prosecutor's laptop.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import warnings
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support_auth import short_clip

from footage.evidence import PackageClip, PackageHeader, SourceRecord, build_package, verify_package
from footage.signing import SigningKey, fingerprint, load_or_create, public_key_pem

REPO = Path(__file__).resolve().parents[1]
CLIP = "clips/01_palm-north_20241107T050000.mp4"


@pytest.fixture(scope="module")
def real_clip(footage_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return short_clip(footage_dir / "parking_aisle_car_detection.mp4", tmp_path_factory.mktemp("clip") / "c.mp4", 2)


@pytest.fixture
def genuine(tmp_path: Path, real_clip: Path) -> tuple[Path, SigningKey]:
    key = load_or_create(tmp_path / "installation" / "keys")
    start = datetime(2024, 11, 6, 21, 0, tzinfo=UTC)
    clip = PackageClip(path=real_clip, camera="palm-north", site="Palm Grove", gate="north gate",
                       timezone="Asia/Singapore", start=start, end=start + timedelta(seconds=2),
                       sources=[SourceRecord("ch01.mp4", "ab" * 32, start, start + timedelta(hours=1))])
    header = PackageHeader(case_name="Gate arm", reference="PR-1", exported_by="olive", exported_at=start,
                           version="0.1.0")
    out = tmp_path / "genuine.zip"
    build_package(out, header, [clip], [], key)
    return out, key


def _members(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as package:
        return [(info.filename, package.read(info)) for info in package.infolist()]


def _write(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we write on purpose
        with zipfile.ZipFile(path, "w") as package:
            for name, data in members:
                package.writestr(name, data)
    return path


def _signed(path: Path, key: Ed25519PrivateKey, files: dict[str, bytes]) -> Path:
    """A package whose manifest lists ``files`` (by the names given), signed with ``key``."""
    pem = public_key_pem(key.public_key())
    manifest = {"format": "gatewatch-evidence/1", "case": {"name": "x", "reference": None},
                "signing_key": {"algorithm": "Ed25519", "fingerprint": fingerprint(key.public_key())},
                "clips": [{"file": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                          for name, data in files.items()],
                "thumbnails": [], "notes": []}
    body = json.dumps(manifest).encode()
    return _write(path, [("manifest.json", body), ("manifest.sig", key.sign(body)),
                         ("public_key.pem", pem.encode()), *files.items()])


def _mark_encrypted(path: Path, name: str) -> Path:
    """Set the 'encrypted' flag of one member in both its local header and its central directory entry."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as package:
        local = package.getinfo(name).header_offset
    data[local + 6] |= 0x1
    central = data.find(b"PK\x01\x02" + bytes(data[local + 4:local + 6]), data.rfind(b"PK\x05\x06") - 10**6)
    while data[central + 46:central + 46 + len(name)] != name.encode():
        central = data.find(b"PK\x01\x02", central + 4)
    data[central + 8] |= 0x1
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as package:
        assert package.getinfo(name).flag_bits & 0x1
    return path


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GATEWATCH_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("GATEWATCH_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-c", "from api.cli.main import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_a_forged_clip_shadowing_the_genuine_one_is_refused(tmp_path: Path, genuine: tuple[Path, SigningKey]) -> None:
    out, key = genuine
    members = _members(out)
    forged_clip = b"\x00\x00\x00\x18ftypmp42" + b"forged footage" * 100
    # The forgery comes first: unzip (and any first-match reader) shows it; zipfile's last-match sees the original.
    shadowed = _write(tmp_path / "shadowed.zip", [*members[:3], (CLIP, forged_clip), *members[3:]])
    if shutil.which("unzip"):
        # unzip -n (never overwrite, what a careful person runs) keeps the first copy: the forgery.
        subprocess.run(["unzip", "-n", "-q", str(shadowed), "-d", str(tmp_path / "x")], check=True)
        assert (tmp_path / "x" / CLIP).read_bytes() == forged_clip
    with zipfile.ZipFile(shadowed) as package:
        assert package.read(CLIP) == members[3][1]  # what the old verifier hashed
    result = verify_package(shadowed, expect_fingerprint=key.fingerprint)
    assert not result.ok and "appears twice" in result.problems[0]

    manifest_first = _write(tmp_path / "manifest.zip", [("manifest.json", b'{"clips": []}'), *members])
    assert "'manifest.json' appears twice" in verify_package(manifest_first, expect_fingerprint=key.fingerprint
                                                              ).problems[0]


@pytest.mark.parametrize(("name", "why"), [
    ("/clips/x.mp4", "absolute path"), ("C:/clips/x.mp4", "absolute path"), ("../x.mp4", "'..'"),
    ("clips/../../x.mp4", "'..'"), ("clips\\x.mp4", "backslash"), ("clips/./x.mp4", "not normalised"),
    ("clips//x.mp4", "not normalised"), ("clips/x.mp4/", "not normalised"), ("clips/x\u2044y.mp4", "characters"),
])
def test_names_a_reader_could_place_elsewhere_are_refused(tmp_path: Path, name: str, why: str) -> None:
    # Even signed by the trusted key and listed in the manifest: such a name extracts somewhere else.
    key = Ed25519PrivateKey.generate()
    package = _signed(tmp_path / "p.zip", key, {name: b"video bytes"})
    result = verify_package(package, public_key_pem=public_key_pem(key.public_key()))
    assert not result.ok and why in result.problems[0], result.problems


def test_encrypted_prefixed_and_unlisted_members_are_refused(tmp_path: Path, genuine: tuple[Path, SigningKey]) -> None:
    out, key = genuine
    members = _members(out)
    crypt = _mark_encrypted(_write(tmp_path / "enc.zip", members), CLIP)
    assert "encrypted" in verify_package(crypt, expect_fingerprint=key.fingerprint).problems[0]

    prefixed = tmp_path / "prefixed.zip"
    prefixed.write_bytes(b"#!/bin/sh\necho hidden\n" + out.read_bytes())
    assert "unlisted bytes" in verify_package(prefixed, expect_fingerprint=key.fingerprint).problems[0]

    extra = _write(tmp_path / "extra.zip", [*members, ("clips/02_extra.mp4", b"unlisted")])
    assert verify_package(extra, expect_fingerprint=key.fingerprint).problems == [
        "clips/02_extra.mp4: in the package but not listed in the manifest"]
    missing = _write(tmp_path / "missing.zip", members[:3])
    assert verify_package(missing, expect_fingerprint=key.fingerprint).problems == [
        f"{CLIP}: listed in the manifest but missing from the package"]
    assert verify_package(out, expect_fingerprint=key.fingerprint).ok


def _resign(source: Path, target: Path, key: Ed25519PrivateKey) -> Path:
    """What a forger does: edit the manifest, then sign it and ship their own public key with it."""
    members = dict(_members(source))
    manifest = json.loads(members["manifest.json"])
    manifest["case"]["reference"] = "PR-FORGED"
    manifest["signing_key"]["fingerprint"] = fingerprint(key.public_key())
    body = json.dumps(manifest).encode()
    members.update({"manifest.json": body, "manifest.sig": key.sign(body),
                    "public_key.pem": public_key_pem(key.public_key()).encode()})
    return _write(target, list(members.items()))


def test_verify_accepts_only_a_key_the_checker_trusts(tmp_path: Path, genuine: tuple[Path, SigningKey]) -> None:
    out, installation = genuine
    forger = Ed25519PrivateKey.generate()
    forged = _resign(out, tmp_path / "forged.zip", forger)
    forger_fp = fingerprint(forger.public_key())

    # The installation that made the package: its own key is found under its data folder, no flag needed.
    home = tmp_path / "installation"
    assert _cli(home, "verify", str(out)).returncode == 0
    refused = _cli(home, "verify", str(forged))
    assert refused.returncode == 1 and f"signed with key {forger_fp}, not this installation's key" in refused.stdout

    # A prosecutor's laptop: no gatewatch data at all, and verify creates none.
    laptop = tmp_path / "laptop" / "var"
    alone = _cli(laptop, "verify", str(forged))
    assert alone.returncode == 1 and forger_fp in alone.stdout and "--key FILE" in alone.stdout
    assert _cli(laptop, "verify", str(out)).returncode == 1
    assert not laptop.exists()

    exported = tmp_path / "usb-stick" / "gatewatch-signing-key.pem"
    exported.parent.mkdir()
    shown = _cli(home, "signing-key", "--export", str(exported))
    assert shown.returncode == 0 and installation.fingerprint in shown.stdout
    assert exported.read_text() == installation.public_key_pem
    ok = _cli(laptop, "verify", str(out), "--key", str(exported))
    assert ok.returncode == 0 and "the key given with --key" in ok.stdout, ok.stdout + ok.stderr
    wrong_key = _cli(laptop, "verify", str(forged), "--key", str(exported))
    assert wrong_key.returncode == 1 and f"signed with key {forger_fp}, not with the key given" in wrong_key.stdout
    by_fp = _cli(laptop, "verify", str(out), "--expect-fingerprint", installation.fingerprint)
    assert by_fp.returncode == 0

    # The forger's own key vouches for the forger's package, and only for it: the signature itself is sound.
    forger_pem = tmp_path / "forger.pem"
    forger_pem.write_text(public_key_pem(forger.public_key()))
    assert _cli(laptop, "verify", str(forged), "--key", str(forger_pem)).returncode == 0
    assert not laptop.exists()
