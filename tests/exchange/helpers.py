"""A signing gateway client as a consumer would write it, and shortcuts through the request flow."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from zhixian import clock
from zhixian.exchange import signing
from zhixian.integration.models import Person
from zhixian.platform import service as platform_service
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.platform.models import AuditRecord, User

GATEWAY = "/api/v1/exchange/gateway"


class Gateway:
    """Signs every call with HMAC-SM3 exactly as the API documentation tells a consumer to."""

    def __init__(self, base_url: str, client_id: str, secret: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.client_id, self.secret = client_id, secret

    def close(self) -> None:
        self.http.close()

    def signed(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        query: str = "",
        timestamp: int | None = None,
        nonce: str | None = None,
        secret: str | None = None,
        drop: str = "",
        client_id: str | None = None,
    ) -> httpx.Response:
        payload = (
            raw if raw is not None else (json.dumps(body, ensure_ascii=False).encode() if body is not None else b"")
        )
        stamp = str(timestamp if timestamp is not None else int(clock.utcnow().timestamp()))
        nonce = nonce or secrets.token_urlsafe(18)
        signature = signing.sign(secret or self.secret, method, path, query, stamp, nonce, payload)
        headers = {
            "X-ZX-Client-Id": client_id or self.client_id,
            "X-ZX-Timestamp": stamp,
            "X-ZX-Nonce": nonce,
            "X-ZX-Signature": signature,
            "Content-Type": "application/json",
        }
        headers.pop(drop, None)
        url = path + (f"?{query}" if query else "")
        return self.http.request(method, url, content=payload, headers=headers)

    def call(self, operation: str, resource_id: int, body: Any = None, **kw: Any) -> httpx.Response:
        return self.signed("POST", f"{GATEWAY}/resources/{resource_id}/{operation}", body, **kw)


def resource_id(db: Session, library: str) -> int:
    return int(db.execute(text("SELECT id FROM catalog_resource WHERE base_library = :l"), {"l": library}).scalar_one())


def resource_where(db: Session, sql_where: str) -> int:
    return int(
        db.execute(text(f"SELECT id FROM catalog_resource r WHERE {sql_where} ORDER BY id LIMIT 1")).scalar_one()
    )


def dept_id(db: Session, code: str) -> int:
    return int(db.execute(text("SELECT id FROM department WHERE code = :c"), {"c": code}).scalar_one())


def people(db: Session, cipher: FieldCipher, n: int = 5, *, where: str = "") -> list[tuple[Person, str]]:
    """Demo persons with their ID numbers in clear (for a consumer that knows whom it asks about)."""
    stmt = select(Person).where(Person.birth_date.is_not(None)).order_by(Person.id)
    if where:
        stmt = stmt.where(text(where))
    rows = db.execute(stmt.limit(n)).scalars().all()
    return [(p, cipher.decrypt(p.id_enc, index=p.id_index)) for p in rows]


def audit_count(db: Session) -> int:
    return int(db.execute(select(func.count()).select_from(AuditRecord)).scalar_one())


def period(days: int = 180) -> dict[str, str]:
    today = clock.local_today()
    return {"period_start": today.isoformat(), "period_end": (today + timedelta(days=days)).isoformat()}


def new_app(client: httpx.Client, name: str, **extra: Any) -> dict[str, Any]:
    resp = client.post("/api/v1/exchange/applications", json={"name": name, **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()


def request_and_approve(
    consumer: httpx.Client,
    approver: httpx.Client,
    *,
    resource: int,
    items: list[str],
    operations: list[str],
    application_id: int | None,
    approve: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Submits a request as the consumer and approves it as the provider (or authority); the grant."""
    body = {
        "resource_id": resource,
        "items": items,
        "operations": operations,
        "application_id": application_id,
        "purpose": "测试用途：办件核验",
        "legal_basis": "测试依据",
        **period(),
        **extra,
    }
    resp = consumer.post("/api/v1/exchange/requests", json=body)
    assert resp.status_code == 201, resp.text
    req = resp.json()
    resp = approver.post(f"/api/v1/exchange/requests/{req['id']}/approve", json=approve or {})
    assert resp.status_code == 200, resp.text
    return resp.json()


def officer(db, username: str) -> Actor:
    user = db.execute(select(User).where(User.username == username)).scalar_one()
    actor = platform_service.load_actor(db, user_id=user.id)
    assert actor is not None
    return actor
