"""The class picker of the phone report: ~45 minor classes grouped by major class, searchable, recent first.

An inspector on the street types "jg" or "井盖" rather than scrolling a long list; the classes they
reported lately come first. Pinyin is computed here once per request, so the page's script only matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.citymgmt.models import Case, CaseClass
from zhixian.clock import utcnow
from zhixian.platform.actor import Actor

__all__ = ["ClassGroup", "ClassOption", "Picker", "class_picker"]

RECENT_DAYS = 90
RECENT_COUNT = 6
KIND_LABELS = {"component": "部件", "event": "事件"}


@dataclass(frozen=True)
class ClassOption:
    code: str
    name: str
    major_code: str
    major_label: str
    pinyin: str  # "jinggai jg": full pinyin and initials, for search
    hint: str  # time limit and filing standard, shown once picked


@dataclass(frozen=True)
class ClassGroup:
    code: str
    label: str  # "部件·公用设施"
    items: list[ClassOption]


@dataclass(frozen=True)
class Picker:
    groups: list[ClassGroup]
    recent: list[ClassOption]


def _pinyin(text: str) -> str:
    from pypinyin import lazy_pinyin  # deferred: its dictionaries take ~0.9 s to load

    syllables = lazy_pinyin(text)
    return f"{''.join(syllables)} {''.join(s[:1] for s in syllables)}".lower()


def _limit(cls: CaseClass) -> str:
    if not cls.limit_value:
        return ""
    unit = "个工作日" if cls.limit_unit == "days" else "个工作小时"
    return f"处置时限 {cls.limit_value:g} {unit}"


def class_picker(session: Session, actor: Actor) -> Picker:
    rows = session.execute(select(CaseClass).where(CaseClass.active.is_(True)).order_by(CaseClass.code)).scalars().all()
    majors = {c.code: c for c in rows if c.parent_code is None}
    groups: dict[str, ClassGroup] = {}
    options: dict[str, ClassOption] = {}
    for c in rows:
        if c.parent_code is None:
            continue
        major = majors.get(c.parent_code)
        label = f"{KIND_LABELS.get(c.kind, c.kind)}·{major.name if major else c.parent_code}"
        hint = "；".join(x for x in (_limit(c), f"立案标准：{c.filing_standard}" if c.filing_standard else "") if x)
        option = ClassOption(c.code, c.name, c.parent_code, label, _pinyin(c.name), hint)
        options[c.code] = option
        groups.setdefault(c.parent_code, ClassGroup(c.parent_code, label, [])).items.append(option)
    since = utcnow() - timedelta(days=RECENT_DAYS)
    recent_codes = (
        session.execute(
            select(Case.class_code)
            .where(Case.reporter_id == actor.user_id, Case.reported_at >= since)
            .group_by(Case.class_code)
            .order_by(func.max(Case.reported_at).desc())
            .limit(RECENT_COUNT * 2)
        )
        .scalars()
        .all()
        if actor.user_id
        else []
    )
    recent = [options[code] for code in recent_codes if code in options][:RECENT_COUNT]
    return Picker(list(groups.values()), recent)
