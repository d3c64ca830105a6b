"""Evidence packages: built from real clips, signed, and checked offline; every kind of tampering is named."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
from conftest import bearer, make_user
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from support_auth import make_scene, short_clip
from typer.testing import CliRunner

from api.audit import list_entries
from api.cli.main import app as cli_app
from footage.db import session_scope
from footage.evidence import (
    PackageClip,
    PackageHeader,
    PackageThumbnail,
    SourceRecord,
    build_package,
    safe_name,
    verify_package,
)
from footage.signing import load_or_create, public_key_pem


@pytest.fixture(scope="module")
def real_clip(footage_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return short_clip(footage_dir / "parking_aisle_car_detection.mp4", tmp_path_factory.mktemp("clip") / "c.mp4", 3)


def _package(tmp_path: Path, clip: Path) -> tuple[Path, str]:
    key = load_or_create(tmp_path / "keys")
    start = datetime(2024, 11, 6, 21, 0, tzinfo=UTC)
    package_clip = PackageClip(
        path=clip, camera="palm-north", site="Palm Grove", gate="north gate", timezone="Asia/Singapore",
        start=start, end=start + timedelta(seconds=3),
        sources=[SourceRecord("ch01_20241107050000.mp4", "ab" * 32, start, start + timedelta(hours=1))],
    )
    header = PackageHeader(case_name="../../Break-in / gate arm", reference="PR-2024-117", exported_by="olive",
                           exported_at=start + timedelta(days=1), version="0.1.0")
    out = tmp_path / "case.zip"
    build_package(out, header, [package_clip], [PackageThumbnail(7, b"\xff\xd8jpeg\xff\xd9")], key)
    return out, key.fingerprint


def _rewrite(source: Path, target: Path, change: dict[str, bytes | None]) -> Path:
    """Copy a zip, replacing (bytes) or dropping (None) the named members, adding new ones."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename in change:
                continue
            new.writestr(info, old.read(info))
        for name, data in change.items():
            if data is not None:
                new.writestr(name, data)
    return target


def test_intact_package_verifies_with_the_installation_key(tmp_path: Path, real_clip: Path) -> None:
    out, fp = _package(tmp_path, real_clip)
    with zipfile.ZipFile(out) as package:
        names = package.namelist()
        manifest = json.loads(package.read("manifest.json"))
    assert names == ["manifest.json", "manifest.sig", "public_key.pem",
                     "clips/01_palm-north_20241107T050000.mp4", "thumbnails/event_7.jpg"]
    clip = manifest["clips"][0]
    assert clip["start"] == "2024-11-07T05:00:00+08:00" and clip["end"] == "2024-11-07T05:00:03+08:00"
    assert clip["sources"][0] == {"name": "ch01_20241107050000.mp4", "sha256": "ab" * 32,
                                  "start": "2024-11-07T05:00:00+08:00", "end": "2024-11-07T06:00:00+08:00"}
    assert manifest["case"] == {"name": "../../Break-in / gate arm", "reference": "PR-2024-117"}
    assert manifest["signing_key"]["fingerprint"] == fp

    result = verify_package(out, expect_fingerprint=fp.upper())
    assert result.ok and result.trusted_by == "fingerprint" and len(result.checked) == 2
    pem = load_or_create(tmp_path / "keys").public_key_pem
    assert verify_package(out, public_key_pem=pem).trusted_by == "key file"
    assert verify_package(out, installation_key_pem=pem).trusted_by == "installation"
    # With nothing to vouch for the key, an intact package is still not accepted: the key inside proves nothing.
    alone = verify_package(out)
    assert not alone.ok and alone.fingerprint == fp and "nothing here says whose key that is" in alone.problems[0]


