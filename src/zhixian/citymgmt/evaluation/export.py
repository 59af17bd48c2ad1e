"""综合评价 as an Excel workbook, one sheet per kind, audited as an export."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from zhixian.citymgmt.evaluation.service import LABELS, report
from zhixian.exports import Sheet, xlsx_bytes
from zhixian.platform import audit
from zhixian.platform.actor import Actor

# the workbook's columns per kind, fixed so an empty period still exports the right headers
COLUMNS: dict[str, tuple[str, ...]] = {
    "department": (
        "department",
        "due",
        "closed",
        "ontime_closed",
        "late_closed",
        "rework",
        "postponed",
        "held",
        "dispatched",
        "returned",
        "ontime_close_rate",
        "close_rate",
        "rework_rate",
        "postpone_rate",
        "accurate_dispatch_rate",
        "avg_handle_hours",
        "score",
        "score_mom",
        "score_yoy",
    ),
    "inspector": (
        "inspector",
        "department",
        "reports",
        "valid_reports",
        "valid_rate",
        "verify_tasks",
        "ontime_verify_rate",
        "check_tasks",
        "ontime_check_rate",
        "filed_in_grids",
        "missed",
        "missed_rate",
        "valid_rate_mom",
        "valid_rate_yoy",
    ),
    "region": (
        "region",
        "received",
        "filed",
        "dispatched",
        "handled",
        "closed",
        "ontime_filing_rate",
        "avg_handle_hours",
        "received_mom",
        "received_yoy",
    ),
}


def excel(session: Session, *, actor: Actor, kind: str, start: datetime, end: datetime) -> bytes:
    data = report(session, kind=kind, start=start, end=end)
    columns = COLUMNS[kind]
    title = {"department": "部门评价", "inspector": "监督员评价", "region": "区域评价"}[kind]
    rows = ([round(r[c], 4) if isinstance(r.get(c), float) else r.get(c) for c in columns] for r in data["rows"])
    body = xlsx_bytes([Sheet(title, [LABELS[c] for c in columns], rows)])
    audit.record(
        session,
        actor.audit,
        action="citymgmt.evaluation_export",
        object_type="evaluation",
        object_id=kind,
        detail={"start": data["start"], "end": data["end"], "rows": len(data["rows"])},
    )
    return body
