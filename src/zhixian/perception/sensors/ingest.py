"""Ingest: what a device sends, checked, stored in batches, rolled up and run through the rules.

Topic layout (MQTT) — a device publishes to ``<topic root>/<device code>/telemetry`` (default root
``zhixian/sensors``), QoS 1, JSON::

    {"token": "<device secret>", "ts": 1763430000123, "values": {"level": 1.23, "battery": 87}}

``ts`` is Unix milliseconds or ISO 8601 with a zone (absent: the time the platform received it);
a device that buffered readings while offline sends ``{"token": …, "readings": [{"ts": …, "values": {…}}, …]}``.
The same JSON goes to ``POST /api/v1/perception/ingest/{device code}`` for devices without MQTT (the
token may be sent as header ``X-Device-Token`` instead).

The broker here runs without an authentication plugin, so the platform checks each message's token
against the device's stored digest itself; a county that turns on broker authentication and TLS keeps
this check as a second line. Every refusal — unknown device, wrong token, a value outside the
profile's range, a clock too far off, a malformed payload — is counted per day and reason, and a
sample is kept; nothing a device sends can stop the worker.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from zhixian.clock import LOCAL_TZ, utcnow
from zhixian.perception import settings as conf
from zhixian.perception.sensors import alarms, store
from zhixian.perception.sensors import rules as engine
from zhixian.perception.sensors import service as registry
from zhixian.perception.sensors.models import Device, DeviceState, IngestCount, Profile, Reading, Refusal, Rule
from zhixian.settings import Settings

REASONS: dict[str, str] = {
    "unknown_device": "未登记的设备",
    "bad_token": "设备密钥错误",
    "inactive_device": "设备已停用",
    "bad_payload": "报文格式错误",
    "too_large": "报文过大",
    "clock_ahead": "读数时间超前（设备时钟错误）",
    "too_old": "读数时间过旧",
    "out_of_range": "数值超出有效范围",
    "unknown_key": "设备类型中没有该遥测项",
    "bad_value": "数值不是有限数字",
}
OUTCOMES = {
    "accepted": "已接收",
    "late": "迟到（已存，不触发规则）",
    "duplicate": "重复（此前已收到，忽略）",
    **REASONS,
}
CHANNELS = {"mqtt": "MQTT 接入", "http": "HTTP 上报"}
ROLLUPS = store.ROLLUPS
SAMPLES_PER_BATCH = 20


@dataclass(frozen=True)
class Limits:
    max_payload: int = 65_536
    ahead: timedelta = timedelta(minutes=10)
    max_age: timedelta = timedelta(hours=72)

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_payload=settings.declared(conf.MAX_PAYLOAD_BYTES),
            ahead=timedelta(minutes=settings.declared(conf.CLOCK_SKEW_MINUTES)),
            max_age=timedelta(hours=settings.declared(conf.MAX_AGE_HOURS)),
        )


@dataclass
class Message:
    """One message as it arrived: MQTT (topic → device code) or HTTP (code from the path)."""

    device_code: str
    payload: bytes
    channel: str = "mqtt"
    received: datetime | None = None
    token: str | None = None  # HTTP header, when given
    ack: Any = None  # the MQTT (mid, qos) to acknowledge after commit
    arrived: float = 0.0  # time.monotonic() when the worker received it (how long it has waited for a batch)


@dataclass
class CachedDevice:
    id: int
    code: str
    active: bool
    secret_hash: str
    ranges: dict[str, tuple[float, float]]
    units: dict[str, str]
    rules: list[engine.RuleSpec]


@dataclass
class DeviceCache:
    """The registry as ingest needs it, per worker; reloaded when devices, profiles or rules change."""

    by_code: dict[str, CachedDevice] = field(default_factory=dict)
    stamp: tuple[Any, ...] = ()
    verified: dict[int, tuple[str, str]] = field(default_factory=dict)  # id → (digest, token) that matched
    forced_at: float = 0.0

    def refresh(self, session: Session, *, force: bool = False) -> None:
        stamp = (
            *session.execute(select(func.count(Device.id), func.max(Device.updated_at))).one(),
            session.execute(select(func.max(Profile.updated_at))).scalar(),
            *session.execute(select(func.count(Rule.id), func.max(Rule.updated_at))).one(),
        )
        if stamp == self.stamp and not force:
            return
        self.stamp = stamp
        profiles = {p.id: p for p in session.execute(select(Profile)).scalars()}
        rules: dict[tuple[str, int], list[Rule]] = defaultdict(list)
        for r in session.execute(select(Rule)).scalars():
            rules[("p", r.profile_id) if r.profile_id else ("d", r.device_id or 0)].append(r)
        self.by_code = {}
        for d in session.execute(select(Device)).scalars():
            p = profiles[d.profile_id]
            self.by_code[d.code] = CachedDevice(
                id=d.id,
                code=d.code,
                active=d.active,
                secret_hash=d.secret_hash,
                ranges={str(t["key"]): (float(t["min"]), float(t["max"])) for t in p.telemetry},
                units=registry.units(p),
                rules=registry.effective(rules[("p", p.id)], rules[("d", d.id)]),
            )

    def find(self, session: Session, code: str) -> CachedDevice | None:
        found = self.by_code.get(code)
        if found is None and time.monotonic() - self.forced_at > 1.0:  # a device registered a moment ago
            self.forced_at = time.monotonic()
            self.refresh(session, force=True)
            found = self.by_code.get(code)
        return found

    def token_ok(self, device: CachedDevice, token: str | None) -> bool:
        known = self.verified.get(device.id)
        if known is not None and known == (device.secret_hash, token):
            return True
        if token and registry.secret_matches(token, device.secret_hash):
            self.verified[device.id] = (device.secret_hash, token)
            return True
        return False


@dataclass
class BatchResult:
    accepted: int = 0
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, outcome) → n
    per_message: list[tuple[int, Counter[str]]] = field(default_factory=list)  # HTTP answers: index → outcomes
    effects: int = 0

    @property
    def refused(self) -> int:
        return sum(n for (_, outcome), n in self.counts.items() if outcome in REASONS)


class Refused(Exception):
    def __init__(self, reason: str, detail: str = "", device: CachedDevice | None = None) -> None:
        super().__init__(reason)
        self.reason, self.detail, self.device = reason, detail, device


def parse_ts(raw: Any, received: datetime) -> datetime:
    if raw is None:
        return received
    if isinstance(raw, bool):
        raise Refused("bad_payload", "ts 应为 Unix 毫秒或 ISO 8601")
    if isinstance(raw, int | float):
        if not math.isfinite(raw) or not 0 < raw < 1e14:
            raise Refused("bad_payload", f"ts 无效：{raw!r}")
        return datetime.fromtimestamp(raw / 1000, UTC)
    if isinstance(raw, str):
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError:
            raise Refused("bad_payload", f"ts 无效：{raw[:40]!r}") from None
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=LOCAL_TZ)  # a device without a zone speaks Beijing time
        return ts.astimezone(UTC)
    raise Refused("bad_payload", "ts 应为 Unix 毫秒或 ISO 8601")


def _entries(doc: Any) -> list[tuple[Any, Any]]:
    if not isinstance(doc, dict):
        raise Refused("bad_payload", "报文应为 JSON 对象")
    if "readings" in doc:
        items = doc["readings"]
        if not isinstance(items, list) or not 0 < len(items) <= 500:
            raise Refused("bad_payload", "readings 应为 1–500 条读数的数组")
        return [(i.get("ts"), i.get("values")) if isinstance(i, dict) else (None, None) for i in items]
    return [(doc.get("ts"), doc.get("values"))]


def _split(
    msg: Message, device: CachedDevice, doc: dict[str, Any], now: datetime, limits: Limits, outcomes: Counter[str]
) -> list[tuple[datetime, dict[str, float]]]:
    """The message's readings with valid values; every refused value is counted in ``outcomes``."""
    received = msg.received or now
    ahead, oldest = now + limits.ahead, now - limits.max_age
    ranges = device.ranges
    out = []
    for raw_ts, values in _entries(doc):
        if not isinstance(values, dict) or not values:
            raise Refused("bad_payload", "values 应为非空的 JSON 对象")
        if type(raw_ts) is int and 0 < raw_ts < 100_000_000_000_000:  # the usual Unix milliseconds
            ts = datetime.fromtimestamp(raw_ts / 1000, UTC)
        else:
            try:
                ts = parse_ts(raw_ts, received)
            except Refused as exc:
                outcomes[exc.reason] += 1
                continue
        if ts > ahead:
            outcomes["clock_ahead"] += len(values)
            continue
        if ts < oldest:
            outcomes["too_old"] += len(values)
            continue
        good = _good_values(values, ranges, outcomes)
        if good:
            out.append((ts, good))
    return out


