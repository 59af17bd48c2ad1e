"""Pages of public problem reporting (随手拍): the map-first report form, my reports, one page per report
(by token, never by number), "me too" and the reporter's rating. The rules are in ``portal.reports``.

The citizen realm is outside the staff permission system, so the router is ``Public`` to it; who may do what
is the citizen dependency on each route (``CitizenDep``: signed in, CSRF checked on writes).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhixian.citymgmt import service as citymgmt
from zhixian.errors import DomainError, FieldError, Invalid, NotFound
from zhixian.services.portal import reports
from zhixian.services.portal.sessions import CitizenActor
from zhixian.services.portal.web import CitizenDep, MaybeCitizen, render
from zhixian.services.schemas import GRADES, RatingIn
from zhixian.web.auth import Public, check_csrf, check_login_csrf, client_ip
from zhixian.web.deps import SessionDep
from zhixian.web.forms import form_errors

router = APIRouter(include_in_schema=False, dependencies=[Public])

REASONS_GOOD = ("处理及时", "问题彻底解决", "回复清楚")
REASONS_BAD = ("处理太慢", "问题没有解决", "没有回复进展", "处理后又出现")
RATING_LABELS = {"grade": "评价等级", "reasons": "评价理由", "comment": "意见"}
Token = Annotated[str, "the case's public token"]


def _form_page(
    request: Request, citizen: CitizenActor | None, session: Any, *, form: dict[str, Any], errors: Any = None
) -> HTMLResponse:
    return render(
        request,
        "portal/report.html",
        citizen,
        status_code=422 if errors else 200,
        form=form,
        errors=errors,
        categories=[(code, label) for code, (label, _) in reports.CATEGORIES.items()],
        max_mb=f"{reports.photo_max_bytes(session) / 1048576:g}",
        max_photos=reports.MAX_PHOTOS,
        nearby_m=int(reports.NEARBY_M),
    )


@router.get("/portal/report")
def report_form(request: Request, citizen: MaybeCitizen, session: SessionDep) -> HTMLResponse:
    return _form_page(request, citizen, session, form={"crs": "WGS84"})


@router.post("/portal/report")
async def report_submit(request: Request, citizen: MaybeCitizen, session: SessionDep) -> Response:
    """Signed in or not: signed-out forms carry the login double-submit token, signed-in ones the session's."""
    raw = await request.form()
    if citizen is not None:
        await check_csrf(request, citizen.csrf_token)
    else:
        sent = raw.get("csrf_token")
        check_login_csrf(request, sent if isinstance(sent, str) else "")
    form = {k: v for k, v in raw.items() if isinstance(v, str) and k != "csrf_token"}
    state = request.app.state
    try:
        data = reports.parse(form)
        max_bytes = reports.photo_max_bytes(session)
        photos = []
        for value in raw.getlist("photo"):
            if isinstance(value, str) or not (value.filename or value.size):
                continue  # an empty file input sends an empty part
            photos.append(await citymgmt.read_upload(value, max_bytes=max_bytes, stage="before"))
        reporter = reports.Reporter(
            ip=client_ip(request),
            citizen_id=citizen.citizen_id if citizen else None,
            id_index=citizen.id_index if citizen else "",
            name=citizen.name if citizen else "",
        )
        row, duplicates = reports.submit(
            session,
            settings=state.settings,
            cipher=state.cipher,
            registry=state.registry,
            reporter=reporter,
            data=data,
            photos=photos,
        )
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status not in (400, 422):
            raise  # 429 over the cap, 403 CSRF: the error page says it
        session.rollback()
        return _form_page(
            request, citizen, session, form=form, errors=form_errors(exc, reports.LABELS, title="未提交，请按提示修改")
        )
    suffix = "?sent=1" + ("&dup=1" if duplicates else "")
    return RedirectResponse(f"/portal/reports/{row.token}{suffix}", status_code=303)


