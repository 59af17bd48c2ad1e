"""A closed-loop HTTP/1.1 load generator light enough not to be what is measured.

Each client holds its own keep-alive connection and sends its next request as soon as the answer to the
last one is read. httpx's shared async pool was the bottleneck here: at 64 clients it spent ~7 ms of CPU per
request (1.8 ms at 16), so the server sat two-thirds idle while the figures "collapsed". This writes
prepared bytes and reads answers by Content-Length: ~0.2 ms of client CPU per request, leaving the cores to
the server. Answers must carry Content-Length (uvicorn's JSON answers do); anything else fails loudly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

# (method, path, headers, body) of the next request
Make = Callable[[], tuple[str, str, dict[str, str], bytes]]


class Failed(RuntimeError):
    """A request did not get the expected answer."""


@dataclass
class Run:
    """What one closed-loop run measured."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # of every request, answered well or not
    failed: int = 0  # answers with a status of 300 or more (only when not strict)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def _request(host: str, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding":
            raise Failed(f"answer without Content-Length (status {status})")
    if length is None:
        raise Failed(f"answer without Content-Length (status {status})")
    return status, await reader.readexactly(length)


async def closed_loop(base: str, clients: int, seconds: float, make: Make, *, strict: bool = True) -> Run:
    """``clients`` connections, each sending its next request when the last is answered, for ``seconds``.
    ``strict``: any answer but 200 stops the run (Failed); otherwise answers of 300 or more are counted."""
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    run = Run()
    stop = time.perf_counter() + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop:
                method, path, headers, body = make()
                started = time.perf_counter()
                writer.write(_request(f"{host}:{port}", method, path, headers, body))
                status, answer = await _answer(reader)
                run.latencies.append(time.perf_counter() - started)
                if strict and status != 200:
                    raise Failed(f"{method} {path} -> {status} {answer[:300].decode(errors='replace')}")
                run.failed += status >= 300
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    run.seconds = time.perf_counter() - started
    return run


def wait_healthy(base: str, seconds: float = 30) -> None:
    """Waits until the server at ``base`` answers /healthz (a started `zhixian serve`)."""
    until = time.perf_counter() + seconds
    while True:
        try:
            httpx.get(base + "/healthz", timeout=1)
        except httpx.HTTPError:
            if time.perf_counter() > until:
                raise
            time.sleep(0.1)
        else:
            return


def bearer_token(base: str, username: str, password: str) -> str:
    """An API token of a demo user, made the way a user makes one (sign in, POST /api/v1/me/tokens)."""
    with httpx.Client(base_url=base, timeout=60) as c:
        login = c.post("/api/v1/auth/login", json={"username": username, "password": password})
        c.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        return str(c.post("/api/v1/me/tokens", json={"name": "bench", "days": 1}).json()["token"])
