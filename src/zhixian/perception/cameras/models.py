"""Tables of 视频共享: regions, groups, cameras, grants, views and analytics events.

A camera belongs to the department that runs it (``department_path``); others see and play it only
through an approved grant. Views are kept one row per issued play token, so every hook decision on
that token (who, which camera, when, until when) lands on the same row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhixian.clock import utcnow
from zhixian.db import Base


class VideoRegion(Base):
    """A node of the region tree (行政区域), keyed by its civil code (2/4/6/8 digits, GB/T 2260 + 基层)."""

    __tablename__ = "pv_region"

    id: Mapped[int] = mapped_column(primary_key=True)
    civil_code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str] = mapped_column(String(12), default="")


class VideoGroup(Base):
    """A business group (业务分组, type 215) or virtual organisation (虚拟组织, type 216)."""

    __tablename__ = "pv_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    gb_id: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(3))  # 215 | 216
    parent_gb_id: Mapped[str] = mapped_column(String(20), default="")
    business_group_id: Mapped[str] = mapped_column(String(20), default="")
    department_path: Mapped[str] = mapped_column(String(200), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Camera(Base):
    """A camera or other GB/T 28181 device (DVR/NVR/alarm input) of one department."""

    __tablename__ = "pv_camera"

    id: Mapped[int] = mapped_column(primary_key=True)
    gb_id: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    type_code: Mapped[str] = mapped_column(String(3))
    industry_code: Mapped[str] = mapped_column(String(2))
    network_code: Mapped[str] = mapped_column(String(1))
    civil_code: Mapped[str] = mapped_column(String(12), default="", index=True)
    parent_gb_id: Mapped[str] = mapped_column(String(20), default="")
    group_gb_id: Mapped[str] = mapped_column(String(20), default="", index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    department_path: Mapped[str] = mapped_column(String(200), index=True)
    manufacturer: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    ptz_type: Mapped[int] = mapped_column(Integer, default=0)  # 0 unknown 1 球机 2 半球 3 固定枪机 4 遥控枪机
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(8), default="OFF")  # ON | OFF
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual | catalog | csv | excel | wvp
    app: Mapped[str] = mapped_column(String(32), default="rtp")  # the media server's app; stream = gb_id
    source_url: Mapped[str] = mapped_column(String(500), default="")  # RTSP/HLS for the platform's own relay
    # analytics type (1–12) → case class code, overriding the defaults for this camera
    event_classes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Grant(Base):
    """A department's right to a camera, a group (and everything under it) or a region, once approved."""

    __tablename__ = "pv_grant"
    __table_args__ = (Index("ix_pv_grant_dept_status", "department_path", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    department_path: Mapped[str] = mapped_column(String(200))  # the grantee
    scope: Mapped[str] = mapped_column(String(8))  # camera | group | region
    target: Mapped[str] = mapped_column(String(20))  # gb_id or civil code
    owner_path: Mapped[str] = mapped_column(String(200), index=True)  # who answers: the camera's department, or "/"
    live: Mapped[bool] = mapped_column(Boolean, default=True)
    playback: Mapped[bool] = mapped_column(Boolean, default=False)
    ptz: Mapped[bool] = mapped_column(Boolean, default=False)
    windows: Mapped[list[str]] = mapped_column(JSON, default=list)  # ["08:00-18:00"], Beijing time; [] = all day
    purpose: Mapped[str] = mapped_column(String(500))
    valid_until: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending approved rejected revoked
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_note: Mapped[str] = mapped_column(String(500), default="")


class View(Base):
    """One issued play token and what the media servers were told about it."""

    __tablename__ = "pv_view"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(32), unique=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("pv_camera.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64))
    department_path: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(8))  # live | playback
    grant_id: Mapped[int | None] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column()
    first_play_at: Mapped[datetime | None] = mapped_column()
    last_play_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    seconds: Mapped[int] = mapped_column(Integer, default=0)  # watched, from the media server's flow report
    plays: Mapped[int] = mapped_column(Integer, default=0)
    refusals: Mapped[int] = mapped_column(Integer, default=0)
    server: Mapped[str] = mapped_column(String(16), default="")  # zlm | mediamtx
    client_ip: Mapped[str] = mapped_column(String(64), default="")


class VideoEvent(Base):
    """An analytics event (GB/T 28181 alarm method 5 or the HTTP/JSON form) and the case it opened or joined."""

    __tablename__ = "pv_event"
    __table_args__ = (Index("ix_pv_event_dedup", "camera_id", "alarm_type", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("pv_camera.id", ondelete="CASCADE"))
    alarm_type: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    description: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(16))  # gb28181 | json
    external_id: Mapped[str] = mapped_column(String(64), default="")
    case_id: Mapped[int | None] = mapped_column(Integer)
    case_number: Mapped[str] = mapped_column(String(32), default="")
    outcome: Mapped[str] = mapped_column(String(16))  # case | duplicate | unmapped | failed
    note: Mapped[str] = mapped_column(String(300), default="")
