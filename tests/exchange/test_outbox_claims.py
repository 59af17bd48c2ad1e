"""Two delivery workers on one database never send the same batch twice, and never a subscription's
batch n+1 before n is acknowledged: FOR UPDATE SKIP LOCKED on PostgreSQL, one writer on SQLite."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import dispose_node, make_node

from zhixian import clock
from zhixian.app import Node
from zhixian.catalog.models import Resource
from zhixian.exchange import outbox
from zhixian.exchange.models import Application, Delivery, Grant, Subscription
from zhixian.platform.models import Department

SUBSCRIPTIONS = 4
BATCHES = 6


@pytest.fixture
def queued(backend: str, tmp_path: Path) -> Iterator[Node]:
    node = make_node(tmp_path / "node", backend, seed_demo=False)
    with node.db.transaction() as session:
        dept = session.execute(select(Department).where(Department.code == "sjb")).scalar_one()
        resource = Resource(
            code="T-0001",
            category="测试",
            name="测试资源",
            kind="部门",
            department_id=dept.id,
            share_type="有条件共享",
            grade="一般",
            status="published",
            key_field="code",
        )
        session.add(resource)
        session.flush()
        app = Application(department_id=dept.id, name="测试应用", client_id="zxtest0001", secret_enc="x")
        session.add(app)
        session.flush()
        today = clock.local_today()
        grant = Grant(
            resource_id=resource.id,
            resource_code=resource.code,
            resource_name=resource.name,
            provider_department_id=dept.id,
            consumer_department_id=dept.id,
            application_id=app.id,
            items=["code"],
            operations=["query"],
            purpose="测试",
            valid_from=today,
            valid_until=today + timedelta(days=30),
        )
        session.add(grant)
        session.flush()
        now = clock.utcnow()
        for i in range(SUBSCRIPTIONS):
            sub = Subscription(
                application_id=app.id,
                grant_id=grant.id,
                resource_id=resource.id,
                consumer_department_id=dept.id,
                provider_department_id=dept.id,
                callback_url=f"http://127.0.0.1:9/{i}",
                next_number=BATCHES + 1,
            )
            session.add(sub)
            session.flush()
            session.add_all(
                Delivery(subscription_id=sub.id, number=n, after_seq=n - 1, upto_seq=n, entries=1, next_attempt_at=now)
                for n in range(1, BATCHES + 1)
            )
    yield node
    dispose_node(node)


def _worker(node: Node, sent: list[tuple[int, int, str]], lock: threading.Lock, errors: list[BaseException]) -> None:
    try:
        idle = 0
        while idle < 20:
            with node.db.transaction() as session:
                claimed = outbox.claim(session, now=clock.utcnow(), lease=timedelta(minutes=5), limit=2)
                numbers = {
                    d.id: (d.subscription_id, d.number)
                    for d in session.execute(select(Delivery).where(Delivery.id.in_([i for i, _ in claimed]))).scalars()
                }
            if not claimed:
                idle += 1
                time.sleep(0.02)
                continue
            idle = 0
            for delivery_id, token in claimed:
                with lock:
                    sent.append((*numbers[delivery_id], threading.current_thread().name))
                time.sleep(0.01)  # the receiver takes its time: the other worker runs meanwhile
                prepared = outbox.Prepared(delivery_id, token, "", b"", {})
                with node.db.transaction() as session:
                    outbox.complete(
                        session,
                        prepared=prepared,
                        answer=outbox.Answer(200),
                        now=clock.utcnow(),
                        backoff=outbox.Backoff(),
                    )
    except BaseException as exc:  # noqa: BLE001 - any failure is recorded and the loop goes on
        errors.append(exc)


def test_two_claimers_never_send_a_batch_twice_nor_out_of_order(queued: Node) -> None:
    sent: list[tuple[int, int, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    workers = [threading.Thread(target=_worker, args=(queued, sent, lock, errors), name=f"w{i}") for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not errors, errors
    pairs = [(s, n) for s, n, _ in sent]
    assert len(pairs) == len(set(pairs)) == SUBSCRIPTIONS * BATCHES  # each exactly once
    for sub in {s for s, _ in pairs}:
        assert [n for s, n in pairs if s == sub] == list(range(1, BATCHES + 1))
    assert len({w for *_, w in sent}) == 2  # both workers did deliver
    with queued.db.transaction() as session:
        statuses = set(session.execute(select(Delivery.status)).scalars())
    assert statuses == {"delivered"}
