"""Times as people type them and as gatewatch shows them: one rule for every floor.

Parsing (:func:`parse_time`): ISO 8601 (``2024-11-07T05:00:00+08:00``; a space instead of ``T`` and a
trailing ``Z`` are accepted too). A time without an offset is read in the given zone (a camera's); with
no zone, an offset is required, since the cameras asked about are in different zones. Years outside
``MIN_YEAR``..``MAX_YEAR`` (1971..2199) are refused as typing mistakes.

Where the old copies disagreed, the rule chosen here:
- Years: 1971..2199 (the search's bounds) for imports, clips, cases and search alike. Before, the
  catalogue accepted 1970..2200 and cases checked no year, so a file stamped 1970-01-01 by a camera whose
  clock had reset could be imported but never searched. Keeping the bounds one year inside the range
  also keeps date arithmetic (window minus the longest event, time-of-day day walks) in range.
- Formatting (:func:`local_iso`): seconds, with milliseconds only when there are any (the API's rule).
  The catalogue used to print microseconds; no recorder stamps finer than a frame (~33 ms).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIN_YEAR, MAX_YEAR = 1971, 2199
EXAMPLE = "2024-11-07T05:00:00+08:00"
"""A time written the way every message asks for it."""


class BadTime(ValueError):
    """A time that is not ISO 8601, outside the plausible years, or without an offset where one is needed."""


class UnknownZone(ValueError):
    """A time zone name that is not in the IANA database."""


def zone_of(timezone: str) -> ZoneInfo:
    """The zone named ``timezone`` (an IANA name such as Asia/Shanghai)."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise UnknownZone(
            f"unknown time zone {timezone!r}; use an IANA name such as Asia/Shanghai or Europe/London"
        ) from exc


def local_iso(moment: datetime, timezone: str) -> str:
    """ISO 8601 in ``timezone`` with its offset, e.g. 2024-11-07T05:12:03+08:00 (milliseconds if any)."""
    local = moment.astimezone(zone_of(timezone))
    return local.isoformat(timespec="milliseconds" if local.microsecond else "seconds")


def has_offset(text: str) -> bool | None:
    """Whether an ISO 8601 text names its offset; None when it is not ISO 8601 at all."""
    try:
        return datetime.fromisoformat(text.strip()).tzinfo is not None
    except ValueError:
        return None


def check_year(moment: datetime, what: str = "time") -> datetime:
    """``moment`` unchanged, or :class:`BadTime` when its year is outside MIN_YEAR..MAX_YEAR."""
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise BadTime(f"{what} {moment.isoformat()} is out of range: not a plausible recording time; give a "
                      f"time between {MIN_YEAR} and {MAX_YEAR}, written like {EXAMPLE}")
    return moment


def parse_time(value: str | datetime, timezone: str | None, what: str = "time") -> datetime:
    """``value`` as aware UTC; without an offset it is read in ``timezone`` (None: an offset is required).

    ``what`` names the value in messages (``--from``, ``start``)."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat((value or "").strip())
        except (ValueError, TypeError) as exc:
            raise BadTime(f"{what} {value!r} is not an ISO 8601 time; write it like {EXAMPLE}") from exc
    check_year(moment, what)
    if moment.tzinfo is None:
        if timezone is None:
            raise BadTime(f"{what} {value!s} has no offset and the cameras asked about are in different "
                          "time zones; add an offset such as +08:00")
        moment = moment.replace(tzinfo=zone_of(timezone))
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise BadTime(f"{what} {value!s} is out of range; write it like {EXAMPLE}") from exc

