"""Cases over HTTP: who may open, see, change and export them, and what the exported package holds."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import bearer, make_user
from fastapi.testclient import TestClient
from support_auth import make_scene, short_clip

from api.audit import list_entries
from footage.db import session_scope
from footage.evidence import verify_package


@pytest.fixture
def any_db_client(gw_home_any_db: Path) -> Iterator[TestClient]:
    """The app on SQLite and on the real PostgreSQL server."""
    from api.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


def test_officer_builds_and_exports_a_case(any_db_client: TestClient, footage_dir: Path, tmp_path: Path) -> None:
    client = any_db_client
    scene = make_scene(short_clip(footage_dir / "parking_aisle_car_detection.mp4", tmp_path / "seg.mp4", 6))
    officer = bearer(make_user("officer", "olive"))
    created = client.post("/api/v1/cases", headers=officer, json={
        "name": "Gate arm 7 Nov", "reference": "PR-2024-117", "events": [scene.event_ids[0]],
        # No offset: read in the camera's zone (Asia/Singapore).
        "ranges": [{"camera": scene.camera, "from": "2024-11-07T05:00:03", "to": "2024-11-07T05:00:05"}],
    })
    assert created.status_code == 201, created.text
    case = created.json()
    assert case["created_by"] == "olive"
    assert [(i["event_id"], i["start"]) for i in case["items"]] == [
        (scene.event_ids[0], "2024-11-07T05:00:01+08:00"), (None, "2024-11-07T05:00:03+08:00")]

    added = client.post(f"/api/v1/cases/{case['id']}/items", headers=officer,
                        json={"events": [scene.event_ids[1], scene.event_ids[0]]})
    assert len(added.json()["items"]) == 3  # the event already held is not added twice
    item = added.json()["items"][2]["id"]
    assert client.delete(f"/api/v1/cases/{case['id']}/items/{item}", headers=officer).status_code == 204
    assert len(client.get(f"/api/v1/cases/{case['id']}", headers=officer).json()["items"]) == 2
    assert [c["name"] for c in client.get("/api/v1/cases", headers=officer).json()] == ["Gate arm 7 Nov"]

    exported = client.post(f"/api/v1/cases/{case['id']}/export", headers=officer, json={"pre": 1, "post": 1})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "application/zip"
    assert 'filename="Gate_arm_7_Nov.zip"' in exported.headers["content-disposition"]
    package = tmp_path / "case.zip"
    package.write_bytes(exported.content)
    key = client.get("/api/v1/signing-key").json()
    result = verify_package(package, public_key_pem=key["public_key_pem"])
    assert result.ok and result.key_trusted and len(result.checked) == 3
    manifest = result.manifest or {}
    assert manifest["exported_by"] == "olive" and manifest["case"]["reference"] == "PR-2024-117"
    assert [(c["site"], c["gate"], c["timezone"]) for c in manifest["clips"]] == [
        ("Palm Grove", "north gate", "Asia/Singapore")] * 2
    assert manifest["clips"][0]["sources"][0]["name"] == "seg.mp4"
    with zipfile.ZipFile(io.BytesIO(exported.content)) as zipped:
        assert zipped.read(f"thumbnails/event_{scene.event_ids[0]}.jpg")[:2] == b"\xff\xd8"

    assert client.post("/api/v1/cases", headers=officer, json={"name": "Gate arm 7 Nov"}).status_code == 422
    reversed_range = {"camera": scene.camera, "from": "2024-11-07T06:00", "to": "2024-11-07T05:00"}
    bad_range = {"name": "x", "ranges": [reversed_range]}
    assert client.post("/api/v1/cases", headers=officer, json=bad_range).status_code == 422
    assert client.post("/api/v1/cases", headers=officer, json={"name": "y", "ranges": [
        {"camera": scene.camera, "from": "yesterday", "to": "today"}]}).status_code == 422

    with session_scope() as session:
        actions = [e.action for e in list_entries(session, user="olive").entries]
    assert actions == ["export", "case_remove_item", "case_add_items", "case_create"]


def test_site_scope_and_roles_on_cases(client: TestClient, footage_dir: Path, tmp_path: Path) -> None:
    clip = short_clip(footage_dir / "parking_aisle_car_detection.mp4", tmp_path / "seg.mp4", 3)
    palm = make_scene(clip)
    cedar_clip = short_clip(footage_dir / "street_sparse_traffic.mp4", tmp_path / "seg2.mp4", 3)
    cedar = make_scene(cedar_clip, site="Cedar Court", camera="cedar-east", timezone="Europe/London")
    palm_officer = bearer(make_user("officer", "pat", ["Palm Grove"]))
    everywhere = bearer(make_user("officer", "olive"))
    manager = bearer(make_user("manager", "mona", ["Palm Grove"]))

    cedar_case = client.post("/api/v1/cases", headers=everywhere,
                             json={"name": "Cedar", "events": [cedar.event_ids[0]]}).json()
    palm_case = client.post("/api/v1/cases", headers=palm_officer,
                            json={"name": "Palm", "events": [palm.event_ids[0]]}).json()

    # Another site's event, camera and case look exactly like ones that do not exist.
    for body in ({"name": "a", "events": [cedar.event_ids[0]]}, {"name": "b", "events": [999_999]},
                 {"name": "c", "ranges": [{"camera": "cedar-east", "from": "2024-11-07T05:00:00Z",
                                           "to": "2024-11-07T05:01:00Z"}]},
                 {"name": "d", "ranges": [{"camera": "../../etc/passwd", "from": "2024-11-07T05:00:00Z",
                                           "to": "2024-11-07T05:01:00Z"}]}):
        refused = client.post("/api/v1/cases", headers=palm_officer, json=body)
        assert (refused.status_code, refused.json()["detail"]) == (403, "your role or site does not allow this")
    for path in (f"/api/v1/cases/{cedar_case['id']}", "/api/v1/cases/424242"):
        assert client.get(path, headers=palm_officer).status_code == 403
    assert client.post(f"/api/v1/cases/{cedar_case['id']}/export", headers=palm_officer).status_code == 403
    assert [c["name"] for c in client.get("/api/v1/cases", headers=palm_officer).json()] == ["Palm"]
    assert len(client.get("/api/v1/cases", headers=everywhere).json()) == 2
    assert client.get(f"/api/v1/cases/{palm_case['id']}", headers=everywhere).status_code == 200

    assert client.get("/api/v1/cases", headers=manager).status_code == 403
    assert client.post(f"/api/v1/cases/{palm_case['id']}/export", headers=manager).status_code == 403
    assert client.get("/api/v1/cases").status_code == 401


def test_an_empty_case_belongs_to_its_scope_and_names_clash_only_within_it(
        client: TestClient, footage_dir: Path, tmp_path: Path) -> None:
    palm = make_scene(short_clip(footage_dir / "parking_aisle_car_detection.mp4", tmp_path / "a.mp4", 3))
    cedar = make_scene(short_clip(footage_dir / "street_sparse_traffic.mp4", tmp_path / "b.mp4", 3),
                       site="Cedar Court", camera="cedar-east", timezone="Europe/London")
    palm_officer = bearer(make_user("officer", "pat", ["Palm Grove"]))
    cedar_officer = bearer(make_user("officer", "cy", ["Cedar Court"]))
    admin = bearer(make_user("admin", "root"))

    empty = client.post("/api/v1/cases", headers=palm_officer, json={"name": "Night watch"})
    assert empty.status_code == 201 and empty.json()["scope"] == ["Palm Grove"]
    case_id = empty.json()["id"]

    # Cedar's officer cannot see, fill or export Palm's empty case, and it is not in their list.
    assert client.get(f"/api/v1/cases/{case_id}", headers=cedar_officer).status_code == 403
    assert client.get("/api/v1/cases", headers=cedar_officer).json() == []
    filled = client.post(f"/api/v1/cases/{case_id}/items", headers=cedar_officer,
                         json={"events": [cedar.event_ids[0]]})
    assert filled.status_code == 403
    assert client.post(f"/api/v1/cases/{case_id}/export", headers=cedar_officer).status_code == 403
    # The same name in Cedar's scope is simply another case: nothing says Palm has one.
    theirs = client.post("/api/v1/cases", headers=cedar_officer, json={"name": "Night watch"})
    assert theirs.status_code == 201 and theirs.json()["id"] != case_id
    clash = client.post("/api/v1/cases", headers=cedar_officer, json={"name": "Night watch"})
    assert clash.status_code == 422 and "exists already" in clash.json()["detail"]

    # The owner fills it from their own site only; the admin sees both and cannot mix sites into it either.
    assert client.post(f"/api/v1/cases/{case_id}/items", headers=palm_officer,
                       json={"events": [palm.event_ids[0]]}).status_code == 200
    assert client.post(f"/api/v1/cases/{case_id}/items", headers=admin,
                       json={"events": [cedar.event_ids[0]]}).status_code == 422
    assert len(client.get("/api/v1/cases", headers=admin).json()) == 2
    assert [c["name"] for c in client.get("/api/v1/cases", headers=palm_officer).json()] == ["Night watch"]
    with session_scope() as session:
        from api.models import Case, User

        stored = session.get(Case, case_id)
        assert stored is not None and stored.owner_id == session.query(User).filter_by(name="pat").one().id
