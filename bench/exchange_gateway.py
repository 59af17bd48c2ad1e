"""Lookup-by-key and 核验 through the full gateway (signature, nonce, grant, masking, rate count, call
record, disclosures, one audit record) beside GET /api/v1/me and the same lookup on the raw database.

Run: .venv/bin/python bench/exchange_gateway.py [--seconds 3] [--backends sqlite,postgresql] [--workers 1]
The server runs in its own process(es) (uvicorn, 1 worker unless --workers); the load comes from asyncio clients in this
process, so on a 2-core machine client and server share the CPU — read the figures side by side.
Targets (issue 10): gateway ≥ 50% of GET /api/v1/me at 16 and 64 clients, p99 < 50 ms at 64 clients.
"srv CPU ms/req" is the server processes' CPU time per request (from /proc): the server's own cost, which the
load of other work on the machine changes far less than req/s; "client" is the load generator's (loadgen.py).
By Little's law, 64 closed-loop clients see a mean latency of 64 ÷ throughput: p99 < 50 ms at 64 clients
needs more than 1,280 req/s, so compare it with what /me reaches in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.loadgen import Make, closed_loop, wait_healthy
from bench.platform_api import CONCURRENCY, ME_SQL, db_load, free_port, pct
from tests.conftest import PASSWORD, create_pg_database, drop_pg_database

from zhixian import clock
from zhixian.app import build_node
from zhixian.exchange import signing
from zhixian.integration.models import Person
from zhixian.settings import Settings

# What the gateway's lookup reads for one record, written out by hand (the floor it cannot beat).
LOOKUP_SQL = """
SELECT id, id_masked, name, gender, birth_date, address, division_code FROM integration_person
WHERE id_index = :h AND division_code LIKE :p ORDER BY id LIMIT 1
"""


def _load() -> str:
    """The machine's 1/5/15-minute load average: other work may share the cores."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process and its worker processes so far (Linux /proc): the server's
    own cost per request, which the load other work puts on the machine hardly changes (unlike req/s)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def signed_headers(client_id: str, secret: str, path: str, body: bytes) -> dict[str, str]:
    stamp, nonce = str(int(time.time())), secrets.token_hex(12)
    return {
        "X-ZX-Client-Id": client_id,
        "X-ZX-Timestamp": stamp,
        "X-ZX-Nonce": nonce,
        "X-ZX-Signature": signing.sign(secret, "POST", path, "", stamp, nonce, body),
        "Content-Type": "application/json",
    }


def _consumer(base: str, resource: int) -> tuple[str, str, str]:
    """A 民政 application with a 人口 grant approved by 公安, as staff would set it up on the pages."""
    with httpx.Client(base_url=base, timeout=60) as mzj, httpx.Client(base_url=base, timeout=60) as gaj:
        for client, user in ((mzj, "mzj_officer"), (gaj, "gaj_officer")):
            login = client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
            client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        created = mzj.post(
            "/api/v1/exchange/applications",
            json={"name": "压测应用", "rate_per_minute": 100_000, "daily_quota": 100_000_000},
        ).json()
        app = created["application"]
        today = clock.local_today().isoformat()
        req = mzj.post(
            "/api/v1/exchange/requests",
            json={
                "resource_id": resource,
                "items": ["id_number", "name", "gender", "birth_date", "address", "division_code"],
                "operations": ["lookup", "verify"],
                "application_id": app["id"],
                "purpose": "压测",
                "legal_basis": "压测",
                "period_start": today,
                "period_end": f"{int(today[:4]) + 1}{today[4:]}",
            },
        ).json()
        assert "id" in req, req
        grant = gaj.post(f"/api/v1/exchange/requests/{req['id']}/approve", json={})
        assert grant.status_code == 200, grant.text
        token = gaj.post("/api/v1/me/tokens", json={"name": "bench", "days": 1}).json()["token"]
    return app["client_id"], created["client_secret"], token


