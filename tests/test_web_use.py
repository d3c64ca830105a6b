"""The web page as officers and managers really use it, at a desktop's (1366x900) and a phone's (390x844) size.

Each test drives Debian's Chromium against one real `gatewatch serve` (this module's) over real footage indexed
by the service's own worker, and measures where things are with bounding boxes: the outcome of a search and a
clip just opened are on screen, a new search stops the old clip, "no recordings" differs from "nothing seen",
an overnight window says so, the manager is asked for a missing start before any byte is sent, nothing scrolls
sideways on a phone, and the timeline's labels and marks fit and can be hit. With GATEWATCH_UPDATE_SCREENSHOTS=1
the README's pictures are refreshed from here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO
from support_web import (
    MANAGER_CLIP,
    SITE,
    LiveService,
    gatewatch_command,
    launch_chromium,
    prepare_home,
    sign_in,
    start_service,
    stop_service,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = REPO / "docs" / "screenshots"


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory, footage_dir: Path) -> Iterator[LiveService]:
    root = tmp_path_factory.mktemp("web-use")
    tokens = prepare_home(root / "home", footage_dir, root / "staging")
    service, process = start_service(root / "home", root / "serve.log", tokens)
    try:
        service.wait_indexed("cam-north")
        yield service
    finally:
        stop_service(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def keep_screenshot(page, name: str, tmp_path: Path, full_page: bool = False) -> None:  # type: ignore[no-untyped-def]
    taken = tmp_path / name
    page.screenshot(path=str(taken), full_page=full_page)
    # A plain test run leaves the checkout as it was; the README's pictures change only when asked.
    if os.environ.get("GATEWATCH_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(taken, SCREENSHOTS / name)


def open_page(browser, service: LiveService, user: str, viewport: dict[str, int]):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=viewport, color_scheme="dark", locale="en-GB",
                                  timezone_id="America/New_York", accept_downloads=True,
                                  has_touch=viewport is PHONE, is_mobile=viewport is PHONE)
    page = context.new_page()
    sign_in(page, service, user)
    return context, page


def box(page, selector: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not on the page"
    return found


def on_screen(page, selector: str) -> bool:  # type: ignore[no-untyped-def]
    """Wholly inside the viewport, below the sticky top bar."""
    b = page.locator(selector).first.bounding_box()
    if b is None:
        return False
    top_bar = box(page, ".topbar")["height"]
    view = page.viewport_size
    return b["y"] >= top_bar - 1 and b["y"] + b["height"] <= view["height"] + 1 and b["x"] >= 0 \
        and b["x"] + b["width"] <= view["width"] + 1


def fill_window(page, date: str, start: str, end: str, label: str = "vehicle") -> None:  # type: ignore[no-untyped-def]
    page.select_option("#f-site", SITE)
    page.select_option("#f-gate", "North gate")
    page.fill("#f-date", date)
    page.fill("#f-from", start)
    page.fill("#f-to", end)
    page.select_option("#f-label", label)


def search(page) -> None:  # type: ignore[no-untyped-def]
    page.locator("#search-submit").scroll_into_view_if_needed()
    page.click("#search-submit")
    page.locator("#results-status").filter(has_not_text="Searching").wait_for()
    page.locator("#search-submit:not([disabled])").wait_for()


def seed_search(page) -> int:  # type: ignore[no-untyped-def]
    fill_window(page, "2024-11-07", "05:00", "07:00")
    search(page)
    page.locator("#grid .tile").first.wait_for()
    return page.locator("#grid .tile").count()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_search_outcome_is_where_the_user_is_looking(live_service: LiveService, browser,  # type: ignore[no-untyped-def]
                                                    viewport: dict[str, int]) -> None:
    """Items 2 and 5: the Search button fits above the fold on a desktop; every outcome, found or empty, shows on
    screen; an end before the start says "Overnight, 22 h"; equal times are refused without searching."""
    context, page = open_page(browser, live_service, "olive", viewport)
    if viewport is DESKTOP:
        assert box(page, "#search-submit")["y"] + box(page, "#search-submit")["height"] <= viewport["height"]

    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url) if "/api/v1/events?" in r.url else None)
    fill_window(page, "2024-11-08", "05:00", "07:00")
    search(page)
    assert "No recordings" in page.inner_text("#results-status")
    assert on_screen(page, "#results-status") or on_screen(page, "#search-outcome")

    fill_window(page, "2024-11-07", "05:00", "07:00")
    search(page)
    page.locator("#grid .tile").first.wait_for()
    shown = [s for s in ("#results-status", "#search-outcome") if on_screen(page, s)]
    assert shown and re.search(r"\d+ events?", page.inner_text(shown[0])), shown

    page.fill("#f-from", "07:00")
    page.fill("#f-to", "05:00")
    assert page.locator("#f-overnight").is_visible()
    assert page.inner_text("#f-overnight") == "Overnight, 22 h"
    page.fill("#f-from", "05:30")
    page.fill("#f-to", "05:30")
    assert not page.locator("#f-overnight").is_visible()
    before = len(searches)
    page.locator("#search-submit").scroll_into_view_if_needed()
    page.click("#search-submit")
    outcome = page.locator("#search-outcome")
    outcome.filter(has_text="both 05:30").wait_for()
    assert on_screen(page, "#search-outcome")
    assert len(searches) == before, "equal times must not run a 24 h search"
    context.close()


def test_no_recordings_differs_from_nothing_seen(live_service: LiveService, browser) -> None:  # type: ignore[no-untyped-def]
    """Item 4: per camera, how much footage was searched; the API's summary carries it too."""
    summary = live_service.api("olive", "/events/summary?camera=cam-north&from=2024-11-07T05:00:00"
                               "&to=2024-11-07T07:00:00&bucket=300").json()
    footage = summary["cameras"][0]["footage"]
    assert 19 <= footage["recorded_s"] <= 21 and footage["indexed_s"] == footage["recorded_s"]
    assert footage["spans"][0]["start"].startswith("2024-11-07T05:20:00")

    context, page = open_page(browser, live_service, "olive", DESKTOP)
    fill_window(page, "2024-11-08", "05:00", "07:00")
    search(page)
    lines = page.inner_text("#results-coverage")
    assert "North gate (cam-north): no recordings 05:00–07:00 on 8 Nov 2024." in lines

    fill_window(page, "2024-11-07", "05:00", "07:00", label="bus")
    search(page)
    assert page.locator("#grid .tile").count() == 0
    assert "North gate (cam-north): 20 s of footage searched, no buses." in page.inner_text("#results-coverage")
    assert "Nothing was seen in the footage" in page.inner_text("#results-status")
    context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_clip_opens_in_view_and_a_new_search_stops_it(live_service: LiveService, browser,  # type: ignore[no-untyped-def]
                                                      viewport: dict[str, int]) -> None:
    """Items 1 and 3: opening the last tile brings the player on screen; a new search stops and hides it."""
    context, page = open_page(browser, live_service, "olive", viewport)
    found = seed_search(page)
    last = page.locator("#grid .tile").nth(found - 1)
    last.scroll_into_view_if_needed()
    last.locator(".tile-open").click()
    page.locator("#player:not([hidden])").wait_for()
    page.wait_for_timeout(300)
    player = box(page, "#player")
    top_bar = box(page, ".topbar")["height"]
    assert top_bar - 1 <= player["y"] < viewport["height"] * 0.5, player
    assert on_screen(page, "#video")

    page.select_option("#f-label", "car")
    search(page)
    assert page.locator("#player").is_hidden()
    assert page.evaluate("document.getElementById('video').paused && !document.getElementById('video').src")
    assert not page.locator("#player-add").is_visible()
    context.close()


