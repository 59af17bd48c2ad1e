"""The one mapping of domain errors to HTTP: RFC 9457 problem details for the API, a page for HTML.

Services raise ``zhixian.errors`` with a Chinese message; nothing else turns into a 4xx, and bad input
never becomes a 500 (anything unexpected is logged with an incident id and shown without internals).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhixian.errors import (
    PROBLEM_JSON,
    DomainError,
    FieldError,
    TooManyRequests,
    pydantic_errors_to_chinese,
    summary,
)
from zhixian.web.forms import route_labels

log = logging.getLogger("zhixian.errors")


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/open311/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = [e.as_dict() for e in errors]
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _render(
    request: Request,
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    location: str | None = None,
) -> Response:
    if wants_html(request):
        if status == 401:
            realm = "/portal/login" if request.url.path.startswith("/portal") else "/login"  # citizens sign in apart
            location = f"{realm}?next={quote(request.url.path)}"
        if location:
            if request.headers.get("hx-request"):
                return Response(status_code=204, headers={"HX-Redirect": location})
            return RedirectResponse(location, status_code=303)
        templates = request.app.state.templates
        page: Response = templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "title": title, "detail": detail, "errors": errors or []},
            status_code=status,
            headers=headers,
        )
        return page
    renderer = getattr(request.state, "problem_renderer", None)
    if renderer is not None:  # e.g. Open311 renders its own error list
        resp: Response = renderer(status, title, detail, errors or [])
        resp.headers.update(headers or {})  # e.g. Retry-After on a 429
        return resp
    return problem(status, title, detail, errors, headers)


_HTTP_TITLES = {
    400: "请求有误",
    401: "未登录",
    403: "无权操作",
    404: "未找到",
    405: "不支持的请求方法",
    406: "不支持的响应格式",
    409: "操作冲突",
    413: "请求体过大",
    415: "不支持的内容类型",
    422: "输入不符合要求",
    429: "请求过于频繁",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        headers = exc.headers
        if isinstance(exc, TooManyRequests):
            headers = {**(headers or {}), "Retry-After": str(exc.retry_after)}
        return _render(request, exc.status, exc.title, exc.detail, exc.errors, headers, exc.location)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = pydantic_errors_to_chinese(list(exc.errors()), route_labels(request))
        if any(e.message == "JSON 格式错误" for e in errors):
            return _render(request, 400, "请求有误", "请求体不是有效的 JSON", errors)
        return _render(request, 422, "输入不符合要求", summary(errors), errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = _HTTP_TITLES.get(exc.status_code, "请求有误")
        detail = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else title
        if exc.status_code == 404:
            detail = "页面或接口不存在"
        elif exc.status_code == 405:
            detail = "该地址不支持此请求方法"
        return _render(request, exc.status_code, title, detail, None, getattr(exc, "headers", None))

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        # a value the database cannot hold (out-of-range number, over-long text) is bad input, not a crash
        log.warning("data error on %s %s: %s", request.method, request.url.path, exc.orig)
        return _render(request, 422, "输入不符合要求", "输入的数值超出允许范围或文字过长")

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> Response:
        # the last line behind the typed inputs (fields.Id/Day/Moment): a number or date too large for the
        # driver's bind (SQLite raises it unwrapped) or for date arithmetic; logged in full to find the route
        log.warning("overflow on %s %s", request.method, request.url.path, exc_info=exc)
        return _render(request, 422, "输入不符合要求", "输入的数值或日期超出允许范围")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:  # noqa: ARG001 - the signature is fixed by its caller
        incident = secrets.token_hex(4)
        log.exception("unexpected error %s on %s %s", incident, request.method, request.url.path)
        return _render(request, 500, "服务器内部错误", f"处理请求时发生意外错误，事件编号 {incident}，请联系系统管理员")
