"""Request and response models of the events and clips API (search, summary, one event, clip spans)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from detection.coverage import Coverage
from detection.labels import LABEL_HELP
from detection.models import Event
from detection.search import CameraInfo, Summary
from footage.settings import get_settings
from footage.times import local_iso

API = "/api/v1"


class SearchParams(BaseModel):
    """The search filters as the API and CLI take them (times as given; read in the cameras' zone if naive)."""

    site: list[str] = Field(default_factory=list, description="Site name; repeat for several.")
    gate: list[str] = Field(default_factory=list, description="Gate name (any case); repeat for several.")
    camera: list[str] = Field(default_factory=list, description="Camera id; repeat for several.")
    from_: str | None = Field(None, alias="from", description="Window start, ISO 8601; events overlapping match.")
    to: str | None = Field(None, description="Window end, ISO 8601.")
    time_of_day: str | None = Field(None, description="Daily range in each camera's zone, e.g. 22:00-06:00.")
    label: list[str] = Field(default_factory=list,
                             description=f"{LABEL_HELP}; repeatable.")
    zone: list[str] = Field(default_factory=list, description="Zone the object entered; repeatable.")
    min_dwell: float | None = Field(None, ge=0, description="Least seconds the object stood still.")
    stationary: bool = Field(False, description="Include stationary (parked) objects.")
    colour: list[str] = Field(default_factory=list, description="Vehicle colour word; repeatable.")
    min_score: float | None = Field(None, ge=0, le=1, description="Least detector confidence.")
    plate: str | None = Field(None, max_length=32, description="Licence plate, fuzzy: case, spaces and separators "
                              "ignored, province optional, one wrong character for 5+, ? for unknown; results "
                              "ranked by closeness then score.")
    sort: str = Field("time", pattern="^(time|-time|score)$", description="time (oldest first), -time (newest "
                      "first) or score.")
    limit: int = Field(50, ge=1, le=500, description="Most events in a page.")
    cursor: str | None = Field(None, max_length=500, description="next_cursor of the previous page.")

    model_config = ConfigDict(populate_by_name=True)


LIST_PARAMS = frozenset(name for name, field in SearchParams.model_fields.items()
                        if getattr(field.annotation, "__origin__", None) is list)


async def search_params(request: Request) -> SearchParams:  # async: pure validation, no thread hand-off
    """FastAPI dependency: the filters from the query string, validated in one pydantic call.

    FastAPI's own query handling (a parameter each, or a query model) looks up each field's type and validates
    it on every request: more CPU per search than the search's SQL on a 200,000-event database. Errors are
    FastAPI's 422 with the same ``["query", NAME]`` locations.
    """
    query = request.query_params
    values = {key: query.getlist(key) if key in LIST_PARAMS else query[key] for key in query}
    try:
        return SearchParams.model_validate(values)
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("query", *error["loc"])}
                                      for error in exc.errors(include_url=False)]) from exc


def query_parameters_openapi(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI query parameters for a model's fields (for routes that read the query string themselves)."""
    schema = model.model_json_schema(by_alias=True)
    out = []
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k not in ("title", "description")}
        out.append({"name": name, "in": "query", "required": name in schema.get("required", []),
                    "description": model.model_fields[_field_of(model, name)].description or "", "schema": prop})
    return out


def _field_of(model: type[BaseModel], alias: str) -> str:
    return next((n for n, f in model.model_fields.items() if (f.alias or n) == alias), alias)


SEARCH_OPENAPI: dict[str, Any] = {"parameters": query_parameters_openapi(SearchParams)}


class EventOut(BaseModel):
    """One event as search results show it; times carry the camera's offset."""

    id: int
    camera: str
    site: str
    gate: str
    label: str
    start: str
    end: str
    score: float
    zones: list[str]
    dwell_s: float
    dwell_zone: str | None
    stationary: bool
    colour: str | None
    thumbnail_url: str
    clip_url: str
    segment_id: int
    plate: str | None = Field(None, description="Licence plate read (黑A·12345, or Latin as printed); null: none.")
    plate_score: float | None = Field(None, description="0..1: how far the reads agreed, times their confidence.")
    plate_crop_url: str | None = Field(None, description="The plate crop (JPEG); null when no plate was read.")

    @classmethod
    def of(cls, event: Event | Any, camera: CameraInfo) -> EventOut:
        return cls(**event_fields(event, camera))


