"""The alarm rules, as pure functions of (rule, its state, one reading): no database, easy to test and fast.

Kinds, as ThingsBoard and the county's own warning practice know them:

* ``threshold`` — one or more levels (蓝/黄/橙/红 or a single severity), raised at once when a reading
  crosses a level, lowered or cleared only when the value falls back past the level minus ``hysteresis``;
* ``duration`` — the condition held continuously for ``minutes`` (by the readings' own timestamps);
* ``repeat`` — ``count`` readings in a row meet the condition;
* ``rate`` — the value changes faster than ``change`` per ``minutes`` between consecutive readings;
* ``offline`` — no reading for ``minutes``; checked by a job, cleared by the next reading.

A rule's state is a small JSON-able dict kept in ``DeviceState.rules`` under the rule's code, so any
ingest worker can pick up where another left off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Literal

from zhixian.errors import FieldError, Invalid

KINDS: dict[str, str] = {
    "threshold": "阈值（分级，带回差）",
    "duration": "持续超限（N 分钟）",
    "repeat": "连续超限（N 次）",
    "rate": "变化率",
    "offline": "离线（N 分钟无数据）",
}
SEVERITIES: dict[str, str] = {"critical": "特别严重", "major": "严重", "minor": "较重", "warning": "一般"}
SEVERITY_RANK = {"warning": 1, "minor": 2, "major": 3, "critical": 4}
LEVELS: dict[str, str] = {"蓝": "warning", "黄": "minor", "橙": "major", "红": "critical"}
"""Warning colours as the flood-control and emergency plans use them, mapped to severities."""
OPS: dict[str, str] = {">": "高于", ">=": "不低于", "<": "低于", "<=": "不高于"}
DIRECTIONS = {"rise": "上升", "fall": "下降", "both": "升降"}
PARAM_NAMES = {
    "op": "比较",
    "value": "阈值",
    "levels": "分级阈值",
    "hysteresis": "回差",
    "minutes": "分钟",
    "count": "连续次数",
    "change": "变化量",
    "direction": "变化方向",
    "severity": "级别",
    "level": "预警颜色",
}
"""A rule's parameters by the names the rule form gives them, for refusals people read."""


@dataclass(frozen=True)
class Level:
    value: float
    severity: str
    colour: str = ""  # 蓝/黄/橙/红 where the rule uses warning colours


@dataclass(frozen=True)
class RuleSpec:
    """A rule as the engine runs it (built from a ``Rule`` row after profile/device overrides)."""

    code: str
    name: str
    kind: str
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def levels(self) -> list[Level]:
        return parse_levels(self.params)

    @cached_property
    def op(self) -> str:
        return str(self.params.get("op", ">="))

    @cached_property
    def hysteresis(self) -> float:
        return float(self.params.get("hysteresis", 0) or 0)

    @property
    def severity(self) -> str:
        return str(self.params.get("severity") or LEVELS.get(str(self.params.get("level", "")), "major"))


@dataclass(frozen=True)
class Effect:
    """What a reading did to a rule: raise (or change the level of) its alarm, or clear it."""

    action: Literal["raise", "clear"]
    rule: RuleSpec
    severity: str = ""
    colour: str = ""
    value: float | None = None
    peak: float | None = None
    message: str = ""


def parse_levels(params: Mapping[str, Any]) -> list[Level]:
    """Levels from least to most severe: ``levels`` [{level|severity, value}] or one ``value``."""
    raw = params.get("levels")
    if not raw:
        colour = str(params.get("level", ""))
        severity = str(params.get("severity") or LEVELS.get(colour, "major"))
        return [Level(float(params["value"]), severity, colour)]
    out = []
    for item in raw:
        colour = str(item.get("level", ""))
        out.append(Level(float(item["value"]), str(item.get("severity") or LEVELS.get(colour, "major")), colour))
    return out


