"""A segment shorter than pipeline.SHORT_SEGMENT_S is detected from end to end: the cheap pass finds no motion in a
10-frame clip (0.33 s) of a taxi entering the picture, yet the taxi is there and its plate legible."""

from __future__ import annotations

import pytest

from detection.decode import Span
from detection.pipeline import SHORT_SEGMENT_S, active_spans, index_segment
from detection.records import CameraSpec
from tests.test_plates_pipeline import MATERIAL

CLIP = MATERIAL / "Cambricon_cars_short.mp4"
"""10 frames, 0.33 s; 京B·Q1959 on a Beijing taxi in every frame (the material's README)."""


def test_only_short_segments_are_active_throughout() -> None:
    found = [Span(1.0, 2.0)]
    assert active_spans(found, SHORT_SEGMENT_S - 0.1) == [Span(0.0, SHORT_SEGMENT_S - 0.1)]
    assert active_spans(found, SHORT_SEGMENT_S + 0.1) == found
    assert active_spans([], 600.0) == []


@pytest.mark.slow
def test_a_ten_frame_clip_gives_its_taxi_and_plate() -> None:
    if not CLIP.is_file():
        pytest.fail(f"plate material not found at {CLIP}")
    index = index_segment(CLIP, CameraSpec(read_plates=True))
    assert index.duration_s < 0.5 and index.stats["active_s"] == pytest.approx(index.duration_s, abs=0.01)
    cars = [e for e in index.events if e.label in {"car", "truck", "bus"}]
    assert [e.plate for e in cars if e.plate] == ["京B·Q1959"]
