"""The cheap pass on a noisy quiet stretch: sensor noise and a slow brightness drift are not activity.

The footage is built from the shared street clip by bench/build_footage.py (the same builder the bench uses
for its quiet hour): one still of the empty street with fresh noise on every frame, a slow drift, a 2 s GOP,
one window of real passes spliced in.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from detection.activity import (
    ActivitySettings,
    _motion_in,
    _split_at,
    find_activity,
    keyframe_candidates,
    measure_motion,
    merge_spans,
    packet_candidates,
    pad_spans,
)
from detection.decode import read_packets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from build_footage import build_noisy


def test_noise_and_drift_flag_little_and_the_pass_is_found(footage_dir: Path, tmp_path: Path) -> None:
    # 2 minutes with one window (about 8 s of passes): 60 windows an hour puts it in the middle.
    video, inserts = build_noisy(footage_dir, tmp_path, 2.0, passes_per_hour=30)
    trace = read_packets(video)
    from_packets = packet_candidates(trace, ActivitySettings())
    assert from_packets is not None
    flagged = sum(s.end_s - s.start_s for s in from_packets)
    window = [(i.at_s, i.at_s + i.src_end_s - i.src_start_s) for i in inserts]
    passes = sum(end - start for start, end in window)
    # Before the GOP saw-tooth was divided out, about a fifth of the quiet frames were flagged.
    assert flagged <= passes + 12.0, (flagged, window)
    activity = find_activity(video, trace, {})
    active = sum(s.end_s - s.start_s for s in activity.spans)
    assert active <= passes + 10.0, ([(s.start_s, s.end_s) for s in activity.spans], window)
    for start, end in window:
        assert any(s.start_s <= start + 1.0 and s.end_s >= end - 1.0 for s in activity.spans), window
    # The motion measure runs the candidates before and after a long quiet gap on two threads: the same moments
    # and pictures as one pass.
    settings = ActivitySettings()
    candidates = merge_spans(from_packets + keyframe_candidates(video, trace, {}, 0, settings)[0])
    assert _split_at(candidates) is not None, candidates
    one_pass, measured, _ = _motion_in(video, candidates, trace, {}, 0, settings, (-math.inf, math.inf))
    spans, measured_split = measure_motion(video, candidates, trace, {}, 0, settings)
    assert measured_split == measured
    assert spans == pad_spans(merge_spans(one_pass, gap_s=settings.motion_gap_s), settings.active_pre_s,
                              settings.active_post_s, trace.duration_s) == activity.spans
