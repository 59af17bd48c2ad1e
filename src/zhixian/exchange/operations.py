"""The gateway's operations on one granted resource: lookup by key, filtered paged query, 核验.

Each answers with granted items only (a request for any other item is refused, not silently
trimmed), masked per item and grant (``views``), within the grant's row filter, which is ANDed in
SQL to whatever the caller asks — ids, filters, cursors and page sizes cannot reach past it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from zhixian.clock import local_today
from zhixian.errors import DomainError, FieldError, Invalid, NotFound, NotPermitted
from zhixian.exchange import filters, grants, records, signing, sources, views
from zhixian.exchange.models import Application, Grant
from zhixian.exchange.schemas import LookupIn, QueryIn, VerifyIn
from zhixian.exchange.settings import PAGE_SIZE_MAX
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings

__all__ = ["Context", "LookupIn", "QueryIn", "Result", "VerifyIn", "listing", "lookup", "query", "verify"]

COUNT_CAP = 100_000


class BadCursor(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, [FieldError(detail, field="cursor")], 400, "游标无效")


@dataclass(frozen=True)
class Context:
    session: Session
    settings: Settings
    cipher: FieldCipher
    application: Application
    source: sources.Source
    grant: Grant


@dataclass
class Result:
    body: dict[str, Any]
    items: list[str]
    masked: list[str]
    rows: int = 0
    subjects: list[tuple[str, str]] = field(default_factory=list)
    reason: str = ""


def granted_items(grant: Grant, asked: list[str] | None) -> list[str]:
    """The items asked for (all granted ones when none), refused when one lies outside the grant."""
    granted = list(grant.items)
    if not asked:
        return granted
    outside = [f for f in asked if f not in granted]
    if outside:
        raise NotPermitted(f"未获授权的信息项：{'、'.join(outside)}")
    return asked


def _fields(ctx: Context, asked: list[str] | None) -> list[str]:
    return granted_items(ctx.grant, asked)


def check_key(source: sources.Source, raw: str) -> str:
    """The key as stored, or a 422 that says what is wrong with it (never a silent miss)."""
    key = sources.normalise_key(source, source.key_field, raw)
    if source.key_field == "id_number":
        if len(key) != 18 or not key[:17].isdigit() or key[17] not in "0123456789X":
            raise Invalid("公民身份号码应为 18 位：17 位数字加 1 位数字或 X", field="key")
        if ric.calc_check_digit(key) != key[17]:
            raise Invalid("公民身份号码校验位不正确", field="key")
    elif source.key_field == "uscc" and (len(key) != 18 or not uscc.is_valid(key)):
        raise Invalid("统一社会信用代码格式或校验位不正确", field="key")
    return key


def _render(ctx: Context, rows: list[Any], fields: list[str]) -> list[dict[str, Any]]:
    renderer = views.Renderer(ctx.source, fields, ctx.grant.plain_items, ctx.cipher, ctx.settings)
    return renderer.records(rows)


def _subjects(ctx: Context, rows: list[Any]) -> list[tuple[str, str]]:
    return [records.subject(ctx.source, r, ctx.cipher) for r in rows]


def _masked(ctx: Context, fields: list[str]) -> list[str]:
    return sorted(masked_items(ctx, fields))


def masked_items(ctx: Context, fields: list[str]) -> set[str]:
    """The items of ``fields`` this grant delivers masked."""
    return views.masked_fields(ctx.source, fields, ctx.grant.plain_items, ctx.settings)


def resource_view(ctx: Context) -> dict[str, Any]:
    return {"id": ctx.source.resource_id, "code": ctx.source.code, "name": ctx.source.name}


_resource = resource_view


def lookup(ctx: Context, body: LookupIn) -> Result:
    fields = _fields(ctx, body.items)
    key = check_key(ctx.source, body.key)
    rows = sources.by_key(ctx.session, ctx.source, ctx.cipher, ctx.grant.row_filter, key)
    if not rows:
        raise NotFound(f"没有主键为该值的记录（或该记录不在授权的行范围内）：{ctx.source.name}")
    masked = _masked(ctx, fields)
    return Result(
        body={"resource": _resource(ctx), "record": _render(ctx, rows, fields)[0], "masked": masked},
        items=fields,
        masked=masked,
        rows=1,
        subjects=_subjects(ctx, rows),
        reason=body.reason,
    )


def user_filters(ctx: Context, raw: list[dict[str, Any]], fields: list[str]) -> list[dict[str, Any]]:  # noqa: ARG001 - the signature is fixed by its caller
    """The caller's conditions: on granted items only, and not on items it receives masked (a masked
    item used as a search key would give back what the mask hides), except equality on the key."""
    granted = dict(ctx.source.field_types(ctx.grant.items).items())
    conditions = filters.normalise(raw, fields=granted, ops=filters.QUERY_OPS, where="filters")
    masked = views.masked_fields(ctx.source, list(ctx.grant.items), ctx.grant.plain_items, ctx.settings)
    problems = []
    for i, cond in enumerate(conditions):
        name = cond["field"]
        if name == ctx.source.key_field and cond["op"] in ("eq", "in"):
            values = cond["value"] if cond["op"] == "in" else [cond["value"]]
            normal = [check_key(ctx.source, v) for v in values]
            cond["value"] = normal if cond["op"] == "in" else normal[0]
            continue
        if name in masked:
            problems.append(
                FieldError(
                    f"信息项 {name} 按授权脱敏提供，不能作为查询条件（主键可用“等于/属于”）", field=f"filters[{i}]"
                )
            )
    if problems:
        raise Invalid("；".join(p.message for p in problems), problems)
    return conditions


def query(ctx: Context, body: QueryIn) -> Result:
    fields = _fields(ctx, body.items)
    limit = ctx.settings.declared(PAGE_SIZE_MAX)
    if body.page_size > limit:
        raise Invalid(f"每页条数不能超过 {limit}", field="page_size")
    conditions = user_filters(ctx, body.filters, fields)
    digest = signing.filters_digest(conditions, fields)
    key = signing.cursor_key(ctx.settings.effective_secret_key)
    after = 0
    if body.cursor:
        payload = signing.read_cursor(key, body.cursor)
        if payload is None:
            raise BadCursor("游标无效或已被篡改，请使用上一页返回的 next_cursor")
        if payload.get("r") != ctx.source.resource_id or payload.get("a") != ctx.application.id:
            raise BadCursor("游标不属于本应用对该资源的查询")
        if payload.get("f") != digest:
            raise BadCursor("游标与本次查询的条件或信息项不一致，翻页时请保持条件不变")
        after = int(payload.get("k", 0))
    where = [*ctx.grant.row_filter, *conditions]
    rows = sources.query(ctx.session, ctx.source, ctx.cipher, where, after_id=after, limit=body.page_size + 1)
    more = len(rows) > body.page_size
    rows = rows[: body.page_size]
    cursor = (
        signing.make_cursor(key, {"r": ctx.source.resource_id, "a": ctx.application.id, "f": digest, "k": rows[-1].id})
        if more and rows
        else None
    )
    masked = _masked(ctx, fields)
    out: dict[str, Any] = {
        "resource": _resource(ctx),
        "rows": _render(ctx, rows, fields),
        "next_cursor": cursor,
        "masked": masked,
    }
    if body.count:
        total, capped = sources.count(ctx.session, ctx.source, ctx.cipher, where, COUNT_CAP)
        out["count"], out["count_capped"] = total, capped
    return Result(
        body=out, items=fields, masked=masked, rows=len(rows), subjects=_subjects(ctx, rows), reason=body.reason
    )


def same_name(given: str, stored: str) -> bool:
    def clean(text: str) -> str:
        return "".join(text.split()).translate({0x00B7: None, 0x30FB: None, 0xFF0E: None})

    return bool(stored) and clean(given) == clean(stored)


def verify(ctx: Context, body: VerifyIn) -> Result:
    """核验: do this key and name belong together? Yes or no; nothing of the record is returned."""
    if ctx.source.kind == "record":
        raise Invalid("只有人口、法人基础信息支持核验")
    key = check_key(ctx.source, body.key)
    rows = sources.by_key(ctx.session, ctx.source, ctx.cipher, ctx.grant.row_filter, key)
    stored = str(records.raw_values(ctx.source, rows[0]).get("name") or "") if rows else ""
    match = bool(rows) and same_name(body.name, stored)
    return Result(
        body={"resource": _resource(ctx), "match": match},
        items=[ctx.source.key_field, "name"],
        masked=[],
        rows=0,
        subjects=_subjects(ctx, rows),
        reason=body.reason,
    )


def listing(session: Session, application: Application, trace_items: list[str]) -> dict[str, Any]:  # noqa: ARG001 - the signature is fixed by its caller
    """The resources this application may call now, with items, operations and validity."""
    today: date = local_today()
    return {
        "application": {"client_id": application.client_id, "name": application.name},
        "grants": [
            {
                "grant_id": g.id,
                "resource": {"id": g.resource_id, "code": g.resource_code, "name": g.resource_name},
                "items": g.items,
                "plain_items": g.plain_items,
                "operations": g.operations,
                "row_filter": g.row_filter,
                "valid_until": g.valid_until.isoformat(),
            }
            for g in grants.applications_granted(session, application, today)
        ],
    }
