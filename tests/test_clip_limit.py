"""The limit on clips cut at once: past GATEWATCH_CLIP_CUTS a request gets 503 with Retry-After, not a queue."""

from __future__ import annotations

import pytest
from fastapi import HTTPException

from api.clip_views import _CutSlots
from api.settings import get_api_settings


def test_cuts_past_the_limit_get_503(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWATCH_CLIP_CUTS", "1")
    get_api_settings.cache_clear()
    slots = _CutSlots()
    try:
        with slots.slot():
            with pytest.raises(HTTPException) as refused, slots.slot():
                pass
            assert refused.value.status_code == 503 and refused.value.headers == {"Retry-After": "10"}
        with slots.slot():  # freed once the first cut ends
            pass
    finally:
        get_api_settings.cache_clear()
