"""应用维护 pages: the class table (view, edit with messages beside fields, Excel in and out), grid import and
the run parameters (运行参数), each field shown in the unit a centre thinks in (%, MB, one key per line)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select

from zhixian.citymgmt import service
from zhixian.citymgmt.config import service as catalogue
from zhixian.citymgmt.config.standards import SOURCES
from zhixian.citymgmt.geo import grids as cover_grids
from zhixian.citymgmt.geo import plan as cover_plan
from zhixian.citymgmt.geo import service as geo
from zhixian.citymgmt.models import Area, CaseClass, Grid
from zhixian.citymgmt.schemas import ClassIn, ConfigIn, GeoImportReport
from zhixian.errors import FieldError, Invalid, NotFound
from zhixian.platform import service as platform
from zhixian.platform import uploads
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors, refusal
from zhixian.web.templating import render

router = APIRouter(prefix="/citymgmt/config", include_in_schema=False)
Configurer = Annotated[Actor, Depends(Require("citymgmt.config"))]

CLASS_FIELDS = (
    ("name", "名称"),
    ("filing_standard", "立案标准"),
    ("closing_standard", "结案标准"),
    ("limit_value", "处置时限"),
    ("limit_unit", "时限单位"),
    ("urgent_value", "紧急时限"),
    ("urgent_unit", "紧急时限单位"),
    ("department_code", "默认责任部门"),
)
MAX_UPLOAD = 20 * 1024 * 1024
# 运行参数 on the page: (form field, label, unit, stored key, factor from the page's unit to the stored one)
PARAMETERS = (
    ("yellow_percent", "黄灯提醒：剩余时限不足", "%", "yellow_ratio", 0.01),
    ("duplicate_distance_m", "疑似重复：相距不超过", "米", "duplicate_distance_m", 1.0),
    ("duplicate_hours", "疑似重复：前后不超过", "小时", "duplicate_hours", 1.0),
    ("photo_max_mb", "照片大小上限", "MB", "photo_max_bytes", 1024 * 1024),
    ("filing_limit_hours", "按时立案时限", "工作小时", "filing_limit_hours", 1.0),
    ("verify_limit_hours", "按时核实时限", "工作小时", "verify_limit_hours", 1.0),
    ("check_limit_hours", "按时核查时限", "工作小时", "check_limit_hours", 1.0),
    ("open311_reports_per_hour", "市民上报：每个来源地址每小时不超过", "件", "open311_reports_per_hour", 1.0),
)
_WHOLE = ("photo_max_bytes", "open311_reports_per_hour")  # stored as integers
WEIGHTS = (
    ("ontime_close_rate", "按期结案率"),
    ("close_rate", "结案率"),
    ("no_rework_rate", "无返工率（1−返工率）"),
)
PARAMETER_LABELS = (
    {field: f"{label}（{unit}）" for field, label, unit, _, _ in PARAMETERS}
    | {f"w_{name}": label for name, label in WEIGHTS}
    | {
        "open311_api_keys_remove": "已设置的 api_key",
        "open311_api_keys_add": "新增 api_key",
        "open311_public_sources": "Open311 公开查询的案件来源",
    }
)
CLASS_LABELS = dict(CLASS_FIELDS) | {"active": "启用"}


@router.get("")
def config_page(request: Request, session: SessionDep, actor: Configurer) -> HTMLResponse:
    return _config_page(request, session, actor, errors=FormErrors())


def _config_page(request: Request, session: Any, actor: Actor, *, errors: FormErrors) -> HTMLResponse:
    classes = session.execute(select(CaseClass).order_by(CaseClass.code)).scalars().all()
    return render(
        request,
        "citymgmt/config.html",
        actor,
        status_code=422 if errors else 200,
        classes=classes,
        department_names=dict(_departments(session)),
        config=service.shown_config(session),
        saved=request.query_params.get("saved"),
        imported=request.query_params.get("imported"),
        errors=errors,
    )


def _departments(session: Any) -> list[tuple[str, str]]:
    return [("@属地", "属地街道（镇）政府")] + [(d.code, d.name) for d in platform.list_departments(session)]


def _class_form(
    request: Request, session: Any, actor: Actor, row: CaseClass, form: dict[str, Any], errors: FormErrors
) -> HTMLResponse:
    return render(
        request,
        "citymgmt/config_class.html",
        actor,
        status_code=422 if errors else 200,
        row=row,
        form=form,
        errors=errors,
        fields=CLASS_FIELDS,
        departments=_departments(session),
    )


def _parameter_form(config: dict[str, Any]) -> dict[str, Any]:
    """The page's fields from the shown configuration: api_keys never come back, only their fingerprints."""
    form: dict[str, Any] = {field: f"{config[key] / factor:g}" for field, _, _, key, factor in PARAMETERS}
    form |= {f"w_{name}": f"{config['weights'][name]:g}" for name, _ in WEIGHTS}
    form["open311_public_sources"] = list(config["open311_public_sources"])
    return form


