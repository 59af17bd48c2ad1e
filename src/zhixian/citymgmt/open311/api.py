"""Open311 GeoReport v2 (citizen reports): services, requests, tokens; errors as [{code, description}].

Reads and citizen POSTs are public, as the spec intends; every POST becomes a case with source
``open311`` in the same hub as every other channel. What reads may show (which cases, which notes,
how far back) is decided in ``open311_public``.
"""

from __future__ import annotations

import hmac
import xml.etree.ElementTree as ET
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from zhixian.citymgmt import service
from zhixian.citymgmt.config import service as catalogue
from zhixian.citymgmt.config.standards import COMPONENT_MAJORS, EVENT_MAJORS
from zhixian.citymgmt.models import CaseClass
from zhixian.citymgmt.open311 import service as public
from zhixian.citymgmt.schemas import CaseIntake
from zhixian.errors import FieldError, Invalid, NotFound, NotPermitted, pydantic_errors_to_chinese
from zhixian.fields import Moment
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor
from zhixian.web.auth import Public, client_ip
from zhixian.web.deps import SessionDep

# CaseIntake's fields by the GeoReport v2 parameter they come from
_OPEN311_NAMES = {
    "class_code": "service_code",
    "lon": "long",
    "address": "address_string",
    "reporter_name": "first_name/last_name",
    "reporter_contact": "phone/email",
    "external_ref": "media_url/device_id",
}


def _error_items(status: int, detail: str, errors: list[FieldError]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [{"code": status, "description": detail}]
    items += [
        {"code": status, "description": f"{e.field}: {e.message}" if e.field else e.message}
        for e in errors
        if e.message != detail
    ]
    return items


def _errors(status: int, title: str, detail: str, errors: list[FieldError]) -> Response:
    return JSONResponse(_error_items(status, detail, errors), status_code=status)


def _errors_xml(status: int, title: str, detail: str, errors: list[FieldError]) -> Response:
    return xml_response("errors", "error", _error_items(status, detail, errors), status)


def open311_errors(request: Request) -> None:
    request.state.problem_renderer = _errors_xml if request.url.path.endswith(".xml") else _errors


def _xml_value(parent: ET.Element, key: str, value: Any) -> None:
    child = ET.SubElement(parent, key)
    if isinstance(value, dict):
        for k, v in value.items():
            _xml_value(child, k, v)
    elif isinstance(value, list):
        singular = {"attributes": "attribute", "values": "value", "keywords": "keyword"}.get(key, "item")
        for v in value:
            _xml_value(child, singular, v)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    elif value is not None:
        child.text = str(value)


def xml_response(root: str, item: str, rows: list[dict[str, Any]] | dict[str, Any], status: int = 200) -> Response:
    """GeoReport v2 XML: the JSON documents' fields as elements, lists under the spec's element names."""
    top = ET.Element(root)
    for row in rows if isinstance(rows, list) else [rows]:
        node = ET.SubElement(top, item) if isinstance(rows, list) else top
        for key, value in row.items():
            _xml_value(node, key, value)
    body = ET.tostring(top, encoding="utf-8", xml_declaration=True)
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8")


class Open311Error(BaseModel):
    """GeoReport v2 error item: clients parse this list, so the documented 4xx bodies are this shape."""

    code: int
    description: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": "GeoReport v2 错误列表", "model": list[Open311Error]} for code in (400, 403, 404, 422, 429)
}
router = APIRouter(
    prefix="/open311/v2",
    tags=["Open311 GeoReport v2"],
    dependencies=[Public, Depends(open311_errors)],
    responses=_ERRORS,
)

CITIZEN = Actor(
    user_id=0,
    username="open311",
    full_name="市民（Open311）",
    department_id=0,
    department_path="/",
    department_name="",
    permissions=frozenset({"citymgmt.intake"}),
    via="system",
)


def _check_jurisdiction(request: Request, jurisdiction_id: str | None) -> None:
    settings = request.app.state.settings
    if jurisdiction_id and jurisdiction_id not in (settings.county_code, settings.county_name):
        raise NotFound(f"jurisdiction_id {jurisdiction_id} not found / 不是本县的管辖区代码")


def _check_submitter(session: Any, api_key: object, ip: str) -> None:
    """Public reports: an api_key when the county requires one, and a cap per address (IPv6: per /64) per hour."""
    cfg = service.config(session)
    keys = cfg.get("open311_api_keys") or []
    if keys and not any(hmac.compare_digest(str(api_key or "").encode(), str(k).encode()) for k in keys):
        raise NotPermitted("api_key is missing or invalid / api_key 无效或缺失")
    public.check_submission_rate(session, ip, per_hour=int(cfg["open311_reports_per_hour"]))


