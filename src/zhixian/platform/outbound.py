"""Every outbound connection the platform makes on a user's behalf (SQL and HTTP sources; exchange and
perception later) goes through here, so none can be aimed at the platform itself (SSRF, standard item 9).

Refused: loopback, link-local (cloud metadata 169.254.169.254), unspecified, multicast, reserved and
this machine's own addresses — unless an administrator allow-lists the network
(``outbound_allow_networks``). Private ranges stay allowed: county intranets live there. A host name
is resolved and *every* address it resolves to is checked, when the source is saved and again at
every connection; the connection then goes to the address that was checked (DNS rebinding), and
redirects are checked the same way. No fastapi here: callers turn ``Refused`` into their own error.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpcore
import httpx
from sqlalchemy.engine import URL, make_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_RESPONSE_BYTES = 64 * 1024 * 1024  # one HTTP answer (one page of a paged API)
_SQL_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}
_HOST_PARAMS = ("host", "hostaddr", "unix_socket", "service")


class Refused(ValueError):
    """The address may not be reached; the message is Chinese and never repeats a secret."""


class Failed(Exception):
    """The remote side did not answer as required (timeout, too large, connection error)."""


class _OutboundSettings(Protocol):
    outbound_allow_networks: list[str]
    outbound_connect_timeout_seconds: float
    outbound_timeout_seconds: int


@dataclass(frozen=True)
class Policy:
    """Which networks are allow-listed and how long any one fetch may take (connect, total)."""

    allow: tuple[IPNetwork, ...] = ()
    connect_timeout: float = 10.0
    total_timeout: float = 120.0

    @classmethod
    def of(cls, settings: _OutboundSettings) -> Policy:
        return cls(
            allow=tuple(ipaddress.ip_network(n, strict=False) for n in settings.outbound_allow_networks),
            connect_timeout=settings.outbound_connect_timeout_seconds,
            total_timeout=float(settings.outbound_timeout_seconds),
        )

    def timeout(self, wanted: float) -> float:
        """A source's own timeout, capped by the node's."""
        return max(0.1, min(float(wanted), self.total_timeout))

    def allows_local(self) -> bool:
        """Local files and sockets count as loopback."""
        return any(ipaddress.ip_address("127.0.0.1") in n or ipaddress.ip_address("::1") in n for n in self.allow)


def _own_address(ip: IPAddress) -> bool:
    """An address this machine can bind to is one of its own (any interface, no list to keep)."""
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((str(ip), 0))
        return True
    return False


def check_address(address: str, policy: Policy) -> IPAddress:
    """The address, if it may be reached; else Refused."""
    ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in policy.allow if net.version == ip.version):
        return ip
    if ip.is_loopback or ip.is_unspecified:
        raise Refused("不能访问本机地址（回环地址或 0.0.0.0）")
    if ip.is_link_local:
        raise Refused("不能访问链路本地地址（如 169.254.169.254 云主机元数据）")
    if ip.is_multicast or ip.is_reserved or (ip.version == 4 and ip == ipaddress.IPv4Address("255.255.255.255")):
        raise Refused("不能访问组播、广播或保留地址")
    if _own_address(ip):
        raise Refused("不能访问本平台所在服务器自身的地址")
    return ip


def resolve(host: str, port: int, policy: Policy) -> list[str]:
    """Every address the host name resolves to, each checked; Refused if any one is not allowed."""
    if not host:
        raise Refused("地址中缺少主机名")
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Refused("主机名无法解析，请检查地址") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise Refused("主机名无法解析，请检查地址")
    for address in addresses:
        check_address(address, policy)
    return addresses


def check_url(url: str, policy: Policy) -> list[str]:
    """An http(s) address whose host may be reached (when a source is saved)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise Refused("地址格式无效") from exc
    if parsed.scheme not in ("http", "https"):
        raise Refused("地址必须以 http:// 或 https:// 开头")
    return resolve(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80), policy)


# --- HTTP: a transport whose every connection (redirects included) goes to a checked address


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in resolve(host, port, self.policy):
            try:  # the checked address itself: a second resolution cannot swap it (TLS still checks host)
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError("no address")

    def connect_unix_socket(
        self,
        path: str,  # noqa: ARG002 - the signature is fixed by the base class
        timeout: float | None = None,  # noqa: ARG002 - the signature is fixed by the base class
        socket_options: Iterable[Any] | None = None,  # noqa: ARG002 - the signature is fixed by the base class
    ) -> httpcore.NetworkStream:
        raise Refused("不能访问本机套接字")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, policy: Policy) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False), network_backend=_GuardedBackend(policy)
        )


def http_client(policy: Policy, *, timeout: float, headers: Mapping[str, str] | None = None) -> httpx.Client:
    """A client that only reaches allowed addresses; environment proxies are not used (they would hide
    the real target). Redirects are followed, each one checked."""
    return httpx.Client(
        transport=_GuardedTransport(policy),
        timeout=httpx.Timeout(policy.timeout(timeout), connect=min(policy.connect_timeout, policy.timeout(timeout))),
        headers=dict(headers or {}),
        follow_redirects=True,
        max_redirects=5,
        trust_env=False,
    )


@dataclass
class Fetched:
    status_code: int
    content: bytes


def get(client: httpx.Client, url: str, *, params: Mapping[str, Any], timeout: float, policy: Policy) -> Fetched:
    """One GET, bounded in total time (a server that drips bytes does not keep it open) and in size."""
    limit = policy.timeout(timeout)
    deadline = time.monotonic() + limit
    try:
        with client.stream("GET", url, params=dict(params)) as resp:
            body = bytearray()
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise Failed(f"接口返回的数据超过 {MAX_RESPONSE_BYTES // 1024 // 1024} MB")
                if time.monotonic() > deadline:
                    raise Failed(f"接口请求超时（超过 {limit:g} 秒）")
            return Fetched(resp.status_code, bytes(body))
    except httpx.TooManyRedirects as exc:
        raise Failed("接口重定向次数过多") from exc
    except httpx.TimeoutException as exc:
        raise Failed(f"接口请求超时（超过 {limit:g} 秒）") from exc
    except httpx.HTTPError as exc:
        raise Failed(f"无法连接接口：{type(exc).__name__}") from exc


# --- SQL: the host of the connection string, pinned to the checked address


def sql_target(url: str, policy: Policy) -> tuple[URL, dict[str, Any]]:
    """The URL to connect with and extra connect arguments, pinned to a checked address.

    PostgreSQL keeps the host name (TLS, pg_hba) and connects to ``hostaddr``; MySQL/MariaDB connect
    to the address itself. A connection without a host (local socket) counts as loopback."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if any(key in parsed.query for key in _HOST_PARAMS):
        raise Refused("连接串不能在参数中指定主机、套接字或服务名，请写在主机部分")
    host = parsed.host or ""
    if not host or host.startswith("/") or "," in host:
        if policy.allows_local() and "," not in host:
            return parsed, {}
        raise Refused("连接串必须写明数据库服务器的主机名或地址（不能连接本机套接字）")
    address = resolve(host, parsed.port or _SQL_PORTS.get(backend, 0), policy)[0]
    if backend == "postgresql":
        return parsed, {"hostaddr": address}
    return parsed.set(host=address), {}
