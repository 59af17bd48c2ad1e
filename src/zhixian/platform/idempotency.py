"""Idempotency keys for POSTs that devices and other systems retry (DESIGN.md §5).

A replay with the same key and the same body gets the first answer back; the same key with a
different body is a client error, never a second record.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from zhixian.errors import Conflict
from zhixian.platform.models import IdempotencyKey

_BY_KEY = select(IdempotencyKey.request_hash, IdempotencyKey.status, IdempotencyKey.body).where(
    IdempotencyKey.user_id == bindparam("user_id"), IdempotencyKey.key == bindparam("key")
)


def body_hash(payload: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()


def replay(session: Session, *, user_id: int, key: str, request_hash: str) -> tuple[int, Any] | None:
    """The stored (status, body) for a key already used by this user, or None for a new key."""
    row = session.execute(_BY_KEY, {"user_id": user_id, "key": key}).first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise Conflict("Idempotency-Key 已用于另一个不同内容的请求")
    return row.status, json.loads(row.body)


def remember(session: Session, *, user_id: int, key: str, request_hash: str, status: int, body: Any) -> None:
    session.add(
        IdempotencyKey(
            user_id=user_id,
            key=key[:128],
            request_hash=request_hash,
            status=status,
            body=json.dumps(body, ensure_ascii=False, default=str),
        )
    )
    session.flush()
