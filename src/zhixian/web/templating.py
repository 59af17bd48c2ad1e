"""Jinja2 set-up: one loader over every enabled subsystem's templates, Chinese formatting helpers.

Helpers every template can use (see ``page_helpers``):
- ``static_url("css/zhixian.css")``: the asset's URL with its content hash (cached for a year)
- ``link(href, text)`` / ``may_open(href)``: a link only when the user may open it (no link that answers 403)
- ``labels.action(code)``, ``labels.object(type, id)``, ``labels.details(action, detail)``: names, not codes
- ``x | lookup(names)``: a name from a mapping the page passes, the code beside it; ``named(name, code)``
- ``expr | schedule_text``: a cron schedule in words; ``qr_svg(text)``: a QR code as inline SVG
- ``role_names``, ``admin_kinds``: role and administrator-duty names by code
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from zhixian.clock import LOCAL_TZ
from zhixian.labels import LabelBook, Labels
from zhixian.platform.actor import Actor
from zhixian.platform.separation import ADMIN_KIND_NAMES
from zhixian.settings import Settings
from zhixian.subsystems import MenuItem, Registry
from zhixian.web import cron, page_helpers
from zhixian.web.assets import AssetIndex

WEB_TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Stored in UTC, shown in Beijing time."""
    if value is None:
        return "—"
    return value.astimezone(LOCAL_TZ).strftime(fmt)


def asset_index(registry: Registry) -> AssetIndex:
    return AssetIndex(STATIC, {s.code: s.static for s in registry.enabled.values() if s.static is not None})


def label_book(registry: Registry) -> LabelBook:
    """Every subsystem's labels, plus role and permission names for the audit details that list them
    (the roles a user had before and after, the permissions of a role)."""
    names = {r.code: r.name for r in registry.roles()} | {p.code: p.name for p in registry.permissions().values()}
    granted = Labels("platform", detail_values={"before": names, "after": names, "roles": names})
    return LabelBook([*registry.contributed("labels"), granted], {s.code: s.name for s in registry.available.values()})


def make_templates(registry: Registry, settings: Settings) -> Jinja2Templates:
    dirs = [s.templates for s in registry.enabled.values() if s.templates] + [WEB_TEMPLATES]
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in dirs]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local_time
    env.filters["lookup"] = page_helpers.lookup
    env.filters["schedule_text"] = page_helpers.schedule_text
    env.filters["person"] = page_helpers.person
    env.globals.update(
        static_url=asset_index(registry).url,
        link=page_helpers.link,
        may_open=page_helpers.may_open_global,
        named=page_helpers.named,
        code=page_helpers.code,
        labels=page_helpers.LabelFilters(label_book(registry)),
        qr_svg=page_helpers.qr_svg,
        schedule_picked=cron.picker,
        admin_kinds=ADMIN_KIND_NAMES,
        subsystem_names={s.code: s.name for s in registry.available.values()},
        role_names={r.code: r.name for r in registry.roles()},
    )
    # defaults for pages rendered outside render() (error pages): no actor, no menu
    env.globals.update(settings=settings, actor=None, menu=[], csrf_token="")
    return Jinja2Templates(env=env)


def menu_for(registry: Registry, actor: Actor | None) -> list[tuple[str, list[MenuItem]]]:
    """Navigation grouped by subsystem; an entry shows only if the actor holds its permission."""
    groups: list[tuple[str, list[MenuItem]]] = []
    if actor is None:
        return groups
    for sub in registry.enabled.values():
        items = [m for m in sub.menu if m.permission is None or actor.can(m.permission)]
        if items:
            groups.append((items[0].group or sub.name, items))
    return groups


def active_path(path: str, menu: list[tuple[str, list[MenuItem]]]) -> str:
    """The one menu entry to highlight: the longest whose path is the page or a parent of it."""
    best = ""
    for _, items in menu:
        for item in items:
            base = item.path.rstrip("/") or "/"
            if (path == base or path.startswith(base + "/")) and len(base) > len(best):
                best = item.path
    return best


def render(request: Request, name: str, actor: Actor | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    app = request.app
    menu = menu_for(app.state.registry, actor)
    base = {
        "actor": actor,
        "menu": menu,
        "active_path": active_path(request.url.path, menu),
        "settings": app.state.settings,
        "csrf_token": actor.csrf_token if actor else context.pop("login_csrf", ""),
    }
    base.update(context)
    response: HTMLResponse = app.state.templates.TemplateResponse(request, name, base, status_code=status_code)
    return response
