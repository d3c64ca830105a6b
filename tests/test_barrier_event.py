"""One car passing the barrier is one event, on real footage, with the index's adaptive rate and region crops.

The clip is the shared street's 58.0-68.5 s: one car drives in from the left edge, crosses the middle of the
road (the "barrier" zone here, inside an "approach" zone over the road) and leaves on the right, while parked
cars stand along the kerbs. Truth comes from the dense reference (the same detector and tracker on every
frame), not from numbers written into the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.pipeline import dense_reference, index_segment
from detection.records import CameraSpec
from detection.regions import iou
from tests.support_index import cut, moving_vehicles, shared_detector

ZONES = {
    # The road across the picture (where activity counts: the cheap pass measures motion inside the zones) ...
    "approach": [(0.0, 0.3), (1.0, 0.3), (1.0, 0.8), (0.0, 0.8)],
    # ... and the barrier in its middle.
    "barrier": [(0.4, 0.3), (0.6, 0.3), (0.6, 0.8), (0.4, 0.8)],
}


@pytest.mark.slow
def test_one_car_at_the_barrier_is_one_event_and_parked_cars_are_reported_once(footage_dir: Path,
                                                                                 tmp_path: Path) -> None:
    clip = cut(footage_dir / "street_sparse_traffic.mp4", 58.0, 10.5, tmp_path / "street_58_68.mp4")
    camera = CameraSpec(zones=ZONES)
    reference = [e for e in moving_vehicles(dense_reference(clip, camera, detector=shared_detector()))
                 if e.end_s - e.start_s >= 1.0]
    assert len(reference) == 1, [(e.start_s, e.end_s) for e in reference]
    truth = reference[0]
    assert "barrier" in truth.zones

    result = index_segment(clip, camera, detector=shared_detector())
    moving = moving_vehicles(result)
    assert len(moving) == 1, [(e.label, e.start_s, e.end_s, e.track[0]) for e in moving]
    event = moving[0]
    assert "barrier" in event.zones
    assert abs(event.start_s - truth.start_s) <= 1.0 and abs(event.end_s - truth.end_s) <= 1.0

    parked = [e for e in result.events if e.stationary]
    assert parked, "the kerbs hold parked cars: none reported means the whole-frame refresh did not see them"
    for i, a in enumerate(parked):
        for b in parked[i + 1:]:
            if a.label == b.label:
                assert iou(tuple(a.track[0][1:]), tuple(b.track[0][1:])) < 0.5, (a.start_s, b.start_s)
