"""The sensor registry's shared core: who sees which device, device secrets, device profiles and their rules.

Who sees what: the command centre (``perception.monitor``) and county-scope users see every device;
anyone else only the devices of their own department and its units. Objects out of scope answer 404.
A device secret is a random token shown once; only its SHA-256 digest is stored, which is enough for a
high-entropy token and cheap enough to check on every one of thousands of messages a second.
Registering, changing and listing devices is in ``devices``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from zhixian.citymgmt import service as citymgmt
from zhixian.clock import utcnow
from zhixian.errors import Conflict, FieldError, Invalid, NotFound
from zhixian.perception.sensors import rules as engine
from zhixian.perception.sensors.models import Device, Profile, Rule
from zhixian.perception.sensors.schemas import ProfileIn, ProfileRead, RuleIn, RuleRead
from zhixian.platform import audit
from zhixian.platform.actor import Actor

MONITOR = "perception.monitor"


# --- scope


def sees_all(actor: Actor) -> bool:
    return actor.county_scope or actor.can(MONITOR)


def device_scope(actor: Actor) -> ColumnElement[bool]:
    """Devices this actor may see."""
    actor.require("perception.view")
    if sees_all(actor):
        return Device.id.is_not(None)
    return actor.department_filter(Device.department_path)


def get_device(session: Session, *, actor: Actor, device_id: int) -> Device:
    row = session.execute(select(Device).where(Device.id == device_id, device_scope(actor))).scalar_one_or_none()
    if row is None:
        raise NotFound("设备不存在或无权查看")
    return row


# --- secrets


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str | None, digest: str) -> bool:
    return bool(secret) and hmac.compare_digest(hash_secret(secret or ""), digest)


# --- profiles and rules


def rule_summary(kind: str, key: str, params: dict[str, Any], unit: str = "", name: str = "") -> str:
    """The rule in one Chinese sentence, for lists and the editor; the value by its name (积水深度) where known."""
    key = name or key
    op = engine.OPS.get(str(params.get("op", ">=")), "")
    if kind == "offline":
        return f"{params.get('minutes', '?')} 分钟无数据"
    if kind == "threshold":
        if params.get("levels"):
            parts = [
                f"{lv.get('level') or engine.SEVERITIES.get(lv.get('severity', ''), '')}{op}{lv['value']:g}"
                for lv in params["levels"]
            ]
            levels = "，".join(parts)
        else:
            levels = f"{op} {float(params.get('value', 0)):g}{unit}"
        hysteresis = float(params.get("hysteresis", 0) or 0)
        return f"{key} {levels}" + (f"（回差 {hysteresis:g}{unit}）" if hysteresis else "")
    if kind == "duration":
        return f"{key} {op} {float(params.get('value', 0)):g}{unit} 持续 {float(params.get('minutes', 0)):g} 分钟"
    if kind == "repeat":
        return f"{key} 连续 {params.get('count', '?')} 次 {op} {float(params.get('value', 0)):g}{unit}"
    direction = engine.DIRECTIONS.get(str(params.get("direction", "rise")), "")
    return f"{key} {float(params.get('minutes', 1)):g} 分钟内{direction}超过 {float(params.get('change', 0)):g}{unit}"


def rule_read(rule: Rule, units: dict[str, str] | None = None, names: dict[str, str] | None = None) -> RuleRead:
    unit = (units or {}).get(rule.key, "")
    return RuleRead(
        id=rule.id,
        profile_id=rule.profile_id,
        device_id=rule.device_id,
        code=rule.code,
        name=rule.name,
        kind=rule.kind,
        kind_label=engine.KINDS.get(rule.kind, rule.kind),
        key=rule.key,
        params=rule.params,
        enabled=rule.enabled,
        summary=rule_summary(rule.kind, rule.key, rule.params, unit, (names or {}).get(rule.key, "")),
    )


def units(profile: Profile) -> dict[str, str]:
    return {str(t["key"]): str(t.get("unit", "")) for t in profile.telemetry}


def key_names(profile: Profile) -> dict[str, str]:
    return {str(t["key"]): str(t.get("name", "")) for t in profile.telemetry}


def profile_read(session: Session, profile: Profile, devices: int | None = None) -> ProfileRead:
    rows = session.execute(select(Rule).where(Rule.profile_id == profile.id).order_by(Rule.code)).scalars()
    if devices is None:
        devices = int(session.execute(select(func.count()).where(Device.profile_id == profile.id)).scalar_one())
    read = ProfileRead.model_validate(profile)
    read.rules = [rule_read(r, units(profile), key_names(profile)) for r in rows]
    read.devices = devices
    return read


def list_profiles(session: Session, *, actor: Actor) -> list[ProfileRead]:
    actor.require("perception.view")
    counts = dict(session.execute(select(Device.profile_id, func.count()).group_by(Device.profile_id)).all())
    profiles = session.execute(select(Profile).order_by(Profile.code)).scalars()
    return [profile_read(session, p, int(counts.get(p.id, 0))) for p in profiles]


def get_profile(session: Session, profile_id: int) -> Profile:
    row = session.get(Profile, profile_id)
    if row is None:
        raise NotFound("设备类型不存在")
    return row


def _check_class(session: Session, code: str, field: str) -> None:
    if code and code not in citymgmt.class_names(session):
        raise Invalid(f"案件类别 {code} 不存在或已停用", field=field)


def save_profile(session: Session, *, actor: Actor, data: ProfileIn, profile_id: int | None = None) -> Profile:
    actor.require("perception.profile.manage")
    _check_class(session, data.case_class_code, "case_class_code")
    _check_class(session, data.maintenance_class_code, "maintenance_class_code")
    same = session.execute(select(Profile).where(Profile.code == data.code)).scalar_one_or_none()
    if same is not None and same.id != profile_id:
        raise Conflict(f"设备类型代码 {data.code} 已存在")
    profile = get_profile(session, profile_id) if profile_id else Profile()
    if profile_id:
        used = {r.key for r in session.execute(select(Rule).where(Rule.profile_id == profile_id)).scalars() if r.key}
        missing = used - {t.key for t in data.telemetry}
        if missing:
            hint = f"先修改或删除使用 {'、'.join(sorted(missing))} 的规则"
            raise Invalid("仍有规则使用被删除的遥测项", [FieldError(hint, field="telemetry")])
    values = data.model_dump()
    values["telemetry"] = [t.model_dump() for t in data.telemetry]
    for name, value in values.items():
        setattr(profile, name, value)
    profile.updated_at = utcnow()
    if not profile_id:
        session.add(profile)
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="perception.profile_save",
        object_type="ps_profile",
        object_id=profile.id,
        detail={"code": data.code},
    )
    return profile


def _keys(profile: Profile) -> dict[str, dict[str, Any]]:
    return {str(t["key"]): t for t in profile.telemetry}


def save_rule(
    session: Session, *, actor: Actor, data: RuleIn, profile_id: int | None = None, device_id: int | None = None
) -> Rule:
    """A rule on a profile, or a device's override of the profile's rule with the same code."""
    actor.require("perception.profile.manage")
    if device_id is not None:
        device = get_device(session, actor=actor, device_id=device_id)
        profile = get_profile(session, device.profile_id)
        owner = Rule.device_id == device_id
    else:
        profile = get_profile(session, profile_id or 0)
        owner = Rule.profile_id == profile.id
    params = engine.check(data.kind, data.key, data.params, _keys(profile)) if data.enabled or data.params else {}
    rule = session.execute(select(Rule).where(owner, Rule.code == data.code)).scalar_one_or_none()
    if rule is None:
        rule = Rule(profile_id=None if device_id else profile.id, device_id=device_id, code=data.code)
        session.add(rule)
    rule.name, rule.kind, rule.key = data.name, data.kind, data.key if data.kind != "offline" else ""
    rule.params, rule.enabled, rule.updated_at = params, data.enabled, utcnow()
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="perception.rule_save",
        object_type="ps_rule",
        object_id=rule.id,
        detail={"code": data.code, "kind": data.kind, "profile": profile.code, "device": device_id or ""},
    )
    return rule


def delete_rule(session: Session, *, actor: Actor, rule_id: int) -> None:
    actor.require("perception.profile.manage")
    rule = session.get(Rule, rule_id)
    if rule is None or (rule.device_id is not None and not _device_visible(session, actor, rule.device_id)):
        raise NotFound("规则不存在")
    session.delete(rule)
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="perception.rule_delete",
        object_type="ps_rule",
        object_id=rule_id,
        detail={"code": rule.code},
    )


def _device_visible(session: Session, actor: Actor, device_id: int) -> bool:
    return session.execute(select(Device.id).where(Device.id == device_id, device_scope(actor))).first() is not None


def device_rules(session: Session, *, actor: Actor, device_id: int) -> list[RuleRead]:
    device = get_device(session, actor=actor, device_id=device_id)
    profile = get_profile(session, device.profile_id)
    rows = session.execute(select(Rule).where(Rule.device_id == device_id).order_by(Rule.code)).scalars()
    return [rule_read(r, units(profile), key_names(profile)) for r in rows]


def effective(profile_rules: Sequence[Rule], device_rules: Sequence[Rule]) -> list[engine.RuleSpec]:
    """The profile's rules with the device's overrides applied (a disabled override switches a rule off)."""
    by_code = {r.code: r for r in profile_rules}
    by_code.update({r.code: r for r in device_rules})
    return [
        engine.RuleSpec(code=r.code, name=r.name, kind=r.kind, key=r.key, params=dict(r.params))
        for r in sorted(by_code.values(), key=lambda r: r.code)
        if r.enabled
    ]
