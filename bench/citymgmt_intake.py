"""Case intake over HTTP (POST /api/v1/citymgmt/cases with an Idempotency-Key), SQLite and PostgreSQL,
beside the baseline of the cheapest authenticated request (GET /api/v1/me) on the same server.

Run: .venv/bin/python bench/citymgmt_intake.py [--seconds 5] [--backends sqlite,postgresql] [--server process]

The server runs as `zhixian serve` in its own process (as deployed; ``--server thread`` puts uvicorn in
this process instead, where the load generator competes with it for the GIL). Clients and server
share one machine (2 cores): read the figures side by side, not as absolutes.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import shapely
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ZHIXIAN_CITYMGMT_DEMO_CASES", "200")
from bench.loadgen import closed_loop
from tests.conftest import PASSWORD, LiveServer, dispose_node, make_node

from zhixian.app import Node

BATCH = 50


Request = tuple[str, str, bytes, dict[str, str]]  # method, path, JSON body, extra headers
Make = Callable[[], Request]


def _with_session(make: Make, cookie: str, csrf: str) -> Callable[[], tuple[str, str, dict[str, str], bytes]]:
    """``make``'s requests as the signed-in acceptor sends them (for loadgen.closed_loop)."""

    def request() -> tuple[str, str, dict[str, str], bytes]:
        method, path, body, extra = make()
        headers = {"Cookie": cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json", **extra}
        return method, path, headers, body

    return request


class ProcessServer:
    """`zhixian serve` on the node's data directory and database, in a child process."""

    def __init__(self, node: Node, workers: int) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        env = {
            **os.environ,
            "ZHIXIAN_DATA_DIR": str(node.settings.data_dir),
            "ZHIXIAN_DATABASE_URL": node.settings.database_url,
            "ZHIXIAN_ENABLED_EXTENSIONS": ",".join(node.settings.enabled_extensions),
        }
        cmd = [str(ROOT / ".venv/bin/zhixian"), "serve", "--port", str(port), "--workers", str(workers)]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/api/v1/auth/login", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("zhixian serve did not start: " + (self.proc.stderr.read() or b"").decode()[-2000:])  # type: ignore[union-attr]
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def run(backend: str, seconds: float, mode: str, workers: int) -> None:
    node = make_node(Path(tempfile.mkdtemp(prefix=f"zx-bench-{backend}-")), backend)
    server: LiveServer | ProcessServer = LiveServer(node) if mode == "thread" else ProcessServer(node, workers)
    try:
        from zhixian.citymgmt.models import Grid

        with node.db.transaction() as s:
            wkts = s.execute(select(Grid.wkt).limit(500)).scalars().all()
        points = [shapely.from_wkt(w).representative_point() for w in wkts]
        login = httpx.post(f"{server.url}/api/v1/auth/login", json={"username": "acceptor", "password": PASSWORD})
        cookie = "; ".join(f"{k}={v}" for k, v in login.cookies.items())
        csrf = login.json()["csrf_token"]
        counter = itertools.count(1)

        def report() -> dict[str, object]:
            """The next sensor alarm, at one of the grids' inner points."""
            i = next(counter)
            p = points[i % len(points)]
            return {
                "source": "sensor",
                "class_code": "S0403",
                "lon": p.x,
                "lat": p.y,
                "description": "积水传感器报警",
                "external_ref": f"dev-{i}",
            }

        def intake() -> Request:
            body = json.dumps(report()).encode()
            return "POST", "/api/v1/citymgmt/cases", body, {"Idempotency-Key": uuid.uuid4().hex}

        def batch() -> Request:
            items = [{**report(), "idempotency_key": uuid.uuid4().hex} for _ in range(BATCH)]
            return "POST", "/api/v1/citymgmt/cases/batch", json.dumps({"items": items}).encode(), {}

        def me() -> Request:
            return "GET", "/api/v1/me", b"", {}

        tests = (
            ("GET /api/v1/me (baseline)", me, 1),
            ("POST /citymgmt/cases (intake)", intake, 1),
            (f"POST /cases/batch ×{BATCH} (cases/s)", batch, BATCH),
        )
        for name, fn, per in tests:
            for clients in (1, 16) if per == 1 else (1, 4):
                run = asyncio.run(
                    closed_loop(server.url, clients, seconds, _with_session(fn, cookie, csrf), strict=False)
                )
                ok, bad, lat = (len(run.latencies) - run.failed) * per, run.failed, sorted(run.latencies)
                p50 = lat[len(lat) // 2] * 1000 if lat else 0
                p99 = lat[int(len(lat) * 0.99)] * 1000 if lat else 0
                print(
                    f"{backend:10} {mode}/{workers}w {name:32} clients={clients:<3} {ok / seconds:8.1f}/s"
                    f"  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  errors {bad}",
                    flush=True,
                )
    finally:
        server.stop()
        dispose_node(node)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--server", choices=("process", "thread"), default="process")
    ap.add_argument("--pg-workers", type=int, default=2, help="uvicorn workers for PostgreSQL (SQLite always 1)")
    args = ap.parse_args()
    if "postgresql" in args.backends and not os.environ.get("ZHIXIAN_TEST_PG"):
        os.environ["ZHIXIAN_TEST_PG"] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    for backend in args.backends.split(","):
        run(backend, args.seconds, args.server, args.pg_workers if backend == "postgresql" else 1)
    print("target ≥ 200 intakes/s")


if __name__ == "__main__":
    main()
