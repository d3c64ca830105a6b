"""The web page in a real browser (Debian's Chromium through Playwright) against a real `gatewatch serve`.

The service runs in a subprocess over real footage indexed by its own local worker. An officer finds the cars of
the seed case, plays one, files it in a case and downloads the signed package; a manager uploads an NVR export
(with a dropped connection in the middle), sees its start read from the file name, and watches it get indexed;
a manager reaches neither the officer's page nor its data. Screenshots go to tmp; with
GATEWATCH_UPDATE_SCREENSHOTS=1 the current ones also replace docs/screenshots/ (the README's).
"""

from __future__ import annotations

import os
import re
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, bearer, make_user
from support_web import (
    MANAGER_CLIP,
    SITE,
    UPLOAD_CHUNK_BYTES,
    LiveService,
    launch_chromium,
    prepare_home,
    sign_in,
    start_service,
    stop_service,
)

SCREENSHOTS = REPO / "docs" / "screenshots"


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory, footage_dir: Path) -> Iterator[LiveService]:
    root = tmp_path_factory.mktemp("web")
    tokens = prepare_home(root / "home", footage_dir, root / "staging")
    service, process = start_service(root / "home", root / "serve.log", tokens)
    try:
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


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder


def keep_screenshot(taken: Path, name: str) -> None:
    # A plain test run leaves the checkout as it was; the README's pictures change only when asked.
    if os.environ.get("GATEWATCH_UPDATE_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(taken, SCREENSHOTS / name)


def wait_until(page, expression: str, timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Poll a JavaScript expression until it is true (Playwright's wait_for_function evaluates strings with eval,
    which the page's Content-Security-Policy rightly refuses)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.evaluate(expression):
            return
        time.sleep(0.1)
    pytest.fail(f"still not true after {timeout_s} s: {expression}")


def page_errors(page) -> list[str]:  # type: ignore[no-untyped-def]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Refused requests (the 403s asked for on purpose, the dropped upload) are logged by the browser; not bugs.
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith(("Failed to load resource", "net::")) else None)
    return errors


def test_pages_send_each_role_to_its_own_page(client) -> None:  # type: ignore[no-untyped-def]
    """Nobody signed in goes to /login; a manager asking for / gets /manage; an officer asking for /manage gets /."""
    from footage.catalogue import add_site
    from footage.db import session_scope

    with session_scope() as session:
        add_site(session, SITE)
    officer = make_user("officer", "olive")
    manager = make_user("manager", "mia", [SITE])

    for path in ("/", "/manage"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert client.get("/login").status_code == 200

    answer = client.get("/manage", headers=bearer(manager))
    assert answer.status_code == 200 and 'id="drop"' in answer.text
    answer = client.get("/", headers=bearer(manager), follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/manage"

    answer = client.get("/", headers=bearer(officer))
    assert answer.status_code == 200 and 'id="search-form"' in answer.text
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    answer = client.get("/manage", headers=bearer(officer), follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"

    assert client.get("/static/js/officer.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/../routes/web.py").status_code == 404


@pytest.mark.browser
@pytest.mark.slow
def test_manager_uploads_footage_resuming_after_a_dropped_connection(live_service: LiveService, browser,  # type: ignore[no-untyped-def]
                                                                     footage_dir: Path, tmp_path: Path,
                                                                     shots: Path) -> None:
    source, nvr_name, camera = MANAGER_CLIP
    upload = tmp_path / nvr_name
    shutil.copyfile(footage_dir / source, upload)
    assert upload.stat().st_size > 2 * UPLOAD_CHUNK_BYTES

    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark", locale="en-GB",
                                  timezone_id="Europe/Berlin")
    page = context.new_page()
    errors = page_errors(page)
    sign_in(page, live_service, "mia")
    assert page.url.endswith("/manage")

    # The manager cannot reach the officer's page, nor the officer's data through the API.
    page.goto(f"{live_service.url}/")
    page.wait_for_url("**/manage")
    denied = page.evaluate("""async () => {
        const answers = [];
        for (const path of ["/api/v1/events?camera=cam-north", "/api/v1/cases", "/api/v1/events/1/clip.mp4"]) {
            answers.push((await fetch(path)).status);
        }
        return answers;
    }""")
    assert denied == [403, 403, 403]

    # The second chunk reaches the server, but its answer never reaches the browser: a dropped connection.
    patches: list[str] = []

    def drop_second_chunk(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method != "PATCH":
            route.continue_()
            return
        patches.append(route.request.headers.get("upload-offset", ""))
        if len(patches) == 2:
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/uploads/*", drop_second_chunk)
    page.wait_for_selector(f"#cameras [data-camera='{camera}']").click()
    page.set_input_files("#u-files", str(upload))
    row = page.locator(f".upload[data-file='{nvr_name}']")
    row.locator(".outcome").filter(has_text="Covers").wait_for(timeout=90_000)
    assert "Start read from the file name: 2024-11-07 05:30:00" in row.inner_text()
    assert "Covers 2024-11-07 05:30:00" in row.inner_text()
    assert "done" in (row.get_attribute("class") or "")
    # After the drop the page asked the server how far it got and went on from there, never from byte 0 again.
    offsets = [int(o) for o in patches]
    assert len(offsets) >= 3 and offsets[0] == 0 and offsets.count(0) == 1
    assert offsets == sorted(offsets)

    # A file dropped on the page that is no video: refused, in words, with nothing stored.
    dropped = page.evaluate_handle("""() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(["not a video, only text"], "ch01_20241107070000.mp4", { type: "video/mp4" }));
        return transfer;
    }""")
    page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
    refused = page.locator(".upload[data-file='ch01_20241107070000.mp4']")
    refused.locator(".outcome").filter(has_text=re.compile(r"\w")).wait_for(timeout=60_000)
    assert "failed" in (refused.get_attribute("class") or "")
    assert "Not accepted" in refused.inner_text()

    listed = page.locator(f"#segments tr:has-text('{nvr_name}')")
    listed.wait_for()
    page.wait_for_selector(f"#segments tr[data-status='indexed']:has-text('{nvr_name}')", timeout=240_000)
    assert "05:30:00" in listed.inner_text()
    assert page.locator("#segments tr").count() == 1
    page.screenshot(path=str(shots / "manager.png"), full_page=True)
    keep_screenshot(shots / "manager.png", "manager.png")
    assert not errors, errors
    context.close()


@pytest.mark.browser
@pytest.mark.slow
def test_officer_finds_plays_files_and_exports_the_seed_case(live_service: LiveService, browser,  # type: ignore[no-untyped-def]
                                                             tmp_path: Path, shots: Path) -> None:
    from footage.evidence import verify_package

    live_service.wait_indexed("cam-north")
    # The browser's own time zone is far from the camera's: the page must still speak camera time.
    context = browser.new_context(viewport={"width": 1400, "height": 950}, color_scheme="dark",
                                  accept_downloads=True, locale="en-GB", timezone_id="America/New_York")
    page = context.new_page()
    errors = page_errors(page)
    sign_in(page, live_service, "olive")
    assert page.url.rstrip("/") == live_service.url

    # The seed case: the community, its north gate, 05:00-07:00 that morning, vehicles.
    page.select_option("#f-site", SITE)
    page.select_option("#f-gate", "North gate")
    page.fill("#f-date", "2024-11-07")
    page.fill("#f-from", "05:00")
    page.fill("#f-to", "07:00")
    page.select_option("#f-label", "vehicle")
    page.click("#search-submit")
    try:
        page.wait_for_selector("#grid .tile")
    except Exception:
        pytest.fail(f"no results on the page: {page.inner_text('#results-status')}")
    tiles = page.locator("#grid .tile")
    found = tiles.count()
    assert found >= 2, page.inner_text("#results-status")
    for text in tiles.all_inner_texts():
        assert re.search(r"05:2\d:\d\d", text) and "North gate" in text
    assert page.locator("#timeline .tl-row[data-camera='cam-north'] .tl-mark").count() == found
    assert page.locator("#timeline .tl-bar").count() >= 1
    assert "(Asia/Shanghai)" in page.inner_text("#f-zone-name")

    # Play the first event: the video becomes playable, time advances, the wall clock runs in camera time.
    tiles.first.locator(".tile-open").click()
    wait_until(page, "document.getElementById('video').readyState >= 3", 60)
    started = page.evaluate("document.getElementById('video').currentTime")
    wait_until(page, f"document.getElementById('video').currentTime > {started} + 0.5")
    assert re.match(r"2024-11-07 05:(19|2\d):\d\d\.\d \+08:00", page.inner_text("#clock"))

    # Keyboard: space pauses, j moves to the next event, Enter opens it.
    page.locator("#grid .tile").first.locator(".tile-open").focus()
    page.keyboard.press(" ")
    wait_until(page, "document.getElementById('video').paused")
    page.keyboard.press("j")
    assert page.locator("#grid .tile.selected").get_attribute("data-index") == "1"
    page.keyboard.press("Enter")
    wait_until(page, "document.getElementById('video').readyState >= 3", 60)
    second_start = page.locator("#grid .tile").nth(1).locator(".tile-time").inner_text()
    assert second_start in page.inner_text("#player-title")

    # File both events in a new case, then export it: the signed zip downloads and verifies.
    page.locator("#grid .tile").nth(0).locator(".tick").check()
    page.fill("#case-name", "Barrier arm broken")
    page.fill("#case-ref", "PC-2024-1107-01")
    page.click("#player-add")
    page.locator("#case-items li[data-item]").nth(1).wait_for()
    assert page.locator("#case-items li[data-item]").count() == 2

    # Zoomed to where the events are, every mark is still on the timeline.
    page.click("#timeline >> text=Fit to events")
    assert page.locator("#timeline .tl-mark").count() == found
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(500)
    page.screenshot(path=str(shots / "officer.png"), full_page=True)
    with page.expect_download(timeout=120_000) as download:
        page.click("#case-export")
    package = tmp_path / "case.zip"
    download.value.save_as(package)
    assert download.value.suggested_filename.endswith(".zip")
    page.wait_for_selector("#export-status:has-text('Exported')")
    with zipfile.ZipFile(package) as opened:
        names = opened.namelist()
    assert "manifest.json" in names and "manifest.sig" in names
    assert sum(name.endswith(".mp4") for name in names) == 2
    # Checked as a prosecutor would: against the public key the service hands out.
    pem = live_service.api("olive", "/signing-key").json()["public_key_pem"]
    assert verify_package(package, public_key_pem=pem).ok

    # At a phone's width the page is one column.
    page.set_viewport_size({"width": 390, "height": 844})
    columns = page.evaluate("getComputedStyle(document.getElementById('grid')).gridTemplateColumns.split(' ').length")
    assert columns == 1
    page.locator("#player").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "officer-phone.png"), full_page=False)
    shutil.copyfile(shots / "officer-phone.png", Path("/tmp/officer-phone.png"))
    # The README's pictures of the officer's page come from test_web_use.py, at the sizes its tests measure.
    assert not errors, errors
    context.close()
