"""The command line goes through the same service rules as the HTTP API (issue #11: one home for each rule)."""

from __future__ import annotations

import json
from pathlib import Path

from support_auth import make_scene, short_clip
from typer.testing import CliRunner

from api.audit import list_entries
from api.cli.main import app as cli_app
from api.clip_service import max_clip_hours
from footage.db import session_scope


def test_cli_clip_keeps_the_clip_window_limits(gw_home: Path, footage_dir: Path, tmp_path: Path) -> None:
    scene = make_scene(short_clip(footage_dir / "parking_aisle_car_detection.mp4", tmp_path / "seg.mp4", 6))
    runner = CliRunner()
    too_long = runner.invoke(cli_app, ["clip", "--camera", scene.camera, "--from", "2024-11-07T05:00:00",
                                       "--to", "2024-11-07T08:00:01", "-o", str(tmp_path / "long.mp4")])
    assert too_long.exit_code == 1
    assert f"at most {max_clip_hours()} hours" in too_long.output
    too_much_roll = runner.invoke(cli_app, ["clip", "--event", str(scene.event_ids[0]), "--pre", "601",
                                            "-o", str(tmp_path / "roll.mp4")])
    assert too_much_roll.exit_code == 1 and "roll" in too_much_roll.output
    ok = runner.invoke(cli_app, ["clip", "--event", str(scene.event_ids[0]), "--pre", "1", "--post", "1",
                                 "-o", str(tmp_path / "ok.mp4"), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["camera"] == scene.camera and (tmp_path / "ok.mp4").stat().st_size > 0


def test_cli_case_entries_have_the_routes_shape(gw_home: Path, footage_dir: Path, tmp_path: Path) -> None:
    scene = make_scene(short_clip(footage_dir / "parking_aisle_car_detection.mp4", tmp_path / "seg.mp4", 6))
    runner = CliRunner()
    made = runner.invoke(cli_app, ["export", "--case", "Gate arm", "--reference", "PR-1", "--camera", scene.camera,
                                   "--from", "2024-11-07T05:00:01", "--to", "2024-11-07T05:00:03",
                                   "-o", str(tmp_path / "case.zip")])
    assert made.exit_code == 0, made.output
    added = runner.invoke(cli_app, ["export", "--case", "Gate arm", "--event", str(scene.event_ids[0]),
                                    "-o", str(tmp_path / "again.zip")])
    assert added.exit_code == 0, added.output
    with session_scope() as session:
        created = list_entries(session, action="case_create").entries
        items = list_entries(session, action="case_add_items").entries
        exports = list_entries(session, action="export").entries
    assert len(created) == 1 and created[0].detail["reference"] == "PR-1"
    assert created[0].detail["ranges"] == [{"camera": scene.camera, "from": "2024-11-07T05:00:01",
                                            "to": "2024-11-07T05:00:03"}]
    assert items[0].detail == {"events": [scene.event_ids[0]], "ranges": []}
    assert {e.detail["output"] for e in exports} == {str((tmp_path / n).resolve()) for n in ("case.zip", "again.zip")}


def test_cli_index_and_jobs_check_their_inputs(gw_home: Path, footage_dir: Path, tmp_path: Path) -> None:
    scene = make_scene(short_clip(footage_dir / "parking_aisle_car_detection.mp4", tmp_path / "seg.mp4", 6))
    runner = CliRunner()
    bad = runner.invoke(cli_app, ["index", "--since", "yesterday"])
    assert bad.exit_code == 1 and "--since 'yesterday' is not an ISO 8601 time" in bad.output
    unknown = runner.invoke(cli_app, ["index", "--camera", "nowhere"])
    assert unknown.exit_code == 1 and "no camera 'nowhere'" in unknown.output
    # A naive time is read in the camera's zone; nothing of this camera starts after 2030, so no job is queued.
    later = runner.invoke(cli_app, ["index", "--camera", scene.camera, "--since", "2030-01-01T00:00:00", "--json"])
    assert later.exit_code == 0, later.output
    assert json.loads(later.stdout)["segments"] == 0
    status = runner.invoke(cli_app, ["jobs", "--status", "sleeping"])
    assert status.exit_code == 1 and "unknown status 'sleeping'" in status.output
