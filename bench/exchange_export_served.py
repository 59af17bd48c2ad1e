"""GET /api/v1/me answered by `zhixian serve` while its own scheduler writes a 1M-row bulk export, beside /me
on the same server with nothing else running, in the same run.

Run: .venv/bin/python bench/exchange_export_served.py [--rows 1000000] [--backends sqlite,postgresql]
The one-server default runs jobs inside the web process; an export's masking is seconds of Python, so it
is written in a child process (``subsystems.Apart``). This shows what the people using the pages meanwhile
see: /me latency in 2-second windows while the job is running, against the quiet baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.exchange_export import seed, submit
from bench.loadgen import Run, bearer_token, closed_loop, wait_healthy
from bench.platform_api import free_port, pct
from tests.conftest import PASSWORD, dispose_node, make_node

from zhixian import clock
from zhixian.app import Node
from zhixian.exchange.models import ExportJob


def _status(node: Node, job_id: int) -> str:
    with node.db.transaction() as s:
        job = s.get(ExportJob, job_id)
        return job.status if job else "?"


def _line(label: str, runs: list[Run]) -> str:
    lat = [x for r in runs for x in r.latencies]
    seconds = sum(r.seconds for r in runs)
    if not lat:
        return f"{label:<44}{'—':>10}"
    return f"{label:<44}{len(lat) / seconds:>10.0f}{pct(lat, 0.5):>9.1f}{pct(lat, 0.99):>9.1f}{max(lat) * 1000:>9.1f}"


def run_backend(backend: str, rows: int, clients: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f"zx-bench-served-{backend}-"))
    print(f"\n== {backend}: preparing the demo county and {rows:,} persons …", flush=True)
    node = make_node(tmp / "node", backend)
    env = {
        **os.environ,
        "ZHIXIAN_DATA_DIR": str(node.settings.data_dir),
        "ZHIXIAN_DATABASE_URL": node.settings.database_url,
    }
    server: subprocess.Popen[bytes] | None = None
    try:
        seed(node, rows)
        port = free_port()
        cli = [sys.executable, "-m", "zhixian.cli"]
        server = subprocess.Popen(
            [*cli, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base)
        token = bearer_token(base, "gaj_officer", PASSWORD)
        headers = {"Authorization": f"Bearer {token}"}

        def me() -> tuple[str, str, dict[str, str], bytes]:
            return "GET", "/api/v1/me", headers, b""

        quiet = [asyncio.run(closed_loop(base, clients, 2.0, me)) for _ in range(3)]
        job_id = submit(node)
        started, during = time.perf_counter(), []
        while (status := _status(node, job_id)) not in ("done", "failed") and time.perf_counter() - started < 300:
            window = asyncio.run(closed_loop(base, clients, 2.0, me))
            if status == "running" and _status(node, job_id) == "running":  # the whole window inside the job
                during.append(window)
        took = time.perf_counter() - started
        print(f"export job {status} {took:.1f} s after it was submitted (the scheduler looks every 10 s)")
        print(f"{clients} clients on GET /api/v1/me:")
        print(f"{'':<44}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        print(_line("quiet (baseline, 3 × 2 s)", quiet))
        print(_line(f"while the export is written ({len(during)} × 2 s)", during))
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        dispose_node(node)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    clock.unpin()  # tests.conftest pins the test moment; the server and the job run on the real clock
    os.environ.setdefault("ZHIXIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    for backend in args.backends.split(","):
        run_backend(backend, args.rows, args.clients)


if __name__ == "__main__":
    main()