def _service(cls: CaseClass) -> dict[str, Any]:
    majors = {**COMPONENT_MAJORS, **EVENT_MAJORS}
    return {
        "service_code": cls.code,
        "service_name": cls.name,
        "description": cls.filing_standard,
        "metadata": False,
        "type": "realtime",
        "keywords": ("部件" if cls.kind == "component" else "事件") + "," + majors.get(cls.parent_code or "", ""),
        "group": majors.get(cls.parent_code or "", cls.parent_code or ""),
    }


@router.get("/services.json", summary="服务（案件小类）列表")
def services(request: Request, session: SessionDep, jurisdiction_id: str | None = None) -> list[dict[str, Any]]:
    _check_jurisdiction(request, jurisdiction_id)
    rows = session.execute(
        select(CaseClass).where(CaseClass.parent_code.is_not(None), CaseClass.active.is_(True)).order_by(CaseClass.code)
    ).scalars()
    return [_service(c) for c in rows]


@router.get("/services/{service_code}.json", summary="服务定义（属性）")
def service_definition(
    service_code: str, request: Request, session: SessionDep, jurisdiction_id: str | None = None
) -> dict[str, Any]:
    _check_jurisdiction(request, jurisdiction_id)
    cls = session.get(CaseClass, service_code)
    if cls is None or cls.parent_code is None or not cls.active:
        raise NotFound(f"service_code {service_code} not found / 服务代码不存在")
    return {"service_code": cls.code, "attributes": []}


def _lookups(session: Any) -> tuple[dict[str, CaseClass], dict[int, str]]:
    classes = {c.code: c for c in session.execute(select(CaseClass)).scalars()}
    depts = {d.id: d.name for d in platform.list_departments(session, include_inactive=True)}
    return classes, depts


