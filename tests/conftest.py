"""Shared fixtures: a seeded demo county per database backend, served by a real uvicorn on loopback.

Every test that uses ``db`` or ``http`` runs inside one outer transaction that is rolled back, so
tests do not see each other's writes. The app's own per-request transactions become savepoints.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from tests import node_templates
from zhixian import clock
from zhixian.app import Node, build_node, create_app
from zhixian.cli import initialise
from zhixian.demo import seed as demo_seed
from zhixian.platform import audit_anchor, auth
from zhixian.settings import Settings

# the test county gets a small case history; `zhixian demo` alone seeds a realistic volume
os.environ.setdefault("ZHIXIAN_CITYMGMT_DEMO_CASES", "300")

# The suite runs at a pinned moment, so no test depends on the day it runs. A Wednesday mid-month by
# default; ZHIXIAN_TEST_NOW moves it (scripts/test-dates runs the suite on a month's first day, a public
# holiday and in 2031, years chinese-calendar does not know).
TEST_NOW = datetime.fromisoformat(os.environ.get("ZHIXIAN_TEST_NOW", "2026-11-18T10:00:00+08:00"))
clock.pin(TEST_NOW)

# Logins are the suite's commonest step (~1,500 per run) and argon2's default parameters cost 60-600 ms
# of both cores each. The suite hashes with the cheapest parameters; production keeps the defaults
# (tests/platform/test_password_hashing.py checks them on PRODUCTION_HASHER).
PRODUCTION_HASHER = auth._hasher
auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PASSWORD = "Demo-pass-2026"
SEED = 20261121
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"


def pg_admin_url() -> str | None:
    return os.environ.get("ZHIXIAN_TEST_PG")


def create_pg_database() -> str:
    admin = pg_admin_url()
    assert admin
    name = f"zx_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    admin = pg_admin_url()
    assert admin
    name = url.rsplit("/", 1)[1]
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


# The test county's remote sources (JSON API, PostgreSQL, MariaDB) run on this machine's loopback, which a
# real node refuses (SSRF): test nodes allow-list it, as a county would allow-list a reviewed network.
# tests/integration/test_ssrf.py clears it to show the refusals.
TEST_OUTBOUND_ALLOW = ["127.0.0.0/8", "::1/128"]


def _seeded(data_dir: Path, url: str, overrides: dict[str, object]) -> Node:
    node = build_node(Settings(data_dir=data_dir, database_url=url, **overrides))  # type: ignore[arg-type]
    initialise(node)
    demo_seed.run(node, seed=SEED, password=PASSWORD)
    audit_anchor.job(node)  # the copies start with every lane anchored, as a node does once the log is quiet
    return node


T = TypeVar("T")


def run_async(coro: Coroutine[object, object, T]) -> T:
    """Runs a coroutine to its end on a thread of its own. The browser tests' sync Playwright keeps an event loop
    running in the main thread for the rest of the session, where ``asyncio.run`` then refuses."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def make_node(data_dir: Path, backend: str, *, seed_demo: bool = True, **overrides: object) -> Node:
    """A node of its own; a seeded one is a copy of the run's template for these settings (tests/node_templates.py)."""
    overrides.setdefault("outbound_allow_networks", TEST_OUTBOUND_ALLOW)
    if seed_demo:
        url = node_templates.clone(
            data_dir,
            backend,
            overrides,
            admin_url=pg_admin_url(),
            build=lambda folder, template_url: _seeded(folder, template_url, overrides).db.engine.dispose(),
        )
        return build_node(Settings(data_dir=data_dir, database_url=url, **overrides))  # type: ignore[arg-type]
    url = create_pg_database() if backend == "postgresql" else ""
    node = build_node(Settings(data_dir=data_dir, database_url=url, **overrides))  # type: ignore[arg-type]
    initialise(node)
    return node


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller, after every worker has finished
        node_templates.remove_all(pg_admin_url())


def dispose_node(node: Node) -> None:
    node.db.engine.dispose()
    if node.db.dialect == "postgresql":
        drop_pg_database(node.settings.effective_database_url)


class LiveServer:
    """uvicorn serving one app in a background thread on a free loopback port."""

    def __init__(self, node: Node) -> None:
        self.app = create_app(node=node)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not pg_admin_url():
        pytest.skip("未配置 PostgreSQL（设置 ZHIXIAN_TEST_PG，scripts/test 会自动设置）")
    return str(request.param)


@pytest.fixture(scope="session")
def node(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    node = make_node(tmp_path_factory.mktemp(f"node-{backend}"), backend)
    yield node
    dispose_node(node)


@pytest.fixture(scope="session")
def server(node: Node) -> Iterator[LiveServer]:
    live = LiveServer(node)
    yield live
    live.stop()


@pytest.fixture
def db(node: Node) -> Iterator[Session]:
    """The test's own session on the shared connection; everything is rolled back afterwards."""
    conn = node.db.engine.connect()
    outer = conn.begin()
    original = node.db.sessionmaker
    node.db.bind_to(conn)
    session = node.db.sessionmaker()
    try:
        yield session
    finally:
        session.close()
        node.db.sessionmaker = original
        outer.rollback()
        conn.close()


class Client(httpx.Client):
    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        resp = self.post("/api/v1/auth/login", json={"username": username, "password": password})
        if resp.status_code == 200:
            self.headers["X-CSRF-Token"] = resp.json()["csrf_token"]
        return resp


@pytest.fixture
def http(server: LiveServer, db: Session) -> Iterator[Client]:
    """An anonymous HTTP client of the live server (within the test's rolled-back transaction)."""
    with Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def as_user(server: LiveServer, db: Session) -> Iterator[object]:
    """as_user("secadmin") -> a signed-in client; several users may be signed in at once."""
    clients: list[Client] = []

    def sign_in(username: str, password: str = PASSWORD) -> Client:
        client = Client(base_url=server.url, timeout=30)
        resp = client.login(username, password)
        assert resp.status_code == 200, resp.text
        clients.append(client)
        return client

    yield sign_in
    for c in clients:
        c.close()
