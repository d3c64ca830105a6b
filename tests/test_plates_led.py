"""Plate-led vehicles: a tight car-front clip in which the detector gives no box at all becomes a vehicle event through
the real pipeline only because a plate was found in whole frames and read alike in two of them; a camera with plates
off gets nothing; footage with no plate in it gets no plate-led event; the looks stay bounded and spread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detection.decode import Span, iter_frames, read_packets
from detection.models import EventThumbnail
from detection.pipeline import index_segment
from detection.plates.plate_led import FRONT_WIDTH, MIN_FRAMES, PLATE_LED_SCORE, car_front, plate_led_tracks
from detection.plates.reader import PlateReader
from detection.plates.stage import shared_reader
from detection.records import CameraSpec
from detection.unsure_tracks import LOOK_SIDE, MAX_LOOKS, UnsureLinker
from footage.db import session_scope
from tests.test_plates_pipeline import MATERIAL, _index, _vehicle_events, make_clip

STILL = "szad670401_5.jpg"
"""新A·89R95: a car's front filling a gate-camera crop; the detector gives no box >= 0.1 on any frame of its clip."""


@pytest.fixture(scope="session")
def front_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (MATERIAL / STILL).is_file():
        pytest.fail(f"plate material not found at {MATERIAL / STILL}")
    return make_clip(MATERIAL / STILL, tmp_path_factory.mktemp("front-clip") / "front.mp4")


def _frames(path: Path, every_s: float, seconds: float) -> list[tuple[float, np.ndarray]]:
    origin_s = read_packets(path).origin_s
    return [(t, frame) for _, t, frame in iter_frames(path, [Span(0.0, seconds)], every_s=every_s, origin_s=origin_s)]


@pytest.mark.slow
def test_a_plate_leads_to_a_vehicle_the_detector_never_saw(gw_home: Path, front_clip: Path,
                                                         client) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import bearer, make_user

    assert _vehicle_events(_index(gw_home, "front-off", front_clip, plates=False)) == []

    [car] = _vehicle_events(_index(gw_home, "front", front_clip))
    assert car.plate == "新A·89R95" and car.plate_score >= 0.6
    assert car.score == pytest.approx(PLATE_LED_SCORE)  # marked as plate-led
    with session_scope() as session:
        thumbnail = session.get(EventThumbnail, car.id)
        assert thumbnail is not None and thumbnail.jpeg[:2] == b"\xff\xd8"
    # Its box is the plate grown to a car front: wide, around the middle of the picture where the car is.
    x1, y1, x2, y2 = car.track[0][1:5]
    assert 0.3 < x2 - x1 < 0.7 and x1 < 0.5 < x2 and y1 < 0.5 < y2
    officer = bearer(make_user("officer", "led-officer"))
    hits = client.get("/api/v1/events", params={"plate": "A89R95"}, headers=officer).json()["events"]
    assert [e["id"] for e in hits] == [car.id]


@pytest.mark.slow
def test_footage_without_plates_gets_no_plate_led_event(footage_dir: Path) -> None:
    # People walking in a corridor: nothing at the frame's centre is a vehicle, so there are looks, and no plate.
    index = index_segment(footage_dir / "cctv_people.mp4", CameraSpec(read_plates=True))
    assert index.stats["plate_looks"] >= 5, "no look was taken: the test shows nothing"
    assert index.stats["plates_led"] == 0
    assert [e for e in index.events if e.score == pytest.approx(PLATE_LED_SCORE)] == []


def test_one_frame_of_a_plate_is_not_enough(front_clip: Path) -> None:
    frames = _frames(front_clip, 1.25, 3.0)
    linker = UnsureLinker()
    nothing = np.zeros((0, 4)), np.zeros(0), np.zeros(0)
    for t, frame in frames:
        linker.add(t, frame, *nothing, [])
    assert len(linker.looks) == len(frames) >= MIN_FRAMES
    reader = shared_reader()
    [track] = plate_led_tracks(linker.looks, reader, [])
    assert len(track.observations) == len(frames)
    assert plate_led_tracks(linker.looks[:1], reader, []) == []


