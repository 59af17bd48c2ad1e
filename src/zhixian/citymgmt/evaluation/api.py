"""JSON routes for 综合评价: indicators for any period, and their Excel export.

``period`` turns the dates a user picks (Beijing dates, end day included) into the half-open range
of aware datetimes the indicators take; the evaluation page uses it too.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from zhixian.citymgmt.evaluation import service as evaluation
from zhixian.clock import LOCAL_TZ, local_today
from zhixian.errors import Invalid
from zhixian.fields import Day
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep

router = APIRouter(prefix="/api/v1/citymgmt", tags=["数字城管"])

Evaluator = Annotated[Actor, Depends(Require("citymgmt.evaluate"))]


def period(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    today = local_today()
    start = start or today.replace(day=1)
    end = end or today
    if end < start:
        raise Invalid("结束日期不能早于开始日期", field="end")
    if (end - start).days > 3660:
        raise Invalid("统计区间不能超过 10 年", field="start")
    return (
        datetime.combine(start, time(0), tzinfo=LOCAL_TZ),
        datetime.combine(end + timedelta(days=1), time(0), tzinfo=LOCAL_TZ),
    )


# before "/evaluation/{kind}", which would otherwise take "department.xlsx" as the kind
@router.get("/evaluation/{kind}.xlsx", summary="综合评价导出（Excel）")
def evaluate_excel(
    kind: str, session: SessionDep, actor: Evaluator, start: Day | None = None, end: Day | None = None
) -> Response:
    lo, hi = period(start, end)
    content = evaluation.excel(session, actor=actor, kind=kind, start=lo, end=hi)
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
    lo, hi = period(start, end)
    return evaluation.report(session, kind=kind, start=lo, end=hi, level=level)
