"""The gateway: a signed call from an application → its grant → the data, masked → exactly one audit record.

Order of work, chosen so that every call is answered and recorded whatever fails:
1. signature (client id, IP allow-list, timestamp within the stated skew, HMAC-SM3) — reads only;
2. the nonce, stored (a replay fails here, in any worker) and kept even if the call fails later;
3. a cheap read of the rate counters (a client already over its limit stops here);
4. the operation's reads, inside a savepoint, so a database error cannot spoil the recording;
5. the exact count of the call (one upsert, the last lock taken before commit);
6. the call row, whose records were returned (blind indexes) and the one audit record.
Errors are returned, not raised: the route commits the record of a refused call, then raises.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import String, Table, bindparam, func, insert, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from zhixian.clock import LOCAL_TZ, local_today, utcnow
from zhixian.errors import DomainError, Invalid, NotFound, NotPermitted, invalid_from
from zhixian.exchange import apps, callstate, exports, feed, grants, limits, operations, signing, sources
from zhixian.exchange.models import Application, Call, Disclosure, Grant
from zhixian.exchange.settings import CLOCK_SKEW_SECONDS
from zhixian.platform import audit
from zhixian.platform.audit import AuditContext
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings

log = logging.getLogger(__name__)


EXPORT_OPERATIONS = ("export", "export_get", "export_file")


class SignatureRefused(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, [], 401, "签名认证失败", {"WWW-Authenticate": "ZX-HMAC-SM3"})


@dataclass(frozen=True)
class Incoming:
    """What the route hands over: the request exactly as received."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    ip: str


@dataclass
class Outcome:
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error: Exception | None = None
    file: Path | None = None  # a download: the body is this file


@dataclass
class _Trace:
    """What is known about the call so far, for its record."""

    operation: str
    client_id: str = ""
    application: Application | None = None
    resource_id: int | None = None
    source: sources.Source | None = None
    grant: Grant | None = None
    items: list[str] = field(default_factory=list)
    masked: list[str] = field(default_factory=list)
    rows: int = 0
    reason: str = ""
    subjects: list[tuple[str, str]] = field(default_factory=list)
    remaining: int | None = None
    status: int = 200
    file: Path | None = None
    headers: dict[str, str] = field(default_factory=dict)


_DISPLAY = {
    signing.HEADER_CLIENT: "X-ZX-Client-Id",
    signing.HEADER_TIMESTAMP: "X-ZX-Timestamp",
    signing.HEADER_NONCE: "X-ZX-Nonce",
    signing.HEADER_SIGNATURE: "X-ZX-Signature",
}


def _header(incoming: Incoming, name: str) -> str:
    value = incoming.headers.get(name, "").strip()
    if not value:
        raise SignatureRefused(f"缺少请求头 {_DISPLAY.get(name, name)}，请按接口文档签名")
    return value


