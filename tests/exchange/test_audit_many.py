"""After 10,000 gateway calls — successes and refusals, each its own transaction — there are exactly
10,000 more audit records and `zhixian audit verify` finds the chain intact."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from tests.conftest import dispose_node, make_node

from zhixian import clock
from zhixian.exchange import apps, gateway, signing
from zhixian.exchange.models import Call
from zhixian.exchange.schemas import ApplicationIn
from zhixian.platform.actor import Actor
from zhixian.platform.models import AuditRecord, Department

CALLS = 10_000


def _incoming(client_id: str, secret: str, path: str, body: bytes, method: str) -> gateway.Incoming:
    stamp, nonce = str(int(clock.utcnow().timestamp())), secrets.token_hex(12)
    headers = {
        signing.HEADER_CLIENT: client_id,
        signing.HEADER_TIMESTAMP: stamp,
        signing.HEADER_NONCE: nonce,
        signing.HEADER_SIGNATURE: signing.sign(secret, method, path, "", stamp, nonce, body),
    }
    return gateway.Incoming(method, path, "", headers, body, "10.0.0.8")


def test_audit_chain_verifies_after_ten_thousand_gateway_calls(backend: str, tmp_path: Path) -> None:
    node = make_node(tmp_path / "node", backend, seed_demo=False)
    try:
        with node.db.transaction() as session:
            dept = session.execute(select(Department).where(Department.code == "sjb")).scalar_one()
            actor = Actor(0, "tester", "测试", dept.id, dept.path, dept.name, frozenset({"exchange.request"}))
            app, secret = apps.create_application(
                session,
                actor=actor,
                cipher=node.cipher,
                settings=node.settings,
                data=ApplicationIn(name="审计压测", rate_per_minute=100_000, daily_quota=100_000),
            )
            client_id = app.client_id
            before = session.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
        statuses: dict[int, int] = {}
        body = json.dumps({"key": "11010519491231002X"}).encode()
        for i in range(CALLS):
            kind = i % 4
            if kind == 3:  # a resource that does not exist: refused, still recorded
                incoming = _incoming(client_id, secret, "/api/v1/exchange/gateway/resources/99999/lookup", body, "POST")
                op, rid = "lookup", 99_999
            else:
                incoming = _incoming(
                    client_id, secret if kind else "wrong", "/api/v1/exchange/gateway/resources", b"", "GET"
                )
                op, rid = "list", None
            with node.db.transaction() as session:
                outcome = gateway.handle(
                    session,
                    settings=node.settings,
                    cipher=node.cipher,
                    incoming=incoming,
                    operation=op,
                    resource_id=rid,
                )
            statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
        assert statuses == {200: CALLS // 2, 401: CALLS // 4, 404: CALLS // 4}
        with node.db.transaction() as session:
            after = session.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
            calls = session.execute(select(func.count()).select_from(Call)).scalar_one()
        assert after - before == CALLS
        assert calls == CALLS
        env = {
            **os.environ,
            "ZHIXIAN_DATA_DIR": str(node.settings.data_dir),
            "ZHIXIAN_DATABASE_URL": node.settings.effective_database_url,
        }
        done = subprocess.run(
            [sys.executable, "-m", "zhixian.cli", "audit", "verify"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert f"已校验 {after} 条记录" in done.stdout
    finally:
        dispose_node(node)
