"""Schemathesis fuzzes every documented operation of the live server: nothing may answer with a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import LiveServer


@pytest.fixture
def fuzz_schema(server: LiveServer, as_user):
    client = as_user("secadmin")
    token = client.post("/api/v1/me/tokens", json={"name": "fuzz", "days": 1}).json()["token"]
    schema = schemathesis.openapi.from_url(server.url + "/api/openapi.json")
    schema.fuzz_headers = {"Authorization": f"Bearer {token}"}  # type: ignore[attr-defined]
    return schema


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_operation_answers_with_a_server_error(case, fuzz_schema) -> None:
    response = case.call(headers=fuzz_schema.fuzz_headers, timeout=30)
    case.validate_response(response, checks=[not_a_server_error])