def _parameters_page(
    request: Request,
    session: Any,
    actor: Actor,
    form: dict[str, Any],
    errors: FormErrors,
    saved: bool = False,
) -> HTMLResponse:
    return render(
        request,
        "citymgmt/config_parameters.html",
        actor,
        status_code=422 if errors else 200,
        form=form,
        errors=errors,
        labels=PARAMETER_LABELS,
        parameters=PARAMETERS,
        weights=WEIGHTS,
        api_keys=service.shown_config(session)["open311_api_keys"],
        sources=SOURCES,
        saved=saved,
    )


@router.get("/parameters")
def parameters_page(request: Request, session: SessionDep, actor: Configurer) -> HTMLResponse:
    form = _parameter_form(service.shown_config(session))
    return _parameters_page(request, session, actor, form, FormErrors(), saved=request.query_params.get("saved") == "1")


@router.post("/parameters")
async def parameters_save(request: Request, session: SessionDep, actor: Configurer) -> Response:
    raw = await request.form()
    form: dict[str, Any] = {k: str(v).strip() for k, v in raw.items() if k != "csrf_token"}
    form["open311_public_sources"] = [str(v) for v in raw.getlist("open311_public_sources")]
    remove = [str(v) for v in raw.getlist("open311_api_keys_remove")]
    form["open311_api_keys_add"] = ""  # a typed key is not echoed back, even beside an error
    errors = FormErrors()
    values: dict[str, Any] = {}
    for field, _, _, key, factor in PARAMETERS:
        try:
            number = float(form.get(field, ""))
        except ValueError:
            errors.add(field, "应为数字", PARAMETER_LABELS[field])
            continue
        values[key] = round(number * factor) if key in _WHOLE else number * factor
    weights: dict[str, float] = {}
    for name, _ in WEIGHTS:
        try:
            weights[name] = float(form.get(f"w_{name}", ""))
        except ValueError:
            errors.add(f"w_{name}", "应为数字", PARAMETER_LABELS[f"w_{name}"])
    values["weights"] = weights
    added = str(raw.get("open311_api_keys_add") or "")
    values["open311_api_keys_add"] = [k.strip() for k in added.splitlines() if k.strip()]
    values["open311_api_keys_remove"] = remove
    values["open311_public_sources"] = form["open311_public_sources"]
    if len(weights) < len(WEIGHTS):
        del values["weights"]
    try:  # the numbers that did parse are still checked, so every problem shows at once
        changes = ConfigIn.model_validate(values).model_dump(exclude_none=True)
    except ValidationError as exc:
        errors.merge(form_errors(exc, PARAMETER_LABELS, place=_placed))
    if not errors:
        try:
            service.set_config(session, actor=actor, changes=changes)
        except Invalid as exc:
            errors = form_errors(exc, PARAMETER_LABELS, place=_placed)
            if not errors.fields:  # a rule about the weights together
                errors = refusal(exc.detail, "w_ontime_close_rate", PARAMETER_LABELS["w_ontime_close_rate"])
    if errors:
        errors.message = "参数未保存，请按提示修改"
        return _parameters_page(request, session, actor, form, errors)
    return RedirectResponse("/citymgmt/config/parameters?saved=1", status_code=303)


def _placed(error: FieldError) -> str | None:
    return _field_of(error.field) if error.field else None


def _field_of(key: str | None) -> str:
    """The page field a stored key's error belongs beside."""
    key = key or ""
    if key.startswith("weights"):
        name = key.split(".", 1)[1] if "." in key else WEIGHTS[0][0]
        return f"w_{name}"
    if key.startswith(("open311_api_keys", "open311_public_sources")):
        return "open311_api_keys_remove" if key.startswith("open311_api_keys_remove") else key.split(".")[0]
    return next((field for field, _, _, stored, _ in PARAMETERS if stored == key), key)


@router.get("/classes/{code}")
def class_edit(code: str, request: Request, session: SessionDep, actor: Configurer) -> HTMLResponse:
    row = session.get(CaseClass, code)
    if row is None or row.parent_code is None:
        raise NotFound("分类不存在（大类不可在此编辑）")
    form = {key: getattr(row, key) for key, _ in CLASS_FIELDS} | {"active": row.active}
    return _class_form(request, session, actor, row, form, FormErrors())


