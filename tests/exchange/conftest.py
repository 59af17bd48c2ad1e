"""A consuming application of 民政局 with a grant on the population base database, approved by 公安局."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from tests.exchange.helpers import Gateway, new_app, officer, request_and_approve, resource_id

from zhixian import clock
from zhixian.exchange import apps, requests
from zhixian.exchange.schemas import ApplicationIn, ApproveIn, RequestIn
from zhixian.platform.actor import Actor
from zhixian.platform.models import Department

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


@pytest.fixture
def township(server, db, node):
    """A township government's application with a grant limited to its own division (数据回流)."""
    dept = db.execute(select(Department).where(Department.code == "xz001")).scalar_one()
    actor = Actor(
        user_id=0,
        username="staff_xz001",
        full_name=dept.name,
        department_id=dept.id,
        department_path=dept.path,
        department_name=dept.name,
        permissions=frozenset({"exchange.view", "exchange.request"}),
    )
    app, secret = apps.create_application(
        db, actor=actor, cipher=node.cipher, settings=node.settings, data=ApplicationIn(name="镇网格系统（测试）")
    )
    today = clock.local_today()
    req = requests.submit(
        db,
        actor=actor,
        settings=node.settings,
        data=RequestIn(
            resource_id=resource_id(db, "人口"),
            items=["id_number", "name", "gender", "division_code"],
            operations=["lookup", "query", "verify"],
            application_id=app.id,
            purpose="网格走访",
            legal_basis="县数据回流方案",
            period_start=today,
            period_end=today + timedelta(days=90),
            row_scope="own_division",
        ),
    )
    grant = requests.approve(
        db, actor=officer(db, "gaj_officer"), settings=node.settings, request_id=req.id, data=ApproveIn()
    )
    db.flush()
    gateway = Gateway(server.url, app.client_id, secret)
    yield gateway, grant, dept.division_code[:9]
    gateway.close()
