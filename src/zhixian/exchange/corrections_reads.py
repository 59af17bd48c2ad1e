"""数据异议 as the API and pages show them: names, lights, actions, the items now and as proposed, the timeline."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.exchange import policy, records, sources, views
from zhixian.exchange.corrections import (
    EVENT_LABELS,
    STATUS_LABELS,
    actions,
    is_authority,
    list_corrections,
    number,
    own_department,
    parties,
    proposed,
)
from zhixian.exchange.corrections_schemas import CorrectionItem, CorrectionRead, event_read
from zhixian.exchange.models import Correction, CorrectionEvent
from zhixian.exchange.reads import Names
from zhixian.platform import audit, masking
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings
from zhixian.subsystems import HomeCard

_RECORD_PAGES = {"person": "/integration/persons/{id}", "legal": "/integration/legal-persons/{id}"}


def record_href(session: Session, actor: Actor, corr: Correction) -> str:
    """The corrected record's page, for those who keep it (the provider's side and the data authority)."""
    if not (is_authority(actor) or own_department(session, actor, corr.provider_department_id)):
        return ""
    return _RECORD_PAGES.get(corr.entity, "/integration/records/{id}").format(id=corr.entity_id)


def values(
    session: Session, *, actor: Actor, settings: Settings, cipher: FieldCipher, corr: Correction
) -> list[tuple[str, str, str, str]]:
    """(item, its name, the value now — masked as the gateway sends it —, the proposed value). The two
    departments see what was proposed as written; the data authority sees it masked like the record."""
    source = sources.load(session, corr.resource_id)
    if source is None:
        return []
    row = sources.row_by_id(session, source, corr.entity_id)
    now = views.record(source, row, corr.items, (), cipher, settings) if row is not None else {}
    wanted = proposed(cipher, corr)
    clear = parties(session, actor, corr)
    hidden = views.masked_fields(source, corr.items, (), settings)
    kinds = records.static_kinds(source)
    out = []
    for name in corr.items:
        value = wanted.get(name, "")
        if not clear and name in hidden:
            value = masking.mask_value(kinds[name], value) if name in kinds else masking.HIDDEN
        current = now.get(name)
        label = source.items[name].name if name in source.items else name
        out.append((name, label, "" if current is None else str(current), value))
    if clear:
        audit.record(
            session,
            actor.audit,
            action="exchange.correction.read",
            object_type="exchange_correction",
            object_id=corr.id,
            detail={"items": corr.items, "masked": False},
        )
    return out


def events(session: Session, correction_id: int) -> list[CorrectionEvent]:
    stmt = select(CorrectionEvent).where(CorrectionEvent.correction_id == correction_id)
    return list(session.execute(stmt.order_by(CorrectionEvent.at, CorrectionEvent.id)).scalars())


def light_of(corr: Correction) -> str:
    return policy.light(utcnow(), corr.remind_at, corr.due_at) if corr.status == "open" else "none"


def read(
    session: Session,
    actor: Actor,
    corr: Correction,
    names: Names | None = None,
    *,
    settings: Settings | None = None,
    cipher: FieldCipher | None = None,
) -> CorrectionRead:
    """The list row; with settings and cipher also the items (now and proposed) and the timeline."""
    names = names or Names(session)
    out = CorrectionRead.model_validate(corr)
    out.number = number(corr)
    out.provider_department_name = names.dept(corr.provider_department_id)
    out.consumer_department_name = names.dept(corr.consumer_department_id)
    out.status_label = STATUS_LABELS.get(corr.status, corr.status)
    out.light = light_of(corr)
    out.actions = actions(session, actor, corr)
    out.record_href = record_href(session, actor, corr)
    if settings is not None and cipher is not None:
        out.values = [
            CorrectionItem(field=f, label=label, current=now, proposed=value)
            for f, label, now, value in values(session, actor=actor, settings=settings, cipher=cipher, corr=corr)
        ]
        out.timeline = [event_read(e, EVENT_LABELS.get(e.action, e.action)) for e in events(session, corr.id)]
    return out


def home_cards(session: Session, actor: Actor, settings: Settings) -> list[HomeCard]:  # noqa: ARG001 - the signature is fixed by its caller
    """What waits for the provider (or, once late, the data authority) to answer; each opens its list."""
    if not actor.can("exchange.view") or not (actor.can("exchange.approve") or is_authority(actor)):
        return []
    _, todo = list_corrections(session, actor=actor, box="todo", limit=0)
    _, late = list_corrections(session, actor=actor, box="todo", light="red", limit=0)
    return [
        HomeCard("待答复的数据异议", todo, "/exchange/corrections?box=todo", "数据共享", alert=late > 0),
        HomeCard("逾期的数据异议", late, "/exchange/corrections?box=todo&light=red", "数据共享", alert=late > 0),
    ]
