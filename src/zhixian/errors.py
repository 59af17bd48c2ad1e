"""Domain errors: what services raise, each with a Chinese message and the HTTP status it means.

Pure Python, so a service can raise them without loading the web stack; their one mapping to HTTP
(RFC 9457 problem details for the API, a page for HTML) lives in ``zhixian.web.errors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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


class TooManyRequests(DomainError):
    """A caller over its rate limit; the web mapping adds ``Retry-After: <retry_after>`` (RFC 9110)."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, [], 429, "请求过于频繁")
        self.retry_after = max(1, retry_after)


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


def summary(errors: list[FieldError]) -> str:
    """The first errors in one line, each field by its label when known, each said once."""
    named = (f"{e.label or e.field}：{e.message}" if e.field else e.message for e in errors[:5])
    return "；".join(dict.fromkeys(named))


def invalid_from(exc: Any, labels: Mapping[str, str] | None = None) -> Invalid:
    """A pydantic ValidationError raised outside FastAPI's own parsing (forms, raw bodies), as the same 422."""
    errors = pydantic_errors_to_chinese(list(exc.errors()), labels, located=False)
    return Invalid(summary(errors), errors)