def _meets(op: str, value: float, limit: float) -> bool:
    if op == ">":
        return value > limit
    if op == ">=":
        return value >= limit
    if op == "<":
        return value < limit
    return value <= limit


def _toward_normal(op: str, limit: float, hysteresis: float) -> float:
    """The limit moved by the hysteresis toward normal: a raised alarm holds until the value passes it."""
    return limit - hysteresis if op in (">", ">=") else limit + hysteresis


def _num(x: float) -> str:
    return f"{x:g}"


def _iso(ts: datetime) -> str:
    return ts.isoformat()


def _parse_ts(raw: Any) -> datetime | None:
    """A time kept in a rule's state: a datetime while a batch runs, ISO 8601 once stored."""
    if isinstance(raw, datetime):
        return raw
    return datetime.fromisoformat(raw) if isinstance(raw, str) else None


def stored(state: dict[str, Any]) -> dict[str, Any]:
    """A rule's state as kept in the database (JSON): the times the rules hold as datetimes become ISO 8601.

    Within a batch the state keeps ``datetime`` values, so the rules neither format nor parse a time per reading.
    """
    return {k: _iso(v) if isinstance(v, datetime) else v for k, v in state.items()}


def evaluate(rule: RuleSpec, state: dict[str, Any], ts: datetime, value: float, unit: str = "") -> Effect | None:
    """Applies one reading (already validated, newer than any evaluated before) to a rule; mutates ``state``."""
    op = rule.op
    hysteresis = rule.hysteresis
    if state.get("active"):
        peak = state.get("peak")
        if peak is None or (value > peak if op in (">", ">=") else value < peak):
            state["peak"] = value
    if rule.kind == "threshold":
        return _threshold(rule, state, value, op, hysteresis, unit)
    if rule.kind == "duration":
        return _duration(rule, state, ts, value, op, hysteresis, unit)
    if rule.kind == "repeat":
        return _repeat(rule, state, value, op, hysteresis, unit)
    if rule.kind == "rate":
        return _rate(rule, state, ts, value, unit)
    return None  # offline rules are checked by the job, not per reading


def _duration(
    rule: RuleSpec, state: dict[str, Any], ts: datetime, value: float, op: str, hysteresis: float, unit: str
) -> Effect | None:
    active = bool(state.get("active"))
    minutes, limit = float(rule.params.get("minutes", 10)), float(rule.params["value"])
    if _meets(op, value, _toward_normal(op, limit, hysteresis) if active else limit):
        since = _parse_ts(state.get("since")) or ts
        state["since"] = since
        held = (ts - since).total_seconds() / 60
        if not active and held >= minutes:
            return _raise(rule, state, value, f"{_label(rule)}{OPS[op]} {_num(limit)}{unit} 已持续 {held:.0f} 分钟")
        return None
    state.pop("since", None)
    return _clear(rule, state, value) if active else None


def _repeat(
    rule: RuleSpec, state: dict[str, Any], value: float, op: str, hysteresis: float, unit: str
) -> Effect | None:
    active = bool(state.get("active"))
    count, limit = int(rule.params.get("count", 3)), float(rule.params["value"])
    if _meets(op, value, _toward_normal(op, limit, hysteresis) if active else limit):
        state["n"] = int(state.get("n", 0)) + 1
        if not active and state["n"] >= count:
            return _raise(rule, state, value, f"{_label(rule)}连续 {state['n']} 次{OPS[op]} {_num(limit)}{unit}")
        return None
    state["n"] = 0
    return _clear(rule, state, value) if active else None


def _label(rule: RuleSpec) -> str:
    return rule.name + "：" if rule.name else ""


def _raise(rule: RuleSpec, state: dict[str, Any], value: float, message: str, level: Level | None = None) -> Effect:
    state["active"] = True
    state["peak"] = value
    severity = level.severity if level else rule.severity
    colour = level.colour if level else str(rule.params.get("level", ""))
    return Effect("raise", rule, severity=severity, colour=colour, value=value, peak=value, message=message)