def _float(value: str | None, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise Invalid(f"{name} must be a number / {name} 必须是数字") from exc


@router.post("/requests.json", status_code=201, summary="提交服务请求（市民上报）")
async def create_request(request: Request, session: SessionDep) -> JSONResponse:
    return JSONResponse([await _create(request, session)], status_code=201)


@router.post("/requests.xml", status_code=201, summary="提交服务请求（XML 应答）")
async def create_request_xml(request: Request, session: SessionDep) -> Response:
    return xml_response("service_requests", "request", [await _create(request, session)], 201)


async def _create(request: Request, session: Any) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        try:
            raw = await request.json()
        except ValueError as exc:
            raise Invalid("request body is not valid JSON / 请求体不是有效的 JSON") from exc
        form: dict[str, Any] = raw if isinstance(raw, dict) else {}
    else:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    _check_jurisdiction(request, form.get("jurisdiction_id"))
    ip = client_ip(request)
    _check_submitter(session, form.get("api_key"), ip)
    code = str(form.get("service_code") or "")
    if not code:
        raise Invalid("service_code is required / 缺少 service_code")
    cls = session.get(CaseClass, code)
    if cls is None or cls.parent_code is None or not cls.active:
        raise NotFound(f"service_code {code} not found / 服务代码不存在")
    lat, lon = _float(form.get("lat"), "lat"), _float(form.get("long"), "long")
    address = str(form.get("address_string") or "")[:200]
    if lat is None or lon is None:
        if not address:
            raise Invalid("lat/long or address_string is required / 须提供坐标或地址")
        found = catalogue.search_addresses(session, address, limit=1)
        if not found:
            raise Invalid(f"address_string not found / 找不到地址：{address}")
        lat, lon = found[0].lat, found[0].lon
    name = " ".join(str(form.get(k) or "") for k in ("last_name", "first_name")).strip()
    contact = str(form.get("phone") or form.get("email") or "") or None
    media = str(form.get("media_url") or "")
    try:
        data = CaseIntake(
            source="open311",
            class_code=code,
            lon=lon,
            lat=lat,
            description=str(form.get("description") or ""),
            address=address,
            reporter_name=name[:100],
            reporter_contact=contact[:60] if contact else None,
            external_ref=media[:64]
            if media.startswith(("http://", "https://"))
            else (str(form.get("device_id") or "")[:64] or None),
        )
    except ValidationError as exc:
        # named by the GeoReport parameter the caller sent, not by our intake model's field
        errors = [
            FieldError(e.message, field=_OPEN311_NAMES.get(e.field or "", e.field))
            for e in pydantic_errors_to_chinese(list(exc.errors()), located=False)
        ]
        detail = "；".join(f"{e.field}：{e.message}" if e.field else e.message for e in errors[:5])
        raise Invalid(f"invalid request / 请求参数不符合要求：{detail}", errors) from exc
    state = request.app.state
    options = service.intake_options(state.registry, settings=state.settings, cipher=state.cipher)
    case = service.intake(session, actor=CITIZEN, data=data, options=options)
    case.reporter_ip = ip
    return {
        "service_request_id": case.number,
        "token": case.token,
        "service_notice": "已受理，可凭编号查询进度",
        "account_id": None,
    }


@router.get("/requests.json", summary="查询服务请求（仅公开的案件）")
def list_requests(
    request: Request,
    session: SessionDep,
    jurisdiction_id: str | None = None,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: Moment | None = None,
    end_date: Moment | None = None,
    status: str | None = None,
    page: int = 1,
    page_size: int = public.MAX_PAGE_SIZE,
) -> list[dict[str, Any]]:
    _check_jurisdiction(request, jurisdiction_id)
    public.check_page(page, page_size)
    ids = [s.strip() for s in (service_request_id or "").split(",") if s.strip()]
    window = public.Window(start_date, end_date, service_code, status, page, page_size)
    rows = public.list_public(session, ids=ids, window=window)
    classes, depts = _lookups(session)
    return [public.request_document(session, c, classes, depts) for c in rows]


@router.get("/requests/{service_request_id}.json", summary="单个服务请求（仅公开的案件）")
def get_request(
    service_request_id: str, request: Request, session: SessionDep, jurisdiction_id: str | None = None
) -> list[dict[str, Any]]:
    _check_jurisdiction(request, jurisdiction_id)
    case = public.find_public(session, number=service_request_id)
    if case is None:  # a non-public case answers exactly like a missing one
        raise NotFound(f"service_request_id {service_request_id} not found / 服务请求不存在")
    classes, depts = _lookups(session)
    return [public.request_document(session, case, classes, depts)]


@router.get("/tokens/{token}.json", summary="由 token 查询服务请求编号")
def token(
    token: str, request: Request, session: SessionDep, jurisdiction_id: str | None = None
) -> list[dict[str, Any]]:
    _check_jurisdiction(request, jurisdiction_id)
    case = public.find_public(session, token=token)
    if case is None:
        raise NotFound("token not found / token 不存在")
    return [{"service_request_id": case.number, "token": token}]


# --- the same documents as XML (GeoReport v2 "format" extension .xml)

token_json = token


@router.get("/services.xml", summary="服务列表（XML）")
def services_xml(request: Request, session: SessionDep, jurisdiction_id: str | None = None) -> Response:
    return xml_response("services", "service", services(request, session, jurisdiction_id))


@router.get("/services/{service_code}.xml", summary="服务定义（XML）")
def service_definition_xml(
    service_code: str, request: Request, session: SessionDep, jurisdiction_id: str | None = None
) -> Response:
    return xml_response("service_definition", "", service_definition(service_code, request, session, jurisdiction_id))


@router.get("/requests.xml", summary="查询服务请求（XML）")
def list_requests_xml(
    request: Request,
    session: SessionDep,
    jurisdiction_id: str | None = None,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: Moment | None = None,
    end_date: Moment | None = None,
    status: str | None = None,
    page: int = 1,
    page_size: int = public.MAX_PAGE_SIZE,
) -> Response:
    rows = list_requests(
        request,
        session,
        jurisdiction_id,
        service_request_id,
        service_code,
        start_date,
        end_date,
        status,
        page,
        page_size,
    )
    return xml_response("service_requests", "request", rows)


@router.get("/requests/{service_request_id}.xml", summary="单个服务请求（XML）")
def get_request_xml(
    service_request_id: str, request: Request, session: SessionDep, jurisdiction_id: str | None = None
) -> Response:
    return xml_response(
        "service_requests", "request", get_request(service_request_id, request, session, jurisdiction_id)
    )


@router.get("/tokens/{token}.xml", summary="由 token 查询服务请求编号（XML）")
def token_xml(token: str, request: Request, session: SessionDep, jurisdiction_id: str | None = None) -> Response:
    return xml_response("service_requests", "request", token_json(token, request, session, jurisdiction_id))
