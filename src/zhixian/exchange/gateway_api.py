"""Gateway routes under /api/v1/exchange/gateway: signed by an application (HMAC-SM3), not a user session.

They are marked Public for the route walk because no sign-in is involved; every one of them is
authenticated by its signature inside ``gateway.handle`` and recorded whatever the answer.
Keys such as ID numbers travel in the JSON body, never in the URL (security.md item 15).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from zhixian.exchange import exports, feed, gateway
from zhixian.exchange.schemas import LookupIn, QueryIn, VerifyIn
from zhixian.web.auth import Public, client_ip
from zhixian.web.deps import SessionDep
from zhixian.web.params import IdPath

router = APIRouter(prefix="/api/v1/exchange/gateway", tags=["共享网关（应用签名调用）"])

_SIGNED = [
    {"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": text}
    for name, text in (
        ("X-ZX-Client-Id", "应用标识"),
        ("X-ZX-Timestamp", "Unix 时间戳（秒）"),
        ("X-ZX-Nonce", "16–64 位随机串，每次不同"),
        ("X-ZX-Signature", "HMAC-SM3 签名（十六进制），见各资源的接口文档"),
    )
]
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "游标无效"},
    401: {"description": "签名缺失、错误、过期或重放"},
    403: {"description": "应用停用、来源地址不在白名单、未获授权或授权已暂停/撤销/到期"},
    404: {"description": "资源不存在或没有该记录"},
    422: {"description": "请求体、条件或主键格式不正确"},
    429: {"description": "超过每分钟上限或每日配额（见 Retry-After）"},
}


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


def _incoming(request: Request, body: bytes) -> gateway.Incoming:
    return gateway.Incoming(
        method=request.method,
        path=request.url.path,
        query=request.url.query,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        ip=client_ip(request),
    )


def _answer(
    request: Request,
    session: SessionDep,
    body: bytes,
    operation: str,
    resource_id: int | None,
    job_id: int | None = None,
) -> Response:
    outcome = gateway.handle(
        session,
        settings=request.app.state.settings,
        cipher=request.app.state.cipher,
        incoming=_incoming(request, body),
        operation=operation,
        resource_id=resource_id,
        job_id=job_id,
    )
    if outcome.error is not None:
        session.commit()  # the record of a refused or failed call is kept; then the error is answered
        raise outcome.error
    headers = {**outcome.headers, "Cache-Control": "no-store"}
    if outcome.file is not None:
        # the name the application saves it under is in Content-Disposition (set by the gateway)
        return FileResponse(outcome.file, media_type="application/gzip", headers=headers)
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)


def _extra(model: Any) -> dict[str, Any]:
    return {
        "parameters": _SIGNED,
        "requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}},
    }


@router.get(
    "/resources",
    dependencies=[Public],
    summary="本应用当前可调用的资源、信息项和调用方式",
    openapi_extra={"parameters": _SIGNED},
    responses=_ERRORS,
)
def granted_resources(request: Request, session: SessionDep, body: RawBody) -> Response:
    return _answer(request, session, body, "list", None)


@router.post(
    "/resources/{resource_id}/lookup",
    dependencies=[Public],
    summary="按主键查询一条记录（只含授权信息项，按分级和授权脱敏）",
    openapi_extra=_extra(LookupIn),
    responses=_ERRORS,
)
def lookup(request: Request, session: SessionDep, resource_id: IdPath, body: RawBody) -> Response:
    return _answer(request, session, body, "lookup", resource_id)


@router.post(
    "/resources/{resource_id}/query",
    dependencies=[Public],
    summary="条件查询，分页（不透明的签名游标）",
    openapi_extra=_extra(QueryIn),
    responses=_ERRORS,
)
def query(request: Request, session: SessionDep, resource_id: IdPath, body: RawBody) -> Response:
    return _answer(request, session, body, "query", resource_id)


@router.post(
    "/resources/{resource_id}/verify",
    dependencies=[Public],
    summary="核验：主键（身份号码/信用代码）与姓名/名称是否一致，只回答是或否",
    openapi_extra=_extra(VerifyIn),
    responses=_ERRORS,
)
def verify(request: Request, session: SessionDep, resource_id: IdPath, body: RawBody) -> Response:
    return _answer(request, session, body, "verify", resource_id)


@router.post(
    "/resources/{resource_id}/changes",
    dependencies=[Public],
    summary="变更：自游标之后授权范围内发生变化的记录（按变更顺序，分页，不透明的签名游标）",
    openapi_extra=_extra(feed.ChangesIn),
    responses=_ERRORS,
)
def changes(request: Request, session: SessionDep, resource_id: IdPath, body: RawBody) -> Response:
    return _answer(request, session, body, "changes", resource_id)


_EXPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    404: {"description": "资源不存在，或本应用对该资源没有该导出任务"},
    409: {"description": "导出文件尚未生成"},
    410: {"description": "导出失败，或文件已过期删除"},
}


@router.post(
    "/resources/{resource_id}/exports",
    dependencies=[Public],
    status_code=202,
    summary="批量导出：提交后台任务，生成授权范围内、按授权脱敏的 gzip 文件（CSV 或 JSON Lines）",
    openapi_extra=_extra(exports.ExportIn),
    responses=_EXPORT_ERRORS,
)
def export_submit(request: Request, session: SessionDep, resource_id: IdPath, body: RawBody) -> Response:
    return _answer(request, session, body, "export", resource_id)


@router.get(
    "/resources/{resource_id}/exports/{job_id}",
    dependencies=[Public],
    summary="批量导出任务的状态（只限提交该任务的应用）",
    openapi_extra={"parameters": _SIGNED},
    responses=_EXPORT_ERRORS,
)
def export_status(
    request: Request, session: SessionDep, resource_id: IdPath, job_id: IdPath, body: RawBody
) -> Response:
    return _answer(request, session, body, "export_get", resource_id, job_id)


@router.get(
    "/resources/{resource_id}/exports/{job_id}/file",
    dependencies=[Public],
    summary="下载批量导出文件（gzip；只限提交该任务的应用，授权仍须有效，过期即删除）",
    openapi_extra={"parameters": _SIGNED},
    responses={
        **_EXPORT_ERRORS,
        200: {"description": "gzip 压缩的 CSV 或 JSON Lines 文件", "content": {"application/gzip": {}}},
    },
)
def export_file(request: Request, session: SessionDep, resource_id: IdPath, job_id: IdPath, body: RawBody) -> Response:
    return _answer(request, session, body, "export_file", resource_id, job_id)