def _clear(rule: RuleSpec, state: dict[str, Any], value: float) -> Effect:
    peak = state.pop("peak", None)
    state["active"] = False
    state.pop("level", None)
    return Effect("clear", rule, value=value, peak=peak, message=f"{rule.name}：恢复正常（{_num(value)}）")


def _threshold(
    rule: RuleSpec, state: dict[str, Any], value: float, op: str, hysteresis: float, unit: str
) -> Effect | None:
    levels = rule.levels
    current = int(state.get("level", -1)) if state.get("active") else -1
    up = hold = -1  # the most severe level the value reaches, and the most severe it still holds
    for i, lv in enumerate(levels):
        if _meets(op, value, lv.value):
            up = i
        if _meets(op, value, _toward_normal(op, lv.value, hysteresis)):
            hold = i
    new = up if up > current else min(current, hold)
    if new == current:
        return None
    if new < 0:
        return _clear(rule, state, value)
    state["level"] = new
    level = levels[new]
    name = f"{level.colour}色" if level.colour else SEVERITIES.get(level.severity, level.severity)
    peak = state.get("peak")
    effect = _raise(
        rule,
        state,
        value,
        f"{_label(rule)}{_num(value)}{unit}，达到{name}（{OPS[op]} {_num(level.value)}{unit}）",
        level,
    )
    if current >= 0 and peak is not None:
        state["peak"] = peak if (peak > value if op in (">", ">=") else peak < value) else value
    return effect


def _rate(rule: RuleSpec, state: dict[str, Any], ts: datetime, value: float, unit: str) -> Effect | None:
    p = rule.params
    change, minutes = float(p["change"]), float(p.get("minutes", 1))
    direction = str(p.get("direction", "rise"))
    prev_v, prev_t = state.get("v"), _parse_ts(state.get("t"))
    state["v"], state["t"] = value, ts
    if prev_v is None or prev_t is None or ts <= prev_t:
        return None
    per_window = (value - float(prev_v)) / ((ts - prev_t).total_seconds() / 60) * minutes
    hit = (
        per_window > change
        if direction == "rise"
        else per_window < -change
        if direction == "fall"
        else abs(per_window) > change
    )
    if hit and not state.get("active"):
        return _raise(
            rule,
            state,
            value,
            f"{_label(rule)}{DIRECTIONS.get(direction, '')}速率 {per_window:+.2f}{unit}/{_num(minutes)} 分钟",
        )
    if not hit and state.get("active"):
        return _clear(rule, state, value)
    return None


def offline_due(rule: RuleSpec, last_seen: datetime | None, now: datetime) -> bool:
    """True when the device has been silent longer than the rule allows (never heard counts from registration)."""
    return last_seen is not None and (now - last_seen).total_seconds() / 60 >= float(rule.params.get("minutes", 30))


# --- checking what an editor sends


def check(kind: str, key: str, params: Mapping[str, Any], keys: Mapping[str, Any]) -> dict[str, Any]:
    """A rule's parameters, checked and normalised, or ``Invalid`` naming the field in Chinese."""
    if kind not in KINDS:
        raise Invalid("未知的规则类型", [FieldError(f"应为 {'、'.join(KINDS)} 之一", field="kind")])
    if kind != "offline" and key not in keys:
        usable = "、".join(f"{t.get('name', k)}（{k}）" if isinstance(t, Mapping) else k for k, t in keys.items())
        raise Invalid("规则的遥测项不在设备类型中", [FieldError(f"可用：{usable or '无'}", field="key")])
    out: dict[str, Any] = {}
    severity = _text(params, "severity")
    if severity not in (None, "") and severity not in SEVERITIES:
        raise Invalid("告警级别无效", [FieldError("应为 critical、major、minor 或 warning", field="severity")])
    colour = _text(params, "level")
    if colour not in (None, "") and colour not in LEVELS:
        raise Invalid("预警颜色无效", [FieldError("应为 蓝、黄、橙、红", field="level")])
    if severity:
        out["severity"] = severity
    if colour:
        out["level"] = colour
    if kind == "offline":
        out["minutes"] = _number(params, "minutes", 1, 10_080)
        return out
    if kind != "rate":
        op = _text(params, "op") or ">="
        if op not in OPS:
            raise Invalid("比较方式无效", [FieldError("应为 >、>=、<、<=", field="op")])
        out["op"] = op
        out["hysteresis"] = _number(params, "hysteresis", 0, 1e9, default=0.0)
    return out | _kind_params(kind, params, str(out.get("op", ">=")))


