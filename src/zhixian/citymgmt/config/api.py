"""JSON routes for base data and 应用维护: geography and grids, standard addresses, classes, run parameters.

Reads serve any signed-in user, since reporting and handling need them (the grid layer needs
``citymgmt.view``); changes need ``citymgmt.config``. The work itself is in ``catalogue`` and ``service``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import func, select

from zhixian.citymgmt import service
from zhixian.citymgmt.config import service as catalogue
from zhixian.citymgmt.geo import grids as cover_grids
from zhixian.citymgmt.geo import plan as cover_plan
from zhixian.citymgmt.geo import service as geo
from zhixian.citymgmt.models import CaseClass, Grid
from zhixian.citymgmt.schemas import AddressRead, ClassIn, ClassRead, ConfigIn, CoverIn, GeoImportReport, LocationRead
from zhixian.errors import Invalid
from zhixian.platform import uploads
from zhixian.platform.actor import Actor
from zhixian.settings import Settings
from zhixian.web.auth import Require, Signed
from zhixian.web.deps import SessionDep
from zhixian.web.middleware import Revalidated
from zhixian.web.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/citymgmt", tags=["数字城管"])

Configurer = Annotated[Actor, Depends(Require("citymgmt.config"))]
Paging = Annotated[PageParams, Depends(page_params)]
CLASSES_MAX_BYTES = 20 * 1024 * 1024  # a class table is a few hundred rows


# --- geography


@router.get("/locate", summary="坐标 → 网格 → 社区 → 街道")
def locate(
    session: SessionDep,
    actor: Signed,
    lon: Annotated[float, Query(allow_inf_nan=True)],
    lat: Annotated[float, Query(allow_inf_nan=True)],
    crs: Annotated[str, Query(pattern="^(WGS84|GCJ02)$")] = "WGS84",
) -> LocationRead:
    note = "WGS84"
    if crs == "GCJ02":
        lon, lat = geo.gcj02_to_wgs84(lon, lat)
        note = "GCJ-02→WGS84"
    where = geo.locate(session, lon, lat)
    names = catalogue.division_names(session)
    return LocationRead(
        lon=lon,
        lat=lat,
        coord_note=note,
        grid_code=where.grid_code,
        community_code=where.community_code,
        community_name=names.get(where.community_code, ""),
        street_code=where.street_code,
        street_name=names.get(where.street_code or "", ""),
    )


@router.get("/grids.geojson", summary="网格 GeoJSON（含在办与超期案件数）", dependencies=[Revalidated])
def grids_geojson(
    session: SessionDep, actor: Annotated[Actor, Depends(Require("citymgmt.view"))], street_code: str | None = None
) -> dict[str, Any]:
    return catalogue.grid_layer(session, actor=actor, street_code=street_code)


@router.get("/areas.geojson", summary="社区与街道边界 GeoJSON", dependencies=[Revalidated])
def areas_geojson(session: SessionDep, actor: Signed, level: str = "village") -> dict[str, Any]:
    return catalogue.area_layer(session, level=level)


@router.post("/geo/import", summary="导入网格、社区边界或部件（GeoJSON 或 Shapefile ZIP）")
def geo_import(
    request: Request,
    session: SessionDep,
    actor: Configurer,
    kind: Annotated[str, Form(pattern="^(grid|area|component)$")],
    file: Annotated[UploadFile, File()],
) -> GeoImportReport:
    limits = geo.GeoLimits.from_settings(request.app.state.settings)
    content = uploads.read_limited(file.file, limits.max_file_bytes, label="导入文件")
    return catalogue.import_geodata(
        session, actor=actor, kind=kind, content=content, filename=file.filename or "", limits=limits
    )


@router.post("/geo/cover", summary="为社区生成网格覆盖（正方形裁剪，自西向东、自北向南编号）")
def geo_cover(data: CoverIn, session: SessionDep, actor: Configurer) -> list[dict[str, Any]]:
    grids = catalogue.generate_cover(session, actor=actor, data=data)
    return [{"code": g.code, "area_m2": round(g.area_m2, 1)} for g in grids]


ScopeForm = Annotated[str, Form(pattern=r"^\d{12}$", description="范围：社区、街道（乡镇）或全县的 12 位区划代码")]
SizeForm = Annotated[float, Form(gt=20, le=5000, allow_inf_nan=False, description="网格边长（米）")]
OverlapForm = Annotated[str, Form(pattern="^(refuse|clip)$", description="与已有网格重叠时：refuse 拒绝，clip 裁去")]
OutlineFile = Annotated[UploadFile | None, File(description="轮廓（GeoJSON 或 Shapefile ZIP，可空）")]


def _cover_plan(
    request: Request,
    session: SessionDep,
    scope: str,
    size_m: float,
    replace: bool,
    overlap: str,
    file: UploadFile | None,
) -> cover_plan.CoverPlan:
    outline = None
    if file is not None and file.filename:
        limits = geo.GeoLimits.from_settings(request.app.state.settings)
        content = uploads.read_limited(file.file, limits.max_file_bytes, label="轮廓文件")
        outline = cover_grids.read_outline(content, file.filename, limits)
    mode: cover_plan.Overlap = "clip" if overlap == "clip" else "refuse"
    return cover_plan.plan(session, scope_code=scope, size_m=size_m, replace=replace, overlap=mode, outline=outline)


@router.post("/geo/cover/preview", summary="预览网格覆盖（不保存）：社区、街道或全县，可附轮廓按社区边界切分")
def geo_cover_preview(
    request: Request,
    session: SessionDep,
    actor: Configurer,
    scope: ScopeForm,
    size_m: SizeForm,
    file: OutlineFile = None,
    replace: Annotated[bool, Form()] = True,
    overlap: OverlapForm = "refuse",
) -> dict[str, Any]:
    planned = _cover_plan(request, session, scope, size_m, replace, overlap, file)
    return cover_plan.describe(planned, catalogue.division_names(session))


@router.post("/geo/cover/generate", summary="生成网格覆盖（重叠时拒绝或裁剪；每个社区不超过 999 个）")
def geo_cover_generate(
    request: Request,
    session: SessionDep,
    actor: Configurer,
    scope: ScopeForm,
    size_m: SizeForm,
    file: OutlineFile = None,
    replace: Annotated[bool, Form()] = True,
    overlap: OverlapForm = "refuse",
    save_boundary: Annotated[bool, Form(description="同时把轮廓保存为所选社区或街道的边界")] = False,
) -> dict[str, Any]:
    planned = _cover_plan(request, session, scope, size_m, replace, overlap, file)
    grids = cover_grids.apply(session, actor=actor, plan=planned, save_boundary=save_boundary)
    summary = cover_plan.describe(planned, catalogue.division_names(session), with_cells=False)
    return {**summary, "generated": len(grids)}


@router.get("/grids/export", summary="导出网格（按社区、街道或全县；GeoJSON、Shapefile ZIP 或 Excel）")
def grids_export(
    session: SessionDep,
    actor: Annotated[Actor, Depends(Require("citymgmt.view"))],
    format: Annotated[str, Query(pattern="^(geojson|zip|xlsx)$")] = "geojson",
    community_code: Annotated[str | None, Query(pattern=r"^(\d{12})?$")] = None,
    street_code: Annotated[str | None, Query(pattern=r"^(\d{12})?$")] = None,
) -> Response:
    content, media, name = cover_grids.export_grids(
        session, actor=actor, fmt=format, community_code=community_code or None, street_code=street_code or None
    )
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/addresses", summary="标准地址模糊查询")
def addresses(
    session: SessionDep, actor: Signed, q: Annotated[str, Query(min_length=1, max_length=50)]
) -> list[AddressRead]:
    return [AddressRead.model_validate(a) for a in catalogue.search_addresses(session, q)]


@router.get("/grids", summary="网格列表")
def list_grids(
    session: SessionDep, actor: Signed, paging: Paging, community_code: str | None = None
) -> Page[dict[str, Any]]:
    query = select(Grid).order_by(Grid.code)
    if community_code:
        query = query.where(Grid.community_code == community_code)
    total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    rows = session.execute(query.offset(paging.offset).limit(paging.size)).scalars().all()
    items = [
        {
            "code": g.code,
            "name": g.name,
            "community_code": g.community_code,
            "street_code": g.street_code,
            "area_m2": round(g.area_m2, 1),
        }
        for g in rows
    ]
    return Page(items=items, total=total, page=paging.page, size=paging.size)


# --- classes and configuration


@router.get("/classes", summary="部件与事件分类")
def classes(session: SessionDep, actor: Signed) -> list[ClassRead]:
    rows = session.execute(select(CaseClass).order_by(CaseClass.code)).scalars().all()
    return [ClassRead.model_validate(r) for r in rows]


@router.put("/classes/{code}", summary="新增或修改小类")
def save_class(code: str, data: ClassIn, session: SessionDep, actor: Configurer) -> ClassRead:
    if code != data.code:
        raise Invalid("地址中的代码与内容不一致", field="code")
    return ClassRead.model_validate(catalogue.save_class(session, actor=actor, data=data))


@router.get("/classes.xlsx", summary="导出分类（Excel）")
def classes_excel(session: SessionDep, actor: Signed) -> Response:
    return Response(
        catalogue.classes_excel(session),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="citymgmt-classes.xlsx"'},
    )


@router.post("/classes/import", summary="从 Excel 导入分类")
def classes_import(
    request: Request, session: SessionDep, actor: Configurer, file: Annotated[UploadFile, File()]
) -> dict[str, int]:
    settings: Settings = request.app.state.settings
    content = uploads.read_limited(file.file, CLASSES_MAX_BYTES, label="分类 Excel")
    limits = uploads.UploadLimits.from_settings(settings)
    return {"saved": catalogue.import_classes_excel(session, actor=actor, content=content, limits=limits)}


@router.get("/config", summary="运行参数")
def get_config(session: SessionDep, actor: Signed) -> dict[str, Any]:
    return service.shown_config(session)  # api_keys only as fingerprints: secrets are write-only


@router.put("/config", summary="修改运行参数")
def put_config(data: ConfigIn, session: SessionDep, actor: Configurer) -> dict[str, Any]:
    return service.set_config(session, actor=actor, changes=data.model_dump(exclude_none=True))
