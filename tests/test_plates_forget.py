"""A site that stops reading plates can delete the plates already read: the CLI and the API, with open cases kept."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.auth import Principal
from api.cases import create_case
from api.cli.main import app as cli_app
from api.models import AuditEntry, Role
from detection.models import Event, EventPlateCrop
from footage.db import session_scope
from tests.conftest import bearer, make_user
from tests.test_plates_search import _plates

ADMIN = Principal(user_id=0, name="test", role=Role.ADMIN, site_ids=None)


def _crops_for(ids: list[int]) -> None:
    with session_scope() as session:
        for event_id in ids:
            session.add(EventPlateCrop(event_id=event_id, jpeg=b"\xff\xd8 plate"))


def _plates_left(camera_id: str) -> tuple[int, int]:
    with session_scope() as session:
        read = session.scalar(select(func.count()).select_from(Event).where(
            Event.camera_id == camera_id, Event.plate.is_not(None)))
        crops = session.scalar(select(func.count()).select_from(EventPlateCrop).join(
            Event, Event.id == EventPlateCrop.event_id).where(Event.camera_id == camera_id))
    return int(read or 0), int(crops or 0)


def test_cli_forgets_plates_only_once_reading_is_off_and_keeps_open_cases(gw_home: Path, footage_dir: Path) -> None:
    ids = _plates(footage_dir)
    _crops_for(list(ids.values()))
    with session_scope() as session:
        create_case(session, ADMIN, "Gate barrier", event_ids=[ids["exact_high"]])
    runner = CliRunner()

    refused = runner.invoke(cli_app, ["cameras", "set", "cam-a", "--forget-plates"])
    assert refused.exit_code != 0 and "--plates off" in refused.output
    assert _plates_left("cam-a") == (6, 6)

    done = runner.invoke(cli_app, ["cameras", "set", "cam-a", "--plates", "off", "--forget-plates", "--json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["read_plates"] is False
    # Six plated events on cam-a; the one the open case names keeps its plate (its neighbours do not).
    forgotten = data["plates_forgotten"]
    assert forgotten == {"forgotten": 5, "kept_for_cases": 1}
    with session_scope() as session:
        held = session.get(Event, ids["exact_high"])
        assert held.plate == "黑A·12345" and held.plate_norm == "黑A12345"
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "plates_forget")).one()
        assert entry.object == "camera:cam-a" and entry.detail == forgotten
    assert _plates_left("cam-a") == (1, 1)
    assert _plates_left("cam-b") == (1, 1)

    searched = runner.invoke(cli_app, ["search", "--plate", "34A36837", "--json"])
    assert searched.exit_code == 0 and json.loads(searched.stdout) == []


def test_api_forgets_plates_for_admins_only(gw_home: Path, footage_dir: Path) -> None:
    from api.app import create_app

    ids = _plates(footage_dir)
    _crops_for([ids["latin"]])
    admin, manager = bearer(make_user("admin", "boss")), bearer(make_user("manager", "mgr", ["Palm Court"]))
    with TestClient(create_app()) as client:
        still_on = client.delete("/api/v1/cameras/cam-a/plates", headers=admin)
        assert still_on.status_code == 409 and "--plates off" in still_on.json()["detail"]
        assert client.patch("/api/v1/cameras/cam-a", json={"read_plates": False}, headers=admin).status_code == 200
        assert client.delete("/api/v1/cameras/cam-a/plates", headers=manager).status_code == 403
        gone = client.delete("/api/v1/cameras/cam-a/plates", headers=admin)
        assert gone.status_code == 200 and gone.json() == {"forgotten": 6, "kept_for_cases": 0}
        assert client.delete("/api/v1/cameras/nowhere/plates", headers=admin).status_code == 404
        crop = client.get(f"/api/v1/events/{ids['latin']}/plate.jpg", headers=admin)
        assert crop.status_code == 404
    assert _plates_left("cam-a") == (0, 0) and _plates_left("cam-b") == (1, 0)
