"""ASGI middleware: the whole request body is read (bounded in size and time) before the app runs,
and security headers go on every response.

On SQLite every request transaction passes one FIFO gate (web.deps.get_session). If the app read the body
itself, a client that declares 100 KB and sends 18 bytes would hold that gate — and the county —
for as long as it likes. So BodyLimit reads the body first, with a deadline and a minimum rate,
spools multipart uploads to a temporary file, and replays it: the app never waits on the client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline styles either: a page styles itself through its CSS files (tests/platform/test_forms.py keeps
# style= out of the templates), so injected markup cannot restyle a page to mislead (fake notices, hidden fields).
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# Swagger UI boots with an inline script and styles itself inline; only its page gets this relaxed policy.
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
SPOOL_IN_MEMORY = 1024 * 1024  # multipart bodies beyond this go to a temporary file, not RAM
REPLAY_CHUNK = 64 * 1024


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


class BodyLimit:
    """Reads the whole body before the app: 413 when too large, 408 when too slow, then replays it.

    ``timing()`` returns (grace seconds, minimum bytes/second): at any moment the client must have sent
    ``(elapsed - grace) * rate`` bytes. It is read per request, so a changed setting applies at once.
    """

    def __init__(
        self, app: ASGIApp, *, max_body: int, max_upload: int, timing: Callable[[], tuple[float, int]]
    ) -> None:
        self.app, self.max_body, self.max_upload, self.timing = app, max_body, max_upload, timing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if (declared is None or declared == b"0") and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body (HTTP/1.1): nothing to wait for
            return
        multipart = headers.get(b"content-type", b"").decode("latin-1").startswith("multipart/form-data")
        limit = self.max_upload if multipart else self.max_body
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _problem(send, 413, "请求体过大", f"请求体过大，上限为 {limit // 1024} KB")
            return
        spool = anyio.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) if multipart else None
        try:
            try:
                body = await self._read(receive, limit, spool)
            except _TooLarge:
                await _problem(send, 413, "请求体过大", f"请求体过大，上限为 {limit // 1024} KB")
                return
            except _TooSlow:
                await _problem(send, 408, "请求超时", "请求体发送过慢或中断，已放弃本次请求，请重试")
                return
            if body is None:
                return  # the client went away before it finished sending
            await self.app(scope, _replay(body, spool, receive), send)
        finally:
            if spool is not None:
                await spool.aclose()

    async def _read(
        self, receive: Receive, limit: int, spool: anyio.SpooledTemporaryFile[bytes] | None
    ) -> bytes | None:
        grace, rate = self.timing()
        started = time.monotonic()
        received = 0
        parts: list[bytes] = []
        while True:
            budget = grace + received / max(rate, 1) - (time.monotonic() - started)
            if budget <= 0:
                raise _TooSlow
            with anyio.move_on_after(budget) as scope:
                message = await receive()
            if scope.cancelled_caught:
                raise _TooSlow
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                raise _TooLarge
            if spool is not None:
                await spool.write(chunk)
            else:
                parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)


def _replay(body: bytes, spool: anyio.SpooledTemporaryFile[bytes] | None, receive: Receive) -> Receive:
    """The buffered body as ASGI messages; afterwards the real receive (it reports the disconnect)."""
    done = False
    rewound = False

    async def replay() -> Message:
        nonlocal done, rewound
        if done:
            return await receive()
        if spool is None:
            done = True
            return {"type": "http.request", "body": body, "more_body": False}
        if not rewound:
            await spool.seek(0)
            rewound = True
        chunk = await spool.read(REPLAY_CHUNK)
        done = len(chunk) < REPLAY_CHUNK
        return {"type": "http.request", "body": chunk, "more_body": not done}

    return replay


async def _problem(send: Send, status: int, title: str, detail: str) -> None:
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail}, ensure_ascii=False
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Security headers on every response (also the 408/413 above: this middleware wraps BodyLimit).

    Everything but static assets is ``Cache-Control: no-store``: pages and API answers of a signed-in
    user must not stay in a shared or back-button cache."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] == "/api/docs" else CSP
        cacheable = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for key, value in (
                    (b"content-security-policy", csp.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(self), geolocation=(self), microphone=()"),
                ):
                    if key not in names:
                        headers.append((key, value))
                if not cacheable and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class EmptyQuery:
    """On pages, an empty query value means "no filter": ``?department_id=&q=`` is read as ``?q=``.

    A GET form sends every field, and "全部" is an empty value, as is a pager link that repeats the
    filter; a list page would otherwise refuse them ("部门：必须是整数"). Dropping empty values here,
    before any route, makes that true of every list at once. The API and Open311 keep their strict
    contracts: there an empty value is still refused.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and scope["query_string"]
            and not scope["path"].startswith(("/api/", "/open311/", "/static/"))
        ):
            pairs = scope["query_string"].split(b"&")
            kept = [p for p in pairs if p.partition(b"=")[2]]  # byte for byte, whatever its encoding
            if len(kept) < len(pairs):
                scope = {**scope, "query_string": b"&".join(kept)}
        await self.app(scope, receive, send)
