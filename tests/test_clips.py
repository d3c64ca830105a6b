"""Clips cut with the real FFmpeg from real stored segments: start, duration, joins, exact mode, cache, CLI."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest
from support_events import PARKING, SPLIT_AT_S, World, build_world
from typer.testing import CliRunner

from footage.clips import NoFootage, cached_clip, cut_clip, sources_for
from footage.db import session_scope
from footage.settings import get_settings

FPS = 12.5  # the parking-aisle clip; keyframes every 4.8 s


@pytest.fixture
def world(gw_home: Path, footage_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(footage_dir, tmp_path_factory.getbasetemp() / "halves")


def at(world: World, seconds: float) -> datetime:
    return world.segment_start + timedelta(seconds=seconds)


def frames_of(path: Path) -> list[tuple[float, np.ndarray]]:
    """Every decoded frame (time, grey pixels); decoding errors fail the test."""
    with av.open(str(path)) as container:
        return [(float(f.time), f.to_ndarray(format="gray").astype(np.int16)) for f in container.decode(video=0)]


def cut(world: World, start_s: float, end_s: float, out: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    with session_scope() as session:
        sources = sources_for(session, "north", at(world, start_s), at(world, end_s))
    return cut_clip(sources, at(world, start_s), at(world, end_s), out, **kwargs)  # type: ignore[arg-type]


def test_copy_clip_starts_at_the_keyframe_before_and_says_so(world: World, tmp_path: Path) -> None:
    clip = cut(world, 6.0, 12.0, tmp_path / "c.mp4")
    assert clip.start == at(world, 4.8)  # the keyframe at or before 6.0 s
    with av.open(str(clip.path)) as container:
        stream = container.streams.video[0]
        duration = float(stream.duration * stream.time_base)
        created = datetime.fromisoformat(container.metadata["creation_time"].replace("Z", "+00:00"))
        comment = container.metadata["comment"]
        assert container.format.name.startswith("mov,mp4")
    # MP4's creation_time holds whole seconds; the comment holds the first frame's time exactly.
    assert created == clip.start.replace(microsecond=0)
    assert comment.endswith(clip.start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    assert abs(duration - (12.0 - 4.8)) <= 2 / FPS
    assert abs((clip.end - clip.start).total_seconds() - duration) < 1e-3
    assert len(frames_of(clip.path)) == pytest.approx(7.2 * FPS, abs=2)
    # +faststart: the index (moov) comes before the media data, so a browser can start playing at once.
    head = clip.path.read_bytes()[:4096]
    assert 0 <= head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head


def test_clip_across_two_segments_plays_through_the_join(world: World, tmp_path: Path) -> None:
    clip = cut(world, 10.0, 20.0, tmp_path / "join.mp4")
    assert len({s.sha256 for s in clip.sources}) == 2 and clip.sources[0].end == clip.sources[1].start
    assert clip.start == at(world, 9.6)
    frames = frames_of(clip.path)
    times = [t for t, _ in frames]
    assert len(frames) == pytest.approx((20.0 - 9.6) * FPS, abs=2)
    steps = np.diff(times)
    assert steps.min() > 0 and steps.max() < 1.5 / FPS, "a gap or a jump at the join"
    # The frame after the join is the first frame of the second file.
    with av.open(str(world.halves[1])) as container:  # type: ignore[index]
        second_first = next(container.decode(video=0)).to_ndarray(format="gray").astype(np.int16)
    join_index = round((SPLIT_AT_S - 9.6) * FPS)
    assert np.abs(frames[join_index][1] - second_first).mean() < 1.0


def test_exact_clip_is_frame_exact(world: World, tmp_path: Path, footage_dir: Path) -> None:
    clip = cut(world, 6.0, 8.0, tmp_path / "exact.mp4", exact=True)
    assert clip.start == at(world, 6.0)
    frames = frames_of(clip.path)
    assert len(frames) == round(2.0 * FPS)
    source = frames_of(footage_dir / PARKING)
    wanted = round(6.0 * FPS)
    # The car is moving here: neighbouring source frames differ far more than the re-encode changes one.
    diffs = [np.abs(frames[0][1] - source[i][1]).mean() for i in range(wanted - 3, wanted + 4)]
    assert int(np.argmin(diffs)) == 3, diffs
    assert diffs[3] < 2.5 and min(diffs[2], diffs[4]) > 2 * diffs[3]
    with av.open(str(clip.path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"


def test_burned_in_time_changes_the_corner_only(world: World, tmp_path: Path) -> None:
    plain = cut(world, 6.0, 7.0, tmp_path / "plain.mp4", exact=True)
    burned = cut(world, 6.0, 7.0, tmp_path / "burned.mp4", exact=True, burn_in_tz="Asia/Shanghai")
    assert burned.start == plain.start
    a, b = frames_of(plain.path)[0][1], frames_of(burned.path)[0][1]
    corner = np.abs(a[5:40, 5:300] - b[5:40, 5:300]).mean()
    rest = np.abs(a[100:, :] - b[100:, :]).mean()
    assert corner > 20 and rest < 1.5


def test_window_without_footage_names_the_spans_that_have_it(world: World) -> None:
    with session_scope() as session, pytest.raises(NoFootage) as caught:
        sources_for(session, "north", at(world, 3600), at(world, 3700))
    # The two halves are back to back: one span, written in the camera's zone.
    assert caught.value.spans == [(at(world, 0.0), caught.value.spans[0][1])]
    assert abs((caught.value.spans[0][1] - at(world, 30.16)).total_seconds()) < 0.1
    assert "2024-11-07T05:00:00+08:00" in str(caught.value)


def test_cache_cuts_once_per_window_and_mode(world: World) -> None:
    cache = get_settings().clips_dir
    with session_scope() as session:
        sources = sources_for(session, "north", at(world, 2.0), at(world, 5.0))
    first = cached_clip(cache, sources, at(world, 2.0), at(world, 5.0))
    stamp = first.path.stat().st_mtime_ns
    again = cached_clip(cache, sources, at(world, 2.0), at(world, 5.0))
    assert again.path == first.path and again.path.stat().st_mtime_ns == stamp
    assert again.start == first.start and again.sha256 == first.sha256 and again.sources == first.sources
    exact = cached_clip(cache, sources, at(world, 2.0), at(world, 5.0), exact=True)
    assert exact.path != first.path and exact.start == at(world, 2.0)


def test_cli_clip_and_search(world: World, tmp_path: Path) -> None:
    from api.cli.main import app

    runner = CliRunner()
    out = tmp_path / "cli.mp4"
    result = runner.invoke(app, ["clip", "--camera", "north", "--from", "2024-11-07T05:00:06",
                                 "--to", "2024-11-07T05:00:12", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["start"] == "2024-11-07T05:00:04.800+08:00" and out.stat().st_size == data["size"]
    result = runner.invoke(app, ["clip", "--event", str(world.events["barrier_car"]), "--pre", "1", "--post", "1",
                                 "-o", str(tmp_path / "event.mp4"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["start"] == "2024-11-07T05:00:00+08:00"
    result = runner.invoke(app, ["clip", "--camera", "north", "--from", "2024-11-08T05:00:00",
                                 "--to", "2024-11-08T05:01:00", "-o", str(tmp_path / "none.mp4")])
    assert result.exit_code == 1 and "2024-11-07T05:00:00+08:00" in result.output
    result = runner.invoke(app, ["search", "--gate", "north gate", "--from", "2024-11-07T05:00:00",
                                 "--to", "2024-11-07T05:01:00", "--label", "vehicle", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["label"] for r in rows] == ["truck", "car", "truck"]
    assert rows[1]["start"] == "2024-11-07T05:00:03+08:00" and rows[1]["zones"] == ["barrier"]
    result = runner.invoke(app, ["search", "--from", "2024-11-07T06:00:00+08:00", "--to", "2024-11-07T05:00:00+08:00"])
    assert result.exit_code == 1 and "later than" in result.output



def test_segments_imported_by_the_catalogue_cut_across_the_join(gw_home: Path, footage_dir: Path,
                                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    # The real import path (probe, content-addressed store, relative paths) feeding sources_for and the cutter.
    from support_events import split_file

    from footage.catalogue import add_camera, add_site, import_file

    a, b = split_file(footage_dir / PARKING, SPLIT_AT_S, tmp_path_factory.getbasetemp() / "halves")
    with session_scope() as session:
        add_site(session, "Aisle Court")
        add_camera(session, "aisle", "Aisle Court", "Car park", "Asia/Shanghai")
        first = import_file(session, a, "aisle", "2024-11-07T05:00:00")
        assert first.status == "imported", first.error
        second = import_file(session, b, "aisle", first.end)
        assert second.status == "imported", second.error
    start = datetime.fromisoformat("2024-11-07T05:00:10+08:00")
    with session_scope() as session:
        sources = sources_for(session, "aisle", start, start + timedelta(seconds=10))
    assert [s.sha256 for s in sources] == [first.sha256, second.sha256]
    assert all(s.path.is_file() and s.path.is_relative_to(gw_home) for s in sources)
    clip = cached_clip(get_settings().clips_dir, sources, start, start + timedelta(seconds=10))
    assert clip.start == datetime.fromisoformat("2024-11-07T05:00:09.600+08:00")
    assert len(frames_of(clip.path)) == pytest.approx(10.4 * FPS, abs=2)


def test_cache_prunes_least_recently_used(world: World) -> None:
    from footage.clips import prune_cache

    cache = get_settings().clips_dir
    with session_scope() as session:
        sources = sources_for(session, "north", at(world, 0.0), at(world, 14.0))
    clips = [cached_clip(cache, sources, at(world, s), at(world, s + 2.0)) for s in (0.0, 5.0, 10.0)]
    import os
    import time

    for age, clip in zip((300, 200, 100), clips, strict=True):  # cut a while ago, oldest first
        os.utime(clip.path.with_suffix(".json"), (time.time() - age, time.time() - age))
    cached_clip(cache, sources, at(world, 0.0), at(world, 2.0))  # used again: now the most recent
    removed = prune_cache(cache, clips[0].size + 1)
    assert removed == 2
    assert clips[0].path.exists() and not clips[1].path.exists() and not clips[2].path.exists()


def test_a_missing_or_broken_segment_is_a_clear_error(world: World, tmp_path: Path) -> None:
    from footage.clips import ClipError

    with session_scope() as session:
        sources = sources_for(session, "north", at(world, 2.0), at(world, 5.0))
    sources[0].path.write_bytes(b"not a video at all")
    with pytest.raises(ClipError, match="could not be read"):
        cut_clip(sources, at(world, 2.0), at(world, 5.0), tmp_path / "broken.mp4")
    sources[0].path.unlink()
    with pytest.raises(ClipError, match="is missing"):
        cut_clip(sources, at(world, 2.0), at(world, 5.0), tmp_path / "missing.mp4")


def test_a_file_that_starts_before_its_first_keyframe_still_cuts(gw_home: Path, footage_dir: Path) -> None:
    # street_sparse_traffic.mp4 opens with non-key frames (first keyframe at 1.86 s): FFmpeg refuses a backward seek
    # to any earlier time, so the cut must find its start without seeking.
    from footage.catalogue import add_camera, add_site, import_file

    with session_scope() as session:
        add_site(session, "Street Court")
        add_camera(session, "street", "Street Court", "South gate", "Asia/Shanghai")
        segment = import_file(session, footage_dir / "street_sparse_traffic.mp4", "street", "2024-11-07T05:40:00")
        assert segment.status == "imported", segment.error
    start = datetime.fromisoformat("2024-11-07T05:40:00.500+08:00")
    with session_scope() as session:
        sources = sources_for(session, "street", start, start + timedelta(seconds=4))
    clip = cut_clip(sources, start, start + timedelta(seconds=4), gw_home / "early.mp4")
    assert clip.start == datetime.fromisoformat("2024-11-07T05:40:00+08:00")  # the file's own start
    frames = frames_of(clip.path)
    # Frames before the file's first keyframe cannot be decoded anywhere; from there on the clip plays to its end.
    assert len(frames) >= 25 and frames[-1][0] - frames[0][0] >= 4.5 - 1.86 - 0.2
