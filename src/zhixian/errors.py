"""Domain errors and their one mapping to HTTP: RFC 9457 problem details for the API, a page for HTML.

Services raise these with a Chinese message; nothing else turns into a 4xx, and bad input never
becomes a 500 (anything unexpected is logged with an incident id and shown without internals).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("zhixian.errors")

PROBLEM_JSON = "application/problem+json"


@dataclass
class FieldError:
    message: str
    field: str | None = None
    row: int | None = None
    label: str | None = None  # the field's Chinese name for people (summaries); never sent as JSON

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.row is not None:
            out["row"] = self.row
        return out


@dataclass
class DomainError(Exception):
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    status: int = 400
    title: str = "请求有误"
    headers: dict[str, str] | None = None
    location: str | None = None  # pages are sent here instead of an error page (e.g. to change a password)

    def __str__(self) -> str:
        return self.detail


class Invalid(DomainError):
    def __init__(self, detail: str, errors: list[FieldError] | None = None, *, field: str | None = None) -> None:
        errs = errors or ([FieldError(detail, field=field)] if field else [])
        super().__init__(detail, errs, 422, "输入不符合要求")


class NotFound(DomainError):
    def __init__(self, detail: str = "记录不存在或无权查看") -> None:
        super().__init__(detail, [], 404, "未找到")


class Conflict(DomainError):
    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail, errors or [], 409, "操作冲突")


class NotPermitted(DomainError):
    def __init__(self, detail: str = "没有执行此操作的权限") -> None:
        super().__init__(detail, [], 403, "无权操作")


class NotAuthenticated(DomainError):
    def __init__(self, detail: str = "请先登录") -> None:
        super().__init__(detail, [], 401, "未登录", {"WWW-Authenticate": "Bearer"})


class MustAct(DomainError):
    """The user must do something first (change a bootstrap password, pass TOTP)."""

    def __init__(self, detail: str, location: str) -> None:
        super().__init__(detail, [], 403, "需要先完成操作", None, location)


class TooLarge(DomainError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"请求体过大，上限为 {limit // 1024} KB", [], 413, "请求体过大")


class Unavailable(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, [], 503, "暂时无法完成")


# Pydantic error types → Chinese. Unknown types still get a message that names the field.
_PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不允许的字段",
    "string_type": "必须是字符串",
    "string_too_short": "长度不能少于 {min_length} 个字符",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "必须是整数",
    "int_parsing": "必须是整数",
    "int_from_float": "必须是整数",
    "float_type": "必须是数字",
    "float_parsing": "必须是数字",
    "finite_number": "必须是有限的数字",
    "bool_type": "必须是布尔值（true/false）",
    "bool_parsing": "必须是布尔值（true/false）",
    "greater_than": "必须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "必须小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "list_type": "必须是列表",
    "dict_type": "必须是对象",
    "model_type": "必须是对象",
    "model_attributes_type": "必须是对象",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "enum": "取值必须是 {expected} 之一",
    "literal_error": "取值必须是 {expected} 之一",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "datetime_parsing": "时间格式应为 ISO 8601",
    "datetime_from_date_parsing": "时间格式应为 ISO 8601",
    "json_invalid": "JSON 格式错误",
    "json_type": "JSON 格式错误",
    "uuid_parsing": "不是有效的标识",
    "string_unicode": "包含无效字符",
    "url_parsing": "不是有效的网址",
    "value_error": "{msg}",
    "assertion_error": "{msg}",
}


def pydantic_errors_to_chinese(
    errors: list[Any], labels: Mapping[str, str] | None = None, *, located: bool = True
) -> list[FieldError]:
    """Pydantic's errors in Chinese, each with its field and, when ``labels`` knows it, the field's label.

    ``located``: the errors come from FastAPI, whose first ``loc`` item is where the value was (body,
    query, …), not a field; a model validated by hand has no such item (and may have a field named "query").
    """
    out: list[FieldError] = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        if located and loc and loc[0] in ("body", "query", "path", "header", "cookie"):
            loc = loc[1:]
        field_name = ".".join(loc) or None
        kind = err.get("type", "")
        if kind in ("too_short", "too_long") and isinstance(err.get("input"), str):
            kind = "string_" + kind  # length constraints applied after a validator report as generic
        template = _PYDANTIC_MESSAGES.get(kind)
        ctx = dict(err.get("ctx") or {})
        msg = str(err.get("msg", ""))
        if kind == "value_error":
            msg = msg.removeprefix("Value error, ")
        ctx["msg"] = msg
        if template is None:
            message = f"格式不正确（{msg}）"
        else:
            try:
                message = template.format(**ctx)
            except (KeyError, IndexError):
                message = template
        if kind == "json_invalid":
            field_name = None
        label = (labels or {}).get(field_name or "") or (labels or {}).get(loc[0] if loc else "")
        out.append(FieldError(message, field=field_name, label=label))
    return out


def _summary(errors: list[FieldError]) -> str:
    named = (f"{e.label or e.field}：{e.message}" if e.field else e.message for e in errors[:5])
    return "；".join(dict.fromkeys(named))


def invalid_from(exc: Any, labels: Mapping[str, str] | None = None) -> Invalid:
    """A pydantic ValidationError raised outside FastAPI's own parsing (forms, raw bodies), as the same 422."""
    errors = pydantic_errors_to_chinese(list(exc.errors()), labels, located=False)
    return Invalid(_summary(errors), errors)


def _route_labels(request: Request) -> dict[str, str]:
    """Chinese names of the route's parameters: ``title=`` on Query/Form/…, or on a body model's fields."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return {}
    labels: dict[str, str] = {}
    pending = [dependant]
    while pending:
        current = pending.pop()
        pending.extend(current.dependencies)
        for param in (*current.path_params, *current.query_params, *current.header_params, *current.body_params):
            info = param.field_info
            if info.title:
                labels.setdefault(param.alias, info.title)
            model = info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                for name, f in model.model_fields.items():
                    if f.title:
                        labels.setdefault(f.alias or name, f.title)
    return labels


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
            location = f"/login?next={quote(request.url.path)}"
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
        return _render(request, exc.status, exc.title, exc.detail, exc.errors, exc.headers, exc.location)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = pydantic_errors_to_chinese(list(exc.errors()), _route_labels(request))
        if any(e.message == "JSON 格式错误" for e in errors):
            return _render(request, 400, "请求有误", "请求体不是有效的 JSON", errors)
        return _render(request, 422, "输入不符合要求", _summary(errors), errors)

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
    async def _unexpected(request: Request, exc: Exception) -> Response:
        incident = secrets.token_hex(4)
        log.exception("unexpected error %s on %s %s", incident, request.method, request.url.path)
        return _render(request, 500, "服务器内部错误", f"处理请求时发生意外错误，事件编号 {incident}，请联系系统管理员")
