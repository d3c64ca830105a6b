"""The pages with plates, in Debian's chromium against a real `gatewatch serve`: a plate typed into the officer's
search form finds the car, its card shows the plate and its crop, the player shows them too; on the manager page an
admin switches a camera's plate reading off and on again (the API and the audit trail follow), a manager sees it
but cannot switch it."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support_web import (
    SITE,
    TIMEZONE,
    LiveService,
    configured,
    launch_chromium,
    sign_in,
    start_service,
    stop_service,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from plate_clips import MATERIAL, make_clip

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def plate_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    from api.database import migrate
    from api.ingest import import_paths
    from api.users import create_user
    from footage.catalogue import add_camera, add_site
    from footage.db import session_scope

    root = tmp_path_factory.mktemp("plates-web")
    home, staging = root / "home", root / "staging"
    staging.mkdir()
    clip = make_clip(MATERIAL / "szad670401_A.jpg", root / "toll.mp4")
    # A Hikvision-style name: the clip starts at 05:20:00 in the camera's zone.
    shutil.copyfile(clip, staging / "ch01_20241107052000.mp4")
    tokens: dict[str, str] = {}
    with configured(home):
        migrate()
        with session_scope() as session:
            add_site(session, SITE)
        with session_scope() as session:
            add_camera(session, "cam-north", SITE, "North gate", TIMEZONE, {}, 0.0)
            _, tokens["olive"] = create_user(session, "olive", "officer", None)
            _, tokens["ada"] = create_user(session, "ada", "admin", None)
            _, tokens["mia"] = create_user(session, "mia", "manager", [SITE])
        with session_scope() as session:
            results = import_paths(session, [staging / "ch01_20241107052000.mp4"], "cam-north", actor="test")
        assert [r.status for r in results] == ["imported"], [r.to_dict() for r in results]
    service, process = start_service(home, root / "serve.log", tokens)
    try:
        service.wait_indexed("cam-north")
        yield service
    finally:
        stop_service(process)


def test_a_plate_search_shows_the_plate_and_its_crop(plate_service: LiveService) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB").new_page()
            sign_in(page, plate_service, "olive")
            page.select_option("#f-site", SITE)
            page.fill("#f-date", "2024-11-07")
            page.fill("#f-from", "05:00")
            page.fill("#f-to", "06:00")
            page.fill("#f-plate", "feq 635")
            page.click("#search-submit")
            tile = page.locator("#grid .tile").first
            tile.wait_for()
            assert page.locator("#grid .tile").count() == 1
            assert "浙F·EQ635" in tile.locator(".plate").inner_text()
            crop = tile.locator("img.plate-crop")
            crop.wait_for()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=crop.element_handle())
            tile.locator(".tile-open").click()
            page.locator("#player:not([hidden])").wait_for()
            assert "浙F·EQ635" in page.locator("#player-title").inner_text()
            page.locator("#player-plate:not([hidden])").wait_for()

            page.fill("#f-plate", "京A88888")  # in none of the footage
            page.click("#search-submit")
            page.locator("#results-status").filter(has_not_text="Searching").wait_for()
            page.locator("#search-submit:not([disabled])").wait_for()
            assert page.locator("#grid .tile").count() == 0
        finally:
            browser.close()
    # The page's searches are audited with the plate asked for, and each crop it showed with its plate.
    searches = plate_service.api("ada", "/audit?action=search&user=olive").json()["entries"]
    assert [e["detail"]["plate"] for e in searches][:2] == ["京A88888", "feq 635"]
    views = plate_service.api("ada", "/audit?action=plate_view&user=olive").json()["entries"]
    assert views and all(e["detail"]["plate"] == "浙F·EQ635" for e in views)


def _reads_plates(service: LiveService, user: str) -> bool:
    [camera] = [c for c in service.api(user, "/cameras").json() if c["id"] == "cam-north"]
    return bool(camera["read_plates"])


def test_an_admin_switches_plate_reading_on_the_manager_page(plate_service: LiveService) -> None:
    from playwright.sync_api import sync_playwright

    assert _reads_plates(plate_service, "ada")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB").new_page()
            sign_in(page, plate_service, "ada")
            page.goto(f"{plate_service.url}/manage")
            toggle = page.locator("#camera-settings:not([hidden]) #c-read-plates:not([disabled])")
            toggle.wait_for()
            assert toggle.is_checked() and "North gate" in page.inner_text("#camera-settings")
            assert page.locator("#c-forget-plates").is_hidden()
            toggle.uncheck()
            page.locator("#c-read-plates-note").filter(has_text="Off:").wait_for()
            assert not _reads_plates(plate_service, "ada")
            # Once off, the plates already read may be deleted; the toll-gate car's is held by an open case, so
            # it is kept (and the other tests' plate stays).
            case = httpx.post(f"{plate_service.url}/api/v1/cases", json={"name": "Toll gate", "ranges": [
                {"camera": "cam-north", "from": "2024-11-06T21:00:00Z", "to": "2024-11-06T22:00:00Z"}]},
                headers={"Authorization": f"Bearer {plate_service.tokens['olive']}"}, timeout=30)
            assert case.status_code in (200, 201), case.text
            page.once("dialog", lambda dialog: dialog.accept())
            page.click("#c-forget-plates")
            page.locator("#c-forget-note").filter(has_text="Deleted").wait_for()
            assert page.inner_text("#c-forget-note") == \
                "Deleted the plates of 0 events; 1 kept because an open case holds them."
            page.reload()  # what the page shows comes from the server, not from the click
            toggle.wait_for()
            assert not toggle.is_checked()
            toggle.check()
            page.locator("#c-read-plates-note").filter(has_text="On:").wait_for()
            assert _reads_plates(plate_service, "ada")

            # A manager sees the setting of their site's camera, and that only an administrator changes it.
            page = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB").new_page()
            sign_in(page, plate_service, "mia")
            page.locator("#camera-settings:not([hidden]) #c-read-plates").wait_for()
            assert page.locator("#c-read-plates").is_checked() and page.locator("#c-read-plates").is_disabled()
            assert "An administrator can change this" in page.inner_text("#c-read-plates-note")
        finally:
            browser.close()
    changes = plate_service.api("ada", "/audit?action=camera_update&user=ada").json()["entries"]
    assert [e["detail"] for e in changes][:2] == [{"read_plates": True}, {"read_plates": False}]
    [forget] = plate_service.api("ada", "/audit?action=plates_forget&user=ada").json()["entries"]
    assert forget["detail"] == {"forgotten": 0, "kept_for_cases": 1}
