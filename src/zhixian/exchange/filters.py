"""Conditions on records: a grant's row filter (e.g. own township only) and a gateway query's filters.

One shape for both — ``{"field", "op", "value"}`` — checked here against the resource's items, so a
malformed filter is a 422 naming the condition, never a database error. A grant's row filter is always
ANDed to whatever the caller asks, in SQL (sources) and again in Python where a single row is judged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from zhixian.errors import FieldError, Invalid

ROW_OPS = ("eq", "in", "prefix")
QUERY_OPS = ("eq", "in", "prefix", "gte", "lte")
OP_LABELS = {"eq": "等于", "in": "属于", "prefix": "以…开头", "gte": "不小于", "lte": "不大于"}
MAX_IN = 100
MAX_VALUE = 200
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def _value_text(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise ValueError
    text = str(value).strip()
    if not text or len(text) > MAX_VALUE:
        raise ValueError
    return text


def _checked(op: str, value: Any, data_type: str) -> Any:
    """The value as text (a list of texts for ``in``); ValueError if it cannot be one."""
    if op == "in":
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_IN:
            raise ValueError
        return [_value_text(v) for v in value]
    text = _value_text(value)
    if op in ("gte", "lte") and data_type in ("日期", "日期时间"):
        date.fromisoformat(text[:10])
    if op in ("gte", "lte") and data_type in ("整数", "数值"):
        float(text)
    return text


def normalise(
    conditions: Iterable[Mapping[str, Any]],
    *,
    fields: Mapping[str, str],
    ops: tuple[str, ...],
    where: str,
) -> list[dict[str, Any]]:
    """Checked conditions with values as text (lists for ``in``); ``fields`` maps field → data type.

    Raises Invalid naming every bad condition as ``<where>[i]``.
    """
    out: list[dict[str, Any]] = []
    problems: list[FieldError] = []
    for i, cond in enumerate(conditions):
        at = f"{where}[{i}]"
        if not isinstance(cond, Mapping):
            problems.append(FieldError("条件应为对象 {field, op, value}", field=at))
            continue
        field, op, value = cond.get("field"), cond.get("op", "eq"), cond.get("value")
        if set(cond) - {"field", "op", "value"}:
            problems.append(FieldError("条件只能包含 field、op、value", field=at))
            continue
        if not isinstance(field, str) or not _FIELD.match(field) or field not in fields:
            problems.append(FieldError(f"信息项 {str(field)[:64]!r} 不在可用的信息项中", field=f"{at}.field"))
            continue
        if op not in ops:
            allowed = "、".join(ops)
            problems.append(FieldError(f"运算符应为 {allowed} 之一", field=f"{at}.op"))
            continue
        try:
            norm = _checked(op, value, fields[field])
        except ValueError:
            shape = f"1–{MAX_IN} 个值的列表" if op == "in" else f"不超过 {MAX_VALUE} 个字符的文字、数字或日期"
            problems.append(FieldError(f"取值应为{shape}", field=f"{at}.value"))
            continue
        out.append({"field": field, "op": op, "value": norm})
    if problems:
        raise Invalid("；".join(f"{p.field}：{p.message}" for p in problems[:5]), problems)
    return out


def _compare(actual: Any, op: str, value: Any) -> bool:
    if actual is None:
        return False
    text = actual.isoformat() if isinstance(actual, date) else str(actual)
    if op in ("eq", "in", "prefix"):
        return text == value if op == "eq" else text in value if op == "in" else text.startswith(value)
    left: Any = text
    right: Any = value
    if isinstance(actual, (int, float)) and not isinstance(actual, bool):
        try:
            left, right = actual, float(value)
        except ValueError:
            return False
    return bool(left >= right if op == "gte" else left <= right)


def matches(conditions: Iterable[Mapping[str, Any]], values: Mapping[str, Any]) -> bool:
    """Whether a record (field → value) meets every condition."""
    return all(_compare(values.get(c["field"]), c["op"], c["value"]) for c in conditions)


def describe(conditions: Iterable[Mapping[str, Any]], names: Mapping[str, str] | None = None) -> str:
    """In words, for pages and the timeline: 所在区划代码 以…开头 330421101."""
    parts = []
    for c in conditions:
        value = "、".join(c["value"]) if isinstance(c["value"], list) else c["value"]
        parts.append(f"{(names or {}).get(c['field'], c['field'])} {OP_LABELS.get(c['op'], c['op'])} {value}")
    return "；".join(parts) or "全部记录"


def township_filter(division_code: str | None) -> list[dict[str, Any]]:
    """数据回流: a township (or village) department sees only records of its own division."""
    if not division_code:
        return []
    code = division_code.rstrip("0")
    width = 6 if len(code) <= 6 else 9 if len(code) <= 9 else 12
    return [{"field": "division_code", "op": "prefix", "value": division_code[:width]}]
