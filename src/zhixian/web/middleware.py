"""ASGI middleware: the whole request body is read (bounded in size and time) before the app runs,
security headers go on every response, and answers marked for revalidation get a content ETag.

On SQLite every request transaction passes one FIFO gate (web.deps.get_session). If the app read the body
itself, a client that declares 100 KB and sends 18 bytes would hold that gate — and the county —
for as long as it likes. So BodyLimit reads the body first, with a deadline and a minimum rate,
spools multipart uploads to a temporary file, and replays it: the app never waits on the client.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

import anyio
from fastapi import Depends, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline styles either: a page styles itself through its CSS files (tests/platform/test_forms.py keeps
# style= out of the templates), so injected markup cannot restyle a page to mislead (fake notices, hidden fields).
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; media-src 'self' blob:; font-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
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
    user must not stay in a shared or back-button cache. A route that sets its own Cache-Control (a
    map layer without personal data, ``Revalidated``) keeps it."""

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


class ConditionalGet:
    """ETag revalidation for answers a route marked ``Cache-Control: private, no-cache`` (``Revalidated``).

    The ETag is a hash of the body, so it changes exactly when the content does (grids reconfigured,
    counts moved) and a browser that already holds the same body gets a 304 instead of a megabyte. The
    body is still computed; only its transfer is saved. Answers not so marked pass through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        sent_tags = {
            t.strip().removeprefix("W/")
            for k, v in scope["headers"]
            if k == b"if-none-match"
            for t in v.decode("latin-1").split(",")
        }
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                named = {k.lower(): v for k, v in message.get("headers", [])}
                wanted = message["status"] == 200 and b"no-cache" in named.get(b"cache-control", b"")
                if not wanted or b"etag" in named:
                    await send(message)
                    return
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            tag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"etag", tag.encode()))
            if tag in sent_tags:
                kept = [(k, v) for k, v in headers if k.lower() != b"content-type"]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)


def revalidate(response: Response) -> None:
    """Route dependency: the answer holds no personal data and may be kept by the browser, which asks
    again each time and gets a 304 when nothing changed (see ``ConditionalGet``)."""
    response.headers["cache-control"] = "private, no-cache"


Revalidated = Depends(revalidate)
