"""Tables of the catalogue: business systems, upward applications, resources and their data items."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhixian.clock import utcnow
from zhixian.db import Base


class BusinessSystem(Base):
    """业务系统台账: who built and owns a system, and what the county may hold of its data."""

    __tablename__ = "catalog_system"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    builder_level: Mapped[str] = mapped_column(String(8))  # 部建 省建 市建 县建
    builder: Mapped[str] = mapped_column(String(200), default="")  # the ministry/province office that owns it
    deployment: Mapped[str] = mapped_column(String(200), default="")  # e.g. 省政务云, 部专网, 县机房
    data_held: Mapped[str] = mapped_column(Text, default="")
    access_status: Mapped[str] = mapped_column(String(16), default="none")  # none applied granted local_copy
    access_scope: Mapped[str] = mapped_column(String(500), default="")
    access_expires: Mapped[date | None]
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    applications: Mapped[list[UpwardApplication]] = relationship(
        back_populates="system", order_by="UpwardApplication.id", cascade="all, delete-orphan"
    )


class UpwardApplication(Base):
    """申请上级开放: a request to the owning ministry/province for data access, and its outcome."""

    __tablename__ = "catalog_upward_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("catalog_system.id"), index=True)
    applied_on: Mapped[date]
    addressee: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(16), default="pending")  # pending granted refused
    decided_on: Mapped[date | None]
    granted_scope: Mapped[str] = mapped_column(String(500), default="")
    expires: Mapped[date | None]
    reply: Mapped[str] = mapped_column(String(1000), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")

    system: Mapped[BusinessSystem] = relationship(back_populates="applications")


class Resource(Base):
    """政务信息资源: the core metadata of the 目录编制指南 plus grade and workflow state."""

    __tablename__ = "catalog_resource"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # 信息资源代码 = 分类代码/顺序码
    category: Mapped[str] = mapped_column(String(20), index=True)  # 信息资源分类 类/项/目/细目
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(4), index=True)  # 基础 主题 部门
    base_library: Mapped[str] = mapped_column(String(4), default="")  # 人口 法人 地理 for 基础信息资源
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)  # 提供方
    system_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_system.id"), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(40), default="数据库")
    share_type: Mapped[str] = mapped_column(String(8), index=True)
    share_condition: Mapped[str] = mapped_column(String(1000), default="")
    share_method: Mapped[str] = mapped_column(String(8), default="接口")
    open_type: Mapped[str] = mapped_column(String(8), default="不予开放")
    open_condition: Mapped[str] = mapped_column(String(1000), default="")
    update_cycle: Mapped[str] = mapped_column(String(8), default="每月")
    publish_date: Mapped[date | None]
    linked_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    classified: Mapped[bool] = mapped_column(default=False)  # 涉密 resources are listed, never integrated
    grade: Mapped[str] = mapped_column(String(4), index=True)
    sensitivity: Mapped[int | None]
    key_field: Mapped[str] = mapped_column(String(64), default="")  # the item that identifies a record
    # older element set (some provinces still report with it)
    management_mode: Mapped[str] = mapped_column(String(200), default="")
    service_info: Mapped[str] = mapped_column(String(500), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    maintainer: Mapped[str] = mapped_column(String(200), default="")
    metadata_version: Mapped[str] = mapped_column(String(20), default="1.0")
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    submitted_by: Mapped[str] = mapped_column(String(64), default="")
    reviewer: Mapped[str] = mapped_column(String(64), default="")
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str] = mapped_column(String(1000), default="")
    search_text: Mapped[str] = mapped_column(Text, default="")  # jieba tokens joined by spaces
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[DataItem]] = relationship(
        back_populates="resource", order_by="DataItem.seq", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_catalog_resource_dept_status", "department_id", "status"),)


class DataItem(Base):
    """信息项: one field of a resource, with its own share type and grade."""

    __tablename__ = "catalog_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(100))
    field_name: Mapped[str] = mapped_column(String(64))
    data_type: Mapped[str] = mapped_column(String(8), default="字符串")
    length: Mapped[int | None]
    share_type: Mapped[str] = mapped_column(String(8), default="无条件共享")
    sensitivity: Mapped[int | None]
    grade: Mapped[str] = mapped_column(String(4), default="一般")
    rule: Mapped[str] = mapped_column(String(16), default="")  # validation rule for integration
    required: Mapped[bool] = mapped_column(default=False)
    min_value: Mapped[float | None]
    max_value: Mapped[float | None]
    masking: Mapped[str] = mapped_column(String(16), default="")  # 姓名 手机号 身份证号 地址 or empty
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    resource: Mapped[Resource] = relationship(back_populates="items")

    __table_args__ = (UniqueConstraint("resource_id", "field_name"),)
