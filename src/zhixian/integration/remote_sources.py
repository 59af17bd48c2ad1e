"""SQL and HTTP API sources: creating them and replacing their connection (a rotated database password,
a moved address). The secret — the SQL connection string or the API token — is kept SM4-encrypted and
never returned; a source may not read the platform's own database, nor reach this machine, loopback or
link-local addresses unless allow-listed (platform.outbound, checked again at every connection)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.db import outside_gate
from zhixian.errors import Invalid
from zhixian.integration import schedule
from zhixian.integration.models import Source
from zhixian.integration.schemas import ConnectionIn, RemoteSourceIn
from zhixian.integration.service import check_new_source, get_source, register_source
from zhixian.platform import audit, outbound
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher

_LOOPBACK = frozenset({None, "", "localhost", "127.0.0.1", "::1"})
_CONNECTION_KEYS = ("timeout", "query", "url", "records_key", "page_param", "size_param", "page_size")


def _not_the_platform_database(session: Session, url: str) -> None:
    """A source may not read the platform's own database (accounts, sessions, audit log)."""
    own, other = session.get_bind().engine.url, make_url(url)
    if own.get_backend_name() != other.get_backend_name():
        return
    same_host = other.host == own.host or (other.host in _LOOPBACK and own.host in _LOOPBACK)
    default_port = 5432 if own.get_backend_name() == "postgresql" else 3306
    if same_host and (other.port or default_port) == (own.port or default_port) and other.database == own.database:
        raise Invalid("不能把本平台自身的数据库登记为数据源", field="url")


def _reachable(data: ConnectionIn, policy: outbound.Policy) -> None:
    """The host of the connection may be reached (the same check runs again when it is read)."""
    try:
        if data.kind == "sql":
            outbound.sql_target(data.url, policy)
        else:
            outbound.check_url(data.url, policy)
    except outbound.Refused as exc:
        raise Invalid(str(exc), field="url") from exc


def _connection(session: Session, data: ConnectionIn, policy: outbound.Policy) -> tuple[dict[str, Any], str]:
    """The non-secret configuration and the secret of a connection."""
    if data.kind == "sql":
        _not_the_platform_database(session, data.url)
    outside_gate(session, lambda: _reachable(data, policy))  # name resolution waits on the network
    if data.kind == "sql":
        return {"timeout": data.timeout, "query": data.query}, data.url
    cfg = {
        "timeout": data.timeout,
        "url": data.url,
        "records_key": data.records_key,
        "page_param": data.page_param,
        "size_param": data.size_param,
        "page_size": data.page_size,
    }
    return cfg, data.token


def create_remote_source(
    session: Session, *, actor: Actor, cipher: FieldCipher, data: RemoteSourceIn, policy: outbound.Policy
) -> Source:
    check_new_source(session, actor, data.resource_id)
    if data.schedule:
        schedule.parse(data.schedule)
    cfg, secret = _connection(session, data, policy)
    row = Source(
        name=data.name,
        kind=data.kind,
        department_id=actor.department_id,
        resource_id=data.resource_id,
        config=cfg,
        secret_enc=cipher.encrypt(secret) if secret else None,
        incremental=data.incremental,
        watermark_column=data.watermark_column,
        schedule=data.schedule,
        created_by=actor.username,
        next_run_at=schedule.next_after(data.schedule, utcnow()) if data.schedule else None,
    )
    return register_source(session, actor=actor, row=row, detail={})


def replace_connection(
    session: Session,
    *,
    actor: Actor,
    cipher: FieldCipher,
    source_id: int,
    data: ConnectionIn,
    policy: outbound.Policy,
) -> Source:
    """The whole connection is given again, secret included: a stored secret is never shown to be edited."""
    actor.require("integration.run")
    row = get_source(session, actor=actor, source_id=source_id)
    if row.kind != data.kind:
        raise Invalid("数据源类型不能更改：文件数据源请重新上传文件，其他类型请新建数据源", field="kind")
    cfg, secret = _connection(session, data, policy)
    kept = {k: v for k, v in (row.config or {}).items() if k not in _CONNECTION_KEYS}
    row.config = {**kept, **cfg}
    row.secret_enc = cipher.encrypt(secret) if secret else None
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="integration.source.connection",
        object_type="integration_source",
        object_id=row.id,
        detail={"kind": row.kind, "secret": "已更换" if secret else "无"},
    )
    return row