def test_downloaded_clip_is_named_in_camera_time(live_service: LiveService, browser) -> None:  # type: ignore[no-untyped-def]
    """Item 8: the clip's file name is the camera's local time (05:2x), not UTC (the evening before)."""
    context, page = open_page(browser, live_service, "olive", DESKTOP)
    seed_search(page)
    page.locator("#grid .tile").first.locator(".tile-open").click()
    href = page.get_attribute("#player-download", "href")
    disposition = page.evaluate("""async (href) => {
        const r = await fetch(href, { headers: { Range: "bytes=0-1" } });
        return r.headers.get("Content-Disposition");
    }""", href)
    assert re.search(r'filename="event-\d+_20241107T05[12]\d{3}\.mp4"', disposition), disposition
    with page.expect_download() as download:
        page.click("#player-download")
    assert re.fullmatch(r"event-\d+_20241107T05[12]\d{3}\.mp4", download.value.suggested_filename)
    context.close()


def test_phone_results_are_a_compact_list_with_a_case_control(live_service: LiveService, browser,  # type: ignore[no-untyped-def]
                                                               tmp_path: Path) -> None:
    """Item 9: short tiles, a "Case (n)" control always on screen that leads to the case, marks a finger can hit,
    and no "press Enter" on a phone."""
    context, page = open_page(browser, live_service, "olive", PHONE)
    found = seed_search(page)
    heights = [page.locator("#grid .tile").nth(i).bounding_box()["height"] for i in range(found)]
    assert max(heights) <= 130, heights
    assert "Enter" not in page.inner_text("#results-status") and "Tap" in page.inner_text("#results-status")
    marks = page.locator("#timeline .tl-mark")
    assert marks.count() == found
    assert min(marks.nth(i).bounding_box()["width"] for i in range(found)) >= 24

    page.locator("#grid .tile").nth(found // 2).scroll_into_view_if_needed()
    assert on_screen(page, "#case-jump") and page.inner_text("#case-jump") == "Case (0)"
    keep_screenshot(page, "officer-phone.png", tmp_path)
    page.click("#case-jump")
    page.wait_for_timeout(300)
    assert on_screen(page, "#case-heading")
    context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_timeline_labels_fit_and_a_bar_zooms_to_its_events(live_service: LiveService, browser,  # type: ignore[no-untyped-def]
                                                           viewport: dict[str, int]) -> None:
    """Item 10: every time label inside the timeline, camera names whole, a bar's click spreads its events."""
    context, page = open_page(browser, live_service, "olive", viewport)
    found = seed_search(page)
    timeline = box(page, "#timeline")
    ticks = page.locator("#timeline .tl-tick")
    assert ticks.count() >= 2
    for i in range(ticks.count()):
        tick = ticks.nth(i).bounding_box()
        assert timeline["x"] <= tick["x"] and tick["x"] + tick["width"] <= timeline["x"] + timeline["width"], \
            (ticks.nth(i).inner_text(), tick, timeline)
    label = page.locator("#timeline .tl-row[data-camera='cam-north'] .tl-label")
    assert "North gate" in label.inner_text() and "cam-north" in label.inner_text()
    assert page.evaluate("""() => [...document.querySelectorAll('#timeline .tl-label strong, #timeline .tl-label span')]
        .every((n) => n.scrollWidth <= n.clientWidth + 1)""")

    bar = page.locator("#timeline .tl-row[data-camera='cam-north'] .tl-bar").first
    size = bar.bounding_box()
    bar.click(position={"x": size["width"] / 2, "y": size["height"] - 3})
    track = box(page, "#timeline .tl-row[data-camera='cam-north'] .tl-track")
    marks = page.locator("#timeline .tl-mark")
    xs = [marks.nth(i).bounding_box()["x"] for i in range(marks.count())]
    assert len(xs) == found
    assert max(xs) - min(xs) >= 0.5 * track["width"], (xs, track)
    context.close()


def test_smaller_things(live_service: LiveService, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Item 11: case items say what was seen; the dwell field's hint is not a value and is readable; an admin
    has a link to the manager page; the manager's start field says it is camera time."""
    context, page = open_page(browser, live_service, "olive", DESKTOP)
    assert page.get_attribute("#f-dwell", "placeholder") != "0"
    page.click("#f-more summary")
    contrast = page.evaluate("""() => {
        const lum = (c) => {
            const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map((v) => {
                v = Number(v) / 255;
                return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
            });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        const input = document.getElementById('f-dwell');
        const fg = lum(getComputedStyle(input, '::placeholder').color);
        const bg = lum(getComputedStyle(input).backgroundColor);
        return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    }""")
    assert contrast >= 4.5, contrast

    found = seed_search(page)
    assert found >= 2
    first = page.locator("#grid .tile").first.inner_text()
    seen = first.splitlines()[1].split(" · ")[0].strip() if "\n" in first else ""
    page.locator("#grid .tile").nth(0).locator(".tick").check()
    page.fill("#case-name", "Scratched car")
    page.click("#case-add")
    page.locator("#case-items li[data-item]").first.wait_for()
    item = page.inner_text("#case-items li[data-item]")
    assert seen and seen.lower() in item.lower(), (seen, item)
    # After a reload the page has seen no events: what was seen comes from the case itself (CaseItemOut.label).
    page.reload()
    page.wait_for_selector("#case-select option:text('Scratched car')", state="attached")
    page.select_option("#case-select", label="Scratched car")
    page.locator("#case-items li[data-item]").first.wait_for()
    again = page.inner_text("#case-items li[data-item]")
    assert seen.lower() in again.lower(), (seen, again)
    seed_search(page)
    page.locator("#grid .tile").first.locator(".tile-open").click()
    page.locator("#player:not([hidden])").wait_for()
    page.locator("#video").evaluate(
        "(v) => new Promise((ok) => v.readyState >= 2 ? ok() : v.addEventListener('loadeddata', ok))")
    page.locator("#video").evaluate("(v) => v.pause()")
    keep_screenshot(page, "officer.png", tmp_path)
    context.close()

    context, page = open_page(browser, live_service, "ada", DESKTOP)
    assert page.locator("#nav-manage").is_visible()
    page.click("#nav-manage")
    page.wait_for_url("**/manage")
    page.locator("#cameras [data-camera]").first.wait_for()
    assert re.search(r"camera time, Asia/Shanghai", page.inner_text("label:has(#u-start)"))
    context.close()


def test_manager_is_asked_for_a_missing_start_and_nothing_scrolls_sideways(  # type: ignore[no-untyped-def]
        live_service: LiveService, browser, footage_dir: Path, tmp_path: Path) -> None:
    """Items 6 and 7: on a phone the page is no wider than the screen and file names stay readable; a file with
    no time in its name asks for its start (camera time) before any byte goes; a refused file shows no full bar."""
    source, _, camera = MANAGER_CLIP
    nameless = tmp_path / "gate export.mp4"
    shutil.copyfile(footage_dir / source, nameless)
    context, page = open_page(browser, live_service, "mia", PHONE)
    creates: list[str] = []
    page.on("request", lambda r: creates.append(r.url) if r.method == "POST" and "/uploads" in r.url else None)
    page.wait_for_selector(f"#cameras [data-camera='{camera}']").click()
    page.set_input_files("#u-files", str(nameless))
    row = page.locator(".upload[data-file='gate export.mp4']")
    row.locator(".u-row-start").wait_for()
    assert "camera time, Asia/Shanghai" in row.inner_text()
    assert on_screen(page, ".upload[data-file='gate export.mp4'] .u-row-send")
    page.wait_for_timeout(500)
    assert creates == [], "nothing may be sent before the start is known"
    row.locator(".u-row-start").fill("2024-11-07T06:10:00")
    row.locator(".u-row-send").click()
    row.locator(".outcome").filter(has_text="Covers").wait_for(timeout=90_000)
    assert "Covers 2024-11-07 06:10:00" in row.inner_text() and "as you stated" in row.inner_text()
    assert len(creates) == 1

    # Newest first, and a refused file shows why, not a full progress bar.
    dropped = page.evaluate_handle("""() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(["not a video, only text"], "ch01_20241107080000.mp4", { type: "video/mp4" }));
        return transfer;
    }""")
    page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
    refused = page.locator(".upload[data-file='ch01_20241107080000.mp4']")
    refused.locator(".outcome").filter(has_text=re.compile(r"\w")).wait_for(timeout=60_000)
    assert page.locator(".upload").first.get_attribute("data-file") == "ch01_20241107080000.mp4"
    assert "failed" in (refused.get_attribute("class") or "")
    assert refused.locator("progress").is_hidden()
    assert "FFmpeg" not in refused.inner_text()

    page.locator("#segments tr:has-text('gate export.mp4')").wait_for(timeout=30_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    cell = box(page, "#segments tr:has-text('gate export.mp4') td.file")
    assert cell["width"] >= 200 and cell["height"] <= 60, cell
    keep_screenshot(page, "manager-phone.png", tmp_path, full_page=True)
    context.close()


def test_indexing_prints_plain_progress_lines_into_a_log(tmp_path: Path, footage_dir: Path) -> None:
    """Item 11: `gatewatch index` (and `make run`'s demo) with its output going to a file prints progress lines."""
    home = tmp_path / "home"
    prepare_home(home, footage_dir, tmp_path / "staging")
    env = {k: v for k, v in os.environ.items() if k not in ("GATEWATCH_DATABASE_URL", "GATEWATCH_BROKER_URL")}
    env.update({"GATEWATCH_HOME": str(home), "YOLO_OFFLINE": "1"})
    log = tmp_path / "index.log"
    with log.open("wb") as out:
        done = subprocess.run([*gatewatch_command(), "index"], env=env, stdout=out, stderr=subprocess.STDOUT,
                              timeout=300, check=False)
    text = log.read_text()
    assert done.returncode == 0, text
    assert re.search(r"^indexing: 1/1 segments, 0:00:\d\d/0:00:20 footage, [\d.]+x real time$", text, re.M), text


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_sign_in_to_exported_case_with_every_outcome_on_screen(live_service: LiveService, browser,  # type: ignore[no-untyped-def]
                                                              viewport: dict[str, int], tmp_path: Path) -> None:
    """The whole errand: after each step (search, open, add to case, export) what happened is on screen without
    the officer scrolling to look for it (the test only clicks; Playwright scrolls to what it clicks)."""
    context, page = open_page(browser, live_service, "olive", viewport)
    fill_window(page, "2024-11-07", "05:00", "07:00")
    page.click("#search-submit")
    page.locator("#grid .tile").first.wait_for()
    assert on_screen(page, "#results-status") or on_screen(page, "#search-outcome")

    page.locator("#grid .tile").nth(1).locator(".tile-open").click()
    page.locator("#player:not([hidden])").wait_for()
    page.wait_for_timeout(300)
    assert on_screen(page, "#player-title")

    page.fill("#case-name", f"Gate errand {viewport['width']}")
    page.click("#player-add")
    if viewport is PHONE:
        page.locator("#case-jump").filter(has_text="Case (1)").wait_for()
        assert on_screen(page, "#case-jump")
        page.click("#case-jump")
        page.wait_for_timeout(300)
    page.locator("#case-items li[data-item]").first.wait_for()
    assert on_screen(page, "#case-items li[data-item]")

    with page.expect_download(timeout=120_000):
        page.click("#case-export")
    page.locator("#export-status").filter(has_text="Exported").wait_for()
    assert on_screen(page, "#export-status")
    context.close()


def _as(service: LiveService, user: str, method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
    import httpx

    response = httpx.request(method, f"{service.url}/api/v1{path}", timeout=60,
                             headers={"Authorization": f"Bearer {service.tokens[user]}"}, **kwargs)
    assert response.status_code < 300, (method, path, response.status_code, response.text)
    return response.json()


def _human(size: int) -> str:
    """The page's own units (storage.js humanBytes), to find the API's figures in its text."""
    if size < 1024:
        return f"{size} B"
    if size < 1048576:
        return f"{round(size / 1024)} KB"
    return f"{size / 1048576:.1f} MB" if size < 1073741824 else f"{size / 1073741824:.1f} GB"


def _fact(page, camera: str, name: str) -> str:  # type: ignore[no-untyped-def]
    return page.inner_text(f"#storage-cameras [data-camera='{camera}'] [data-fact='{name}'] dd")


def test_manager_sees_storage_retention_next_purge_and_holds(  # type: ignore[no-untyped-def]
        live_service: LiveService, browser, footage_dir: Path, tmp_path: Path) -> None:
    """Issue 12: the manager's page shows their sites' storage, each camera's retention, what the next purge
    deletes and what open cases hold; a purge then deletes exactly that; a name the server cannot time (but the
    page thought it could) is asked for its start in the page, not told to use the command line."""
    [site] = [s for s in _as(live_service, "ada", "GET", "/sites") if s["name"] == SITE]
    _as(live_service, "ada", "PATCH", f"/sites/{site['id']}", json={"retain_days": 30})
    [north] = live_service.wait_indexed("cam-north")
    case = _as(live_service, "olive", "POST", "/cases", json={
        "name": "Held gate footage", "ranges": [{"camera": "cam-north", "from": north["start"], "to": north["end"]}]})
    try:
        context, page = open_page(browser, live_service, "mia", DESKTOP)
        # A 13th month: the page reads a time in the name, the server cannot; the page asks for the start.
        odd = tmp_path / "export_20241399070000.avi"
        shutil.copyfile(footage_dir / "street_brightness_flicker_no_vehicle.avi", odd)  # no creation time
        page.wait_for_selector("#cameras [data-camera='cam-south']").click()
        page.set_input_files("#u-files", str(odd))
        row = page.locator(f".upload[data-file='{odd.name}']")
        row.locator(".u-row-start").wait_for(timeout=90_000)
        assert "gatewatch" not in row.inner_text() and "--start" not in row.inner_text()
        row.locator(".u-row-start").fill("2024-11-07T07:00:00")
        row.locator(".u-row-send").click()
        row.locator(".outcome").filter(has_text="Covers").wait_for(timeout=90_000)
        assert "Covers 2024-11-07 07:00:00" in row.inner_text()

        page.reload()
        page.locator("#storage[data-loaded] #storage-cameras [data-camera='cam-south']").wait_for()
        status = live_service.api("mia", "/status").json()
        rows = {r["camera"]: r for r in status["cameras"]}
        assert set(rows) == {"cam-north", "cam-south"} and status["scope"] == "sites"
        south = live_service.api("mia", "/cameras/cam-south/segments").json()
        # The figures are the catalogue's: every cam-south file is past 30 days, none is held.
        assert rows["cam-south"]["purge_due"]["segments"] == len(south) >= 1
        assert rows["cam-south"]["purge_due"]["bytes"] == sum(s["size_bytes"] for s in south) \
            == rows["cam-south"]["bytes"]
        assert rows["cam-north"]["held_segments"] == 1 and rows["cam-north"]["purge_due"]["segments"] == 0
        [stored] = (live_service.home / "store" / north["sha256"][:2]).glob(f"{north['sha256']}*")
        assert rows["cam-north"]["held_bytes"] == north["size_bytes"] == stored.stat().st_size

        assert "30 days (the site's default)" in _fact(page, "cam-south", "kept")
        due = _fact(page, "cam-south", "purge")
        assert f"{len(south)} file" in due and _human(rows["cam-south"]["bytes"]) in due and "7 Nov 2024" in due
        assert _fact(page, "cam-north", "purge") == "nothing"
        held = _fact(page, "cam-north", "held")
        # Other tests' cases may hold the same footage: the page says as many as the API counts.
        cases = rows["cam-north"]["held_cases"]
        assert cases >= 1 and f"for {cases} open case" in held
        assert "1 file" in held and _human(rows["cam-north"]["held_bytes"]) in held
        assert "Held gate footage" not in held, "a manager is not told which investigation holds footage"
        text = page.inner_text("#storage")
        assert "Your footage uses" in text and "The disk has" not in text
        assert f"The next purge deletes {len(south)} file" in page.inner_text("#storage-purge")
        assert "Room left for uploads" in page.inner_text("#storage-data")
        page.locator("#storage").scroll_into_view_if_needed()
        keep_screenshot(page, "manager-storage.png", tmp_path)
        context.close()

        # The purge deletes what the page said, and keeps what the case holds.
        env = {k: v for k, v in os.environ.items() if k not in ("GATEWATCH_DATABASE_URL", "GATEWATCH_BROKER_URL")}
        env.update({"GATEWATCH_HOME": str(live_service.home), "YOLO_OFFLINE": "1"})
        done = subprocess.run([*gatewatch_command(), "purge", "--json"], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert sorted(r["segment"] for r in json.loads(done.stdout)["removed"]) == sorted(s["id"] for s in south)

        context, page = open_page(browser, live_service, "mia", PHONE)
        page.locator("#storage[data-loaded] #storage-cameras [data-camera='cam-north']").wait_for()
        assert _fact(page, "cam-south", "purge") == "nothing"
        assert "no footage yet" in _fact(page, "cam-south", "span")
        assert "1 file" in _fact(page, "cam-north", "held")
        assert "last run" in page.inner_text("#storage-purge")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        card = box(page, "#storage-cameras [data-camera='cam-north']")
        assert card["x"] >= 0 and card["x"] + card["width"] <= PHONE["width"]
        context.close()

        # An admin sees the disk and the names of the cases holding footage.
        context, page = open_page(browser, live_service, "ada", DESKTOP)
        page.goto(f"{live_service.url}/manage")
        page.locator("#storage[data-loaded] #storage-cameras [data-camera='cam-north']").wait_for()
        assert "The disk has" in page.inner_text("#storage-data")
        assert "Held gate footage" in _fact(page, "cam-north", "held")
        context.close()
    finally:
        _as(live_service, "olive", "POST", f"/cases/{case['id']}/close", json={"reason": "test over"})
        _as(live_service, "ada", "PATCH", f"/sites/{site['id']}", json={"retain_days": None})
