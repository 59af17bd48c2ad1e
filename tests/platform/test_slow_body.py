"""A client that declares a body and sends it slowly must not hold the SQLite gate (standard item 21).

Each case opens a raw socket, sends the headers and a few bytes of a 100 KB body, and leaves it
dangling; meanwhile a signed-in ``GET /api/v1/me`` must answer at once, and the dangling request ends
with a Chinese 408 (with the security headers) once the grace time runs out.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from tests.conftest import LiveServer

GRACE = 2.0


def _dangle(server: LiveServer, method_path: str, headers: dict[str, str], first: bytes) -> socket.socket:
    lines = [f"{method_path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", "Content-Length: 100000"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=GRACE + 10)
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + first)
    return sock


def _answer(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    finally:
        sock.close()
    return data


def _cookie(client: Any) -> str:
    return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


@pytest.fixture
def short_grace(node: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    if hasattr(node.settings, "body_timeout_seconds"):  # absent before the fix: the test then shows the hang
        monkeypatch.setattr(node.settings, "body_timeout_seconds", GRACE)


@pytest.mark.parametrize("case", ["open311-json", "multipart-upload", "form-with-csrf"])
def test_a_dangling_body_does_not_stop_other_requests(
    server: LiveServer, as_user: Any, short_grace: None, case: str
) -> None:
    leader = as_user("leader")
    datahub = as_user("datahub")
    if case == "open311-json":
        sock = _dangle(
            server, "POST /open311/v2/requests.json", {"Content-Type": "application/json"}, b'{"service_code": "'
        )
    elif case == "multipart-upload":
        sock = _dangle(
            server,
            "POST /api/v1/integration/sources/upload",
            {"Content-Type": "multipart/form-data; boundary=zxb", "Cookie": _cookie(datahub)},
            b'--zxb\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n',
        )
    else:
        sock = _dangle(
            server,
            "POST /integration/sources/remote",
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": _cookie(datahub)},
            b"csrf_token=abc&kind=",
        )
    try:
        time.sleep(0.3)  # the dangling request has arrived
        started = time.monotonic()
        resp = leader.get("/api/v1/me", timeout=5)
        elapsed = time.monotonic() - started
        assert resp.status_code == 200, resp.text
        assert elapsed < 1.5, f"/api/v1/me 等待了 {elapsed:.1f} 秒"
    finally:
        answer = _answer(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"content-security-policy" in head.lower()
    assert "请求体发送过慢" in body.decode()
    assert leader.get("/healthz").status_code == 200
    assert datahub.get("/api/v1/me").status_code == 200


def test_a_body_sent_in_time_still_arrives(server: LiveServer, as_user: Any, short_grace: None) -> None:
    """Bodies are replayed to the app whole: a JSON body, a form with CSRF and a multipart upload work."""
    leader = as_user("leader")
    resp = leader.get("/api/v1/me")
    assert resp.status_code == 200
    # a refused JSON body comes back as the app's own Chinese 422, so the body reached the app
    resp = leader.post("/api/v1/integration/sources", json={"kind": "http"})
    assert resp.status_code in (403, 422), resp.text
    datahub = as_user("datahub")
    resp = datahub.post(
        "/api/v1/integration/sources/upload",
        files={"file": ("x.csv", b"a,b\n1,2\n" * 40000, "text/csv")},  # ~320 KB: spooled to disk
        data={"name": "慢速测试", "resource_id": "999999"},
    )
    assert resp.status_code in (404, 422), resp.text
    assert "CSRF" not in resp.text


def test_too_large_gets_security_headers(http: Any) -> None:
    resp = http.post("/open311/v2/requests.json", content=b"x" * (3 * 1024 * 1024))
    assert resp.status_code == 413
    assert resp.headers["content-type"] == "application/problem+json"
    assert "content-security-policy" in resp.headers
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["cache-control"] == "no-store"


def test_signed_in_pages_are_not_cached_but_static_assets_are(server: LiveServer, as_user: Any) -> None:
    leader = as_user("leader")
    for path in ("/", "/integration", "/api/v1/me"):
        resp = leader.get(path)
        assert resp.status_code == 200, path
        assert resp.headers.get("cache-control") == "no-store", path
    static = leader.get("/static/favicon.svg")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("cache-control", "")
