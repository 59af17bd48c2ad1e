"""The signed envelope nodes exchange. Pure functions.

A message is a JSON body ``{"v": 1, "id", "from", "to", "type", "payload"}``, sent with the headers
``X-ZX-Node`` (sender), ``X-ZX-Timestamp`` (Unix seconds), ``X-ZX-Nonce`` and ``X-ZX-Signature`` (base64
of the sender's signature over the string below). ``to`` binds a message to its receiver, so a message
captured on the way to one node cannot be replayed at another; the nonce and timestamp stop it being
replayed at the same one. An answer is signed the same way and names the nonce it answers
(``in_reply_to``), so an old answer cannot be passed off as the answer to a new question.

    ZXFED1 \\n NODE \\n TIMESTAMP \\n NONCE \\n SM3_HEX(BODY)
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from zhixian.exchange.federation.keys import NodeKey
from zhixian.exchange.signing import NONCE_RE, sm3_hex

HEADER_NODE = "x-zx-node"
HEADER_TIMESTAMP = "x-zx-timestamp"
HEADER_NONCE = "x-zx-nonce"
HEADER_SIGNATURE = "x-zx-signature"
DISPLAY = {
    HEADER_NODE: "X-ZX-Node",
    HEADER_TIMESTAMP: "X-ZX-Timestamp",
    HEADER_NONCE: "X-ZX-Nonce",
    HEADER_SIGNATURE: "X-ZX-Signature",
}
# messages the outbox carries (retried until delivered) and the calls answered at once
QUEUED_TYPES = ("catalog.publish", "request.submit", "request.decision", "grant.notice")
DIRECT_TYPES = ("gateway.call",)
TYPES = QUEUED_TYPES + DIRECT_TYPES


def string_to_sign(node: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join(("ZXFED1", node, timestamp, nonce, sm3_hex(body))).encode()


def dumps(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def envelope(key: NodeKey, *, to: str, type_: str, payload: dict[str, Any], message_id: str = "") -> dict[str, Any]:
    return {
        "v": 1,
        "id": message_id or uuid.uuid4().hex,
        "from": key.node_id,
        "to": to,
        "type": type_,
        "payload": payload,
    }


def signed_headers(key: NodeKey, body: bytes, now: datetime) -> dict[str, str]:
    """Fresh headers for one sending of ``body`` (a retry is signed anew, with a new nonce)."""
    stamp, nonce = str(int(now.timestamp())), secrets.token_urlsafe(24)
    return {
        "X-ZX-Node": key.node_id,
        "X-ZX-Timestamp": stamp,
        "X-ZX-Nonce": nonce,
        "X-ZX-Signature": key.sign(string_to_sign(key.node_id, stamp, nonce, body)),
        "Content-Type": "application/json",
    }


def digest(body: bytes) -> str:
    return sm3_hex(body)


def header_problem(headers: Mapping[str, str]) -> str:
    """What is missing or malformed in a message's signing headers, in Chinese; empty when all are there."""
    for name in (HEADER_NODE, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE):
        if not headers.get(name, "").strip():
            return f"缺少请求头 {DISPLAY[name]}：节点间的每条消息都必须由发送节点签名"
    stamp = headers[HEADER_TIMESTAMP].strip()
    if not stamp.isdigit() or len(stamp) > 12:
        return "X-ZX-Timestamp 应为 Unix 时间戳（秒，整数）"
    if not NONCE_RE.match(headers[HEADER_NONCE].strip()):
        return "X-ZX-Nonce 应为 16–64 位字母、数字、- 或 _，每条消息不同"
    return ""