def event_fields(event: Event | Any, camera: CameraInfo) -> dict[str, object]:
    """The response fields of an event (an ``Event`` or a search row: both carry the event's columns)."""
    base = get_settings().base_url.rstrip("/")
    return {
        "id": event.id, "camera": camera.id, "site": camera.site, "gate": camera.gate, "label": event.label,
        "start": local_iso(event.start, camera.timezone), "end": local_iso(event.end, camera.timezone),
        "score": round(event.score, 4), "zones": list(event.zones or []), "dwell_s": round(event.dwell_s, 2),
        "dwell_zone": event.dwell_zone, "stationary": event.stationary, "colour": event.colour,
        "thumbnail_url": f"{base}{API}/events/{event.id}/thumbnail.jpg",
        "clip_url": f"{base}{API}/events/{event.id}/clip.mp4", "segment_id": event.segment_id,
        "plate": getattr(event, "plate", None),
        "plate_score": None if (score := getattr(event, "plate_score", None)) is None else round(score, 4),
        "plate_crop_url": f"{base}{API}/events/{event.id}/plate.jpg" if getattr(event, "plate", None) else None,
    }


class EventDetail(EventOut):
    """One event with its sampled track: [[t_s, x1, y1, x2, y2], ...] (0..1 coordinates)."""

    track: list[list[float]]

    @classmethod
    def of(cls, event: Event, camera: CameraInfo) -> EventDetail:
        return cls(**event_fields(event, camera), track=list(event.track or []))


class EventPage(BaseModel):
    """A page of search results."""

    events: list[EventOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")


class BucketOut(BaseModel):
    start: str
    count: int


class SpanOut(BaseModel):
    start: str
    end: str


class FootageOut(BaseModel):
    """The footage of a camera inside the window: was there any to search?"""

    recorded_s: float = Field(description="Seconds of the window covered by stored footage.")
    indexed_s: float = Field(description="Of those, seconds already indexed (searched).")
    spans: list[SpanOut] = Field(description="The recorded stretches inside the window, oldest first (at most 50).")

    @classmethod
    def of(cls, coverage: Coverage, timezone: str) -> FootageOut:
        return cls(recorded_s=round(coverage.recorded_s, 1), indexed_s=round(coverage.indexed_s, 1),
                   spans=[SpanOut(start=local_iso(a, timezone), end=local_iso(b, timezone))
                          for a, b in coverage.spans[:50]])


class CameraCountsOut(BaseModel):
    camera: str
    site: str
    gate: str
    counts: list[BucketOut] = Field(description="Buckets with at least one event, oldest first.")
    footage: FootageOut | None = Field(None, description="How much footage the window holds for this camera.")


class SummaryOut(BaseModel):
    """Counts per camera per bucket over the window (by the bucket each event starts in)."""

    model_config = ConfigDict(populate_by_name=True)

    bucket_s: int
    from_: str = Field(alias="from")
    to: str
    cameras: list[CameraCountsOut]

    @classmethod
    def of(cls, summary: Summary, timezone: str, coverage: dict[str, Coverage] | None = None) -> SummaryOut:
        covered = coverage or {}
        return cls.model_validate({
            "bucket_s": summary.bucket_s, "from": local_iso(summary.start, timezone),
            "to": local_iso(summary.end, timezone),
            "cameras": [
                {"camera": c.camera.id, "site": c.camera.site, "gate": c.camera.gate,
                 "counts": [{"start": local_iso(b.start, c.camera.timezone), "count": b.count} for b in c.counts],
                 "footage": FootageOut.of(covered[c.camera.id], c.camera.timezone) if c.camera.id in covered else None}
                for c in summary.cameras
            ],
        })


class NoFootageOut(BaseModel):
    """A clip window with no stored footage: what to ask for instead."""

    detail: str
    spans: list[SpanOut]