def _good_values(
    values: dict[str, Any], ranges: dict[str, tuple[float, float]], outcomes: Counter[str]
) -> dict[str, float]:
    """A reading's values that are known keys, finite numbers and inside their range; the rest are counted."""
    good: dict[str, float] = {}
    for key, value in values.items():
        bounds = ranges.get(key)
        kind = type(value)
        if bounds is None:
            outcomes["unknown_key"] += 1
        elif (kind is float or kind is int) and math.isfinite(value):  # what JSON numbers are; bool is not
            if bounds[0] <= value <= bounds[1]:
                good[key] = float(value)
            else:
                outcomes["out_of_range"] += 1
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            outcomes["bad_value"] += 1
        elif not bounds[0] <= value <= bounds[1]:
            outcomes["out_of_range"] += 1
        else:
            good[key] = float(value)
    return good


def _insert(session: Session, model: Any) -> Any:
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(model)


def process(
    session: Session, batch: Sequence[Message], *, cache: DeviceCache, limits: Limits, now: datetime | None = None
) -> BatchResult:
    """One batch in the caller's transaction: validate, store new readings, roll up, evaluate rules, count."""
    now = now or utcnow()
    result = BatchResult()
    cache.refresh(session)
    accepted: dict[int, list[tuple[datetime, dict[str, float]]]] = defaultdict(list)
    samples: list[dict[str, Any]] = []
    devices: dict[int, CachedDevice] = {}
    for index, msg in enumerate(batch):
        outcomes: Counter[str] = Counter()
        device = None
        try:
            device, readings = _check(session, msg, cache, limits, now, outcomes)
        except Refused as exc:
            outcomes[exc.reason] += 1
            if len(samples) < SAMPLES_PER_BATCH:
                samples.append(_sample(msg, exc, exc.device, now))
        else:
            if readings:
                accepted[device.id].extend(readings)
                devices[device.id] = device
                outcomes["accepted"] += sum(len(v) for _, v in readings)
        for outcome, n in outcomes.items():
            result.counts[(msg.channel, outcome)] += n
        if msg.channel == "http":
            result.per_message.append((index, outcomes))
    if accepted:
        channel = batch[0].channel
        late, duplicates = _store_and_evaluate(session, accepted, devices, now, result)
        result.counts[(channel, "late")] += late
        result.counts[(channel, "accepted")] -= duplicates
        result.counts[(channel, "duplicate")] += duplicates
    result.accepted = sum(n for (_, o), n in result.counts.items() if o == "accepted")
    _count(session, result.counts, now)
    if samples:
        session.execute(_insert(session, Refusal), samples)
    return result


