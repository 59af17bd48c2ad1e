"""Two app processes on one database share an application's rate limit and its nonces.

A county grows from one process to several (DESIGN §7): what the workers must agree on lives in the
database. Both servers here are real uvicorn processes started on the same data directory.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import dispose_node, make_node
from tests.exchange.helpers import GATEWAY, Gateway

from zhixian import clock
from zhixian.exchange import apps
from zhixian.exchange.schemas import ApplicationIn
from zhixian.platform.actor import Actor
from zhixian.platform.models import Department

LIMIT = 10
_SERVE = (
    "import sys; from datetime import datetime; from zhixian import clock; "
    "clock.pin(datetime.fromisoformat(sys.argv[1])); import uvicorn; "
    "uvicorn.run('zhixian.app:serve_app', factory=True, host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')"
)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def two_servers(backend: str, tmp_path: Path) -> Iterator[tuple[list[str], str, str]]:
    node = make_node(tmp_path / "node", backend, seed_demo=False)
    with node.db.transaction() as session:
        dept = session.query(Department).filter(Department.code == "sjb").one()
        actor = Actor(
            user_id=0,
            username="tester",
            full_name="测试",
            department_id=dept.id,
            department_path=dept.path,
            department_name=dept.name,
            permissions=frozenset({"exchange.view", "exchange.request"}),
        )
        app, secret = apps.create_application(
            session,
            actor=actor,
            cipher=node.cipher,
            settings=node.settings,
            data=ApplicationIn(name="双进程限流", rate_per_minute=LIMIT),
        )
        client_id = app.client_id
    env = {
        **os.environ,
        "ZHIXIAN_DATA_DIR": str(node.settings.data_dir),
        "ZHIXIAN_DATABASE_URL": node.settings.effective_database_url,
        "ZHIXIAN_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",
    }
    ports = [_port(), _port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SERVE, clock.utcnow().isoformat(), str(p)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for p in ports
    ]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for url, proc in zip(urls, procs, strict=True):
            for _ in range(300):
                try:
                    httpx.get(url + "/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                    time.sleep(0.1)
        yield urls, client_id, secret
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(15)
        dispose_node(node)


def test_two_processes_share_one_rate_limit_and_one_set_of_nonces(two_servers) -> None:
    urls, client_id, secret = two_servers
    gateways = [Gateway(url, client_id, secret) for url in urls]
    try:
        # start at the top of a minute, so the whole burst falls in one window
        left = 60 - clock.utcnow().timestamp() % 60
        if left < 20:
            time.sleep(left + 0.5)
        answers = [gateways[i % 2].signed("GET", f"{GATEWAY}/resources") for i in range(3 * LIMIT)]
        served = [(i % 2, a.status_code) for i, a in enumerate(answers)]
        ok = [s for s in served if s[1] == 200]
        assert len(ok) == LIMIT, served
        assert {process for process, _ in ok} == {0, 1}  # both processes served, and counted together
        assert [code for _, code in served].count(429) == 2 * LIMIT
        limited = next(a for a in answers if a.status_code == 429)
        assert f"每分钟最多 {LIMIT} 次" in limited.json()["detail"]
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        # a nonce used on one process is a replay on the other
        nonce = "replay-across-workers-1"
        first = gateways[0].signed("GET", f"{GATEWAY}/resources", nonce=nonce)
        second = gateways[1].signed("GET", f"{GATEWAY}/resources", nonce=nonce)
        assert first.status_code in (200, 429)
        assert second.status_code == 401
        assert "重放" in second.json()["detail"]
    finally:
        for g in gateways:
            g.close()