@router.post("/classes/{code}")
async def class_save(code: str, request: Request, session: SessionDep, actor: Configurer) -> Response:
    row = session.get(CaseClass, code)
    if row is None or row.parent_code is None:
        raise NotFound("分类不存在（大类不可在此编辑）")
    raw = await request.form()
    form: dict[str, Any] = {key: str(raw.get(key, "")).strip() for key, _ in CLASS_FIELDS}
    form["active"] = raw.get("active") == "on"
    values = {**form, "code": code, "department_code": form["department_code"] or None}
    try:
        catalogue.save_class(session, actor=actor, data=ClassIn.model_validate(values))
    except (ValidationError, Invalid) as exc:
        session.rollback()
        errors = form_errors(exc, CLASS_LABELS, title="分类未保存")
        return _class_form(request, session, actor, row, form, errors)
    return RedirectResponse(f"/citymgmt/config?saved={code}", status_code=303)


@router.post("/classes-import")
async def classes_import(request: Request, session: SessionDep, actor: Configurer) -> Response:
    raw = await request.form()
    try:
        content = await _upload(raw.get("file"), "分类 Excel")
        limits = uploads.UploadLimits.from_settings(request.app.state.settings)
        saved = catalogue.import_classes_excel(session, actor=actor, content=content, limits=limits)
    except Invalid as exc:
        session.rollback()
        errors = form_errors(exc, {"file": "分类 Excel"}, fallback="未导入任何分类")
        return _config_page(request, session, actor, errors=errors)
    return RedirectResponse(f"/citymgmt/config?imported={saved}", status_code=303)


GEO_LABELS = {"kind": "数据类型", "division_code": "边界所属区划", "file": "文件"}
COVER_LABELS = {
    "scope": "范围",
    "size_m": "网格边长（米）",
    "file": "轮廓文件",
    "replace": "该范围已有的网格",
    "overlap": "与其他网格重叠时",
}


async def _upload(upload: Any, what: str) -> bytes:
    """The chosen file's content, refused beside the file field when there is none or it is too large."""
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise Invalid(f"请选择{what}", field="file")
    content: bytes = await upload.read(MAX_UPLOAD + 1)
    if not content:
        raise Invalid("所选文件是空的", field="file")
    if len(content) > MAX_UPLOAD:
        raise Invalid(f"文件不能超过 {MAX_UPLOAD // 1024 // 1024} MB", field="file")
    return content


def _geo_context(session: Any) -> dict[str, Any]:
    """The divisions a cover or an export can be asked for, with what each already has; and the same as
    the option groups the page's pickers draw (全县, then each street with its communities)."""
    divisions = platform.list_divisions(session)
    bounded = set(session.execute(select(Area.division_code)).scalars())
    counts = dict(session.execute(select(Grid.community_code, func.count()).group_by(Grid.community_code)).all())
    streets = [
        {
            "code": t.code,
            "name": t.name,
            "bounded": t.code in bounded,
            "communities": [
                {"code": v.code, "name": v.name, "bounded": v.code in bounded, "grids": counts.get(v.code, 0)}
                for v in divisions
                if v.level == "village" and v.parent_code == t.code
            ],
        }
        for t in divisions
        if t.level == "town"
    ]
    county = platform.county(session)
    towns = [t for t in divisions if t.level == "town"]
    villages = {t.code: [v for v in divisions if v.level == "village" and v.parent_code == t.code] for t in towns}
    places = [
        (
            t.name,
            [(t.code, f"{t.name}（整个街道/乡镇）")]
            + [
                (
                    v.code,
                    v.name
                    + ("" if v.code in bounded else "（无边界）")
                    + (f"，已有 {counts[v.code]} 个网格" if counts.get(v.code) else ""),
                )
                for v in villages[t.code]
            ],
        )
        for t in towns
    ]
    scopes = ([("全县", [(county.code, f"全县（{county.name}）")])] if county else []) + places
    return {
        "streets": streets,
        "county": county,
        "export_formats": cover_grids.EXPORT_FORMATS,
        "scope_groups": scopes,
        "division_groups": places,
        "community_groups": [
            (t.name, [(v.code, f"{v.name}（{counts.get(v.code, 0)} 个）") for v in villages[t.code]]) for t in towns
        ],
    }


def _geo_page(request: Request, session: Any, actor: Actor, status: int = 200, **extra: Any) -> HTMLResponse:
    context: dict[str, Any] = {"report": None, "kind": "grid", "errors": FormErrors(), "cover": {}, "plan": None}
    context |= {"cover_errors": FormErrors(), "generated": None, "outline": ""}
    return render(
        request, "citymgmt/config_geo.html", actor, status_code=status, **(context | _geo_context(session) | extra)
    )


