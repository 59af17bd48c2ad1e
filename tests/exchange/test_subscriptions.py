"""Subscriptions: changes pushed to a real HTTP receiver on loopback, in order, signed, retried, replayable,
visible to both sides, stopped by the grant — and another department reaches none of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.exchange.feedkit import Receiver, deliver, later, sweep, touch
from tests.exchange.helpers import new_app

from zhixian.exchange.models import Call, Delivery
from zhixian.platform.models import AuditRecord

SUBS = "/api/v1/exchange/subscriptions"


@pytest.fixture
def receiver(mzj) -> Iterator[Receiver]:
    found = Receiver()
    found.start()
    yield found
    found.stop()


@pytest.fixture
def subscribed(mzj, as_user, receiver, node, db) -> dict[str, Any]:
    """民政局's application subscribed to its grant on 人口 (after the demo's rows are in the feed)."""
    officer = as_user("mzj_officer")
    secret = mzj.gateway.secret
    receiver.secret = secret
    sweep(node)
    resp = officer.post(
        SUBS, json={"application_id": mzj.app["id"], "grant_id": mzj.grant["id"], "callback_url": receiver.url}
    )
    assert resp.status_code == 201, resp.text
    return {"officer": officer, "sub": resp.json()}


def _deliveries(client, sub_id: int, status: str = "") -> list[dict[str, Any]]:
    resp = client.get(f"{SUBS}/{sub_id}/deliveries", params={"status": status, "size": 100})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


def test_changes_are_pushed_in_order_signed_and_audited(subscribed, receiver, node, db) -> None:
    touch(db, 5)
    assert sweep(node, batch=2) == (5, 3)  # three batches: 2 + 2 + 1
    audits = db.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
    done = deliver(node)
    assert done["delivered"] == 3
    assert receiver.numbers() == [1, 2, 3]
    seqs = receiver.seqs()
    assert seqs == sorted(seqs)
    assert len(seqs) == 5
    assert receiver.bad_signatures == 0
    first = receiver.headers[0]
    assert first["x-zx-delivery-id"] == str(receiver.got[0]["delivery_id"])
    assert first["x-zx-timestamp"].isdigit()
    assert all("*" in c["record"]["id_number"] for g in receiver.got for c in g["changes"])
    assert db.execute(select(func.count()).select_from(AuditRecord)).scalar_one() == audits + 3
    assert db.execute(select(func.count()).select_from(Call).where(Call.operation == "push")).scalar_one() >= 3
    assert {d["status"] for d in _deliveries(subscribed["officer"], subscribed["sub"]["id"])} == {"delivered"}
    assert deliver(node)["delivered"] == 0  # nothing twice


def test_a_failing_receiver_is_retried_with_growing_back_off(subscribed, receiver, node, db) -> None:
    receiver.answers = [500, 500, 503]
    touch(db, 2)
    sweep(node)
    assert deliver(node) == {"delivered": 0, "failed": 1, "held": 0}
    row = db.execute(select(Delivery).order_by(Delivery.id.desc()).limit(1)).scalar_one()
    db.refresh(row)
    first_wait = row.next_attempt_at
    assert row.attempts == 1
    assert "HTTP 500" in row.last_error
    assert deliver(node)["failed"] == 0  # not due yet: nothing sent
    assert len(receiver.got) == 1
    with later(11):
        assert deliver(node)["failed"] == 1
        db.refresh(row)
        assert row.attempts == 2
        second_gap = (row.next_attempt_at - first_wait).total_seconds()
        with later(21):
            assert deliver(node)["failed"] == 1
            db.refresh(row)
            assert row.attempts == 3
            with later(41):  # capped at 40 s
                assert deliver(node)["delivered"] == 1
    assert second_gap >= 19  # 10 s, then 20 s
    assert receiver.numbers() == [1, 1, 1, 1]
    assert [g["attempt"] for g in receiver.got] == [1, 2, 3, 4]
    assert len({g["delivery_id"] for g in receiver.got}) == 1  # the same delivery id on every retry


def test_a_receiver_that_times_out_is_retried(subscribed, receiver, node, db) -> None:
    receiver.stall = 1.5
    touch(db, 1)
    sweep(node)
    assert deliver(node, timeout=0.5)["failed"] == 1
    row = db.execute(select(Delivery).order_by(Delivery.id.desc()).limit(1)).scalar_one()
    db.refresh(row)
    assert "超时" in row.last_error
    receiver.stall = 0
    with later(11):
        assert deliver(node)["delivered"] == 1


def test_a_receiver_that_never_acknowledges_keeps_everything_in_order(subscribed, receiver, node, db) -> None:
    receiver.default = 500
    officer, sub_id = subscribed["officer"], subscribed["sub"]["id"]
    touch(db, 4)
    sweep(node, batch=2)
    for step in range(1, 5):
        with later(45 * step):
            deliver(node)
    assert set(receiver.numbers()) == {1}  # batch 2 never leaves before batch 1 is acknowledged
    touch(db, 3, offset=10)
    sweep(node, batch=2)
    view = officer.get(f"{SUBS}/{sub_id}").json()
    assert view["backlog"]["pending"] == 4
    assert view["backlog"]["failing"] == 1
    assert "HTTP 500" in view["last_error"]
    receiver.default = 200
    with later(500):
        deliver(node)
    assert [n for n in receiver.numbers() if n > 1] == [2, 3, 4]
    assert receiver.numbers()[: receiver.numbers().index(2)] == [1] * receiver.numbers().index(2)
    assert len({c["seq"] for g in receiver.got for c in g["changes"]}) == 7  # nothing lost
    assert officer.get(f"{SUBS}/{sub_id}").json()["backlog"]["pending"] == 0


def test_replay_from_a_cursor_sends_the_changes_after_it_again(subscribed, receiver, node, db) -> None:
    officer, sub_id = subscribed["officer"], subscribed["sub"]["id"]
    touch(db, 4)
    sweep(node, batch=2)
    deliver(node)
    assert receiver.numbers() == [1, 2]
    cursor = receiver.got[0]["cursor"]
    after_first = receiver.seqs()[2:]
    resp = officer.post(f"{SUBS}/{sub_id}/replay", json={"cursor": cursor})
    assert resp.status_code == 200, resp.text
    sweep(node, batch=2)
    deliver(node)
    assert receiver.numbers() == [1, 2, 3]
    assert receiver.got[2]["changes"]
    assert [c["seq"] for c in receiver.got[2]["changes"]] == after_first
    tampered = officer.post(f"{SUBS}/{sub_id}/replay", json={"cursor": cursor[:-2] + "xx"})
    assert tampered.status_code == 400
    assert "游标无效或已被篡改" in tampered.json()["detail"]


def test_a_revoked_or_suspended_grant_stops_delivery(subscribed, receiver, mzj, as_user, node, db) -> None:
    provider = as_user("gaj_officer")
    grant_url = f"/api/v1/exchange/grants/{mzj.grant['id']}"
    touch(db, 1)
    sweep(node)
    assert provider.post(grant_url + "/suspend", json={"reason": "数据核查期间暂停"}).status_code == 200
    assert deliver(node)["delivered"] == 0
    assert receiver.got == []
    assert provider.post(grant_url + "/resume", json={}).status_code == 200
    assert deliver(node)["delivered"] == 1
    assert provider.post(grant_url + "/revoke", json={"reason": "项目结束"}).status_code == 200
    touch(db, 2, offset=5)
    sweep(node)
    with later(60):
        assert deliver(node)["delivered"] == 0
    assert receiver.numbers() == [1]
    # the consumer cannot subscribe again with the revoked grant
    officer = subscribed["officer"]
    again = officer.post(
        SUBS, json={"application_id": mzj.app["id"], "grant_id": mzj.grant["id"], "callback_url": receiver.url}
    )
    assert again.status_code == 422
    assert "已撤销" in again.json()["detail"]


def test_both_sides_see_the_outbox_and_only_the_consumer_manages_it(subscribed, receiver, as_user, node, db) -> None:
    sub_id = subscribed["sub"]["id"]
    receiver.default = 500
    touch(db, 1)
    sweep(node)
    deliver(node)
    provider = as_user("gaj_officer")
    seen = provider.get(f"{SUBS}/{sub_id}")
    assert seen.status_code == 200
    assert seen.json()["backlog"]["failing"] == 1
    assert _deliveries(provider, sub_id)[0]["last_error"].startswith("接收方应答 HTTP 500")
    assert provider.post(f"{SUBS}/{sub_id}/pause").status_code == 403
    page = provider.get(f"/exchange/subscriptions/{sub_id}")
    assert page.status_code == 200
    assert "接收方应答 HTTP 500" in page.text
    assert subscribed["officer"].post(f"{SUBS}/{sub_id}/pause").json()["status"] == "paused"
    listing = subscribed["officer"].get("/exchange/subscriptions?box=mine")
    assert listing.status_code == 200
    assert "已暂停" in listing.text


def test_another_department_cannot_subscribe_or_see_deliveries(subscribed, mzj, as_user, receiver, db) -> None:
    sub_id = subscribed["sub"]["id"]
    outsider = as_user("zjj_officer")
    own = new_app(outsider, "住建系统（测试）")["application"]
    for body in (
        {"application_id": mzj.app["id"], "grant_id": mzj.grant["id"], "callback_url": receiver.url},
        {"application_id": own["id"], "grant_id": mzj.grant["id"], "callback_url": receiver.url},
    ):
        resp = outsider.post(SUBS, json=body)
        assert resp.status_code == 404, resp.text
    assert outsider.get(f"{SUBS}/{sub_id}").status_code == 404
    assert outsider.get(f"{SUBS}/{sub_id}/deliveries").status_code == 404
    assert outsider.post(f"{SUBS}/{sub_id}/replay", json={"cursor": "x.y"}).status_code == 404
    assert outsider.get(f"/exchange/subscriptions/{sub_id}").status_code == 404
    assert all(s["id"] != sub_id for s in outsider.get(SUBS).json())


def test_a_callback_to_a_refused_address_is_a_chinese_422(mzj, as_user, node, db) -> None:
    officer = as_user("mzj_officer")
    body = {"application_id": mzj.app["id"], "grant_id": mzj.grant["id"], "callback_url": "http://169.254.169.254/x"}
    resp = officer.post(SUBS, json=body)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "callback_url"
    assert "链路本地" in resp.json()["detail"]
    new = officer.get("/exchange/subscriptions/new")
    assert new.status_code == 200
    assert f'value="{mzj.grant["id"]}"' in new.text  # its live grants with 条件查询 are offered
    resp = officer.post(SUBS, json={**body, "callback_url": "ftp://x"})
    assert resp.status_code == 422
    form = officer.post(
        "/exchange/subscriptions/new",
        data={
            "csrf_token": officer.headers["X-CSRF-Token"],
            "application_id": str(mzj.app["id"]),
            "grant_id": str(mzj.grant["id"]),
            "callback_url": "http://169.254.169.254/x",
            "start": "now",
        },
    )
    assert form.status_code == 422
    assert "链路本地" in form.text
    assert 'aria-invalid="true"' in form.text
