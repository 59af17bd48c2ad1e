"""JSON routes for 综合评价: indicators for any period, and their Excel export.

Without dates they cover the period the evaluation page opens on (``periods.shown_period``): the
month to date, or the last complete month while nothing of this month is closed yet.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from zhixian.citymgmt.evaluation import export
from zhixian.citymgmt.evaluation import service as evaluation
from zhixian.citymgmt.evaluation.periods import shown_period
from zhixian.fields import Day
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep

router = APIRouter(prefix="/api/v1/citymgmt", tags=["数字城管"])

Evaluator = Annotated[Actor, Depends(Require("citymgmt.evaluate"))]


# before "/evaluation/{kind}", which would otherwise take "department.xlsx" as the kind
@router.get("/evaluation/{kind}.xlsx", summary="综合评价导出（Excel）")
def evaluate_excel(
    kind: str, session: SessionDep, actor: Evaluator, start: Day | None = None, end: Day | None = None
) -> Response:
    lo, hi = shown_period(session, start, end).bounds
    content = export.excel(session, actor=actor, kind=kind, start=lo, end=hi)
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="citymgmt-{kind}.xlsx"'},
    )


@router.get("/evaluation/{kind}", summary="综合评价（inspector / department / region），含环比、同比")
def evaluate(
    kind: str,
    session: SessionDep,
    actor: Evaluator,
    start: Day | None = None,
    end: Day | None = None,
    level: Annotated[str, Query(pattern="^(street|community|grid)$")] = "street",
) -> dict[str, Any]:
    shown = shown_period(session, start, end)
    lo, hi = shown.bounds
    return {
        **evaluation.report(session, kind=kind, start=lo, end=hi, level=level),
        "period": {"start": shown.start, "end": shown.end, "label": shown.label, "note": shown.note},
    }
