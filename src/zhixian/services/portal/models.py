"""Tables of the citizen realm: people who signed in with a real-name check, their sessions, one-time codes,
consents and notices.

A citizen is keyed by the blind index of their ID number (``id_index``) — the same index that
applications (``applicant_index``), licences (``holder_index``) and the exchange's disclosures use, so
"my applications" and "who used my data" are lookups by one column, never by a name.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from zhixian.clock import utcnow
from zhixian.db import Base
from zhixian.services.models import BigId


class Citizen(Base):
    """A member of the public who passed the real-name check (核验 against the population base)."""

    __tablename__ = "services_citizen"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    id_index: Mapped[str] = mapped_column(String(64), unique=True)
    id_enc: Mapped[str] = mapped_column(String(255))
    id_masked: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(200))
    phone_enc: Mapped[str] = mapped_column(String(255), default="")
    phone_masked: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]


class CitizenSession(Base):
    """Server-side citizen session (cookie ``zx_citizen``); staff sessions live elsewhere and never open these pages."""

    __tablename__ = "services_citizen_session"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("services_citizen.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")


class CitizenCode(Base):
    """A one-time sign-in code. The browser holds only ``challenge``; when the real-name check failed the row
    exists all the same (``id_index`` empty) and no code is sent, so the answer never tells whether an ID exists."""

    __tablename__ = "services_citizen_code"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    challenge: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    key_index: Mapped[str] = mapped_column(String(64), default="", index=True)  # the number typed, match or not
    id_index: Mapped[str] = mapped_column(String(64), default="")
    id_enc: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    phone_enc: Mapped[str] = mapped_column(String(255), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class CitizenConsent(Base):
    """Consent a citizen gave (and may withdraw): e.g. ``prefill`` (use shared data and licences in my
    applications) or ``lookup:<code>`` (show me a published lookup). Withdrawn rows stay as history."""

    __tablename__ = "services_citizen_consent"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("services_citizen.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(60))
    given_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_services_citizen_consent_citizen", "citizen_id", "scope"),)


class CitizenNotice(Base):
    """A notice for a person (application accepted, 补正 needed, result ready, report closed). Addressed by the
    blind index of the ID number, so a person who applied at a window sees it when they first sign in."""

    __tablename__ = "services_citizen_notice"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_index: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(1000), default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_services_citizen_notice_recipient", "recipient_index", "created_at"),)
