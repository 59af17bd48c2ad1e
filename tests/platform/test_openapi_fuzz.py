"""Schemathesis fuzzes every documented operation of the live server: nothing may answer with a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.orm import Session

from tests.conftest import Client, LiveServer


@pytest.fixture(scope="session")
def fuzz_setup(server: LiveServer) -> tuple[object, dict[str, str]]:
    """Schema and a security administrator's API token, made once per server (committed, outside rollback)."""
    with Client(base_url=server.url) as client:
        client.login("secadmin")
        token = client.post("/api/v1/me/tokens", json={"name": "fuzz", "days": 1}).json()["token"]
    return schemathesis.openapi.from_url(server.url + "/api/openapi.json"), {"Authorization": f"Bearer {token}"}


@pytest.fixture
def fuzz_schema(fuzz_setup: tuple[object, dict[str, str]], db: Session) -> object:
    return fuzz_setup[0]  # `db` rolls back whatever the fuzzed requests wrote


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_operation_answers_with_a_server_error(case, fuzz_setup) -> None:
    response = case.call(headers=fuzz_setup[1], timeout=30)
    case.validate_response(response, checks=[not_a_server_error])
