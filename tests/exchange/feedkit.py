"""Helpers for the change feed tests: touching rows, running the jobs, a webhook receiver on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian import clock
from zhixian.exchange import feed, outbox, signing, tasks
from zhixian.integration.models import Person


def touch(db: Session, n: int, *, where: Any = None, offset: int = 0) -> list[Person]:
    """Changes the address of ``n`` persons (a new version each), as a load would."""
    stmt = select(Person).order_by(Person.id)
    if where is not None:
        stmt = stmt.where(where)
    rows = list(db.execute(stmt.offset(offset).limit(n)).scalars())
    for i, person in enumerate(rows):
        person.address = f"测试镇变更路{i + 1}号{time.monotonic_ns() % 1000}"
        person.updated_at = clock.utcnow()
    db.flush()
    return rows


def sweep(node: Any, *, batch: int = outbox.BATCH) -> tuple[int, int]:
    with node.db.transaction() as session:
        now = clock.utcnow()
        logged = feed.sweep(session, now=now)
        queued = outbox.enqueue(session, cipher=node.cipher, now=now, batch=batch)
    return logged, queued


def deliver(node: Any, *, timeout: float = 2.0, base: int = 10, cap: int = 40) -> dict[str, int]:
    return tasks.deliver(node, timeout=timeout, backoff=outbox.Backoff(base, cap))


@contextmanager
def later(seconds: float) -> Iterator[None]:
    """Moves the clock forward for the block (back-off periods pass), then back."""
    before = clock.utcnow()
    clock.pin(before + timedelta(seconds=seconds))
    try:
        yield
    finally:
        clock.pin(before)


@dataclass
class Receiver:
    """A consumer's webhook endpoint: answers with the queued statuses (then ``default``), may stall."""

    secret: str = ""
    default: int = 200
    answers: list[int] = field(default_factory=list)
    stall: float = 0.0
    got: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    bad_signatures: int = 0

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                expected = signing.sign(
                    owner.secret, "POST", self.path, "", headers["x-zx-timestamp"], headers["x-zx-delivery-id"], body
                )
                if not signing.check(headers["x-zx-signature"], expected):
                    owner.bad_signatures += 1
                owner.got.append(json.loads(body))
                owner.headers.append(headers)
                if owner.stall:
                    time.sleep(owner.stall)
                status = owner.answers.pop(0) if owner.answers else owner.default
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/zx"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def numbers(self) -> list[int]:
        return [g["number"] for g in self.got]

    def seqs(self) -> list[int]:
        return [c["seq"] for g in self.got for c in g["changes"]]