def test_every_kind_of_tampering_is_named(tmp_path: Path, real_clip: Path) -> None:
    out, fp = _package(tmp_path, real_clip)
    clip_name = "clips/01_palm-north_20241107T050000.mp4"
    with zipfile.ZipFile(out) as package:
        clip_bytes = bytearray(package.read(clip_name))
        manifest = package.read("manifest.json")
    clip_bytes[len(clip_bytes) // 2] ^= 0xFF

    pem = load_or_create(tmp_path / "keys").public_key_pem
    changed_clip = verify_package(_rewrite(out, tmp_path / "a.zip", {clip_name: bytes(clip_bytes)}),
                                  public_key_pem=pem)
    assert len(changed_clip.problems) == 1 and changed_clip.problems[0].startswith(f"{clip_name}: SHA-256 ")

    edited = manifest.replace(b"PR-2024-117", b"PR-2024-118")
    changed_manifest = verify_package(_rewrite(out, tmp_path / "b.zip", {"manifest.json": edited}),
                                      expect_fingerprint=fp)
    assert changed_manifest.problems == [
        f"manifest.sig does not match manifest.json under key {fp}: the manifest was changed or signed by another key"
    ]

    dropped = verify_package(_rewrite(out, tmp_path / "c.zip", {"thumbnails/event_7.jpg": None}), public_key_pem=pem)
    assert dropped.problems == ["thumbnails/event_7.jpg: listed in the manifest but missing from the package"]

    extra = verify_package(_rewrite(out, tmp_path / "d.zip", {"notes/evil.sh": b"rm -rf /"}), public_key_pem=pem)
    assert extra.problems == ["notes/evil.sh: in the package but not listed in the manifest"]

    # A forger re-signs with their own key: the package is self-consistent, but not the installation's.
    forged_key = Ed25519PrivateKey.generate()
    forged = _rewrite(out, tmp_path / "e.zip", {"manifest.json": edited, "manifest.sig": forged_key.sign(edited),
                                                "public_key.pem": public_key_pem(forged_key.public_key()).encode()})
    assert not verify_package(forged).ok and not verify_package(forged).key_trusted
    assert "not the expected" in verify_package(forged, expect_fingerprint=fp).problems[0]
    assert "not this installation's key" in verify_package(forged, installation_key_pem=pem).problems[0]
    assert len(verify_package(forged, public_key_pem=pem).problems) == 2

    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert "not a readable zip" in verify_package(tmp_path / "junk.zip").problems[0]


def test_names_are_sanitised() -> None:
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("/abs/path\\..\\x") == "abs_path_.._x"
    assert safe_name("..") == "unnamed" and safe_name("") == "unnamed"
    assert "/" not in safe_name("a/" * 100) and len(safe_name("x" * 500)) == 80


def test_cli_export_then_verify(gw_home: Path, footage_dir: Path, tmp_path: Path, client: TestClient) -> None:
    scene = make_scene(short_clip(footage_dir / "parking_aisle_car_detection.mp4", tmp_path / "seg.mp4", 6))
    runner = CliRunner()
    out = tmp_path / "case.zip"
    exported = runner.invoke(cli_app, [
        "export", "--case", "Gate arm", "--reference", "PR-1", "--event", str(scene.event_ids[0]),
        "--pre", "1", "--post", "1", "-o", str(out), "--json"])
    assert exported.exit_code == 0, exported.output
    manifest = json.loads(exported.stdout)
    assert manifest["case"] == {"name": "Gate arm", "reference": "PR-1"}
    assert [e["label"] for e in manifest["clips"][0]["events"]] == ["car", "person"]
    assert [t["event_id"] for t in manifest["thumbnails"]] == [scene.event_ids[0]]

    ranged = runner.invoke(cli_app, [
        "export", "--case", "Gate arm", "--camera", scene.camera, "--from", "2024-11-07T05:00:02",
        "--to", "2024-11-07T05:00:04", "--burn-in", "-o", str(tmp_path / "burned.zip"), "--json"])
    assert ranged.exit_code == 0, ranged.output
    burned = json.loads(ranged.stdout)["clips"]
    assert len(burned) == 2 and all(c["exact"] and c["burn_in"] for c in burned)
    assert burned[1]["start"] == "2024-11-07T05:00:02+08:00"
    with zipfile.ZipFile(tmp_path / "burned.zip") as package, package.open(burned[1]["file"]) as member:
        (tmp_path / "burned.mp4").write_bytes(member.read())
    with av.open(str(tmp_path / "burned.mp4")) as video:
        assert video.streams.video[0].codec_context.name == "h264"
        assert 1.5 <= float(video.duration or 0) / 1e6 <= 2.5

    fp = client.get("/api/v1/signing-key", headers=bearer(make_user("officer"))).json()["fingerprint"]
    ok = runner.invoke(cli_app, ["verify", str(out), "--expect-fingerprint", fp])
    assert ok.exit_code == 0 and ok.stdout.startswith("ok: 2 file(s)")
    wrong = runner.invoke(cli_app, ["verify", str(out), "--expect-fingerprint", "00" * 32])
    assert wrong.exit_code == 1 and "FAIL the package was signed with key" in wrong.stdout

    with session_scope() as session:
        exports = list_entries(session, action="export").entries
    assert len(exports) == 2 and exports[0].detail["burn_in"] is True
    assert exports[1].detail["package_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
