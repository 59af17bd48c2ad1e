"""Tables of 物联感知: profiles and their rules, devices, readings and rollups, alarms and their timeline.

Readings are keyed by (device, key, ts): a reading delivered twice (MQTT QoS 1 after a reconnect) is
stored once. Rollups (5-minute, hourly) are kept up to date at ingest, so a 30-day chart never reads
raw rows. Rule state lives in the database (``DeviceState``), not in a worker's memory, so any number
of ingest workers on a shared subscription agree on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhixian.clock import utcnow
from zhixian.db import Base


class Profile(Base):
    """A device profile (设备类型): what a kind of device reports, its valid ranges, alarm→case mapping."""

    __tablename__ = "ps_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    # [{"key": "level", "name": "水位", "unit": "m", "min": -1, "max": 20}, ...]
    telemetry: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    offline_minutes: Mapped[int] = mapped_column(Integer, default=30)
    case_class_code: Mapped[str] = mapped_column(String(8), default="")  # class of cases its alarms open
    maintenance_class_code: Mapped[str] = mapped_column(String(8), default="")  # offline device without 部件
    notify_minutes: Mapped[int | None] = mapped_column(Integer)  # escalation ladder; None = the setting
    case_minutes: Mapped[int | None] = mapped_column(Integer)
    case_min_severity: Mapped[str] = mapped_column(String(16), default="major")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rule(Base):
    """An alarm rule on a profile, or a device's override of the profile rule with the same ``code``."""

    __tablename__ = "ps_rule"
    __table_args__ = (
        CheckConstraint("(profile_id IS NULL) <> (device_id IS NULL)", name="one_owner"),
        Index("uq_ps_rule_profile_code", "profile_id", "code", unique=True),
        Index("uq_ps_rule_device_code", "device_id", "code", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("ps_profile.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("ps_device.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))  # the alarm type it raises
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # threshold | duration | repeat | rate | offline
    key: Mapped[str] = mapped_column(String(32), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Device(Base):
    """A registered sensor; its secret is write-only and kept only as a SHA-256 digest."""

    __tablename__ = "ps_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    profile_id: Mapped[int] = mapped_column(ForeignKey("ps_profile.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    department_path: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_code: Mapped[str | None] = mapped_column(String(15), index=True)
    community_code: Mapped[str | None] = mapped_column(String(12))
    street_code: Mapped[str | None] = mapped_column(String(12))
    component_code: Mapped[str | None] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64))
    secret_set_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceState(Base):
    """What ingest and the rules know of a device: last values and each rule's running state."""

    __tablename__ = "ps_device_state"

    device_id: Mapped[int] = mapped_column(ForeignKey("ps_device.id", ondelete="CASCADE"), primary_key=True)
    last_ts: Mapped[datetime | None] = mapped_column()  # newest reading evaluated by the rules
    last_seen: Mapped[datetime | None] = mapped_column(index=True)  # when the platform last heard from it
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    readings: Mapped[int] = mapped_column(Integer, default=0)


class Reading(Base):
    """One telemetry value; the key is also the duplicate check."""

    __tablename__ = "ps_reading"
    __table_args__ = (Index("ix_ps_reading_ts", "ts"),)

    device_id: Mapped[int] = mapped_column(ForeignKey("ps_device.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    ts: Mapped[datetime] = mapped_column(primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class Rollup(Base):
    """Count, sum, min and max of a key per 5-minute (300) or hourly (3600) bucket."""

    __tablename__ = "ps_rollup"
    __table_args__ = (Index("ix_ps_rollup_bucket", "seconds", "bucket"),)

    device_id: Mapped[int] = mapped_column(ForeignKey("ps_device.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    seconds: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[datetime] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)
    vmin: Mapped[float] = mapped_column(Float)
    vmax: Mapped[float] = mapped_column(Float)


class IngestCount(Base):
    """Accepted and refused readings per local day, channel and outcome (``accepted`` or the refusal reason)."""

    __tablename__ = "ps_ingest_count"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)  # mqtt | http
    outcome: Mapped[str] = mapped_column(String(24), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class Refusal(Base):
    """A sample of refused messages (the newest are kept), so an integrator can see what a device sends."""

    __tablename__ = "ps_refusal"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(24))
    device_code: Mapped[str] = mapped_column(String(64), default="")
    device_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[str] = mapped_column(String(500), default="")


class Alarm(Base):
    """One alarm; at most one active alarm per device and type (a partial unique index guards it)."""

    __tablename__ = "ps_alarm"
    __table_args__ = (
        Index(
            "uq_ps_alarm_active",
            "device_id",
            "type",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_ps_alarm_status_ack", "status", "acknowledged"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("ps_device.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))  # the rule code
    name: Mapped[str] = mapped_column(String(100))
    rule_kind: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))  # critical | major | minor | warning
    level: Mapped[str] = mapped_column(String(4), default="")  # 蓝 黄 橙 红, where the rule has levels
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | cleared
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    acked_by: Mapped[str] = mapped_column(String(100), default="")
    acked_at: Mapped[datetime | None] = mapped_column()
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    key: Mapped[str] = mapped_column(String(32), default="")
    value: Mapped[float | None] = mapped_column(Float)
    peak: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(String(300), default="")
    department_path: Mapped[str] = mapped_column(String(200), index=True)
    grid_code: Mapped[str | None] = mapped_column(String(15))
    started_at: Mapped[datetime] = mapped_column(index=True)  # reading time that raised it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column()
    escalation: Mapped[int] = mapped_column(Integer, default=0)  # 0 none, 1 duty officer told, 2 case opened
    notified_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    case_number: Mapped[str] = mapped_column(String(20), default="")
    case_closed_at: Mapped[datetime | None] = mapped_column()


class AlarmEvent(Base):
    """The alarm's timeline: what the system did (raised, severity changed, escalated) and what people wrote."""

    __tablename__ = "ps_alarm_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("ps_alarm.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))  # raised, severity, ack, assign, clear, comment, notify, case…
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(100), default="系统")
    text: Mapped[str] = mapped_column(Text, default="")


class Notice(Base):
    """A message to the duty officers (值班员) about an alarm; shown on their phone list until read."""

    __tablename__ = "ps_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("ps_alarm.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # notify | remind
    message: Mapped[str] = mapped_column(String(300))
    department_path: Mapped[str] = mapped_column(String(200))
