"""The search's query string, read in one validation: FastAPI's 422 shape and locations, repeated filters, the
OpenAPI parameters, and the sign-in checked before the filters."""

from __future__ import annotations

from conftest import bearer, make_user


def test_bad_filters_are_fastapi_422s_with_query_locations(client) -> None:  # type: ignore[no-untyped-def]
    officer = bearer(make_user("officer"))
    response = client.get("/api/v1/events", params={"limit": "0", "plate": "x" * 40, "sort": "colour"},
                          headers=officer)
    assert response.status_code == 422, response.text
    assert sorted(tuple(e["loc"]) for e in response.json()["detail"]) == [
        ("query", "limit"), ("query", "plate"), ("query", "sort")]
    # Unknown parameters are ignored, as FastAPI's own query handling ignored them.
    assert client.get("/api/v1/events", params={"nonsense": "1"}, headers=officer).status_code == 200


def test_repeated_filters_are_lists_and_unsigned_requests_are_401(client) -> None:  # type: ignore[no-untyped-def]
    officer = bearer(make_user("officer"))
    from footage.db import session_scope
    from footage.models import Site

    with session_scope() as session:
        session.add(Site(name="Palm"))
    # Read as one value (the last), site=Nowhere&site=Palm would be a valid search of Palm.
    response = client.get("/api/v1/events", params=[("site", "Nowhere"), ("site", "Palm")], headers=officer)
    assert response.status_code == 422 and "Nowhere" in response.text
    assert client.get("/api/v1/events", params={"limit": "0"}).status_code == 401


def test_openapi_lists_every_filter(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/v1/events", "/api/v1/events/summary"):
        parameters = client.get("/openapi.json").json()["paths"][path]["get"]["parameters"]
        names = {p["name"] for p in parameters}
        assert {"site", "gate", "camera", "from", "to", "time_of_day", "label", "min_dwell", "stationary",
                "limit", "cursor", "plate"} <= names, names
        site = next(p for p in parameters if p["name"] == "site")
        assert site["in"] == "query" and site["schema"]["type"] == "array" and site["description"]
