"""Runs started from the API, the pages or the scheduler execute here, outside any request.

A request only commits the Run as queued and returns; on SQLite every request transaction passes
one FIFO gate, so a load of minutes inside a request would stall the whole county. This worker
(one thread, started lazily) claims a queued run atomically (queued → running, so a second
process or a repeated submission never executes it twice) and runs it batch by batch on its own
transactions, exactly as the CLI does. Queued runs left behind by a restart are picked up by the
scheduler job (``tasks.scheduler``).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from sqlalchemy import select, update

from zhixian.db import Database
from zhixian.integration import pipeline
from zhixian.integration.models import Run
from zhixian.platform import outbound

log = logging.getLogger("zhixian.integration")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_inflight: dict[int, Future[None]] = {}


def claim(db: Database, run_id: int) -> bool:
    """queued → running in one statement: whoever flips it owns the run."""
    with db.transaction() as session:
        result = session.execute(
            update(Run).where(Run.id == run_id, Run.status == "queued").values(status="running", error="")
        )
        return bool(getattr(result, "rowcount", 0) == 1)


def queued_runs(db: Database) -> list[int]:
    with db.transaction() as session:
        return list(
            session.execute(select(Run.id).where(Run.status == "queued", Run.kind == "load").order_by(Run.id)).scalars()
        )


def in_flight(run_id: int) -> bool:
    with _lock:
        return run_id in _inflight


def _execute(node: Any, run_id: int) -> None:
    try:
        if not claim(node.db, run_id):
            return
        pipeline.execute(
            node.db,
            node.cipher,
            run_id,
            county_code=node.settings.county_code,
            policy=outbound.Policy.of(node.settings),
            data_dir=node.settings.data_dir,
        )
    except Exception:  # the pipeline has recorded the failure on the run; keep the worker alive
        log.exception("integration run %s failed", run_id)


def _forget(run_id: int) -> None:
    with _lock:
        _inflight.pop(run_id, None)


def submit(node: Any, run_id: int) -> bool:
    """Queues a run for the worker; False if this process already has it queued or running."""
    global _executor  # noqa: PLW0603 - one lazily started worker per process
    with _lock:
        if run_id in _inflight:
            return False
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zhixian-integration")
        future = _executor.submit(_execute, node, run_id)
        _inflight[run_id] = future
    future.add_done_callback(lambda _f: _forget(run_id))
    return True


def wait_idle(timeout: float = 60.0) -> bool:
    """Blocks until this process has no run queued or running (for tests and orderly shutdown)."""
    deadline = time.monotonic() + timeout
    while True:
        with _lock:
            futures = list(_inflight.values())
        if not futures:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        wait(futures, timeout=remaining)
        time.sleep(0.01)  # let done-callbacks remove the finished runs
