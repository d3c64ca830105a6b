"""Hostile checks of the audit trail and web sessions against a real ``gatewatch serve`` (uvicorn subprocess):
clip views under any Range header, a chain forged directly in SQL, foreign-origin posts, ended sessions,
spoofed X-Forwarded-For, and two server processes appending to one chain."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from support_web import (
    LiveService,
    configured,
    free_port,
    gatewatch_command,
    prepare_home,
    stop_service,
)
from typer.testing import CliRunner

from api import audit
from api.audit import list_entries, verify_chain
from api.audit_checkpoints import check_offline
from api.cli.main import app as cli_app
from footage.db import session_scope

CLIP = "/cameras/cam-north/clip.mp4?from=2024-11-07T05:20:02&to=2024-11-07T05:20:08"


def _serve(home: Path, log: Path, tokens: dict[str, str], *args: str,
           env_extra: dict[str, str] | None = None) -> tuple[LiveService, subprocess.Popen[bytes]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("GATEWATCH_DATABASE_URL", "GATEWATCH_BROKER_URL")}
    # No indexing here: these tests need the imported segment, not its events, and the machine is shared.
    env.update({"GATEWATCH_HOME": str(home), "GATEWATCH_LOCAL_WORKERS": "0", "YOLO_OFFLINE": "1",
                **(env_extra or {})})
    process = subprocess.Popen([*gatewatch_command(), "serve", "--host", "127.0.0.1", "--port", str(port), *args],
                               env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
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
    pytest.fail(f"gatewatch serve did not answer within 90 s:\n{service.log_tail()}")


@pytest.fixture
def live_home(tmp_path: Path, footage_dir: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    return home, prepare_home(home, footage_dir, tmp_path / "staging")


@pytest.fixture
def live(live_home: tuple[Path, dict[str, str]], tmp_path: Path) -> Iterator[LiveService]:
    home, tokens = live_home
    service, process = _serve(home, tmp_path / "serve.log", tokens, env_extra={"GATEWATCH_COOKIE_SECURE": "1"})
    try:
        yield service
    finally:
        stop_service(process)


def _entries(home: Path, action: str) -> list[audit.AuditEntry]:
    with configured(home), session_scope() as session:
        entries = list_entries(session, action=action, limit=500).entries
        session.expunge_all()
        return entries


def test_every_clip_view_is_audited_once_whatever_the_range(live: LiveService) -> None:
    olive = {"Authorization": f"Bearer {live.tokens['olive']}"}
    ada = {"Authorization": f"Bearer {live.tokens['ada']}"}
    with httpx.Client(base_url=f"{live.url}/api/v1", timeout=120) as http:
        whole = http.get(CLIP, headers={**olive, "Range": "bytes=-100000000"})  # a suffix range: the whole clip
        assert whole.status_code == 206, whole.text
        size = int(whole.headers["content-range"].rsplit("/", 1)[1])
        assert len(whole.content) == size > 10_000
        assert [(e.user_name, e.detail["first_range"]) for e in _entries(live.home, "clip_view")] == [
            ("olive", "bytes=-100000000")]
        # The same user seeking in the same clip: no second entry.
        for more in ("bytes=1000-2000", "bytes=0-", None):
            again = http.get(CLIP, headers={**olive, **({"Range": more} if more else {})})
            assert again.status_code in (200, 206)
        assert len(_entries(live.home, "clip_view")) == 1
        # Another user's first request is a multi-range one: recorded for them.
        multi = http.get(CLIP, headers={**ada, "Range": "bytes=0-99,5000-5099"})
        assert multi.status_code == 206 and multi.headers["content-type"].startswith("multipart/byteranges")
        views = _entries(live.home, "clip_view")
        assert [(e.user_name, e.detail["sha256"]) for e in views] == [
            ("ada", whole.headers["x-clip-sha256"]), ("olive", whole.headers["x-clip-sha256"])]
        # A download is a different act and recorded on its own, even mid-file.
        down = http.get(CLIP + "&download=true", headers={**olive, "Range": "bytes=500-"})
        assert down.status_code == 206
        assert [e.user_name for e in _entries(live.home, "clip_download")] == ["olive"]


def test_web_sessions_end_on_sign_out_and_refuse_foreign_origins(live: LiveService) -> None:
    with httpx.Client(base_url=live.url, timeout=30) as browser:
        signed_in = browser.post("/api/v1/session", json={"name": "olive", "token": live.tokens["olive"]})
        assert signed_in.status_code == 200
        assert "Secure" in signed_in.headers["set-cookie"]  # GATEWATCH_COOKIE_SECURE, though the scheme is http
        # httpx (rightly) keeps a Secure cookie off plain http, so send it by hand as a browser behind TLS would.
        cookie = {"Cookie": f"gatewatch_session={signed_in.cookies['gatewatch_session']}"}
        case = {"name": "burglary 17", "reference": "PR-17"}
        foreign = browser.post("/api/v1/cases", json=case, headers={**cookie, "Origin": "https://evil.example"})
        assert foreign.status_code == 403 and "cross-origin" in foreign.json()["detail"]
        cross_site = browser.post("/api/v1/cases", json=case, headers={**cookie, "Sec-Fetch-Site": "cross-site"})
        assert cross_site.status_code == 403
        host = live.url.removeprefix("http://")
        same = browser.post("/api/v1/cases", json=case,
                            headers={**cookie, "Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"})
        assert same.status_code in (200, 201), same.text
        ended = browser.delete("/api/v1/session", headers={**cookie, "Origin": f"http://{host}"})
        assert ended.status_code == 204
    # The old cookie, replayed by someone who copied it, no longer works.
    replay = httpx.get(f"{live.url}/api/v1/me", headers=cookie, timeout=30)
    assert replay.status_code == 401
    # Bearer clients are not subject to the Origin check.
    bearer = httpx.post(f"{live.url}/api/v1/cases", json={"name": "case 18"}, timeout=30,
                        headers={"Authorization": f"Bearer {live.tokens['olive']}", "Origin": "https://elsewhere"})
    assert bearer.status_code in (200, 201), bearer.text


def test_spoofed_forwarded_for_is_ignored_and_bad_tokens_fold_per_address(
        live_home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    home, tokens = live_home
    service, process = _serve(home, tmp_path / "serve.log", tokens)
    try:
        for i in range(30):
            wrong = httpx.get(f"{service.url}/api/v1/me", timeout=30,
                              headers={"Authorization": f"Bearer gw_guess{i}", "X-Forwarded-For": f"6.6.6.{i}"})
            assert wrong.status_code == 401
    finally:
        stop_service(process)  # the minute's count is written on the way down
    failures = _entries(home, "login_failed")
    assert [(e.remote_addr, e.detail["count"]) for e in failures] == [("127.0.0.1", 30)]


def test_two_server_processes_append_one_chain(live_home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    home, tokens = live_home
    log = tmp_path / "serve.log"
    service, process = _serve(home, log, tokens, "--workers", "2")
    try:
        headers = {"Authorization": f"Bearer {tokens['olive']}"}

        def search(i: int) -> int:
            with httpx.Client(timeout=60) as http:
                return http.get(f"{service.url}/api/v1/events", headers=headers,
                                params={"from": "2024-11-07T05:00:00", "to": f"2024-11-07T06:{i % 60:02d}:00",
                                        "site": "Maple Court"}).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(search, range(80)))
        assert codes == [200] * 80
    finally:
        stop_service(process)
    with configured(home), session_scope() as session:
        _, problems = verify_chain(session)
        searches = session.execute(text("SELECT count(*) FROM audit WHERE action = 'search'")).scalar()
    assert problems == [] and searches == 80
    # One process ran the background loops (and signed the last checkpoint), not each of them.
    assert log.read_text().count("runs the service's background loops") == 1


def _append(count: int) -> None:
    for i in range(count):
        with session_scope() as session:
            audit.record(session, user_name="olive", action="search", obj="events", detail={"i": i})


def _rewrite_without(entry_id: int) -> None:
    """What someone with database access does: delete an entry, renumber and re-hash the rest, in plain SQL."""
    with session_scope() as session:
        session.execute(text("DELETE FROM audit WHERE id = :id"), {"id": entry_id})
        rows = session.execute(text("SELECT id FROM audit WHERE id > :id ORDER BY id"), {"id": entry_id}).all()
        for (old_id,) in rows:
            session.execute(text("UPDATE audit SET id = :new WHERE id = :old"), {"new": old_id - 1, "old": old_id})
        prev = audit.GENESIS
        for entry in session.scalars(audit.select(audit.AuditEntry).order_by(audit.AuditEntry.id)):
            fresh = audit._entry_hash(prev, entry.at, entry.user_name, entry.action, entry.object, entry.detail,
                                      entry.remote_addr)
            session.execute(text("UPDATE audit SET prev_hash = :p, hash = :h WHERE id = :id"),
                            {"p": prev, "h": fresh, "id": entry.id})
            prev = fresh


def test_a_chain_rewritten_in_sql_is_caught_by_its_checkpoints(gw_home_any_db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    exported = tmp_path / "checkpoint.json"
    for batch in (3, 3, 4):  # checkpoints at entries 3, 6 and 10
        _append(batch)
        signed = runner.invoke(cli_app, ["audit", "checkpoint", "--export", str(exported)])
        assert signed.exit_code == 0, signed.output
    assert "signed: entry 10" in signed.stdout
    data = json.loads(exported.read_text())
    assert check_offline(data)
    assert not check_offline({**data, "entry_hash": "0" * 64})
    intact = runner.invoke(cli_app, ["audit", "verify"])
    assert intact.exit_code == 0 and "matches 3 signed checkpoint(s)" in intact.stdout

    _rewrite_without(5)
    with session_scope() as session:
        assert verify_chain(session) == (9, [])  # the plain hash chain is fooled
    forged = runner.invoke(cli_app, ["audit", "verify"])
    assert forged.exit_code == 1
    assert "rewrite begins after entry 3 and at or before entry 6" in forged.stdout
    assert "entries 10..10 were signed" in forged.stdout

    # Deleting the stored checkpoints too does not help: the exported one still catches it.
    with session_scope() as session:
        session.execute(text("DELETE FROM audit_checkpoint"))
    assert runner.invoke(cli_app, ["audit", "verify"]).exit_code == 0
    against_file = runner.invoke(cli_app, ["audit", "verify", "--checkpoint", str(exported)])
    assert against_file.exit_code == 1 and "entries 10..10 were signed" in against_file.stdout