def _check(
    session: Session, msg: Message, cache: DeviceCache, limits: Limits, now: datetime, outcomes: Counter[str]
) -> tuple[CachedDevice, list[tuple[datetime, dict[str, float]]]]:
    """The message's device and valid readings, or ``Refused`` with the reason the whole message is refused."""
    if len(msg.payload) > limits.max_payload:
        raise Refused("too_large", f"{len(msg.payload)} 字节")
    device = cache.find(session, msg.device_code)
    if device is None:
        raise Refused("unknown_device", msg.device_code[:64])
    try:
        doc = json.loads(msg.payload)
    except (ValueError, UnicodeDecodeError):
        raise Refused("bad_payload", "不是有效的 JSON", device) from None
    token = msg.token or (doc.get("token") if isinstance(doc, dict) else None)
    if not cache.token_ok(device, token if isinstance(token, str) else None):
        raise Refused("bad_token", "", device)
    if not device.active:
        raise Refused("inactive_device", "", device)
    try:
        return device, _split(msg, device, doc, now, limits, outcomes)
    except Refused as exc:
        exc.device = device
        raise


def _sample(msg: Message, exc: Refused, device: CachedDevice | None, now: datetime) -> dict[str, Any]:
    text = msg.payload[:300].decode("utf-8", "replace")
    if '"token"' in text:
        text = text.split('"token"')[0] + '"token": "***"…'  # never keep a secret, right or wrong
    detail = f"{exc.detail} | {text}" if exc.detail else text
    return {
        "at": now,
        "channel": msg.channel,
        "reason": exc.reason,
        "device_code": msg.device_code[:64],
        "device_id": device.id if device else None,
        "detail": detail[:500],
    }