def test_looks_skip_frames_with_a_vehicle_at_the_centre_and_stay_bounded(footage_dir: Path) -> None:
    frame = _frames(footage_dir / "street_sparse_traffic.mp4", 1.0, 3.0)[0][1]
    height, width = frame.shape[:2]
    linker = UnsureLinker()
    centre_car = np.array([[0.4 * width, 0.4 * height, 0.6 * width, 0.6 * height]])
    linker.add(0.0, frame, centre_car, np.array([0.15]), np.array([2]), [])
    assert linker.looks == []
    # A car off the centre, or a person at it, does not stop a look.
    linker.add(1.0, frame, centre_car / 3, np.array([0.9]), np.array([2]), [(1, centre_car[0], 0.9, 0)])
    assert [look.t for look in linker.looks] == [1.0]
    assert max(linker.looks[0].small.shape[:2]) == LOOK_SIDE and linker.looks[0].frame_size == (width, height)
    # An hour at five frames a second: looks stay at MAX_LOOKS at most, spread over the whole of it.
    for i in range(5 * 3600):
        linker.add(2.0 + i / 5, frame, np.zeros((0, 4)), np.zeros(0), np.zeros(0), [])
    times = [look.t for look in linker.looks]
    assert MAX_LOOKS // 2 <= len(times) <= MAX_LOOKS and times == sorted(times)
    assert times[0] <= 2.0 and times[-1] >= 3600 - 3600 / (MAX_LOOKS // 2)


def test_a_car_front_is_built_around_its_plate() -> None:
    plate = (0.45, 0.60, 0.55, 0.66)
    front = car_front(plate, (1280, 720))
    assert front[0] < plate[0] and front[1] < plate[1] and plate[2] < front[2] and plate[3] < front[3]
    assert (front[2] - front[0]) == pytest.approx(FRONT_WIDTH * (plate[2] - plate[0]))
    # Near the frame's edge it is clipped to the frame.
    edge = car_front((0.0, 0.9, 0.2, 0.99), (1280, 720))
    assert edge[0] == 0.0 and edge[2] == pytest.approx(0.5) and edge[3] == 1.0 and 0.0 < edge[1] < 0.9


def test_looks_without_plates_cost_half_a_search_each(footage_dir: Path, front_clip: Path) -> None:
    class Counting(PlateReader):
        searched = 0

        def find_in_cuts(self, cuts):  # type: ignore[no-untyped-def]
            self.searched += len(cuts)
            return super().find_in_cuts(cuts)

    def looks_of(path: Path, every_s: float, seconds: float) -> list:  # type: ignore[type-arg]
        linker = UnsureLinker()
        for t, frame in _frames(path, every_s, seconds):
            linker.add(t, frame, np.zeros((0, 4)), np.zeros(0), np.zeros(0), [])
        return linker.looks

    street = looks_of(footage_dir / "street_sparse_traffic.mp4", 1.25, 12.0)  # cars too small for a whole-frame plate
    reader = Counting()
    assert plate_led_tracks(street, reader, []) == [] and len(street) >= 8
    assert reader.searched == (len(street) + 1) // 2
    # Where the plate is, every look beside a hit is searched too: the track keeps all its sightings.
    front = looks_of(front_clip, 1.25, 3.0)
    reader = Counting()
    [track] = plate_led_tracks(front, reader, [])
    assert reader.searched == len(front) == len(track.observations) >= 3


@pytest.mark.slow
def test_tracks_without_a_plate_have_half_their_cuts_searched(footage_dir: Path, front_clip: Path) -> None:
    # A street camera whose plates are a few pixels wide: every other cut is searched, and the rest only of the
    # tracks where one was found.
    street = index_segment(footage_dir / "street_sparse_traffic.mp4", CameraSpec(read_plates=True))
    assert street.stats["plate_cuts"] >= 10 and street.stats["plates_read"] == 0
    assert street.stats["plate_cuts_searched"] <= 0.75 * street.stats["plate_cuts"], street.stats  # 1.0 unprobed
    # A plate in view: every cut of its track is searched.
    toll = index_segment(make_clip(MATERIAL / "szad670401_A.jpg", front_clip.with_name("toll.mp4")),
                         CameraSpec(read_plates=True))
    assert toll.stats["plates_read"] == 1 and toll.stats["plate_cuts_searched"] == toll.stats["plate_cuts"] >= 3
