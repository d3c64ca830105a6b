"""Wall-clock times from the file and folder names that NVRs give their exports.

Recorders name what they export after the span it holds, in their own local time:

- Hikvision and most generic exports: ``ch01_20241107050000.mp4``, ``20241107050000.mp4``,
  ``IP_20241107050000_20241107055959.mp4``, ``hiv00001_20241107_050000.mp4``: one or two
  ``YYYYMMDDhhmmss`` stamps anywhere in the name.
- Dahua: ``2024-11-07/001/dav/05/05.00.00-05.59.59[R][0@0][0].dav``: the times in the name, the date
  from the nearest dated folder above it.
- Uniview: ``S05-00-00E05-59-59.mp4`` under a folder named ``20241107`` or ``2024-11-07``.

Naive times are read in the camera's time zone and returned in UTC. An end earlier than its start
crossed midnight and falls on the next day. Nothing here touches the disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from zoneinfo import ZoneInfo

# Two digits of year-month-day-hour-minute-second, not part of a longer run of digits.
_STAMP = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[_T-]?(\d{2})(\d{2})(\d{2})(?!\d)")
_DAHUA = re.compile(r"(?<!\d)(\d{2})\.(\d{2})\.(\d{2})-(\d{2})\.(\d{2})\.(\d{2})(?!\d)")
_UNIVIEW = re.compile(r"S(\d{2})-(\d{2})-(\d{2})E(\d{2})-(\d{2})-(\d{2})(?!\d)", re.IGNORECASE)
_DATED_FOLDER = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")


@dataclass(frozen=True)
class NameTimes:
    """The span an NVR file name states, in UTC."""

    start: datetime
    """Start of the recording (aware, UTC)."""
    end: datetime | None
    """End of the recording when the name carries it (aware, UTC), else None."""
    style: str
    """Which naming style matched: "hikvision", "dahua" or "uniview"."""


def _as_path(path: str | PurePath) -> PurePath:
    if isinstance(path, PurePath):
        return path
    # NVR exports copied from Windows machines arrive with backslashes.
    return PureWindowsPath(path) if "\\" in path else PurePosixPath(path)


def _datetime(parts: tuple[str, ...]) -> datetime | None:
    try:
        year, month, day, hour, minute, second = (int(p) for p in parts)
        if not 1990 <= year <= 2100:
            return None
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _clock(parts: tuple[str, ...]) -> time | None:
    try:
        hour, minute, second = (int(p) for p in parts)
        return time(hour, minute, second)
    except ValueError:
        return None


def _folder_date(path: PurePath) -> date | None:
    """The date of the nearest folder above the file named like ``2024-11-07`` or ``20241107``."""
    for part in reversed(path.parts[:-1]):
        match = _DATED_FOLDER.match(part)
        if match:
            stamp = _datetime((*match.groups(), "0", "0", "0"))
            if stamp is not None:
                return stamp.date()
    return None


def _to_utc(naive: datetime, zone: ZoneInfo) -> datetime:
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _span(start: datetime, end: datetime | None, zone: ZoneInfo, style: str) -> NameTimes:
    if end is not None and end < start:
        end += timedelta(days=1)
    return NameTimes(_to_utc(start, zone), _to_utc(end, zone) if end is not None else None, style)


def times_from_name(path: str | PurePath, timezone: str) -> NameTimes | None:
    """The span stated by a file's name (and its folders), or None when the name states no time.

    ``timezone`` is the camera's IANA zone (``Asia/Shanghai``); the recorder's naive times are read in it.
    """
    zone = ZoneInfo(timezone)
    path = _as_path(path)
    name = path.name

    stamps = [s for s in (_datetime(m.groups()) for m in _STAMP.finditer(name)) if s is not None]
    if stamps:
        return _span(stamps[0], stamps[1] if len(stamps) > 1 else None, zone, "hikvision")

    for pattern, style in ((_DAHUA, "dahua"), (_UNIVIEW, "uniview")):
        match = pattern.search(name)
        if not match:
            continue
        day = _folder_date(path)
        begin, finish = _clock(match.groups()[:3]), _clock(match.groups()[3:])
        if day is None or begin is None or finish is None:
            return None
        return _span(datetime.combine(day, begin), datetime.combine(day, finish), zone, style)
    return None
