"""Registering this node with an upstream node (the county side of 上下贯通).

1. read the upstream's identity (``/node``), signed by the key it presents, and — when the administrator
   was given it — compare its fingerprint before anything is sent;
2. send this node's id, name, address and public key, signed with that key (proof of holding it);
3. pin the upstream's key. The upstream pins ours only when its data authority approves the registration
   after comparing fingerprints; until then our messages wait in the outbox.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from zhixian.clock import utcnow
from zhixian.exchange.federation import keys, protocol, transport
from zhixian.platform import outbound
from zhixian.settings import Settings

PREFIX = "/api/v1/exchange/federation"


class JoinFailed(Exception):
    """Registration could not be completed; the message says why, in Chinese."""


def _self_signed(resp: httpx.Response, nonce: str) -> dict[str, Any]:
    """An answer checked against the key it carries (the first contact: nothing is pinned yet)."""
    try:
        answer = json.loads(resp.content)
    except ValueError:
        raise JoinFailed(f"上级节点的应答不是 JSON（HTTP {resp.status_code}），请检查地址") from None
    result = answer.get("result") if isinstance(answer, dict) else None
    if resp.status_code >= 400 or not isinstance(result, dict):
        detail = answer.get("detail") if isinstance(answer, dict) else ""
        raise JoinFailed(f"上级节点拒绝：{detail or resp.status_code}")
    target = transport.Target(
        str(result.get("node_id", "")),
        str(result.get("name", "")),
        "",
        str(result.get("algorithm", "")),
        str(result.get("public_key", "")),
    )
    try:
        transport.checked_answer(target, resp, nonce)
    except transport.PeerDown as exc:
        raise JoinFailed(str(exc)) from None
    return result


def fetch_identity(settings: Settings, url: str) -> dict[str, Any]:
    try:
        with outbound.http_client(outbound.Policy.of(settings), timeout=transport.TIMEOUT) as client:
            resp = client.get(url.rstrip("/") + PREFIX + "/node")
    except outbound.Refused as exc:
        raise JoinFailed(f"出站策略不允许访问该地址：{exc}") from None
    except httpx.HTTPError as exc:
        raise JoinFailed(f"无法连接上级节点 {url}（{type(exc).__name__}）") from None
    return _self_signed(resp, "")


def register(settings: Settings, key: keys.NodeKey, *, url: str, self_url: str, expect: str = "") -> dict[str, Any]:
    """Registers with the node at ``url``; returns its identity (to pin) and the registration status."""
    upstream = fetch_identity(settings, url)
    fp = keys.fingerprint(str(upstream.get("algorithm")), str(upstream.get("public_key")))
    if expect and expect.replace("-", "").upper() != fp.replace("-", ""):
        raise JoinFailed(f"上级节点公钥指纹 {fp} 与预期的 {expect} 不符：可能连到了冒充的节点，已停止注册")
    body = protocol.dumps(
        {
            "to": upstream["node_id"],
            "node_id": key.node_id,
            "name": key.name,
            "base_url": self_url,
            "algorithm": key.algorithm,
            "public_key": key.public_key,
        }
    )
    headers = protocol.signed_headers(key, body, utcnow())
    try:
        with outbound.http_client(outbound.Policy.of(settings), timeout=transport.TIMEOUT) as client:
            resp = client.post(url.rstrip("/") + PREFIX + "/register", content=body, headers=headers)
    except (outbound.Refused, httpx.HTTPError) as exc:
        raise JoinFailed(f"无法连接上级节点 {url}（{exc}）") from None
    result = _self_signed(resp, headers["X-ZX-Nonce"])
    if result.get("public_key") != upstream.get("public_key"):
        raise JoinFailed("上级节点注册应答中的公钥与其公布的公钥不一致，已停止注册")
    return {**result, "fingerprint": fp, "base_url": url.rstrip("/")}
