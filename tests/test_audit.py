"""The audit trail: a hash chain that concurrent writers cannot fork and tampering cannot pass unseen."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import bearer, make_user
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from api import audit
from api.audit import AuditQueryError, list_entries, verify_chain
from api.cli.main import app as cli_app
from footage.db import session_factory, session_scope


def _append(count: int, user: str = "olive", action: str = "search") -> None:
    for i in range(count):
        with session_scope() as session:
            audit.record(session, user_name=user, action=action, obj=f"camera:{i}", detail={"i": i, "q": "x"},
                         remote_addr="10.0.0.7")


def test_concurrent_appends_keep_one_chain(gw_home_any_db: Path) -> None:
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(12):
                session = session_factory()()
                try:
                    # Read first, as a route does before it records: the append must still serialise.
                    session.execute(text("SELECT count(*) FROM audit")).scalar()
                    audit.record(session, user_name=name, action="search", detail={"i": i})
                    session.commit()
                finally:
                    session.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"user{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_scope() as session:
        count, problems = verify_chain(session)
    assert (count, problems) == (48, [])


def test_rolled_back_append_leaves_no_gap(gw_home_any_db: Path) -> None:
    _append(2)
    session = session_factory()()
    audit.record(session, user_name="olive", action="export")
    session.rollback()
    session.close()
    _append(1)
    with session_scope() as session:
        assert verify_chain(session) == (3, [])


def test_verify_names_the_changed_and_the_deleted_entry(gw_home_any_db: Path) -> None:
    _append(6)
    runner = CliRunner()
    intact = runner.invoke(cli_app, ["audit", "verify"])
    assert intact.exit_code == 0 and "ok: 6 entries" in intact.stdout

    with session_scope() as session:
        session.execute(text("UPDATE audit SET user_name = 'mallory' WHERE id = 3"))
    changed = runner.invoke(cli_app, ["audit", "verify"])
    assert changed.exit_code == 1
    assert "entry 3: its contents were changed after it was written" in changed.stdout

    with session_scope() as session:
        session.execute(text("DELETE FROM audit WHERE id = 5"))
        count, problems = verify_chain(session)
    assert count == 5
    assert [(p.entry_id, p.reason) for p in problems] == [
        (3, "its contents were changed after it was written"),
        (6, "entries 5..5 are missing"),
        (6, "does not chain to the entry before it"),
    ]
    as_json = runner.invoke(cli_app, ["audit", "verify", "--json"])
    assert as_json.exit_code == 1 and '"entry": 6' in as_json.stdout


def test_filters_and_paging(gw_home: Path) -> None:
    _append(3, user="olive", action="search")
    _append(2, user="mona", action="upload")
    with session_scope() as session:
        assert [e.user_name for e in list_entries(session, user="mona").entries] == ["mona", "mona"]
        assert len(list_entries(session, action="search").entries) == 3
        assert list_entries(session, user="olive", action="upload").entries == []
        now = datetime.now(UTC)
        assert len(list_entries(session, since=now - timedelta(minutes=5)).entries) == 5
        assert list_entries(session, until=now - timedelta(minutes=5)).entries == []

        seen, cursor = [], None
        while True:
            page = list_entries(session, limit=2, cursor=cursor)
            seen += [e.id for e in page.entries]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [5, 4, 3, 2, 1]

        for bad in ({"cursor": "1 OR 1=1"}, {"limit": 0}, {"since": datetime(2024, 1, 1)}):
            with pytest.raises(AuditQueryError):
                list_entries(session, **bad)  # type: ignore[arg-type]


def test_audit_api_and_cli_list(client: TestClient, admin_headers: dict[str, str]) -> None:
    _append(3, user="olive")
    response = client.get("/api/v1/audit", headers=admin_headers, params={"user": "olive", "limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert [e["user"] for e in body["entries"]] == ["olive", "olive"] and body["next_cursor"] == "2"
    assert body["entries"][0]["remote_addr"] == "10.0.0.7" and body["entries"][0]["detail"]["q"] == "x"
    rest = client.get("/api/v1/audit", headers=admin_headers, params={"user": "olive", "cursor": body["next_cursor"]})
    assert [e["id"] for e in rest.json()["entries"]] == [1]
    naive = {"since": "2024-01-01T00:00:00"}
    assert client.get("/api/v1/audit", headers=admin_headers, params=naive).status_code == 422
    assert client.get("/api/v1/audit", headers=bearer(make_user("officer"))).status_code == 403

    listed = CliRunner().invoke(cli_app, ["audit", "list", "--user", "olive", "--json"])
    assert listed.exit_code == 0 and listed.stdout.count('"action": "search"') == 3
    plain = CliRunner().invoke(cli_app, ["audit", "list", "--limit", "1"])
    assert "search" in plain.stdout and "more: --cursor 3" in plain.output


def test_a_cut_off_tail_is_caught_by_a_noted_head(gw_home: Path) -> None:
    _append(4)
    runner = CliRunner()
    noted = json.loads(runner.invoke(cli_app, ["audit", "verify", "--json"]).stdout)["head"]
    assert noted.startswith("4:")
    _append(1)
    assert runner.invoke(cli_app, ["audit", "verify", "--expect-head", noted]).exit_code == 0
    with session_scope() as session:
        session.execute(text("DELETE FROM audit WHERE id >= 4"))
    assert runner.invoke(cli_app, ["audit", "verify"]).exit_code == 0  # the chain alone cannot see it
    cut = runner.invoke(cli_app, ["audit", "verify", "--expect-head", noted])
    assert cut.exit_code == 1 and "entry 4: the entry noted earlier is gone or different" in cut.stdout