def authenticate(
    session: Session,
    *,
    settings: Settings,
    cipher: FieldCipher,
    incoming: Incoming,
    now: datetime,
    trace: _Trace,
    resource_id: int | None = None,
) -> tuple[Application, callstate.CallState]:
    """The application whose secret signed this request (with what the call needs to know of its grants
    and limits, read in the same statement), or a 401/403 that says what to fix."""
    client_id = _header(incoming, signing.HEADER_CLIENT)
    trace.client_id = client_id[:40]
    if not signing.CLIENT_RE.match(client_id):
        raise SignatureRefused("X-ZX-Client-Id 格式不正确")
    minute, day = limits.buckets(now)
    state = callstate.read(
        session, client_id=client_id, resource_id=resource_id, minute=minute, day=day, today=local_today()
    )
    application = state.application
    if application is None:
        raise SignatureRefused(f"应用标识 {client_id} 不存在")
    trace.application = application
    if application.status != "active":
        raise NotPermitted("该应用已停用，请联系本部门数据管理员")
    if application.ip_allow and not _allowed(incoming.ip, application.ip_allow):
        raise NotPermitted(f"来源地址 {incoming.ip} 不在该应用的访问白名单内")
    stamp = _header(incoming, signing.HEADER_TIMESTAMP)
    if not stamp.isdigit() or len(stamp) > 12:
        raise SignatureRefused("X-ZX-Timestamp 应为 Unix 时间戳（秒，整数）")
    skew = int(stamp) - int(now.timestamp())
    if abs(skew) > settings.declared(CLOCK_SKEW_SECONDS):
        server = now.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
        raise SignatureRefused(
            f"请求时间戳与服务器时间相差 {abs(skew)} 秒，超过允许的 {settings.declared(CLOCK_SKEW_SECONDS)} 秒"
            f"（服务器时间 {server} 北京时间，时间戳 {int(now.timestamp())}），请校准时钟后重新签名"
        )
    nonce = _header(incoming, signing.HEADER_NONCE)
    if not signing.NONCE_RE.match(nonce):
        raise SignatureRefused("X-ZX-Nonce 应为 16–64 位字母、数字、- 或 _，每次请求不同")
    signature = _header(incoming, signing.HEADER_SIGNATURE).lower()
    expected = signing.sign(
        apps.secret_of(cipher, application), incoming.method, incoming.path, incoming.query, stamp, nonce, incoming.body
    )
    if not signing.SIGNATURE_RE.match(signature) or not signing.check(signature, expected):
        raise SignatureRefused(
            "签名不正确：请核对待签名字符串（方法、路径、排序后的查询参数、时间戳、nonce、请求体的 SM3）和密钥"
        )
    ttl = timedelta(seconds=2 * settings.declared(CLOCK_SKEW_SECONDS) + 60)
    if not limits.use_nonce(session, application_id=application.id, nonce=nonce, now=now, ttl=ttl):
        raise SignatureRefused("重放的请求：该 nonce 已经使用过，每次请求须使用新的 nonce")
    return application, state


def _allowed(ip: str, networks: list[str]) -> bool:
    import ipaddress

    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in ipaddress.ip_network(net, strict=False) for net in networks)


def _parse(model: Any, body: bytes) -> Any:
    """The signed body as the operation's contract: 400 if it is not JSON, 422 naming each bad field."""
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        if any(e.get("type") in ("json_invalid", "json_type") for e in exc.errors()):
            raise DomainError("请求体不是有效的 JSON（UTF-8 编码的对象）", [], 400, "请求有误") from None
        raise invalid_from(exc) from None


def _resource(session: Session, trace: _Trace, resource_id: int, state: callstate.CallState) -> sources.Source:
    trace.resource_id = resource_id
    source = sources.load(session, resource_id, state.stamp)
    if source is None or source.status != "published" or source.classified:
        raise NotFound(f"目录中没有编号为 {resource_id} 的已发布资源")
    trace.source = source
    if not source.servable:
        raise Invalid("该资源不通过共享网关提供（地理信息请使用其在线资源接口）")
    return source


def _grant(
    session: Session,
    application: Application,
    source: sources.Source,
    operation: str,
    trace: _Trace,
    usable: list[Grant],
) -> Grant:
    """The newest live grant that allows the operation (``usable``: read with the call's state)."""
    today = local_today()
    if not usable:
        raise NotPermitted(grants.why_not(session, application, source.resource_id, today))
    # the feed and a bulk export reveal what paging through would
    needed = "query" if operation in ("changes", *EXPORT_OPERATIONS) else operation
    for grant in usable:
        if needed in grant.operations:
            trace.grant = grant
            return grant
    label = {"lookup": "按主键查询", "query": "条件查询", "verify": "核验"}[needed]
    raise NotPermitted(f"该资源的授权不包含“{label}”")


