"""Request and response bodies of evidence cases, their export and the installation's signing key."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.cases import MAX_ITEMS, MAX_ROLL_S

EventId = Annotated[int, Field(ge=1, le=2**62)]
Printable = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
CameraId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
IsoTime = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class RangeIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    camera: CameraId
    from_: IsoTime = Field(alias="from", description="ISO 8601; without an offset it is read in the camera's zone.")
    to: IsoTime = Field(description="ISO 8601; without an offset it is read in the camera's zone.")


class CaseCreate(BaseModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
    reference: Printable | None = Field(None, description="Outside reference, e.g. the police case number.")
    events: list[EventId] = Field(default_factory=list, max_length=MAX_ITEMS)
    ranges: list[RangeIn] = Field(default_factory=list, max_length=MAX_ITEMS)


class ItemsAdd(BaseModel):
    events: list[EventId] = Field(default_factory=list, max_length=MAX_ITEMS)
    ranges: list[RangeIn] = Field(default_factory=list, max_length=MAX_ITEMS)


class CaseItemOut(BaseModel):
    id: int
    event_id: int | None
    camera: str
    start: str = Field(description="ISO 8601 with the camera's offset.")
    end: str = Field(description="ISO 8601 with the camera's offset.")
    label: str | None = Field(None, description="What was seen (the event's label); null for a time range.")
    colour: str | None = Field(None, description="The vehicle's colour word, when the event has one.")


class CaseOut(BaseModel):
    id: int
    name: str
    reference: str | None
    created_by: str
    created_at: str
    scope: list[str] | None = Field(
        None, description="The sites the case may hold footage of (its opener's); null: every site.")
    items: list[CaseItemOut]
    status: str = Field("open", description="'open' (its footage is held against retention) or 'closed'.")
    closed_at: str | None = None
    close_reason: str | None = None


class ExportOptions(BaseModel):
    pre: float = Field(5.0, ge=0, le=MAX_ROLL_S, description="Seconds before each event.")
    post: float = Field(5.0, ge=0, le=MAX_ROLL_S, description="Seconds after each event.")
    exact: bool = Field(False, description="Re-encode frame-exact clips instead of keyframe-aligned stream copies.")
    burn_in: bool = Field(False, description="Burn the wall-clock time into the picture (implies exact).")


class SigningKeyOut(BaseModel):
    algorithm: str
    public_key_pem: str
    fingerprint: str = Field(description="SHA-256 (hex) of the raw public key.")
