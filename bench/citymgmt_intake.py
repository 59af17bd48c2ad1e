"""Case intake over HTTP (POST /api/v1/citymgmt/cases with an Idempotency-Key), SQLite and PostgreSQL,
beside the baseline of the cheapest authenticated request (GET /api/v1/me) on the same server.

Run: .venv/bin/python bench/citymgmt_intake.py [--seconds 5] [--backends sqlite,postgresql]
Server and asyncio clients share this process's machine (2 cores): read the figures side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import shapely
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ZHIXIAN_CITYMGMT_DEMO_CASES", "200")
from tests.conftest import PASSWORD, LiveServer, dispose_node, make_node


async def load(url: str, cookies: dict[str, str], csrf: str, make, seconds: float, clients: int) -> tuple[int, int, list[float]]:
    ok = bad = 0
    lat: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal ok, bad
        async with httpx.AsyncClient(base_url=url, cookies=cookies, headers={"X-CSRF-Token": csrf}, timeout=60) as c:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                r = await make(c)
                lat.append(time.perf_counter() - t)
                if r.status_code < 300:
                    ok += 1
                else:
                    bad += 1

    await asyncio.gather(*(worker() for _ in range(clients)))
    return ok, bad, lat


def run(backend: str, seconds: float) -> None:
    node = make_node(Path(tempfile.mkdtemp()), backend)
    server = LiveServer(node)
    try:
        from zhixian.citymgmt.models import Grid

        with node.db.transaction() as s:
            wkts = s.execute(select(Grid.wkt).limit(500)).scalars().all()
        points = [shapely.from_wkt(w).representative_point() for w in wkts]
        login = httpx.post(f"{server.url}/api/v1/auth/login", json={"username": "acceptor", "password": PASSWORD})
        cookies, csrf = dict(login.cookies), login.json()["csrf_token"]
        n = {"i": 0}

        async def intake(c: httpx.AsyncClient) -> httpx.Response:
            n["i"] += 1
            p = points[n["i"] % len(points)]
            body = {"source": "sensor", "class_code": "S0403", "lon": p.x, "lat": p.y, "description": "积水传感器报警", "external_ref": f"dev-{n['i']}"}
            return await c.post("/api/v1/citymgmt/cases", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})

        async def me(c: httpx.AsyncClient) -> httpx.Response:
            return await c.get("/api/v1/me")

        for name, fn in (("GET /api/v1/me (baseline)", me), ("POST /citymgmt/cases (intake)", intake)):
            for clients in (1, 16):
                ok, bad, lat = asyncio.run(load(server.url, cookies, csrf, fn, seconds, clients))
                lat.sort()
                p50 = lat[len(lat) // 2] * 1000 if lat else 0
                p99 = lat[int(len(lat) * 0.99)] * 1000 if lat else 0
                print(f"{backend:10} {name:32} clients={clients:<3} {ok / seconds:8.1f}/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  errors {bad}")
    finally:
        server.stop()
        dispose_node(node)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    if "postgresql" in args.backends and not os.environ.get("ZHIXIAN_TEST_PG"):
        os.environ["ZHIXIAN_TEST_PG"] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    for backend in args.backends.split(","):
        run(backend, args.seconds)
    print("target ≥ 200 intakes/s")


if __name__ == "__main__":
    main()
