"""Why a search cannot run as asked: one exception each, the message says what to fix."""

from __future__ import annotations

from footage import catalogue


class SearchError(ValueError):
    """A search that cannot run as asked; the message says what to fix."""


class InvalidWindow(SearchError):
    """The time window is reversed, empty or missing where it is needed."""


class MalformedTime(SearchError):
    """A time that is not ISO 8601, or has no offset where one is needed."""


class BadTimeOfDay(SearchError):
    """A time-of-day range that is not ``HH:MM-HH:MM``."""


class UnknownCamera(SearchError, catalogue.UnknownCamera):
    """A camera, site or gate named in the filters does not exist (a catalogue.UnknownCamera too)."""


class BadFilter(SearchError):
    """A label, sort, limit, score or similar filter value is out of range."""


class BadCursor(SearchError):
    """A pagination cursor that this search did not hand out."""


class SearchForbidden(PermissionError):
    """The filters name a camera or site the asker may not reach."""
