"""Tracks into events: joining, stationary objects, dwell, zones, labels, noise; colour words on real crops."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from detection.colour import dominant_colour
from detection.events import track_to_event, tracks_to_events
from detection.tracking import Observation, Track
from detection.zones import zones_at

BARRIER = {"barrier": [(0.4, 0.5), (0.6, 0.5), (0.6, 0.9), (0.4, 0.9)]}


def _track(track_id: int, rows: list[tuple[float, float, float]], size: float = 0.1, cls: int = 2,
           score: float = 0.8) -> Track:
    """A track whose box of side ``size`` is centred at (x, y) at each time t."""
    track = Track(track_id, best_score=score, best_crop=np.full((20, 30, 3), 200, np.uint8))
    for t, x, y in rows:
        box = (x - size / 2, y - size / 2, x + size / 2, y + size / 2)
        track.observations.append(Observation(t, box, score, cls))
    return track


def test_car_stopped_at_the_barrier_is_one_event_with_its_dwell() -> None:
    """Detection pauses while a stopped car causes no motion: its two tracks join and keep the whole stop."""
    arriving = _track(1, [(0.0, 0.5, 0.1), (0.4, 0.5, 0.3), (0.8, 0.5, 0.6), (1.2, 0.5, 0.6), (2.0, 0.5, 0.6)])
    leaving = _track(2, [(41.0, 0.5, 0.6), (41.4, 0.5, 0.6), (41.8, 0.5, 0.8), (42.2, 0.5, 0.95)])
    passing = _track(3, [(20.0, 0.1, 0.2), (20.4, 0.3, 0.2), (20.8, 0.6, 0.2)])
    events = tracks_to_events([arriving, leaving, passing], BARRIER)
    assert len(events) == 2
    stopped = events[0]
    assert (stopped.start_s, stopped.end_s) == (0.0, 42.2)
    assert stopped.dwell_s == pytest.approx(40.6)
    assert stopped.dwell_zone == "barrier"
    assert stopped.zones == ["barrier"]
    assert not stopped.stationary
    assert events[1].dwell_s < 1 and events[1].zones == []


def test_parked_car_is_reported_once_flagged_stationary() -> None:
    """A parked car seen in three separate active spans is one stationary event, not a stream."""
    spans = [_track(i, [(t0 + k * 0.2, 0.2 + 0.002 * (k % 2), 0.3) for k in range(6)]) for i, t0 in
             enumerate((10.0, 300.0, 1900.0))]
    events = tracks_to_events(spans, {})
    assert len(events) == 1
    assert events[0].stationary
    assert (events[0].start_s, events[0].end_s) == (10.0, 1901.0)


def test_different_cars_at_the_same_edge_are_not_joined() -> None:
    """One car leaves where, minutes later, another enters: both moving, so they stay two events."""
    first = _track(1, [(0.0, 0.5, 0.5), (0.4, 0.5, 0.7), (0.8, 0.5, 0.9)])
    second = _track(2, [(120.0, 0.5, 0.9), (120.4, 0.5, 0.7), (120.8, 0.5, 0.5)])
    assert len(tracks_to_events([first, second], {})) == 2


def test_noise_tracks_are_dropped() -> None:
    assert track_to_event(_track(1, [(0.0, 0.5, 0.5)]), {}) is None
    assert track_to_event(_track(1, [(0.0, 0.5, 0.5), (0.2, 0.6, 0.5)], score=0.2), {}) is None
    assert track_to_event(_track(1, [(0.0, 0.5, 0.5), (0.2, 0.6, 0.5)]), {}) is not None


def test_label_is_the_weighted_majority_and_people_have_no_colour() -> None:
    track = _track(1, [(0.0, 0.1, 0.5), (0.2, 0.3, 0.5), (0.4, 0.5, 0.5)], cls=7)
    track.observations[0].cls = 2
    event = track_to_event(track, {})
    assert event is not None and event.label == "truck" and event.colour is not None
    person = track_to_event(_track(2, [(0.0, 0.1, 0.5), (0.2, 0.3, 0.5)], cls=0), {})
    assert person is not None and person.label == "person" and person.colour is None
    assert person.thumbnail_jpeg is not None and person.thumbnail_jpeg[:2] == b"\xff\xd8"


def test_zones_use_the_ground_point() -> None:
    assert zones_at(0.5, 0.6, BARRIER) == ["barrier"]
    assert zones_at(0.5, 0.3, BARRIER) == []
    # A box hanging over the zone from above, standing outside it, did not enter it.
    event = track_to_event(_track(1, [(0.0, 0.5, 0.3), (0.2, 0.52, 0.3)], size=0.3), BARRIER)
    assert event is not None and event.zones == []


def _crop(path: Path, t: float, box: tuple[int, int, int, int]) -> np.ndarray:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time >= t:
                x1, y1, x2, y2 = box
                return frame.to_ndarray(format="bgr24")[y1:y2, x1:x2]
    raise AssertionError("time past the end of the clip")


@pytest.mark.parametrize(
    ("clip", "t", "box", "colours"),
    [
        # Boxes from YOLO11n on these frames; each crop looked at by eye (silver reads as white or grey).
        ("street_sparse_traffic.mp4", 6.5, (78, 108, 148, 151), {"grey"}),
        ("street_sparse_traffic.mp4", 6.5, (178, 117, 286, 178), {"red"}),
        ("street_sparse_traffic.mp4", 6.5, (146, 84, 215, 139), {"red"}),
        ("street_sparse_traffic.mp4", 6.5, (11, 223, 81, 275), {"grey", "white"}),
        ("street_sparse_traffic.mp4", 6.5, (305, 235, 485, 315), {"white"}),
        ("street_sparse_traffic.mp4", 6.5, (160, 214, 304, 292), {"yellow"}),
        ("motorway_traffic_camera.mp4", 3.0, (469, 435, 541, 495), {"white"}),
        ("motorway_traffic_camera.mp4", 3.0, (772, 481, 863, 569), {"blue"}),
        ("motorway_traffic_camera.mp4", 3.0, (522, 366, 565, 407), {"black"}),
        ("motorway_traffic_camera.mp4", 3.0, (703, 373, 758, 425), {"red"}),
        ("motorway_traffic_camera.mp4", 3.0, (281, 624, 452, 718), {"blue"}),
        ("motorway_traffic_camera.mp4", 3.0, (335, 362, 441, 479), {"white"}),
        ("parking_aisle_car_detection.mp4", 16.8, (314, 94, 473, 369), {"red"}),
        ("parking_aisle_car_detection.mp4", 16.8, (75, 115, 247, 427), {"grey", "white"}),
    ],
)
def test_colour_words_on_real_crops(footage_dir: Path, clip: str, t: float, box: tuple[int, int, int, int],
                                    colours: set[str]) -> None:
    assert dominant_colour(_crop(footage_dir / clip, t, box)) in colours


def test_colour_of_nothing_is_none() -> None:
    assert dominant_colour(np.zeros((0, 0, 3), np.uint8)) is None


def test_parked_car_hidden_for_a_moment_by_a_passing_car_stays_stationary() -> None:
    """While a passing car hides part of it, a parked car's box jumps for a frame or two; it did not move."""
    rows = [(k * 0.1, 0.3, 0.4) for k in range(20)]
    rows[8], rows[9] = (0.8, 0.36, 0.42), (0.9, 0.37, 0.41)
    event = track_to_event(_track(1, rows), {})
    assert event is not None and event.stationary
    assert not track_to_event(_track(2, [(k * 0.1, 0.3 + 0.02 * k, 0.4) for k in range(20)]), {}).stationary


def test_parked_car_and_a_passing_car_that_ends_on_it_stay_apart() -> None:
    """A quiet hour at the gate: a parked car is seen in each arrival's active span; one arriving car's track
    ends on the parked car's box (the tracker switched to it). The parked car is one stationary event and
    the arrival one short moving event, not a moving event lasting minutes."""
    parked = [_track(10 + i, [(t0 + k * 0.2, 0.2 + 0.002 * (k % 2), 0.3) for k in range(8)])
              for i, t0 in enumerate((100.0, 400.0, 700.0))]
    # Drives in from the right, slows down and its last boxes sit on the parked car.
    arrival = _track(1, [(400.0, 0.9, 0.3), (400.4, 0.7, 0.3), (400.8, 0.5, 0.3), (401.2, 0.3, 0.3),
                         (401.6, 0.21, 0.3), (402.0, 0.2, 0.3), (402.4, 0.2, 0.3)])
    events = tracks_to_events([*parked, arrival], {})
    moving = [e for e in events if not e.stationary]
    still = [e for e in events if e.stationary]
    assert len(still) == 1 and (still[0].start_s, still[0].end_s) == (100.0, 701.4)
    assert len(moving) == 1 and moving[0].end_s - moving[0].start_s < 5.0
