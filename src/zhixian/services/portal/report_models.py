"""Tables of public problem reporting on the portal (随手拍): who reported which case, and who said "me too".

The case itself lives in citymgmt's hub; here only the link a citizen needs to follow it. The reporter is kept
by the blind index of their ID number (never a name), so nothing here can be published by mistake.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhixian.clock import utcnow
from zhixian.db import Base
from zhixian.services.models import BigId


class PortalReport(Base):
    """A report made on the portal: the case it became, and its reporter (``reporter_index`` empty: anonymous)."""

    __tablename__ = "services_portal_report"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, unique=True)
    case_number: Mapped[str] = mapped_column(String(20))
    token: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(20))
    citizen_id: Mapped[int | None] = mapped_column(BigId, index=True)
    reporter_index: Mapped[str] = mapped_column(String(64), default="", index=True)
    photos: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_notified_at: Mapped[datetime | None]


class PortalSupport(Base):
    """“我也遇到了”: one signed-in citizen's support of an open public case, at most once per case."""

    __tablename__ = "services_portal_support"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, index=True)
    citizen_id: Mapped[int] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("case_id", "citizen_id", name="uq_services_portal_support_case_citizen"),)