def _kind_params(kind: str, params: Mapping[str, Any], op: str) -> dict[str, Any]:
    if kind == "threshold":
        return _check_levels(params, op)
    if kind == "duration":
        return {"value": _number(params, "value", -1e12, 1e12), "minutes": _number(params, "minutes", 0.1, 10_080)}
    if kind == "repeat":
        return {"value": _number(params, "value", -1e12, 1e12), "count": int(_number(params, "count", 1, 1000))}
    direction = _text(params, "direction") or "rise"
    if direction not in DIRECTIONS:
        raise Invalid("变化方向无效", [FieldError("应为 rise、fall 或 both", field="direction")])
    return {
        "change": _number(params, "change", 1e-9, 1e12),
        "minutes": _number(params, "minutes", 0.01, 10_080, default=1.0),
        "direction": direction,
    }


def _check_levels(params: Mapping[str, Any], op: str) -> dict[str, Any]:
    raw = params.get("levels")
    if not raw:
        return {"value": _number(params, "value", -1e12, 1e12)}
    if not isinstance(raw, list) or len(raw) > 8:
        raise Invalid("分级阈值无效", [FieldError("应为 1–8 个级别", field="levels")])
    levels = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise Invalid("分级阈值无效", [FieldError(f"第 {i + 1} 级格式错误", field="levels")])
        colour, severity = _text(item, "level", "levels"), _text(item, "severity", "levels")
        if colour and colour not in LEVELS:
            raise Invalid("预警颜色无效", [FieldError(f"第 {i + 1} 级应为 蓝、黄、橙、红", field="levels")])
        if severity and severity not in SEVERITIES:
            raise Invalid("告警级别无效", [FieldError(f"第 {i + 1} 级的级别无效", field="levels")])
        entry: dict[str, Any] = {"value": _number(item, "value", -1e12, 1e12, field_name="levels")}
        if colour:
            entry["level"] = colour
        if severity:
            entry["severity"] = severity
        levels.append(entry)
    values = [lv["value"] for lv in levels]
    ascending = op in (">", ">=")
    if values != sorted(values, reverse=not ascending) or len(set(values)) != len(values):
        order = "从低到高递增" if ascending else "从高到低递减"
        raise Invalid("分级阈值顺序不对", [FieldError(f"按严重程度排列时阈值应{order}", field="levels")])
    return {"levels": levels}


def _text(params: Mapping[str, Any], name: str, field_name: str = "") -> str:
    """A choice parameter as text ('' when absent); anything but a string is refused, not compared."""
    raw = params.get(name)
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str):
        raise Invalid(f"“{PARAM_NAMES.get(name, name)}”应为文字", [FieldError("应为文字", field=field_name or name)])
    return raw


def _number(
    params: Mapping[str, Any], name: str, lo: float, hi: float, *, default: float | None = None, field_name: str = ""
) -> float:
    raw = params.get(name, default)
    try:
        value = float(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        value = None
    if value is None or not math.isfinite(value) or not lo <= value <= hi:
        raise Invalid(
            f"“{PARAM_NAMES.get(name, name)}”无效",
            [FieldError(f"应为 {_num(lo)} 到 {_num(hi)} 之间的数", field=field_name or name)],
        )
    return value
