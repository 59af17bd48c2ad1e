"""应用维护 → 地图底图: choose none, an online tile service (天地图 presets) or a local tiles file; the key is
write-only, problems show beside their fields, and a small map shows the result at once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhixian.citymgmt.geo import basemap, tileproxy, tiles
from zhixian.errors import FieldError, Invalid
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.templating import render

router = APIRouter(prefix="/citymgmt/config", include_in_schema=False)
Configurer = Annotated[Actor, Depends(Require("citymgmt.config"))]
FIELDS = ("kind", "url", "labels_url", "subdomains", "file", "labels_file", "min_zoom", "max_zoom", "attribution")
LABELS = {
    "kind": "底图来源",
    "url": "底图地址模板",
    "labels_url": "注记图层地址模板",
    "subdomains": "子域名字符",
    "key": "服务密钥",
    "file": "底图文件",
    "labels_file": "注记文件",
    "min_zoom": "最小级别",
    "max_zoom": "最大级别",
    "attribution": "来源说明",
}


def _page(
    request: Request, session: Any, actor: Actor, form: dict[str, Any], errors: FormErrors, saved: bool = False
) -> HTMLResponse:
    settings = request.app.state.settings
    directory = basemap.tiles_dir(settings)
    current = basemap.shown(session)
    return render(
        request,
        "citymgmt/config_basemap.html",
        actor,
        status_code=422 if errors else 200,
        form=form,
        errors=errors,
        labels=LABELS,
        saved=saved,
        current=current,
        presets=basemap.PRESETS,
        files=tiles.list_files(directory),
        tiles_dir=str(directory),
        last_error=tileproxy.last_error(settings) if current["kind"] == "url" else "",
    )


@router.get("/basemap")
def basemap_page(request: Request, session: SessionDep, actor: Configurer) -> HTMLResponse:
    form = {k: v for k, v in basemap.shown(session).items() if k in FIELDS}
    return _page(request, session, actor, form, FormErrors(), saved=request.query_params.get("saved") == "1")


@router.post("/basemap")
async def basemap_save(request: Request, session: SessionDep, actor: Configurer) -> Response:
    raw = await request.form()
    form: dict[str, Any] = {k: str(raw.get(k, "")).strip() for k in FIELDS}
    preset = basemap.PRESETS.get(str(raw.get("preset", "")))
    if preset is not None and form["kind"] == "url" and not form["url"]:  # without scripts the preset fills in here
        form |= {k: preset[k] for k in ("url", "labels_url", "subdomains", "attribution")}
    values: dict[str, Any] = {**form, "key": str(raw.get("key", "")) or None, "clear_key": raw.get("clear_key") == "on"}
    errors = FormErrors()
    for number in ("min_zoom", "max_zoom"):
        if not str(values[number]).isdigit():
            errors.add(number, "应为 0–22 的整数", LABELS[number])
    if not errors:
        try:
            data = basemap.BasemapIn.model_validate(values)
        except ValidationError as exc:
            errors = form_errors(exc, LABELS, place=_beside)
    if not errors:
        state = request.app.state
        try:
            basemap.save(session, actor=actor, data=data, cipher=state.cipher, settings=state.settings)
        except Invalid as exc:
            session.rollback()
            errors = form_errors(exc, LABELS, place=_beside)
            if not errors.fields:
                errors.add("kind", exc.detail, LABELS["kind"])
    if errors:
        errors.message = "底图设置未保存，请按提示修改"
        return _page(request, session, actor, form, errors)
    return RedirectResponse("/citymgmt/config/basemap?saved=1", status_code=303)


def _beside(error: FieldError) -> str | None:
    """A rule about the setting as a whole goes beside 底图来源."""
    return None if error.field in LABELS else "kind"
