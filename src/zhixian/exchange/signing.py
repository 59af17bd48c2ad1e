"""HMAC-SM3 request signing and the gateway's opaque, signed paging cursors. Pure functions.

A caller signs, with its client secret, one string of six lines:

    METHOD \\n PATH \\n CANONICAL_QUERY \\n TIMESTAMP \\n NONCE \\n SM3_HEX(BODY)

and sends ``X-ZX-Client-Id``, ``X-ZX-Timestamp`` (Unix seconds), ``X-ZX-Nonce`` (16–64 of
``A-Za-z0-9_-``) and ``X-ZX-Signature`` (lower-case hex). The canonical query is the query's pairs
sorted and percent-encoded (RFC 3986), empty when there is none. The body is the exact bytes sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qsl, quote

from zhixian.platform.crypto import b64url, unb64url

HEADER_CLIENT = "x-zx-client-id"
HEADER_TIMESTAMP = "x-zx-timestamp"
HEADER_NONCE = "x-zx-nonce"
HEADER_SIGNATURE = "x-zx-signature"
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CLIENT_RE = re.compile(r"^zx[a-z0-9]{6,38}$")
SIGNATURE_RE = re.compile(r"^[0-9a-f]{64}$")


def sm3_hex(data: bytes) -> str:
    return hashlib.new("sm3", data).hexdigest()


def canonical_query(query: str) -> str:
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)


def string_to_sign(method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join((method.upper(), path, canonical_query(query), timestamp, nonce, sm3_hex(body)))


def sign(secret: str, method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = string_to_sign(method, path, query, timestamp, nonce, body).encode()
    return hmac.new(secret.encode(), message, "sm3").hexdigest()


def check(signature: str, expected: str) -> bool:
    return hmac.compare_digest(signature.encode(), expected.encode())


def new_client_id() -> str:
    return "zx" + secrets.token_hex(8)


def new_secret() -> str:
    """256 bits, URL-safe: what a consumer pastes into its configuration once."""
    return secrets.token_urlsafe(32)


def fingerprint(secret: str) -> str:
    """Names a secret without revealing it: both sides can see which one is configured."""
    return sm3_hex(b"zhixian exchange secret|" + secret.encode())[:12]


# --- cursors


def cursor_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"zhixian exchange cursor v1", "sm3").digest()


def make_cursor(key: bytes, payload: dict[str, Any]) -> str:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    tag = hmac.new(key, body, "sm3").digest()[:16]
    return f"{b64url(body)}.{b64url(tag)}"


def read_cursor(key: bytes, cursor: str) -> dict[str, Any] | None:
    """The payload of a cursor this node issued, or None if it was altered or made up."""
    body_text, _, tag_text = cursor.partition(".")
    try:
        body, tag = unb64url(body_text), unb64url(tag_text)
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(hmac.new(key, body, "sm3").digest()[:16], tag):
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def filters_digest(conditions: list[dict[str, Any]], fields: list[str]) -> str:
    """Ties a cursor to the query it continues: the same conditions and items, in any order."""
    text = json.dumps([sorted(json.dumps(c, sort_keys=True) for c in conditions), sorted(fields)])
    return sm3_hex(text.encode())[:16]
