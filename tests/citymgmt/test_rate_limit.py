"""The Open311 hourly cap is a service rule raising a typed 429, which the web mapping turns into Retry-After."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from zhixian import clock
from zhixian.app import Node
from zhixian.citymgmt import service
from zhixian.citymgmt.open311 import service as public
from zhixian.citymgmt.open311.api import CITIZEN
from zhixian.citymgmt.schemas import CaseIntake
from zhixian.errors import TooManyRequests
from zhixian.web import errors as web_errors


def _report(db: Session, node: Node, spot: tuple[float, float, str], ip: str) -> None:
    options = service.intake_options(node.registry, settings=node.settings, cipher=node.cipher)
    data = CaseIntake(source="open311", class_code="S0502", lon=spot[0], lat=spot[1], description="占道")
    case = service.intake(db, actor=CITIZEN, data=data, options=options)
    case.reporter_ip = ip
    db.flush()


def test_cap_allows_up_to_the_limit_then_says_when_to_retry(db: Session, node: Node, spot) -> None:
    ip = "198.51.100.23"
    public.check_submission_rate(db, ip, per_hour=2)  # nothing yet
    _report(db, node, spot, ip)
    public.check_submission_rate(db, ip, per_hour=2)
    _report(db, node, spot, ip)
    with pytest.raises(TooManyRequests) as caught:
        public.check_submission_rate(db, ip, per_hour=2)
    assert caught.value.status == 429
    assert 3500 <= caught.value.retry_after <= 3600
    assert f"请 {caught.value.retry_after} 秒后再试" in caught.value.detail
    public.check_submission_rate(db, "198.51.100.24", per_hour=2)  # another address is not capped
    now = clock.utcnow()
    clock.pin(now + timedelta(hours=1, seconds=1))
    try:
        public.check_submission_rate(db, ip, per_hour=2)  # an hour later the reports no longer count
    finally:
        clock.pin(now)


def test_web_mapping_answers_429_problem_json_with_retry_after() -> None:
    app = FastAPI()
    web_errors.install(app)

    @app.get("/api/v1/limited")
    def limited() -> None:
        raise TooManyRequests("请求过于频繁，请 42 秒后再试", 42)

    resp = TestClient(app).get("/api/v1/limited")
    assert resp.status_code == 429
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["Retry-After"] == "42"
    assert resp.json() == {
        "type": "about:blank",
        "title": "请求过于频繁",
        "status": 429,
        "detail": "请求过于频繁，请 42 秒后再试",
    }
