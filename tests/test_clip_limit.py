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


def test_one_clip_length_rule_for_http_cli_and_cases() -> None:
    from datetime import UTC, datetime, timedelta

    from api.cases import MAX_RANGE
    from api.clip_service import MAX_CLIP, ClipTooLong, check_window

    start = datetime(2024, 11, 7, 5, tzinfo=UTC)
    check_window(start, start + MAX_CLIP)
    with pytest.raises(ClipTooLong, match="at most 3 hours"):
        check_window(start, start + MAX_CLIP + timedelta(seconds=1))
    assert timedelta(hours=3) == MAX_CLIP == MAX_RANGE
