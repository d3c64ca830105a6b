"""Probing real footage (and made-up variants of it) in a child process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from footage.probe import ProbeCrashed, VideoProbe, probe


def ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True)


@pytest.mark.parametrize(("name", "codec", "size", "fps", "duration", "vfr"), [
    ("parking_aisle_car_detection.mp4", "h264", (768, 432), 12.5, 30.16, False),
    ("people_one_by_one.mp4", "h264", (768, 432), 10.0, 139.4, False),
    ("motorway_traffic_camera.mp4", "h264", (1280, 720), 25.0, 23.04, False),
    ("street_brightness_flicker_no_vehicle.avi", "mpeg4", (960, 1080), 12.0, 4.917, False),
    ("tiny_48x48_rawvideo.avi", "rawvideo", (48, 48), 15.0, 3.4, False),
])
def test_probe_reads_each_real_file(footage_dir: Path, name: str, codec: str, size: tuple[int, int], fps: float,
                                    duration: float, vfr: bool) -> None:
    result = probe(footage_dir / name)
    assert isinstance(result, VideoProbe)
    assert result.codec == codec
    assert (result.width, result.height) == size
    assert result.fps == pytest.approx(fps, rel=1e-3)
    assert result.duration_s == pytest.approx(duration, abs=0.01)
    assert result.variable_frame_rate is vfr
    assert result.rotation == 0
    assert result.size_bytes == (footage_dir / name).stat().st_size


def test_variable_frame_rate_takes_its_duration_from_timestamps(footage_dir: Path) -> None:
    result = probe(footage_dir / "motorway_traffic_camera_vfr.mp4")
    assert result.variable_frame_rate is True
    # 576 frames: at the nominal 25 fps that would be 23 s, but the timestamps span 34.56 s.
    assert result.frame_count == 576
    assert result.duration_s == pytest.approx(34.56, abs=0.01)
    assert result.fps == pytest.approx(576 / 34.56, rel=1e-3)


def test_creation_time_and_keyframes(footage_dir: Path) -> None:
    result = probe(footage_dir / "parking_aisle_car_detection.mp4")
    assert result.creation_time == "2018-04-19T22:46:00+00:00"
    assert result.frame_count == 377
    assert result.keyframe_interval_s == pytest.approx(4.8, abs=0.01)


def test_rotated_file_reports_its_rotation(footage_dir: Path, tmp_path: Path) -> None:
    rotated = tmp_path / "rotated.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(footage_dir / "parking_aisle_car_detection.mp4"),
           "-c", "copy", "-t", "3", str(rotated))
    result = probe(rotated)
    assert result.rotation == 90
    assert (result.width, result.height) == (768, 432)
    assert result.duration_s == pytest.approx(3.04, abs=0.05)


def test_a_decoder_crash_fails_the_file_not_the_caller(footage_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Stand in for a decoder that dies on hostile input: the child process is killed by SIGSEGV.
    crashing = tmp_path / "python-that-crashes"
    crashing.write_text("#!/bin/sh\nkill -SEGV $$\n")
    crashing.chmod(0o755)
    monkeypatch.setattr("footage.probe.sys.executable", str(crashing))
    with pytest.raises(ProbeCrashed, match=r"crashed the video decoder \(signal 11\)"):
        probe(footage_dir / "tiny_48x48_rawvideo.avi")