def _run(
    session: Session,
    *,
    settings: Settings,
    cipher: FieldCipher,
    incoming: Incoming,
    application: Application,
    state: callstate.CallState,
    operation: str,
    resource_id: int | None,
    trace: _Trace,
    job_id: int | None = None,
) -> dict[str, Any]:
    if operation == "list":
        return operations.listing(session, application, trace_items=trace.items)
    assert resource_id is not None
    source = _resource(session, trace, resource_id, state)
    if operation == "export_get":  # a job's state needs no live grant: a failed job says why
        assert job_id is not None
        result = exports.status(session, application, source, job_id)
        trace.items = result.items
        return result.body
    grant = _grant(session, application, source, operation, trace, state.grants)
    ctx = operations.Context(session, settings, cipher, application, source, grant)
    if operation == "export":
        result = exports.submit(ctx, _parse(exports.ExportIn, incoming.body), ip=incoming.ip)
        trace.status = 202
    elif operation == "export_file":
        assert job_id is not None
        result, trace.file, job = exports.file(ctx, job_id)
        trace.headers = {
            "X-ZX-Export-Rows": str(job.rows),
            "X-ZX-Export-SHA256": job.sha256,
            "Content-Disposition": f'attachment; filename="{exports.download_name(job)}"',
        }
    elif operation == "lookup":
        result = operations.lookup(ctx, _parse(operations.LookupIn, incoming.body))
    elif operation == "query":
        result = operations.query(ctx, _parse(operations.QueryIn, incoming.body))
    elif operation == "changes":
        result = feed.changes(ctx, _parse(feed.ChangesIn, incoming.body))
    else:
        result = operations.verify(ctx, _parse(operations.VerifyIn, incoming.body))
    trace.items, trace.masked, trace.rows = result.items, result.masked, result.rows
    trace.subjects, trace.reason = result.subjects, result.reason
    return result.body


READ_ONLY = ("list", "lookup", "query", "verify", "changes")


def _savepoint(session: Session, operation: str) -> Any:
    """A savepoint around the operation's work, so a database error in it cannot spoil the recording. A
    read-only operation leaves no ORM state to undo: the connection's savepoint is enough, without the
    session's flush and bookkeeping around it (a tenth of a lookup's server time)."""
    if operation in READ_ONLY:
        return session.connection().begin_nested()
    return session.begin_nested()


def handle(
    session: Session,
    *,
    settings: Settings,
    cipher: FieldCipher,
    incoming: Incoming,
    operation: str,
    resource_id: int | None = None,
    job_id: int | None = None,
) -> Outcome:
    """One gateway call, recorded exactly once whatever its result."""
    started = time.perf_counter()
    now = utcnow()
    trace = _Trace(operation=operation, resource_id=resource_id)
    outcome = Outcome()
    try:
        application, state = authenticate(
            session, settings=settings, cipher=cipher, incoming=incoming, now=now, trace=trace, resource_id=resource_id
        )
        rate, daily = application.rate_per_minute, application.daily_quota
        counts = state.minute_calls, state.day_calls
        limits.precheck(session, application_id=application.id, per_minute=rate, daily=daily, now=now, counts=counts)
        with _savepoint(session, operation):
            outcome.body = _run(
                session,
                settings=settings,
                cipher=cipher,
                incoming=incoming,
                application=application,
                state=state,
                operation=operation,
                resource_id=resource_id,
                trace=trace,
                job_id=job_id,
            )
        outcome.status, outcome.file = trace.status, trace.file
        outcome.headers.update(trace.headers)
        trace.remaining = limits.count_call(
            session, application_id=application.id, per_minute=rate, daily=daily, now=now
        )
        outcome.headers.update({"X-RateLimit-Limit": str(rate), "X-RateLimit-Remaining": str(trace.remaining)})
    except DomainError as exc:
        outcome.error, outcome.status, outcome.body, outcome.file = exc, exc.status, None, None
        trace.rows, trace.subjects = 0, []
    except Exception as exc:  # recorded, then re-raised by the route as a 500 with an incident number
        log.exception("gateway %s failed", operation)
        outcome.error, outcome.status, outcome.body, outcome.file = exc, 500, None, None
        trace.rows, trace.subjects = 0, []
    call_id = _record(session, trace, outcome, incoming, now, started)
    outcome.headers["X-ZX-Call-Id"] = str(call_id)
    if outcome.body is not None:
        outcome.body["call_id"] = call_id
    if isinstance(outcome.error, DomainError):
        outcome.error.headers = {**(outcome.error.headers or {}), "X-ZX-Call-Id": str(call_id)}
    return outcome


