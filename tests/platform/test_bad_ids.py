"""Ids and dates that cannot exist are a Chinese 404/422 on every route, never a 500 (等保 input checks).

The route list is walked, not typed in: a new route with an untyped id is caught here.
"""

from __future__ import annotations

import re
import typing
from datetime import date, datetime

import pytest
from fastapi.routing import APIRoute

from tests.conftest import Client, LiveServer
from tests.platform.route_access import api_routes, api_token, demo_permissions, user_for
from tests.services.portal_report_helpers import make_citizen
from zhixian.app import Node
from zhixian.services.portal.sessions import CITIZEN_COOKIE

BAD_IDS = ("9223372036854775808", "1e25", "-1", "0", "abc")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _is_int(annotation: object) -> bool:
    return annotation is int or int in typing.get_args(annotation)


def _id_routes(app) -> list[tuple[APIRoute, str]]:
    out = []
    for route in api_routes(app):
        for param in route.dependant.path_params:
            if _is_int(param.field_info.annotation):
                out.append((route, param.name))
    return out


@pytest.fixture(scope="session")
def callers(server: LiveServer, node: Node) -> dict[str, dict[str, str]]:
    users = demo_permissions(node)
    tokens: dict[str, dict[str, str]] = {}
    for route, _ in _id_routes(server.app):
        name = user_for(route, users)
        if name is not None and name not in tokens:
            tokens[name] = {"Authorization": f"Bearer {api_token(server, node, name)}"}
    return tokens


def test_every_route_with_an_id_refuses_ids_that_cannot_exist(server, node, callers, db) -> None:
    users = demo_permissions(node)
    routes = _id_routes(server.app)
    assert len(routes) > 40  # the walk found the id routes of every feature
    failures = []
    person = make_citizen(db, node.cipher)  # the citizen realm's routes are walked as a signed-in person
    citizen = {"Cookie": f"{CITIZEN_COOKIE}={person.cookie}", "X-CSRF-Token": person.csrf}
    with Client(base_url=server.url, timeout=30) as client:
        for route, name in routes:
            who = user_for(route, users)
            signed = citizen if route.path.startswith("/portal/") else callers[who] if who else {}
            headers = {"Accept": "application/json", **signed}
            for bad in BAD_IDS:
                path = route.path_format
                for param in route.dependant.path_params:
                    path = path.replace("{" + param.name + "}", bad if param.name == name else "x")
                method = sorted(route.methods)[0]
                resp = client.request(method, path, headers=headers, json={})
                body = resp.text
                if resp.status_code not in (404, 422) or not CHINESE.search(body):
                    failures.append(f"{method} {path} as {who}: {resp.status_code} {body[:120]}")
                elif bad in ("9223372036854775808", "1e25", "abc") and name not in body:
                    failures.append(f"{method} {path}: the message does not name {name}: {body[:120]}")
    assert failures == []


def test_typed_path_ids_refuse_before_any_lookup(server) -> None:
    """Every integer path parameter is bounded in the documented schema (1..2^31-1)."""
    unbounded = [
        f"{sorted(r.methods)[0]} {r.path}"
        for r, name in _id_routes(server.app)
        for p in r.dependant.path_params
        if p.name == name and not any(getattr(m, "le", None) for m in p.field_info.metadata)
    ]
    assert unbounded == []


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-14:00",  # after year 9999 in UTC
        "0001-01-01T00:00:00",  # naive: Beijing time, also before year 1 in UTC
        "9999-12-31T23:59:59Z",
        "1899-12-31T23:59:59Z",
    ],
)
@pytest.mark.parametrize("name", ["start_date", "end_date"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_dates_past_the_limits_are_a_clear_422(http, value, name, fmt) -> None:
    resp = http.get(f"/open311/v2/requests.{fmt}", params={name: value})
    assert resp.status_code == 422, resp.text
    assert name in resp.text
    assert "1900-01-01" in resp.text


def test_open311_dates_at_the_limits_are_answered(http) -> None:
    # each edge inside the GeoReport window (at most 90 days between start and end)
    for start, end in (
        ("1900-01-01T00:00:00Z", "1900-03-01T00:00:00Z"),
        ("2199-11-01T00:00:00Z", "2199-12-31T00:00:00Z"),
    ):
        resp = http.get("/open311/v2/requests.json", params={"start_date": start, "end_date": end})
        assert resp.status_code == 200, resp.text
    # the edge is in UTC: midnight in Beijing on 1900-01-01 is still 1899 in UTC
    assert http.get("/open311/v2/requests.json", params={"end_date": "1900-01-02T00:00:00+08:00"}).status_code == 200
    assert http.get("/open311/v2/requests.json", params={"end_date": "1900-01-01T00:00:00+08:00"}).status_code == 422


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/integration/runs", {"source_id": "1.7e25"}),
        ("/api/v1/integration/runs", {"source_id": "9223372036854775808"}),
        ("/api/v1/citymgmt/cases", {"department_id": "9223372036854775808"}),
        ("/api/v1/citymgmt/exchange/cases", {"updated_since": "0001-01-01T00:00:00+14:00"}),
        ("/api/v1/citymgmt/evaluation/grid", {"start": "0001-01-01", "end": "9999-12-31"}),
        ("/api/v1/calendar/deadline", {"start": "9999-12-31T23:00:00Z", "days": "10"}),
        ("/api/v1/audit", {"start": "0001-01-01T00:00:00+14:00"}),
    ],
)
def test_query_ids_and_dates_out_of_range_are_a_chinese_422(as_user, path, params) -> None:
    users = {"/api/v1/audit": "auditor", "/api/v1/calendar": "sysadmin", "/api/v1/integration": "datahub"}
    who = next((u for prefix, u in users.items() if path.startswith(prefix)), "leader")
    resp = as_user(who).get(path, params=params)
    assert resp.status_code == 422, resp.text
    field = next(iter(params))
    assert any(e.get("field") == field and CHINESE.search(e["message"]) for e in resp.json()["errors"]), resp.text


def test_the_bounds_are_those_of_the_shared_types() -> None:
    from pydantic import TypeAdapter, ValidationError

    from zhixian.fields import Day, Id, Moment

    assert TypeAdapter(Day).validate_python(date(1900, 1, 1)) == date(1900, 1, 1)
    assert TypeAdapter(Moment).validate_python(datetime(2199, 12, 31, 12)) == datetime(2199, 12, 31, 12)
    for adapter, value in ((Id, 2**31), (Id, 0), (Day, date(1, 1, 1)), (Moment, "0001-01-01T00:00:00+14:00")):
        with pytest.raises(ValidationError):
            TypeAdapter(adapter).validate_python(value)


def test_a_number_too_large_for_the_driver_is_a_422_not_a_500() -> None:
    """The net behind the types: a route that forgot them still does not answer 500."""
    import sqlite3

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from zhixian.web import errors

    app = FastAPI()
    errors.install(app)

    @app.get("/raw")
    def raw(n: int) -> None:
        sqlite3.connect(":memory:").execute("select ?", (n,))

    resp = TestClient(app, raise_server_exceptions=False).get("/raw", params={"n": str(2**63)})
    assert resp.status_code == 422
    assert resp.json()["detail"] == "输入的数值或日期超出允许范围"
