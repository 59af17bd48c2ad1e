"""Authenticated GET /api/v1/me and a department-scoped list, beside the same queries run on the raw database.

Run: .venv/bin/python bench/platform_api.py [--seconds 3] [--backends sqlite,postgresql]
The server runs in its own process (uvicorn, 1 worker); the load comes from asyncio clients in this
process, so on a 2-core machine client and server share the CPU — read the figures side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.loadgen import bearer_token, closed_loop, wait_healthy
from tests.conftest import PASSWORD, create_pg_database, drop_pg_database

CONCURRENCY = (1, 16, 64)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def http_load(url: str, headers: dict[str, str], clients: int, seconds: float) -> tuple[float, list[float]]:
    """GETs of ``url`` from ``clients`` closed-loop clients (see loadgen.py)."""
    parts = urlsplit(url)
    base, path = f"{parts.scheme}://{parts.netloc}", parts.path + (f"?{parts.query}" if parts.query else "")
    run = await closed_loop(base, clients, seconds, lambda: ("GET", path, headers, b""))
    return run.rps, run.latencies


def db_load(
    engine_url: str, sql: str, params: dict[str, object], clients: int, seconds: float
) -> tuple[float, list[float]]:
    engine = create_engine(engine_url, pool_size=clients, max_overflow=0)
    stop = time.perf_counter() + seconds

    def worker() -> list[float]:
        out = []
        with engine.connect() as conn:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                conn.execute(text(sql), params).all()
                out.append(time.perf_counter() - t0)
        return out

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda _: worker(), range(clients)))
    elapsed = time.perf_counter() - start
    engine.dispose()
    lat = [x for r in results for x in r]
    return len(lat) / elapsed, lat


# What the app runs for these two requests, written out by hand (the floor it cannot beat).
ME_SQL = """
SELECT u.id, u.username, d.path, r.permissions FROM api_token t
JOIN user_account u ON u.id = t.user_id JOIN department d ON d.id = u.department_id
LEFT JOIN user_role ur ON ur.user_id = u.id LEFT JOIN role r ON r.code = ur.role_code
WHERE t.token_hash = :h
"""
LIST_SQL = """
SELECT u.*, d.name FROM user_account u JOIN department d ON d.id = u.department_id
WHERE d.path = :p OR d.path LIKE :p || '%' ORDER BY u.id LIMIT 50
"""


def run_backend(backend: str, seconds: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f"zx-bench-{backend}-"))
    url = create_pg_database() if backend == "postgresql" else f"sqlite:///{tmp / 'zhixian.db'}"
    env = {**os.environ, "ZHIXIAN_DATA_DIR": str(tmp), "ZHIXIAN_DATABASE_URL": url}
    cli = [sys.executable, "-m", "zhixian.cli"]
    subprocess.run([*cli, "demo", "--password", PASSWORD], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base)
        token = bearer_token(base, "gaj_officer", PASSWORD)
        token_hash = hashlib.sha256(token.encode()).hexdigest()
        engine = create_engine(url)
        with engine.connect() as conn:
            path = conn.execute(
                text(
                    "SELECT d.path FROM user_account u JOIN department d ON d.id = u.department_id "
                    "WHERE u.username = 'gaj_officer'"
                )
            ).scalar_one()
        engine.dispose()
        headers = {"Authorization": f"Bearer {token}"}
        print(f"\n== {backend}  ({seconds:.0f} s per cell; server: 1 uvicorn worker)")
        print(
            f"{'request':<34}{'clients':>8}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}   {'raw DB q/s':>11}{'p50 ms':>9}{'p99 ms':>9}"
        )
        for label, path_url, sql, params in (
            ("GET /api/v1/me", "/api/v1/me", ME_SQL, {"h": token_hash}),
            ("GET /api/v1/users (dept scope)", "/api/v1/users", LIST_SQL, {"p": path}),
        ):
            for clients in CONCURRENCY:
                rps, lat = asyncio.run(http_load(base + path_url, headers, clients, seconds))
                drps, dlat = db_load(url, sql, params, clients, seconds)
                print(
                    f"{label:<34}{clients:>8}{rps:>10.0f}{pct(lat, 0.5):>9.1f}{pct(lat, 0.99):>9.1f}   "
                    f"{drps:>11.0f}{pct(dlat, 0.5):>9.2f}{pct(dlat, 0.99):>9.2f}"
                )
    finally:
        server.terminate()
        server.wait(10)
        if backend == "postgresql":
            drop_pg_database(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    os.environ.setdefault("ZHIXIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    for backend in args.backends.split(","):
        run_backend(backend, args.seconds)


if __name__ == "__main__":
    main()
