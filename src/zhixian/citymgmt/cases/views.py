"""What the case page and the phone report page show besides the case itself: the place in words and
on a small map, the dispatch and merge choices with their reasons, the class picker."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from zhixian.citymgmt.cases import places, routing
from zhixian.citymgmt.cases.picker import class_picker
from zhixian.citymgmt.cases.queries import get_case
from zhixian.citymgmt.config.parameters import config
from zhixian.citymgmt.config.standards import STATUS_LABELS
from zhixian.citymgmt.models import Case, CaseClass
from zhixian.citymgmt.schemas import CaseDetail
from zhixian.errors import NotFound
from zhixian.platform.actor import Actor

__all__ = ["PHOTO_STAGES", "case_context", "report_context"]

PHOTO_STAGES = {"before": "现场照片", "after": "处置后照片", "check": "核查照片", "verify": "核实照片"}


def case_context(session: Session, case: Case, info: CaseDetail, actor: Actor) -> dict[str, Any]:
    merge = routing.merge_choices(session, case, info.duplicates, STATUS_LABELS) if "merge" in info.actions else None
    out: dict[str, Any] = {
        "cls": session.get(CaseClass, case.class_code),
        "place": places.place(session, case),
        "shapes": places.map_shapes(session, case),
        "photo_stages": PHOTO_STAGES,
        "dispatch": routing.dispatch_choices(session, case) if "dispatch" in info.actions else None,
        "merge": merge,
    }
    if info.merged_into_id:
        target = session.get(Case, info.merged_into_id)
        out["merged_into_number"] = target.number if target is not None else str(info.merged_into_id)
        try:  # link only to what this person may open
            get_case(session, actor=actor, case_id=info.merged_into_id)
            out["merged_into_link"] = True
        except NotFound:
            out["merged_into_link"] = False
    return out


def report_context(session: Session, actor: Actor) -> dict[str, Any]:
    return {
        "picker": class_picker(session, actor),
        "max_mb": int(config(session)["photo_max_bytes"]) // 1024 // 1024,
    }
