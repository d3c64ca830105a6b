"""NVR file names into wall-clock spans: every style, folders, midnight, time zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from footage.naming import times_from_name


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# (path, camera time zone, expected UTC start, expected UTC end or None, style)
CASES = [
    ("ch01_20241107050000.mp4", "Asia/Shanghai", utc(2024, 11, 6, 21, 0, 0), None, "hikvision"),
    ("20241107050000.mp4", "Asia/Shanghai", utc(2024, 11, 6, 21, 0, 0), None, "hikvision"),
    ("IP_20241107050000_20241107055959.mp4", "Asia/Shanghai",
     utc(2024, 11, 6, 21, 0, 0), utc(2024, 11, 6, 21, 59, 59), "hikvision"),
    ("ch12_20241107233000_20241108003000.mp4", "Asia/Shanghai",
     utc(2024, 11, 7, 15, 30, 0), utc(2024, 11, 7, 16, 30, 0), "hikvision"),
    ("hiv00001_20241107_050000.mp4", "UTC", utc(2024, 11, 7, 5, 0, 0), None, "hikvision"),
    ("exports/NORTH GATE/ch02_20241107050000.mp4", "Europe/London", utc(2024, 11, 7, 5, 0, 0), None, "hikvision"),
    ("2024-11-07/001/dav/05/05.00.00-05.59.59[R][0@0][0].dav", "Asia/Shanghai",
     utc(2024, 11, 6, 21, 0, 0), utc(2024, 11, 6, 21, 59, 59), "dahua"),
    # The end crosses midnight: it falls on the next day, not before the start.
    ("2024-11-07/001/dav/23/23.30.00-00.29.59[M][0@0][0].mp4", "Asia/Shanghai",
     utc(2024, 11, 7, 15, 30, 0), utc(2024, 11, 7, 16, 29, 59), "dahua"),
    (r"D:\export\2024-11-07\001\dav\05\05.00.00-05.59.59[R][0@0][0].dav", "Asia/Shanghai",
     utc(2024, 11, 6, 21, 0, 0), utc(2024, 11, 6, 21, 59, 59), "dahua"),
    ("20241107/S05-00-00E05-59-59.mp4", "Asia/Shanghai",
     utc(2024, 11, 6, 21, 0, 0), utc(2024, 11, 6, 21, 59, 59), "uniview"),
    ("backup/2024-11-07/cam3/S23-45-00E00-15-00.mp4", "Asia/Harbin",
     utc(2024, 11, 7, 15, 45, 0), utc(2024, 11, 7, 16, 15, 0), "uniview"),
    # Daylight saving: the same wall-clock time is 4 h from UTC in July and 5 h in November in New York.
    ("ch01_20240707050000.mp4", "America/New_York", utc(2024, 7, 7, 9, 0, 0), None, "hikvision"),
    ("ch01_20241107050000.mp4", "America/New_York", utc(2024, 11, 7, 10, 0, 0), None, "hikvision"),
]


@pytest.mark.parametrize(("path", "zone", "start", "end", "style"), CASES, ids=[c[0] for c in CASES])
def test_names_give_the_span_in_utc(path: str, zone: str, start: datetime, end: datetime | None,
                                    style: str) -> None:
    times = times_from_name(path, zone)
    assert times is not None
    assert (times.start, times.end, times.style) == (start, end, style)


@pytest.mark.parametrize("path", [
    "parking_aisle_car_detection.mp4",
    "05.00.00-05.59.59[R][0@0][0].dav",  # Dahua without its dated folder: no date to read
    "S05-00-00E05-59-59.mp4",  # Uniview without its dated folder
    "ch01_20241307050000.mp4",  # month 13
    "ch01_20241107256000.mp4",  # hour 25
    "cam_123456789012345.mp4",  # fifteen digits are not a stamp
    "2024-11-07/001/dav/05/25.00.00-05.59.59[R][0@0][0].dav",
])
def test_names_without_a_usable_time_give_none(path: str) -> None:
    assert times_from_name(path, "Asia/Shanghai") is None


def test_a_zone_without_daylight_saving_keeps_the_same_offset_all_year() -> None:
    offsets = {
        (times_from_name(f"ch01_2024{month:02d}15120000.mp4", "Asia/Shanghai").start.hour)  # type: ignore[union-attr]
        for month in range(1, 13)
    }
    assert offsets == {4}
