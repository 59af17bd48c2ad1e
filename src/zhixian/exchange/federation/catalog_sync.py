"""Publishing this node's catalogue to a peer, and keeping a peer's catalogue as remote entries.

Incremental: each peer has a mark (``published_until``); a publish queues the entries changed since, and
the mark moves when the batch is queued (the outbox delivers it later if the peer is down). Idempotent:
the receiver compares each entry's digest, so a batch sent twice — or a full re-send — changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.catalog import service as catalog_service
from zhixian.clock import utcnow
from zhixian.errors import Invalid
from zhixian.exchange.federation import keys, protocol, transport
from zhixian.exchange.federation.models import Message, Peer, RemoteResource

MAX_BATCH = 5000


def entry(resource: Any, department: str) -> dict[str, Any]:
    """What a peer learns of one resource: metadata and items, never records."""
    return {
        "code": resource.code,
        "name": resource.name,
        "department": department,
        "category": resource.category,
        "kind": resource.kind,
        "share_type": resource.share_type,
        "grade": resource.grade,
        "summary": resource.summary,
        "items": [
            {"field": i.field_name, "name": i.name, "data_type": i.data_type, "share_type": i.share_type}
            for i in resource.items
        ],
    }


def batch(session: Session, peer: Peer, *, full: bool = False) -> tuple[dict[str, Any], datetime | None]:
    """The entries changed since the peer's mark (all with ``full``), and the new mark."""
    since = None if full else peer.published_until
    rows = catalog_service.changed_since(session, since)
    names = catalog_service.department_names(session)
    shared = [r for r in rows if r.status == "published" and not r.classified]
    gone = [r.code for r in rows if r not in shared]
    until = max((r.updated_at for r in rows), default=since)
    payload = {
        "full": full,
        "resources": [entry(r, names.get(r.department_id, "")) for r in shared],
        "removed": [] if full else gone,
    }
    return payload, until


def publish(session: Session, *, key: keys.NodeKey, peer: Peer, full: bool = False) -> Message | None:
    """Queues this node's catalogue changes for the peer; None when nothing changed since the last publish."""
    if peer.status != "active":
        raise Invalid(f"节点 {peer.name} 的登记状态为{_STATUS.get(peer.status, peer.status)}，不能发布目录")
    payload, until = batch(session, peer, full=full)
    if not full and not payload["resources"] and not payload["removed"]:
        return None
    if len(payload["resources"]) > MAX_BATCH:
        raise Invalid(f"一次变更超过 {MAX_BATCH} 条，请分批发布")
    message = transport.enqueue(session, key=key, peer=peer, type_="catalog.publish", payload=payload)
    peer.published_until = until
    return message


_STATUS = {"pending": "待批准", "active": "已生效", "revoked": "已撤销"}


def _digest(item: dict[str, Any]) -> str:
    return protocol.digest(protocol.dumps(item))


def _clean(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("code"), str) or not isinstance(raw.get("name"), str):
        raise Invalid("目录条目缺少资源代码或名称")
    items = raw.get("items", [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise Invalid(f"目录条目 {raw['code'][:40]} 的信息项格式不正确")
    return raw


def apply(session: Session, *, peer: Peer, payload: dict[str, Any]) -> dict[str, Any]:
    """Stores a peer's batch as remote entries marked with their origin; returns what changed."""
    raw_entries, raw_removed = payload.get("resources", []), payload.get("removed", [])
    if not isinstance(raw_entries, list) or not isinstance(raw_removed, list):
        raise Invalid("目录批次的 resources 和 removed 应为列表")
    entries = [_clean(r) for r in raw_entries]
    removed = [str(c) for c in raw_removed]
    known = {
        r.code: r for r in session.execute(select(RemoteResource).where(RemoteResource.peer_id == peer.id)).scalars()
    }
    added = updated = unchanged = 0
    for raw in entries:
        digest, row = _digest(raw), known.get(raw["code"])
        if row is not None and row.digest == digest:
            unchanged += 1
            continue
        if row is None:
            row = RemoteResource(peer_id=peer.id, origin_node=peer.node_id, code=raw["code"][:40])
            session.add(row)
            known[row.code] = row
            added += 1
        else:
            updated += 1
        row.name, row.department = raw["name"][:200], str(raw.get("department", ""))[:100]
        row.share_type, row.grade = str(raw.get("share_type", ""))[:8], str(raw.get("grade", ""))[:4]
        row.summary, row.items, row.digest, row.changed_at = str(raw.get("summary", "")), raw["items"], digest, utcnow()
    if payload.get("full"):
        listed = {r["code"] for r in entries}
        removed += [code for code in known if code not in listed]
    dropped = 0
    for code in removed:
        row = known.pop(code, None)
        if row is not None and row in session:
            session.delete(row)
            dropped += 1
    session.flush()
    counts = {"added": added, "updated": updated, "unchanged": unchanged, "removed": dropped}
    return {**counts, "note": f"新增 {added} 条，更新 {updated} 条，未变 {unchanged} 条，移除 {dropped} 条"}


def remote_resources(session: Session, *, peer_id: int | None = None, q: str = "") -> list[RemoteResource]:
    stmt = select(RemoteResource).order_by(RemoteResource.peer_id, RemoteResource.code)
    if peer_id is not None:
        stmt = stmt.where(RemoteResource.peer_id == peer_id)
    if q:
        stmt = stmt.where(RemoteResource.name.contains(q) | RemoteResource.code.contains(q))
    return list(session.execute(stmt).scalars())


def remote_resource(session: Session, peer: Peer, code: str) -> RemoteResource | None:
    return session.execute(
        select(RemoteResource).where(RemoteResource.peer_id == peer.id, RemoteResource.code == code)
    ).scalar_one_or_none()