@router.get("/portal/report/nearby")
def nearby(
    session: SessionDep,
    citizen: MaybeCitizen,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    crs: Annotated[str, Query(pattern="^(WGS84|GCJ02)$")] = "WGS84",
) -> list[dict[str, Any]]:
    """Open public reports near a pin, for the map page (tokens only: no number, no reporter)."""
    return [
        {
            "token": n.token,
            "class_name": n.class_name,
            "status": n.status_note,
            "description": n.description,
            "distance_m": n.distance_m,
            "supporters": n.supporters,
            "supported": n.supported,
            "own": n.own,
            "url": f"/portal/reports/{n.token}",
        }
        for n in reports.nearby(session, lat=lat, lon=lon, crs=crs, citizen_id=citizen.citizen_id if citizen else None)
    ]


@router.get("/portal/report/basemap")
def basemap(request: Request, response: Response, session: SessionDep) -> dict[str, Any]:
    """The county's basemap for the public map, with the tile ticket (a cookie only the tile route reads)."""
    state = request.app.state
    view, ticket = citymgmt.public_basemap(session, cipher=state.cipher, settings=state.settings)
    if ticket is not None:
        name, path = citymgmt.BASEMAP_TICKET
        secure = state.settings.cookie_secure == "always" or (
            state.settings.cookie_secure == "auto" and request.url.scheme == "https"
        )
        response.set_cookie(
            name, ticket[0], max_age=ticket[1], path=path, httponly=True, secure=secure, samesite="strict"
        )
    return view


@router.get("/portal/report/areas.geojson")
def areas(session: SessionDep) -> dict[str, Any]:
    """Township outlines (public administrative boundaries) so the map opens on the county."""
    return citymgmt.area_layer(session, level="town")


@router.get("/portal/reports/mine")
def mine(request: Request, citizen: CitizenDep, session: SessionDep) -> HTMLResponse:
    rows = reports.mine(session, id_index=citizen.id_index)
    return render(request, "portal/report_mine.html", citizen, rows=rows, categories=reports.CATEGORIES)


def _report_page(
    request: Request, citizen: CitizenActor | None, session: Any, token: str, errors: Any = None, form: Any = None
) -> HTMLResponse:
    shown = reports.view(session, token=token, id_index=citizen.id_index if citizen else "")
    may_rate = shown.own is not None and shown.case.closed and shown.rating is None and shown.case.department_id
    return render(
        request,
        "portal/report_show.html",
        citizen,
        status_code=422 if errors else 200,
        view=shown,
        token=token,
        may_rate=may_rate,
        grades=sorted(GRADES.items(), reverse=True),
        grade_names=GRADES,
        reasons=[*REASONS_GOOD, *REASONS_BAD],
        errors=errors,
        form=form or {},
        sent=request.query_params.get("sent") == "1",
        dup=request.query_params.get("dup") == "1",
    )


@router.get("/portal/reports/{token}")
def show(request: Request, citizen: MaybeCitizen, session: SessionDep, token: Token) -> HTMLResponse:
    return _report_page(request, citizen, session, token)


@router.post("/portal/reports/{token}/support")
def support(request: Request, citizen: CitizenDep, session: SessionDep, token: Token) -> Response:
    """“我也遇到了”: the map page asks for JSON; a plain form goes back to the report."""
    count = reports.support(session, citizen_id=citizen.citizen_id, token=token)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"supporters": count})
    return RedirectResponse(f"/portal/reports/{token}", status_code=303)


@router.post("/portal/reports/{token}/rating")
async def rate(request: Request, citizen: CitizenDep, session: SessionDep, token: Token) -> Response:
    raw = await request.form()
    form = {
        "grade": str(raw.get("grade") or ""),
        "reasons": [str(v) for v in raw.getlist("reasons") if isinstance(v, str)],
        "comment": str(raw.get("comment") or ""),
    }
    reporter = reports.Reporter(ip=client_ip(request), citizen_id=citizen.citizen_id, id_index=citizen.id_index)
    try:
        if not form["grade"]:
            raise Invalid("请选择评价等级", [FieldError("请选择评价等级", field="grade")])
        data = RatingIn.model_validate(form)
        reports.rate(session, settings=request.app.state.settings, reporter=reporter, token=token, data=data)
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, NotFound):
            raise
        session.rollback()
        errors = form_errors(exc, RATING_LABELS, title="评价未保存")
        return _report_page(request, citizen, session, token, errors=errors, form=form)
    return RedirectResponse(f"/portal/reports/{token}?rated=1", status_code=303)
