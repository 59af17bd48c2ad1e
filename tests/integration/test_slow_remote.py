"""A slow remote system keeps only the request that reads it waiting (standard item 21): previews of
HTTP and SQL sources read outside the SQLite gate, so ``/api/v1/me`` answers meanwhile."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.integration.helpers import person_resource
from tests.integration.test_remote_sources import PG

DELAY = 3.0


@pytest.fixture
def slow_api() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(DELAY)
            body = json.dumps({"data": [{"姓名": "张三"}]}, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/people"
    httpd.shutdown()
    httpd.server_close()


def _meanwhile(slow: Callable[[], Any], other: Any) -> tuple[Any, float]:
    """Starts ``slow`` in a thread; returns its result and how long ``/api/v1/me`` took meanwhile."""
    out: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: out.setdefault("resp", slow()))
    thread.start()
    time.sleep(0.5)  # the slow request is waiting on the remote system now
    started = time.monotonic()
    me = other.get("/api/v1/me", timeout=DELAY + 5)
    elapsed = time.monotonic() - started
    thread.join(DELAY + 20)
    assert me.status_code == 200
    return out["resp"], elapsed


@pytest.mark.parametrize("where", ["api", "page"])
def test_a_slow_http_preview_does_not_stop_the_county(as_user: Any, db: Any, slow_api: str, where: str) -> None:
    client = as_user("gaj_officer")
    created = client.post(
        "/api/v1/integration/sources",
        json={"name": "慢接口", "kind": "http", "resource_id": person_resource(db).id, "url": slow_api},
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    path = f"/api/v1/integration/sources/{sid}/preview" if where == "api" else f"/integration/sources/{sid}"
    resp, elapsed = _meanwhile(lambda: client.get(path, timeout=DELAY + 10), as_user("leader"))
    assert resp.status_code == 200, resp.text
    assert "张三" in resp.text  # the preview itself still works, and was audited after the wait
    assert elapsed < 1.5, f"/api/v1/me 等待了 {elapsed:.1f} 秒"


def test_a_slow_sql_preview_does_not_stop_the_county(as_user: Any, db: Any) -> None:
    client = as_user("gaj_officer")
    created = client.post(
        "/api/v1/integration/sources",
        json={
            "name": "慢查询",
            "kind": "sql",
            "resource_id": person_resource(db).id,
            "url": PG,
            "query": f"SELECT '张三' AS xm FROM pg_sleep({DELAY})",
        },
    )
    assert created.status_code == 201, created.text
    path = f"/api/v1/integration/sources/{created.json()['id']}/preview"
    resp, elapsed = _meanwhile(lambda: client.get(path, timeout=DELAY + 10), as_user("leader"))
    assert resp.status_code == 200, resp.text
    assert elapsed < 1.5, f"/api/v1/me 等待了 {elapsed:.1f} 秒"
