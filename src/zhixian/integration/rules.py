"""Normalise and validate one source row against the catalogue items it maps to.

Compiled once per run into a list of per-field closures, because the bench pushes a million rows
through it. Every failure is a Chinese reason naming the item, so quarantine is self-explaining.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

from zhixian.clock import local_today

_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_EXCEL_EPOCH = date(1899, 12, 30)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_GENDER = {
    "1": "男",
    "男": "男",
    "m": "男",
    "male": "男",
    "男性": "男",
    "2": "女",
    "女": "女",
    "f": "女",
    "female": "女",
    "女性": "女",
    "0": "未知",
    "9": "未说明",
    "未知": "未知",
    "未说明": "未说明",
}
_PROVINCES = frozenset(
    {
        11,
        12,
        13,
        14,
        15,
        21,
        22,
        23,
        31,
        32,
        33,
        34,
        35,
        36,
        37,
        41,
        42,
        43,
        44,
        45,
        46,
        50,
        51,
        52,
        53,
        54,
        61,
        62,
        63,
        64,
        65,
        71,
        81,
        82,
    }
)
_TRUE = {"是", "true", "1", "y", "yes", "t"}
_FALSE = {"否", "false", "0", "n", "no", "f"}


class Bad(ValueError):
    """A value that cannot be loaded; the message is the Chinese reason."""


def text(value: Any) -> str | None:
    """Full-width → half-width, trimmed; empty → None. Excel numbers that are whole become integers."""
    if value is None:
        return None
    if isinstance(value, float):
        value = int(value) if value.is_integer() else value
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    s = str(value).translate(_FULLWIDTH).strip()
    return s or None


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _serial(float(value))
    s = text(value) or ""
    if re.fullmatch(r"\d{5}(\.\d+)?", s):  # Excel serial kept as text
        return _serial(float(s))
    for pattern in _DATE_PATTERNS:
        m = pattern.match(s)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError as exc:
                raise Bad("日期不存在") from exc
    raise Bad("日期格式无法识别（支持 2024-01-31、2024/1/31、2024年1月31日、20240131、Excel 日期）")


def _serial(days: float) -> date:
    if not 1 <= days <= 80_000:
        raise Bad("Excel 日期序号超出范围")
    return _EXCEL_EPOCH + timedelta(days=int(days))


def parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    s = text(value) or ""
    try:
        return datetime.fromisoformat(s.replace("/", "-"))
    except ValueError:
        d = parse_date(value)
        return datetime(d.year, d.month, d.day)  # noqa: DTZ001 - a source's local wall time, kept as given


@lru_cache(maxsize=8192)
def _area_known(code: str) -> bool:
    return any(props for _, props in numdb.get("cn/loc").info(code))


def id_number(value: str) -> str:
    """GB 11643 via stdnum: length, digits, MOD 11-2 check character, birth date, known area code.

    stdnum's own ``validate`` also requires the area code to have existed in the birth year, which
    refuses real numbers: people born before a county got its code were issued numbers under it
    later. So the area is checked against every era of the code table instead.
    """
    v = value.upper().replace(" ", "")
    if len(v) != 18:
        raise Bad(f"应为 18 位，实际 {len(v)} 位")
    if not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        raise Bad("应为 17 位数字加 1 位数字或 X")
    if v[17] != ric.calc_check_digit(v):
        raise Bad("校验位错误")
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))  # as ric.get_birth_date, without re-cleaning
    except ValueError as exc:
        raise Bad("出生日期无效") from exc
    if not date(1880, 1, 1) <= born <= local_today():
        raise Bad("出生日期无效")
    if not _area_known(v[:6]):
        raise Bad("地址码（前 6 位）不是有效的行政区划代码")
    return v


def credit_code(value: str) -> str:
    v = value.upper().replace(" ", "")
    if len(v) != 18:
        raise Bad(f"应为 18 位，实际 {len(v)} 位")
    try:
        return str(uscc.validate(v))
    except InvalidChecksum as exc:
        raise Bad("校验位错误") from exc
    except ValidationError as exc:
        raise Bad("含无效字符（不得含 I、O、Z、S、V）或格式错误") from exc


def mobile(value: str) -> str:
    v = value.replace(" ", "").replace("-", "")
    v = v.removeprefix("+86").removeprefix("0086")
    if not _MOBILE.match(v):
        raise Bad("应为 11 位手机号码、以 13–19 开头")
    return v


def phone(value: str) -> str:
    v = value.replace(" ", "")
    if _MOBILE.match(v.removeprefix("+86")) or _LANDLINE.match(v):
        return v.removeprefix("+86")
    raise Bad("格式不正确（手机 11 位，或区号-号码）")


def division(value: str) -> str:
    v = value.replace(" ", "")
    if re.fullmatch(r"\d{6}", v):
        v += "000000"
    if not re.fullmatch(r"\d{12}", v):
        raise Bad("应为 12 位数字（或 6 位县级代码）")
    if int(v[:2]) not in _PROVINCES:
        raise Bad("省级代码不存在")
    return v


def gender(value: str) -> str:
    g = _GENDER.get(value.lower())
    if g is None:
        raise Bad("取值应为 1/2/男/女")
    return g


_RULES: dict[str, Callable[[str], str]] = {
    "身份证号": id_number,
    "统一社会信用代码": credit_code,
    "手机号": mobile,
    "电话": phone,
    "行政区划代码": division,
    "性别": gender,
}


@dataclass(frozen=True)
class ItemSpec:
    field: str
    name: str
    data_type: str = "字符串"
    length: int | None = None
    rule: str = ""
    required: bool = False
    min_value: float | None = None
    max_value: float | None = None


def _converter(spec: ItemSpec, known_divisions: frozenset[str], county_code: str) -> Callable[[Any], Any]:
    rule = _RULES.get(spec.rule)
    kind = spec.data_type

    def convert(raw: Any) -> Any:  # noqa: PLR0911 - one return per data type reads best
        if kind == "日期":
            return parse_date(raw).isoformat()
        if kind == "日期时间":
            return parse_datetime(raw).isoformat(sep=" ")
        s = raw if type(raw) is str else text(raw)  # RowChecker.check already normalised str values
        assert s is not None
        if kind == "整数":
            try:
                n: float = int(float(s)) if re.fullmatch(r"-?\d+(\.0+)?", s) else int(s)
            except ValueError as exc:
                raise Bad("应为整数") from exc
            return _range(spec, n)
        if kind == "数值":
            try:
                return _range(spec, float(s.replace(",", "")))
            except ValueError as exc:
                raise Bad("应为数值") from exc
        if kind == "布尔":
            if s.lower() in _TRUE:
                return True
            if s.lower() in _FALSE:
                return False
            raise Bad("应为 是/否")
        if rule is not None:
            s = rule(s)
            if (
                spec.rule == "行政区划代码"
                and s.startswith(county_code)
                and known_divisions
                and s not in known_divisions
            ):
                raise Bad("不是本县已登记的行政区划代码")
        if spec.length is not None and len(s) > spec.length:
            raise Bad(f"长度超过 {spec.length} 个字符")
        return s

    return convert


def _range(spec: ItemSpec, n: float) -> float:
    if spec.min_value is not None and n < spec.min_value:
        raise Bad(f"不能小于 {spec.min_value:g}")
    if spec.max_value is not None and n > spec.max_value:
        raise Bad(f"不能大于 {spec.max_value:g}")
    return n


class RowChecker:
    """Turns a raw source row into clean item values, or the list of reasons it cannot be loaded."""

    def __init__(
        self,
        items: list[ItemSpec],
        mapping: Mapping[str, str],
        *,
        known_divisions: frozenset[str] = frozenset(),
        county_code: str = "",
    ) -> None:
        self.plan = [
            (spec, mapping[spec.field], _converter(spec, known_divisions, county_code))
            for spec in items
            if spec.field in mapping
        ]
        self.missing_required = [s for s in items if s.required and s.field not in mapping]

    def check(self, row: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
        clean: dict[str, Any] = {}
        errors: list[dict[str, str]] = []
        for spec in self.missing_required:
            errors.append({"field": spec.field, "message": f"“{spec.name}”为必填项，但映射中没有对应的列"})
        for spec, column, convert in self.plan:
            raw = row.get(column)
            if type(raw) is str:  # the common case (CSV): normalise once here, convert sees clean text
                raw = raw.translate(_FULLWIDTH).strip() or None
            elif raw is not None and text(raw) is None:
                raw = None
            if raw is None:
                if spec.required:
                    errors.append({"field": spec.field, "message": f"“{spec.name}”为必填项，不能为空"})
                clean[spec.field] = None
                continue
            try:
                clean[spec.field] = convert(raw)
            except Bad as exc:
                errors.append({"field": spec.field, "message": f"“{spec.name}”{exc}"})
        return clean, errors


def reason_text(errors: list[dict[str, str]]) -> str:
    return "；".join(e["message"] for e in errors)[:1000]
