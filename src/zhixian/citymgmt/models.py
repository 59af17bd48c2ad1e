"""数字城管 tables: grids and areas, classes, components, gazetteer, cases and their timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhixian.clock import utcnow
from zhixian.db import Base

BigId = BigInteger().with_variant(Integer(), "sqlite")


class Area(Base):
    """A community (社区/村) or street (街道/镇/乡) boundary, keyed by its 12-digit division code."""

    __tablename__ = "cm_area"

    division_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(8))  # town / village
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)
    wkt: Mapped[str] = mapped_column(Text)


class Grid(Base):
    """单元网格: 15-digit code = county 6 + street 3 + community 3 + sequence 3."""

    __tablename__ = "cm_grid"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(15), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    community_code: Mapped[str] = mapped_column(String(12), index=True)
    street_code: Mapped[str] = mapped_column(String(12), index=True)
    wkt: Mapped[str] = mapped_column(Text)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    area_m2: Mapped[float] = mapped_column(Float, default=0)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)


class GeoVersion(Base):
    """Bumped whenever grids or areas change, so every worker rebuilds its in-memory index."""

    __tablename__ = "cm_geo_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)


class ConfigValue(Base):
    """应用维护: settings the operations centre edits without a restart (weights, limits, thresholds)."""

    __tablename__ = "cm_config"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class CaseClass(Base):
    """A component (部件) or event (事件) class; major classes have a 2-digit code, minor classes 4."""

    __tablename__ = "cm_class"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # component / event
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(String(8), index=True)
    filing_standard: Mapped[str] = mapped_column(String(500), default="")
    closing_standard: Mapped[str] = mapped_column(String(500), default="")
    limit_value: Mapped[float] = mapped_column(Float, default=0)
    limit_unit: Mapped[str] = mapped_column(String(8), default="hours")  # hours / days (working)
    urgent_value: Mapped[float] = mapped_column(Float, default=0)
    urgent_unit: Mapped[str] = mapped_column(String(8), default="hours")
    department_code: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32), default="citymgmt")  # subsystem that contributed it
    active: Mapped[bool] = mapped_column(default=True)


class Component(Base):
    """部件: 16-digit code = county 6 + major 2 + minor 2 + serial 6."""

    __tablename__ = "cm_component"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    class_code: Mapped[str] = mapped_column(String(8), index=True)
    name: Mapped[str] = mapped_column(String(100))
    owner_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    maintainer_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    grid_code: Mapped[str | None] = mapped_column(String(15), index=True)
    state: Mapped[str] = mapped_column(String(16), default="完好")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    initial_date: Mapped[str] = mapped_column(String(10), default="")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    data_source: Mapped[str] = mapped_column(String(50), default="普查")
    note: Mapped[str] = mapped_column(String(200), default="")


class Address(Base):
    """Standard address (地名地址) with coordinates; ``tokens`` holds jieba words for fuzzy search."""

    __tablename__ = "cm_address"
    __table_args__ = (Index("ix_cm_address_lon_lat", "lon", "lat"),)  # nearest address to a case (cases/places)

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    tokens: Mapped[str] = mapped_column(String(600), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_code: Mapped[str | None] = mapped_column(String(15))
    community_code: Mapped[str | None] = mapped_column(String(12))


class Case(Base):
    __tablename__ = "cm_case"
    __table_args__ = (
        Index("ix_cm_case_status_deadline", "status", "deadline"),
        Index("ix_cm_case_dept_dispatched", "department_id", "dispatched_at"),
        # period scans: covers source mix, class mix and per-street counts without touching the table
        Index("ix_cm_case_reported_mix", "reported_at", "source", "class_code", "street_code"),
        Index("ix_cm_case_community_reported", "community_code", "reported_at"),
        Index("ix_cm_case_reporter_reported", "reporter_id", "reported_at"),
        Index("ix_cm_case_ip_reported", "reporter_ip", "reported_at"),  # Open311 submissions per address
        # operations view and evaluation at 1M cases (bench/citymgmt_ops.py)
        # covering for grid shading; also serves grid + status filters (SQLite would rather scan a
        # (grid_code, status) index end to end for the GROUP BY order, so there is none)
        Index("ix_cm_case_status_grid", "status", "grid_code", "deadline"),
        Index("ix_cm_case_status_closed", "status", "closed_at"),  # closed today
        Index(  # department ranking and evaluation by period: index-only on SQLite and PostgreSQL alike
            "ix_cm_case_dispatched",
            "dispatched_at",
            "department_id",
            "status",
            "closed_at",
            "completed_on_time",
            "rework_count",
            "postpone_count",
            "hold_count",
            "handle_seconds",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # inspector hotline open311 sensor video referral leader storefront
    kind: Mapped[str] = mapped_column(String(12))  # component / event
    class_code: Mapped[str] = mapped_column(String(8), index=True)
    status: Mapped[str] = mapped_column(String(16), default="reported")
    urgent: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(String(2000), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    coord_note: Mapped[str] = mapped_column(String(20), default="WGS84")  # "GCJ-02→WGS84" when converted
    grid_code: Mapped[str | None] = mapped_column(String(15))
    community_code: Mapped[str | None] = mapped_column(String(12))
    street_code: Mapped[str | None] = mapped_column(String(12), index=True)
    component_code: Mapped[str | None] = mapped_column(String(16))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reporter_name: Mapped[str] = mapped_column(String(100), default="")
    reporter_contact_enc: Mapped[str | None] = mapped_column(String(255))
    reporter_ip: Mapped[str | None] = mapped_column(String(64))  # public (Open311) submissions only
    external_ref: Mapped[str | None] = mapped_column(String(64), index=True)  # 12345 order no., device id …
    token: Mapped[str | None] = mapped_column(String(40), unique=True)  # Open311 token
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    department_path: Mapped[str | None] = mapped_column(String(255))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cm_case.id"), index=True)
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    filed_at: Mapped[datetime | None]
    filed_on_time: Mapped[bool | None]
    dispatched_at: Mapped[datetime | None]
    deadline: Mapped[datetime | None]
    warn_at: Mapped[datetime | None]  # yellow light from here on
    completed_at: Mapped[datetime | None]  # department's (last) completion report
    handle_seconds: Mapped[float | None]  # working seconds from dispatch to completion
    completed_on_time: Mapped[bool | None]
    closed_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    self_disposed: Mapped[bool] = mapped_column(default=False)
    rework_count: Mapped[int] = mapped_column(default=0)
    return_count: Mapped[int] = mapped_column(default=0)
    postpone_count: Mapped[int] = mapped_column(default=0)
    hold_count: Mapped[int] = mapped_column(default=0)
    supervise_count: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    events: Mapped[list[CaseEvent]] = relationship(order_by="CaseEvent.id", lazy="select", viewonly=True)
    photos: Mapped[list[CasePhoto]] = relationship(order_by="CasePhoto.id", lazy="select", viewonly=True)


class CaseEvent(Base):
    """The timeline: every step, who took it and when."""

    __tablename__ = "cm_case_event"
    __table_args__ = (Index("ix_cm_case_event_step_at", "step", "at", "department_id"),)  # dispatch/return counts

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cm_case.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(24), index=True)
    department_id: Mapped[int | None] = mapped_column(Integer)  # dispatched to / returned by
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(String(1000), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CasePhoto(Base):
    __tablename__ = "cm_case_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cm_case.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(8))  # before / after / check
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    uploaded_by: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Task(Base):
    """核实 (verify) and 核查 (check) assignments to the grid's inspector, with their own time limit."""

    __tablename__ = "cm_task"
    __table_args__ = (Index("ix_cm_task_assignee_open", "assignee_id", "done_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cm_case.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # verify / check
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[datetime]
    done_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(String(16))  # confirmed / false / passed / failed
    note: Mapped[str] = mapped_column(String(1000), default="")


class Postponement(Base):
    __tablename__ = "cm_postponement"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cm_case.id", ondelete="CASCADE"), index=True)
    hours: Mapped[float] = mapped_column(Float, default=0)
    days: Mapped[float] = mapped_column(Float, default=0)
    reason: Mapped[str] = mapped_column(String(500))
    requested_by: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending / approved / refused
    decided_by: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(String(500), default="")
    old_deadline: Mapped[datetime | None]
    new_deadline: Mapped[datetime | None]


class Notice(Base):
    """Messages owed to people outside the workflow: reporters of merged cases, shop contacts, departments."""

    __tablename__ = "cm_notice"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cm_case.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms / open311 / department / shop
    recipient: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    sent: Mapped[bool] = mapped_column(default=False)


class Basemap(Base):
    """The maps' background (one row): none, an online tile service proxied by the platform, or a local
    MBTiles/PMTiles file. The service key is stored SM4-encrypted and never shown again (write-only)."""

    __tablename__ = "cm_basemap"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), default="none")  # none / url / file
    url: Mapped[str] = mapped_column(String(1000), default="")
    labels_url: Mapped[str] = mapped_column(String(1000), default="")
    subdomains: Mapped[str] = mapped_column(String(16), default="")
    key_enc: Mapped[str | None] = mapped_column(String(600))
    key_fingerprint: Mapped[str] = mapped_column(String(12), default="")
    file: Mapped[str] = mapped_column(String(200), default="")
    labels_file: Mapped[str] = mapped_column(String(200), default="")
    min_zoom: Mapped[int] = mapped_column(Integer, default=1)
    max_zoom: Mapped[int] = mapped_column(Integer, default=18)
    attribution: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
