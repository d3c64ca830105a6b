"""Support for the browser tests: a real gatewatch service (``gatewatch serve`` in a subprocess) over real footage,
and Debian's Chromium driven by Playwright.

The data folder is prepared through the service functions (sites, cameras, users, an NVR-named import that queues
indexing); the service's own local worker then indexes it, exactly as in production.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get("GATEWATCH_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SITE = "Maple Court"
TIMEZONE = "Asia/Shanghai"
# The officer's footage: a street with steady car traffic, as if exported by a Hikvision NVR at 05:20.
OFFICER_CLIP = ("street_topdown_traffic.mp4", "ch01_20241107052000.mp4", "cam-north")
# The manager's upload: the parking-aisle camera's export at 05:30, for the site's other gate.
MANAGER_CLIP = ("parking_aisle_car_detection.mp4", "ch01_20241107053000.mp4", "cam-south")
UPLOAD_CHUNK_BYTES = 1024 * 1024


@dataclass
class LiveService:
    """A running ``gatewatch serve`` with its data folder and the users the tests sign in as."""

    url: str
    """Base URL, e.g. http://127.0.0.1:40123."""
    home: Path
    """GATEWATCH_HOME of the service."""
    log: Path
    """Where the service's output goes (shown when something fails)."""
    tokens: dict[str, str] = field(default_factory=dict)
    """Bearer token by user name: 'olive' (officer), 'mia' (manager of the site), 'ada' (admin)."""

    def api(self, user: str, path: str, timeout: float = 30.0) -> httpx.Response:
        return httpx.get(f"{self.url}/api/v1{path}", headers={"Authorization": f"Bearer {self.tokens[user]}"},
                         timeout=timeout)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no service log)"

    def wait_indexed(self, camera: str, timeout_s: float = 240.0) -> list[dict]:
        """Poll the camera's segments until every one is indexed; fail with the reason if one fails or time runs out."""
        deadline = time.monotonic() + timeout_s
        segments: list[dict] = []
        while time.monotonic() < deadline:
            segments = self.api("ada", f"/cameras/{camera}/segments").json()
            failed = [s for s in segments if s["status"] == "failed"]
            if failed:
                pytest.fail(f"indexing failed: {failed}\n{self.log_tail()}")
            if segments and all(s["status"] == "indexed" for s in segments):
                return segments
            time.sleep(1.0)
        pytest.fail(f"segments of {camera} not indexed after {timeout_s} s: {segments}\n{self.log_tail()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def configured(home: Path) -> Iterator[None]:
    """This process's settings and engines pointed at ``home`` for a while, then put back."""
    from footage.db import reset_engines
    from footage.settings import get_settings

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GATEWATCH_HOME", str(home))
        patch.delenv("GATEWATCH_DATABASE_URL", raising=False)
        patch.delenv("GATEWATCH_BROKER_URL", raising=False)
        get_settings.cache_clear()
        reset_engines()
        try:
            yield
        finally:
            reset_engines()
    get_settings.cache_clear()
    reset_engines()


def prepare_home(home: Path, footage_dir: Path, staging: Path) -> dict[str, str]:
    """A data folder with the site, two gate cameras, three users and the officer's clip imported (queued)."""
    from api.database import migrate
    from api.ingest import import_paths
    from api.users import create_user
    from footage.catalogue import add_camera, add_site
    from footage.db import session_scope

    source, nvr_name, camera = OFFICER_CLIP
    staging.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(footage_dir / source, staging / nvr_name)
    tokens: dict[str, str] = {}
    with configured(home):
        migrate()
        with session_scope() as session:
            add_site(session, SITE)
        with session_scope() as session:
            whole_frame = {"aisle": [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]}
            add_camera(session, "cam-north", SITE, "North gate", TIMEZONE, whole_frame, 0.0)
            add_camera(session, "cam-south", SITE, "South gate", TIMEZONE, {}, 0.0)
        with session_scope() as session:
            for name, role, sites in (("ada", "admin", None), ("olive", "officer", None), ("mia", "manager", [SITE])):
                _, tokens[name] = create_user(session, name, role, sites)
        with session_scope() as session:
            results = import_paths(session, [staging / nvr_name], camera, actor="test")
        if [r.status for r in results] != ["imported"]:
            pytest.fail(f"the officer's clip was not imported: {[r.to_dict() for r in results]}")
    return tokens


def gatewatch_command() -> list[str]:
    script = Path(sys.executable).with_name("gatewatch")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from api.cli.main import main; main()"]


def start_service(home: Path, log: Path, tokens: dict[str, str]) -> tuple[LiveService, subprocess.Popen[bytes]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("GATEWATCH_DATABASE_URL", "GATEWATCH_BROKER_URL")}
    env.update({
        "GATEWATCH_HOME": str(home),
        "GATEWATCH_LOCAL_WORKERS": "1",
        # Small chunks, so a short clip takes several PATCH requests and a dropped one can be resumed.
        "GATEWATCH_UPLOAD_CHUNK_BYTES": str(UPLOAD_CHUNK_BYTES),
        "YOLO_OFFLINE": "1",
    })
    out = log.open("wb")
    process = subprocess.Popen([*gatewatch_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    service = LiveService(url=f"http://127.0.0.1:{port}", home=home, log=log, tokens=tokens)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gatewatch serve exited with {process.returncode}:\n{service.log_tail()}")
        try:
            if httpx.get(f"{service.url}/healthz", timeout=2).status_code == 200:
                return service, process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_service(process)
    pytest.fail(f"gatewatch serve did not answer /healthz within 90 s:\n{service.log_tail()}")


def stop_service(process: subprocess.Popen[bytes]) -> None:
    """Stop the service and its worker children (its own process group, started for this test)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def launch_chromium(playwright):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; install it with 'apt-get install -y chromium' (make browser)")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def sign_in(page, service: LiveService, user: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the page's own form and wait to land on the page the role gets."""
    page.goto(f"{service.url}/")
    page.wait_for_url("**/login**")
    page.fill("#login-name", user)
    page.fill("#login-token", service.tokens[user])
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login" not in url)
    page.wait_for_selector("#who:not([hidden])")
