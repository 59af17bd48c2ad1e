"""HTML pages of 好差评 and its rectification, and the licence register. Every figure on the statistics page
is a link to the rating list filtered by the same ``RatingFilter`` that counted it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from zhixian.errors import DomainError
from zhixian.platform.actor import Actor
from zhixian.services.applications import service as applications
from zhixian.services.licences import service as licences
from zhixian.services.matters import service as matters
from zhixian.services.models import Rating, ServiceApplication
from zhixian.services.ratings import service as ratings
from zhixian.services.schemas import GRADES, RatingIn, RectifyIn
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors, labels_of
from zhixian.web.params import IdPath, IdQuery
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Actor, Depends(Require("services.view"))]
Window = Annotated[Actor, Depends(Require("services.window"))]
Head = Annotated[Actor, Depends(Require("services.head"))]
Issuer = Annotated[Actor, Depends(Require("services.licence"))]
PAGE = 50
REASONS_GOOD = ("办事效率高", "服务态度好", "一次办成", "材料精简")
REASONS_BAD = ("多次跑腿", "等待时间过长", "材料要求不一致", "服务态度差", "政策解释不清")


def rating_of(session: Session, application_id: int) -> Rating | None:
    return ratings.rating_for(session, application_id=application_id)


def may_rate(actor: Actor, row: ServiceApplication) -> bool:
    return actor.can(applications.WINDOW) and actor.sees_department(row.intake_path) and row.status in ratings.RATEABLE


@router.post("/services/applications/{application_id}/rating")
def rate(
    request: Request,
    actor: Window,
    session: SessionDep,
    settings: SettingsDep,
    application_id: IdPath,
    grade: Annotated[str, Form(max_length=2)] = "",
    reasons: Annotated[list[str] | None, Form()] = None,
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    from zhixian.services import pages  # the application page draws the refusal

    try:
        data = RatingIn.model_validate({"grade": grade or 0, "reasons": reasons or [], "comment": comment})
        ratings.rate(session, actor=actor, settings=settings, application_id=application_id, data=data)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status == 404:
            raise
        errors = form_errors(exc, labels_of(RatingIn), title="评价未保存")
        return pages._detail(request, actor, session, application_id, errors)  # noqa: SLF001 - a helper of the same feature, not another's internals
    return RedirectResponse(f"/services/applications/{application_id}", status_code=303)


@router.get("/services/ratings")
def rating_page(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    settings: SettingsDep,
    by: Annotated[str, Query(pattern="^(department|matter)$")] = "department",
    department_id: IdQuery = None,
    matter_id: IdQuery = None,
    grade: Annotated[int | None, Query(ge=1, le=5)] = None,
    bad: bool = False,
    good: bool = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    stats = ratings.statistics(session, actor=actor, settings=settings, by=by)
    cells = []
    for s in stats:
        dept, matter = (s.key, None) if by == "department" else (None, s.key)
        cells.append(
            (
                s,
                ratings.RatingFilter(department_id=dept, matter_id=matter),
                ratings.RatingFilter(department_id=dept, matter_id=matter, good=True),
                ratings.RatingFilter(department_id=dept, matter_id=matter, bad=True),
            )
        )
    flt = ratings.RatingFilter(department_id=department_id, matter_id=matter_id, grade=grade, bad=bad, good=good)
    rows, total = ratings.list_ratings(
        session, actor=actor, settings=settings, flt=flt, offset=(page - 1) * PAGE, limit=PAGE
    )
    depts = matters.Departments(session)
    return render(
        request,
        "services/ratings.html",
        actor,
        by=by,
        cells=cells,
        rows=[ratings.rating_read(session, r) for r in rows],
        dept_name=depts.name,
        grades=GRADES,
        total=total,
        page=page,
        size=PAGE,
        base_query=f"by={by}&" + flt.query_string(),
        filtered=bool(flt.query_string()),
    )


def _rectifications(
    request: Request,
    actor: Actor,
    session: SessionDep,
    status: str,
    page: int,
    *,
    late: bool = False,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    rows, total = ratings.list_rectifications(
        session, actor=actor, status=status, late=late, offset=(page - 1) * PAGE, limit=PAGE
    )
    depts = matters.Departments(session)
    figures: list[tuple[str, int, str]] = []
    for label, st, lt in (("待整改", "open", False), ("逾期", "", True), ("已整改", "done", False)):
        _, n = ratings.list_rectifications(session, actor=actor, status=st, late=lt, limit=0)
        figures.append(
            (
                label,
                n,
                "/services/rectifications?"
                + "&".join(p for p in (f"status={st}" if st else "", "late=true" if lt else "") if p),
            )
        )
    return render(
        request,
        "services/rectifications.html",
        actor,
        status_code=422 if errors else 200,
        rows=[ratings.rectification_read(r) for r in rows],
        dept_name=depts.name,
        figures=figures,
        total=total,
        page=page,
        size=PAGE,
        base_query="&".join(p for p in (f"status={status}" if status else "", "late=true" if late else "") if p),
        errors=errors or FormErrors(),
        labels=labels_of(RectifyIn),
    )


@router.get("/services/rectifications")
def rectification_list(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    status: Annotated[str, Query(pattern="^(|open|done)$")] = "",
    late: bool = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    return _rectifications(request, actor, session, status, page, late=late)


@router.post("/services/rectifications/{rectification_id}")
def rectify(
    request: Request,
    actor: Head,
    session: SessionDep,
    rectification_id: IdPath,
    measures: Annotated[str, Form(max_length=2000)] = "",
    callback: Annotated[str, Form(max_length=2000)] = "",
    outcome: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        data = RectifyIn.model_validate({"measures": measures, "callback": callback, "outcome": outcome})
        ratings.rectify(session, actor=actor, rectification_id=rectification_id, data=data)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status == 404:
            raise
        errors = form_errors(exc, labels_of(RectifyIn), title="整改未办结")
        return _rectifications(request, actor, session, "open", 1, errors=errors)
    return RedirectResponse("/services/rectifications?status=done", status_code=303)


@router.get("/services/licences")
def licence_list(
    request: Request,
    actor: Issuer,
    session: SessionDep,
    type_code: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    rows, total = licences.list_licences(
        session, actor=actor, type_code=type_code, offset=(page - 1) * PAGE, limit=PAGE
    )
    names = licences.type_names(session)
    return render(
        request,
        "services/licences.html",
        actor,
        rows=[licences.licence_read(r, names) for r in rows],
        types=sorted(names.items()),
        type_code=type_code,
        state_labels=licences.STATE_LABELS,
        total=total,
        page=page,
        size=PAGE,
        base_query=f"type_code={type_code}" if type_code else "",
    )
