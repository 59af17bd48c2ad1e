"""Tables of 一网通办: the matter catalogue, electronic licences, applications and 好差评.

Departments are kept by id with their path copied beside them (``department_path``), so every list is
scoped by ``actor.department_filter`` in SQL without reaching into the platform's tables.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhixian.clock import utcnow
from zhixian.db import Base

BigId = BigInteger().with_variant(Integer(), "sqlite")


class Matter(Base):
    """政务服务事项: one implementation (实施清单) of a matter by one department at one level."""

    __tablename__ = "services_matter"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # 实施编码
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(index=True)
    department_path: Mapped[str] = mapped_column(String(200), default="/", index=True)
    kind: Mapped[str] = mapped_column(String(20))  # 行政许可 行政给付 行政确认 公共服务 …
    level: Mapped[str] = mapped_column(String(8))  # 县 乡镇 村
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    conditions: Mapped[str] = mapped_column(Text, default="")
    statutory_days: Mapped[int] = mapped_column(default=20)
    promised_days: Mapped[int] = mapped_column(default=10)
    fee: Mapped[str] = mapped_column(String(200), default="不收费")
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    online_depth: Mapped[str] = mapped_column(String(20), default="")
    faqs: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active withdrawn
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    materials: Mapped[list[MatterMaterial]] = relationship(
        back_populates="matter", order_by="MatterMaterial.seq", cascade="all, delete-orphan"
    )


class MatterMaterial(Base):
    """申请材料 and how it is satisfied: uploaded, an electronic licence, or shared data under a grant."""

    __tablename__ = "services_matter_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("services_matter.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(10), default="upload")  # upload licence shared
    licence_type: Mapped[str] = mapped_column(String(20), default="")  # code of a LicenceType
    resource_id: Mapped[int | None]
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    household: Mapped[bool] = mapped_column(default=False)  # also the applicant's household members (同户)
    note: Mapped[str] = mapped_column(String(500), default="")

    matter: Mapped[Matter] = relationship(back_populates="materials")


class LicenceType(Base):
    """电子证照类型 (居民身份证, 户口簿, 营业执照 …) and whose it is: a person's or a company's."""

    __tablename__ = "services_licence_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    holder_kind: Mapped[str] = mapped_column(String(8))  # person legal
    issuer: Mapped[str] = mapped_column(String(100), default="")


class Licence(Base):
    """One licence held by a person (ID number) or a company (USCC), found by the holder's blind index."""

    __tablename__ = "services_licence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    type_code: Mapped[str] = mapped_column(String(20), index=True)
    number: Mapped[str] = mapped_column(String(60))
    holder_kind: Mapped[str] = mapped_column(String(8))
    holder_index: Mapped[str] = mapped_column(String(64), index=True)
    holder_masked: Mapped[str] = mapped_column(String(24), default="")
    holder_name: Mapped[str] = mapped_column(String(200), default="")
    issuer: Mapped[str] = mapped_column(String(100), default="")
    issued_on: Mapped[date | None]
    valid_until: Mapped[date | None]  # none: 长期
    status: Mapped[str] = mapped_column(String(10), default="valid")  # valid revoked
    loaded_by: Mapped[str] = mapped_column(String(64), default="")
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("type_code", "number"),)


class ServiceApplication(Base):
    """办件: one application for one matter, taken in at a window for the applicant."""

    __tablename__ = "services_application"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("services_matter.id"), index=True)
    department_id: Mapped[int] = mapped_column(index=True)  # handling department (the matter's)
    department_path: Mapped[str] = mapped_column(String(200), index=True)
    intake_department_id: Mapped[int]
    intake_path: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(10), default="window")  # window point online
    clerk: Mapped[str] = mapped_column(String(64), default="")
    applicant_kind: Mapped[str] = mapped_column(String(8), default="person")
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_enc: Mapped[str] = mapped_column(String(255))
    applicant_index: Mapped[str] = mapped_column(String(64), index=True)
    applicant_masked: Mapped[str] = mapped_column(String(24))
    phone_masked: Mapped[str] = mapped_column(String(20), default="")
    consent: Mapped[bool] = mapped_column(default=False)
    consent_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(12), default="received")
    correction: Mapped[list[str]] = mapped_column(JSON, default=list)  # 一次性告知 items
    reason: Mapped[str] = mapped_column(String(1000), default="")  # 不予受理 / 决定 note
    decision: Mapped[str] = mapped_column(String(10), default="")  # approve deny
    household: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]
    remind_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    materials: Mapped[list[ApplicationMaterial]] = relationship(
        back_populates="application", order_by="ApplicationMaterial.seq", cascade="all, delete-orphan"
    )


class ApplicationMaterial(Base):
    """One material of an application and how it was satisfied (nothing yet, upload, licence, shared data)."""

    __tablename__ = "services_application_material"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("services_application.id", ondelete="CASCADE"), index=True)
    material_id: Mapped[int] = mapped_column(index=True)
    seq: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(10))  # how the catalogue says it can be satisfied
    state: Mapped[str] = mapped_column(String(10), default="missing")  # missing uploaded licence shared
    file_name: Mapped[str] = mapped_column(String(200), default="")
    licence_id: Mapped[int | None]
    shared: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # masked values as read
    call_id: Mapped[int | None]
    note: Mapped[str] = mapped_column(String(500), default="")

    application: Mapped[ServiceApplication] = relationship(back_populates="materials")


class ApplicationEvent(Base):
    """The application's history, in order (each step is also an audit record)."""

    __tablename__ = "services_application_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("services_application.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(1000), default="")

    __table_args__ = (Index("ix_services_application_event_app", "application_id", "at"),)


class Rating(Base):
    """好差评: one five-grade rating (5 非常满意 … 1 非常不满意) with reasons, per application or per citizen-reported
    city-management case (``channel`` ``report``: ``case_id`` set, no application or matter)."""

    __tablename__ = "services_rating"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("services_application.id"), unique=True)
    case_id: Mapped[int | None] = mapped_column(BigId, unique=True)
    case_number: Mapped[str | None] = mapped_column(String(20))
    matter_id: Mapped[int | None] = mapped_column(index=True)
    department_id: Mapped[int] = mapped_column(index=True)
    department_path: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(10), default="window")
    grade: Mapped[int]
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(String(1000), default="")
    recorded_by: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Rectification(Base):
    """整改: what a bad rating obliges the department to do, by a working-day deadline, with a callback."""

    __tablename__ = "services_rectification"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("services_rating.id"), unique=True)
    department_id: Mapped[int] = mapped_column(index=True)
    department_path: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open done
    due_at: Mapped[datetime]
    escalated_at: Mapped[datetime | None]
    measures: Mapped[str] = mapped_column(String(1000), default="")
    callback: Mapped[str] = mapped_column(String(1000), default="")  # 回访
    outcome: Mapped[str] = mapped_column(String(10), default="")  # satisfied unsatisfied
    done_at: Mapped[datetime | None]
    done_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