def run_backend(backend: str, seconds: float, workers: int = 1) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f"zx-bench-exchange-{backend}-"))
    url = create_pg_database() if backend == "postgresql" else f"sqlite:///{tmp / 'zhixian.db'}"
    env = {
        **os.environ,
        "ZHIXIAN_DATA_DIR": str(tmp),
        "ZHIXIAN_DATABASE_URL": url,
        "ZHIXIAN_CITYMGMT_DEMO_CASES": "300",
    }
    cli = [sys.executable, "-m", "zhixian.cli"]
    subprocess.run([*cli, "demo", "--password", PASSWORD], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base)
        engine = create_engine(url)
        with engine.connect() as conn:
            resource = conn.execute(text("SELECT id FROM catalog_resource WHERE base_library = '人口'")).scalar_one()
        engine.dispose()
        client_id, secret, token = _consumer(base, resource)
        node = build_node(Settings(data_dir=tmp, database_url=url))
        with node.db.sessionmaker() as session:
            persons = [
                (node.cipher.decrypt(p.id_enc, index=p.id_index), p.name, p.id_index)
                for p in session.execute(select(Person).where(Person.name != "").limit(300)).scalars()
            ]
        node.db.engine.dispose()
        engine = create_engine(url)
        with engine.connect() as conn:
            me_hash = hashlib.sha256(token.encode()).hexdigest()
            assert conn.execute(text("SELECT count(*) FROM api_token WHERE token_hash = :h"), {"h": me_hash}).scalar()
        engine.dispose()
        rng = random.Random(7)
        lookup_path = f"/api/v1/exchange/gateway/resources/{resource}/lookup"
        verify_path = f"/api/v1/exchange/gateway/resources/{resource}/verify"

        def lookup() -> tuple[str, str, dict[str, str], bytes]:
            idn, _, _ = rng.choice(persons)
            body = json.dumps({"key": idn}).encode()
            return "POST", lookup_path, signed_headers(client_id, secret, lookup_path, body), body

        def verify() -> tuple[str, str, dict[str, str], bytes]:
            idn, name, _ = rng.choice(persons)
            body = json.dumps({"key": idn, "name": name}, ensure_ascii=False).encode()
            return "POST", verify_path, signed_headers(client_id, secret, verify_path, body), body

        def me() -> tuple[str, str, dict[str, str], bytes]:
            return "GET", "/api/v1/me", {"Authorization": f"Bearer {token}"}, b""

        print(
            f"\n== {backend}  ({seconds:.0f} s per cell; server: {workers} uvicorn worker(s); "
            f"{len(persons)} persons; load average {_load()})"
        )
        print(
            f"{'request':<30}{'clients':>8}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'vs /me':>9}   "
            f"{'raw DB q/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'srv CPU ms/req':>16}{'client':>8}"
        )

        def measured(make: Make, clients: int) -> tuple[float, list[float], float, float]:
            before, mine = _cpu_seconds(server.pid), time.process_time()
            run = asyncio.run(closed_loop(base, clients, seconds, make))
            rps, lat, n = run.rps, run.latencies, max(1, len(run.latencies))
            return rps, lat, (_cpu_seconds(server.pid) - before) * 1000 / n, (time.process_time() - mine) * 1000 / n

        me_rps: dict[int, float] = {}
        for clients in CONCURRENCY:
            rps, lat, cpu, client_cpu = measured(me, clients)
            me_rps[clients] = rps
            drps, dlat = db_load(url, ME_SQL, {"h": me_hash}, clients, seconds)
            print(
                f"{'GET /api/v1/me':<30}{clients:>8}{rps:>10.0f}{pct(lat, 0.5):>9.1f}{pct(lat, 0.99):>9.1f}"
                f"{'':>9}   {drps:>11.0f}{pct(dlat, 0.5):>9.2f}{pct(dlat, 0.99):>9.2f}{cpu:>16.2f}{client_cpu:>8.2f}"
            )
        sample = persons[0][2]
        for label, make in (("gateway lookup (signed)", lookup), ("gateway 核验 (signed)", verify)):
            for clients in CONCURRENCY:
                rps, lat, cpu, client_cpu = measured(make, clients)
                drps, dlat = db_load(url, LOOKUP_SQL, {"h": sample, "p": "%"}, clients, seconds)
                ratio = rps / me_rps[clients] if me_rps[clients] else 0
                flag = "" if clients == 1 or (ratio >= 0.5 and (clients != 64 or pct(lat, 0.99) < 50)) else " *"
                print(
                    f"{label:<30}{clients:>8}{rps:>10.0f}{pct(lat, 0.5):>9.1f}{pct(lat, 0.99):>9.1f}"
                    f"{ratio:>8.0%}{flag:1}  {drps:>11.0f}{pct(dlat, 0.5):>9.2f}{pct(dlat, 0.99):>9.2f}{cpu:>16.2f}{client_cpu:>8.2f}"
                )
        print(f"  load average at the end: {_load()}")
        print("  * below target (≥ 50% of /me at 16 and 64 clients; p99 < 50 ms at 64)")
        print(
            "  client: the load generator's own CPU ms per request (bench/loadgen.py), to show it is not the bottleneck"
        )
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        if backend == "postgresql":
            drop_pg_database(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (SQLite: 1 advised)")
    args = parser.parse_args()
    clock.unpin()  # tests.conftest pins the test moment; the demo and server here run on the real clock
    os.environ.setdefault("ZHIXIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    for backend in args.backends.split(","):
        run_backend(backend, args.seconds, args.workers)


if __name__ == "__main__":
    main()
