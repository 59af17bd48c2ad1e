"""A consuming application of 民政局 with a grant on the population base database, approved by 公安局."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tests.exchange.helpers import Gateway, new_app, request_and_approve, resource_id

PERSON_ITEMS = ["id_number", "name", "gender", "birth_date", "address", "division_code"]


@dataclass
class Consumer:
    gateway: Gateway
    app: dict[str, Any]
    grant: dict[str, Any]
    resource: int


@pytest.fixture
def mzj(server, as_user, db) -> Iterator[Consumer]:
    officer = as_user("mzj_officer")
    created = new_app(officer, "救助核对（测试）")
    app = created["application"]
    resource = resource_id(db, "人口")
    grant = request_and_approve(
        officer,
        as_user("gaj_officer"),
        resource=resource,
        items=PERSON_ITEMS,
        operations=["lookup", "query", "verify"],
        application_id=app["id"],
    )
    gateway = Gateway(server.url, app["client_id"], created["client_secret"])
    yield Consumer(gateway, app, grant, resource)
    gateway.close()
