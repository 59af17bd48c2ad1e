"""Notices to a person (办件 accepted, 补正 needed, result ready, report closed), shown on the portal."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.services.portal.models import CitizenNotice


def notify(session: Session, *, recipient_index: str, kind: str, title: str, body: str = "", link: str = "") -> None:
    """Leave a notice for the person with this ID-number blind index (signed up or not yet)."""
    if not recipient_index:
        return
    session.add(
        CitizenNotice(recipient_index=recipient_index, kind=kind, title=title[:200], body=body[:1000], link=link[:300])
    )
    session.flush()


def notices(session: Session, *, recipient_index: str, limit: int = 50) -> list[CitizenNotice]:
    return list(
        session.execute(
            select(CitizenNotice)
            .where(CitizenNotice.recipient_index == recipient_index)
            .order_by(CitizenNotice.created_at.desc(), CitizenNotice.id.desc())
            .limit(limit)
        ).scalars()
    )


def unread(session: Session, *, recipient_index: str) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(CitizenNotice)
            .where(CitizenNotice.recipient_index == recipient_index, CitizenNotice.read_at.is_(None))
        ).scalar_one()
    )


def mark_read(session: Session, *, recipient_index: str) -> None:
    session.execute(
        update(CitizenNotice)
        .where(CitizenNotice.recipient_index == recipient_index, CitizenNotice.read_at.is_(None))
        .values(read_at=utcnow())
    )
