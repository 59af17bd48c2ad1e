"""Schemathesis fuzzes every documented operation of the live server: nothing may answer with a 5xx.

Each operation is called as a demo user holding the permission its route declares (an administrator
alone would get 403 almost everywhere and the fuzzer would never reach the handlers); Open311's
answers must also match the schema the API documents for them.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.orm import Session

from tests.conftest import LiveServer
from tests.platform.route_access import api_routes, api_token, demo_permissions, user_for
from zhixian.app import Node
from zhixian.integration import worker

Callers = dict[tuple[str, str], dict[str, str]]


@pytest.fixture(scope="session")
def fuzz_setup(server: LiveServer, node: Node) -> tuple[object, Callers]:
    """Schema and, per operation, the headers of a user allowed to call it (tokens committed once)."""
    users = demo_permissions(node)
    tokens: dict[str, str] = {}
    callers: Callers = {}
    for route in api_routes(server.app):
        if not route.include_in_schema:
            continue
        username = user_for(route, users)
        headers = {}
        if username is not None:
            if username not in tokens:
                tokens[username] = api_token(server, node, username)
            headers = {"Authorization": f"Bearer {tokens[username]}", "X-Fuzz-User": username}
        for method in route.methods:
            callers[(method, route.path_format)] = headers
    return schemathesis.openapi.from_url(server.url + "/api/openapi.json"), callers


@pytest.fixture
def fuzz_schema(fuzz_setup: tuple[object, Callers], db: Session) -> object:
    return fuzz_setup[0]  # `db` rolls back whatever the fuzzed requests wrote


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_operation_answers_with_a_server_error(case, fuzz_setup, db) -> None:
    headers = fuzz_setup[1][(case.operation.method.upper(), case.operation.path)]
    # each call is undone before the next: a fuzzed role change or token revocation would otherwise lock
    # the demo users out of every later operation
    # (a raw savepoint: SQLAlchemy's own bookkeeping of nested transactions belongs to the app's sessions)
    conn = db.get_bind()
    conn.exec_driver_sql("SAVEPOINT fuzz_call")
    try:
        response = case.call(headers=headers, timeout=30)
    finally:
        worker.wait_idle()  # an import run goes on in the background on the same connection
        conn.exec_driver_sql("ROLLBACK TO SAVEPOINT fuzz_call")
        conn.exec_driver_sql("RELEASE SAVEPOINT fuzz_call")
    checks = [not_a_server_error]
    if case.operation.path.startswith("/open311/"):
        checks.append(response_schema_conformance)
    case.validate_response(response, checks=checks)