@router.get("/geo")
def geo_page(request: Request, session: SessionDep, actor: Configurer) -> HTMLResponse:
    cover = {"scope": request.query_params.get("scope", ""), "size_m": "100", "replace": "append", "overlap": "refuse"}
    return _geo_page(request, session, actor, cover=cover)


async def _outline(request: Request, raw: Any) -> Any:
    """The uploaded outline, or the one carried over from the preview, or None."""
    limits = geo.GeoLimits.from_settings(request.app.state.settings)
    upload = raw.get("file")
    if upload is not None and not isinstance(upload, str) and upload.filename:
        content = await upload.read(MAX_UPLOAD + 1)
        if len(content) > MAX_UPLOAD:
            raise Invalid("轮廓文件不能超过 20 MB", field="file")
        return cover_grids.read_outline(content, upload.filename, limits)
    carried = str(raw.get("outline", ""))
    return cover_grids.read_outline(carried.encode(), "outline.geojson", limits) if carried else None


@router.post("/geo/cover")
async def geo_cover(request: Request, session: SessionDep, actor: Configurer) -> HTMLResponse:
    """预览 shows the plan (squares on a map, a row per community); 生成 writes it once every check passes.
    An uploaded outline rides along in a hidden field, so 生成 after 预览 needs no second upload."""
    raw = await request.form()
    cover = {k: str(raw.get(k, "")).strip() for k in ("scope", "size_m", "replace", "overlap", "action")}
    cover["save_boundary"] = "on" if raw.get("save_boundary") == "on" else ""
    errors = FormErrors()
    if not re.fullmatch(r"\d{12}", cover["scope"]):
        errors.add("scope", "请选择社区、街道（乡镇）或全县", COVER_LABELS["scope"])
    try:
        size_m = float(cover["size_m"])
    except ValueError:
        errors.add("size_m", "网格边长应为数字（米）", COVER_LABELS["size_m"])
        size_m = 0.0
    outline = None
    try:
        outline = await _outline(request, raw)
    except Invalid as exc:
        errors.merge(form_errors(exc, COVER_LABELS, place=lambda _: "file"))
    plan_view = None
    generated = None
    if not errors:
        mode: cover_plan.Overlap = "clip" if cover["overlap"] == "clip" else "refuse"
        try:
            planned = cover_plan.plan(
                session,
                scope_code=cover["scope"],
                size_m=size_m,
                replace=cover["replace"] == "replace",
                overlap=mode,
                outline=outline,
            )
            plan_view = cover_plan.describe(planned, catalogue.division_names(session))
            if cover["action"] == "generate" and planned.ok:
                generated = len(
                    cover_grids.apply(session, actor=actor, plan=planned, save_boundary=bool(cover["save_boundary"]))
                )
        except Invalid as exc:  # a rule about no field of the form is about the chosen 范围
            errors.merge(form_errors(exc, COVER_LABELS, place=lambda e: None if e.field in COVER_LABELS else "scope"))
            if not errors.fields:
                errors.add("scope", exc.detail, COVER_LABELS["scope"])
    if errors:
        errors.message = "未生成网格" if cover["action"] == "generate" else "未能预览"
    failed = bool(errors) or (cover["action"] == "generate" and generated is None)
    return _geo_page(
        request,
        session,
        actor,
        status=422 if failed else 200,
        cover=cover,
        plan=plan_view,
        cover_errors=errors,
        generated=generated,
        outline=cover_grids.outline_text(outline) if outline is not None and generated is None else "",
    )


@router.post("/geo")
async def geo_import(request: Request, session: SessionDep, actor: Configurer) -> HTMLResponse:
    raw = await request.form()
    kind = str(raw.get("kind", "grid"))
    division_code = str(raw.get("division_code", "")).strip() or None
    upload = raw.get("file")
    report: GeoImportReport | None = None
    errors = FormErrors()
    if kind not in ("grid", "area"):
        kind, errors = "grid", refusal("请选择导入网格或社区边界", "kind", GEO_LABELS["kind"], title="未导入")
    else:
        try:
            report = catalogue.import_geodata(
                session,
                actor=actor,
                kind=kind,
                content=await _upload(upload, "GeoJSON 或 Shapefile ZIP 文件"),
                filename=getattr(upload, "filename", "") or "",
                limits=geo.GeoLimits.from_settings(request.app.state.settings),
                division_code=division_code,
            )
        except Invalid as exc:
            session.rollback()
            errors = form_errors(exc, GEO_LABELS, fallback="未导入")
    status = 422 if errors else 200
    return _geo_page(request, session, actor, status=status, report=report, kind=kind, errors=errors)