def _store_and_evaluate(
    session: Session,
    accepted: dict[int, list[tuple[datetime, dict[str, float]]]],
    devices: dict[int, CachedDevice],
    now: datetime,
    result: BatchResult,
) -> tuple[int, int]:
    """(late, duplicate) reading counts; only readings stored for the first time are rolled up and evaluated.

    The batch's device states are locked first (PostgreSQL ``FOR UPDATE``; SQLite writes one at a time), so
    two workers never evaluate the same device at once. Readings newer than what the rules have seen go
    in with one statement (``store``: no per-row bind processing); older ones (late, or delivered twice)
    are inserted with RETURNING to learn which are new, and only those are rolled up — one upsert of the
    batch's aggregated buckets. Nothing per reading goes through the ORM.
    """
    ids = sorted(accepted)
    states = {
        s.device_id: s
        for s in session.execute(
            select(DeviceState).where(DeviceState.device_id.in_(ids)).order_by(DeviceState.device_id).with_for_update()
        ).scalars()
    }
    fresh: list[store.Row] = []
    older: list[store.Row] = []
    plans: dict[int, list[tuple[datetime, dict[str, float]]]] = {}
    for device_id in ids:
        state = states.get(device_id)
        last_ts = state.last_ts if state is not None else None
        merged: dict[datetime, dict[str, float]] = {}
        for ts, values in accepted[device_id]:
            known = merged.get(ts)
            if known is None:
                merged[ts] = dict(values)
            else:
                known.update(values)
        plan = plans[device_id] = []
        for ts in sorted(merged):
            values = merged[ts]
            if last_ts is None or ts > last_ts:
                plan.append((ts, values))
                fresh.extend((device_id, k, ts, v) for k, v in values.items())
            else:
                older.extend((device_id, k, ts, v) for k, v in values.items())
    conn = session.connection()
    store.insert_readings(conn, fresh)
    late_stored: list[Any] = []
    if older:
        stmt = _insert(session, Reading).on_conflict_do_nothing()
        rows = [{"device_id": d, "key": k, "ts": ts, "value": v} for d, k, ts, v in older]
        late_stored = list(
            conn.execute(stmt.returning(Reading.device_id, Reading.key, Reading.ts, Reading.value), rows)
        )
    store.roll_up(conn, [*fresh, *late_stored])
    effects: list[alarms.Raised] = []
    for device_id in ids:
        state = states.get(device_id)
        if state is None:
            state = DeviceState(device_id=device_id, values={}, rules={}, readings=0, offline=False)
            session.add(state)
        effects += _evaluate(devices[device_id], state, plans[device_id], now)
        state.readings = (
            (state.readings or 0)
            + sum(len(v) for _, v in plans[device_id])
            + sum(1 for r in late_stored if r[0] == device_id)
        )
    session.flush()
    if effects:
        result.effects = alarms.apply(session, effects, now=now)
    total_in = len(fresh) + len(older)
    return len(late_stored), total_in - len(fresh) - len(late_stored)


def _evaluate(
    device: CachedDevice, state: DeviceState, plan: list[tuple[datetime, dict[str, float]]], now: datetime
) -> list[alarms.Raised]:
    """Runs the device's rules over its new readings in time order; updates the state in place."""
    rule_state = {k: dict(v) for k, v in (state.rules or {}).items()}
    values = dict(state.values or {})
    effects: list[alarms.Raised] = []
    # the rules that look at readings, each with its state and unit, found once per device and batch
    active = [
        (rule, rule_state.setdefault(rule.code, {}), device.units.get(rule.key, ""))
        for rule in device.rules
        if rule.kind != "offline"
    ]
    evaluate = engine.evaluate
    seen: set[str] = set()
    for ts, readings in plan:
        seen.update(readings)
        for rule, kept, unit in active:
            value = readings.get(rule.key)
            if value is None:
                continue
            effect = evaluate(rule, kept, ts, value, unit)
            if effect is not None:
                effects.append(alarms.Raised(device.id, ts, effect))
        values.update(readings)
    if plan:
        values["_ts"] = plan[-1][0].isoformat()
    # as before: a rule gets its (possibly empty) state once a reading of its key has been evaluated
    used = {rule.code for rule, _, _ in active if rule.key in seen} | set(state.rules or {})
    rule_state = {code: engine.stored(kept) for code, kept in rule_state.items() if code in used}
    if plan:
        state.last_ts = plan[-1][0]
    if state.offline:
        state.offline = False
        effects.append(alarms.Raised(device.id, now, None, back_online=True))
    state.last_seen, state.values, state.rules = now, values, rule_state
    return effects


def _count(session: Session, counts: Counter[tuple[str, str]], now: datetime) -> None:
    if not counts:
        return
    day = now.astimezone(LOCAL_TZ).date().isoformat()
    rows = [{"day": day, "channel": ch, "outcome": o, "n": n} for (ch, o), n in sorted(counts.items()) if n > 0]
    if not rows:
        return
    stmt = _insert(session, IngestCount)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "channel", "outcome"], set_={"n": IngestCount.n + stmt.excluded.n}
    )
    session.connection().execute(stmt, rows)