# Core statements on the tables: the ORM's bulk path costs more than the insert itself, on every call
_CALLS = cast(Table, Call.__table__)
_INSERT_CALL = insert(_CALLS).returning(_CALLS.c.id)
_DISCLOSURES = cast(Table, Disclosure.__table__)
_INSERT_DISCLOSURE = insert(_DISCLOSURES)


_PG_STATEMENTS: dict[tuple[str, ...], Any] = {}


def _call_with_disclosures(keys: tuple[str, ...]) -> Any:
    """PostgreSQL: the call row (these columns) and its disclosures in one statement, one round trip."""
    found = _PG_STATEMENTS.get(keys)
    if found is not None:
        return found
    call = insert(_CALLS).values({k: bindparam(k, type_=_CALLS.c[k].type) for k in keys})
    made = call.returning(_CALLS.c.id).cte("made")
    pairs = (
        func.unnest(
            bindparam("kinds", type_=postgresql.ARRAY(String)), bindparam("subjects", type_=postgresql.ARRAY(String))
        )
        .table_valued("kind", "subject")
        .render_derived("pairs")
    )
    filed = insert(_DISCLOSURES).from_select(
        ["call_id", "kind", "subject"],
        select(made.c.id, pairs.c.kind, pairs.c.subject).select_from(made.join(pairs, true())),  # one call row
    )
    found = _PG_STATEMENTS[keys] = select(made.c.id).add_cte(filed.cte("filed"))
    return found


def _result(status: int) -> str:
    if status < 400:
        return "成功"
    return "拒绝" if status in (401, 403, 429) else "失败"


def _record(
    session: Session, trace: _Trace, outcome: Outcome, incoming: Incoming, now: datetime, started: float
) -> int:
    """The call row, its disclosures and the one audit record (in this transaction: no record, no call)."""
    app, source, grant = trace.application, trace.source, trace.grant
    error = ""
    if isinstance(outcome.error, DomainError):
        error = outcome.error.detail[:300]
    elif outcome.error is not None:
        error = f"内部错误 {secrets.token_hex(4)}"
    result = _result(outcome.status)
    values = {
        "at": now,
        "application_id": app.id if app else None,
        "client_id": trace.client_id,
        "consumer_department_id": app.department_id if app else None,
        "resource_id": source.resource_id if source else None,
        "provider_department_id": source.department_id if source else None,
        "grant_id": grant.id if grant else None,
        "operation": trace.operation,
        "items": trace.items,
        "rows": trace.rows,
        "purpose": grant.purpose if grant else "",
        "reason": trace.reason[:200],
        "status": outcome.status,
        "result": result,
        "error": error,
        "ip": incoming.ip[:64],
        "duration_ms": int((time.perf_counter() - started) * 1000),
    }
    if trace.subjects and session.get_bind().dialect.name == "postgresql":
        kinds, subjects = [k for k, _ in trace.subjects], [s for _, s in trace.subjects]
        call_id = int(
            session.execute(
                _call_with_disclosures(tuple(values)), {**values, "kinds": kinds, "subjects": subjects}
            ).scalar_one()
        )
    else:
        call_id = int(session.execute(_INSERT_CALL, values).scalar_one())
        if trace.subjects:
            rows = [{"call_id": call_id, "kind": k, "subject": s} for k, s in trace.subjects]
            session.execute(_INSERT_DISCLOSURE, rows)
    ctx = AuditContext(
        user_id=None,
        username=f"app:{trace.client_id or '?'}"[:64],
        department_id=app.department_id if app else None,
        ip=incoming.ip,
    )
    audit.record(
        session,
        ctx,
        action=f"exchange.gateway.{trace.operation}",
        object_type="catalog_resource" if trace.resource_id else "exchange_application",
        object_id=trace.resource_id or (app.id if app else ""),
        result=result,
        detail={
            "call": call_id,
            "application": app.id if app else None,
            "application_name": app.name if app else "",
            "resource": source.code if source else trace.resource_id,
            "grant": grant.id if grant else None,
            "items": trace.items,
            "masked": trace.masked,
            "rows": trace.rows,
            "subjects": len(trace.subjects),
            "purpose": grant.purpose if grant else "",
            "reason": trace.reason[:200],
            "status": outcome.status,
            "error": error,
        },
    )
    return call_id
