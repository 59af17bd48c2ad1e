"""Template helpers every page shares: links only to what the user may open, names instead of codes,
schedules in words, QR codes drawn on the server.

``link(href, text)`` renders a link when the signed-in user may open its target and the plain text
otherwise, so nobody is shown a link that answers 403. Whether they may is read from the route itself:
the permission its ``Require(...)`` declares (and, for administrator permissions, the network the user
comes from), so a template never repeats a permission string. Object-level rules (another department's
record) stay with the page, which knows the object.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import segno
from fastapi.routing import APIRoute
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from zhixian.labels import Detail, LabelBook
from zhixian.platform.actor import Actor
from zhixian.platform.service import ADMIN_PERMISSION_KIND
from zhixian.web import cron
from zhixian.web.auth import Require

# --- which links a user may follow


@dataclass(frozen=True)
class _Guard:
    pattern: re.Pattern[str]
    permissions: frozenset[str]
    signed_in: bool


def _requires(dependant: Any) -> Iterable[Require]:
    for dep in dependant.dependencies:
        if isinstance(dep.call, Require):
            yield dep.call
        yield from _requires(dep)


def _flat(routes: Iterable[Any]) -> Iterable[Any]:
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from _flat(inner.routes) if inner is not None else (route,)


class RouteGuards:
    """The page routes' permissions, in the order the app matches them (built once, on first use)."""

    def __init__(self, routes: Iterable[Any]) -> None:
        self._guards: list[_Guard] = []
        for route in _flat(routes):
            if isinstance(route, APIRoute) and "GET" in (route.methods or ()):
                found = list(_requires(route.dependant))
                perms = frozenset(r.permission for r in found if r.permission)
                self._guards.append(_Guard(route.path_regex, perms, bool(found)))

    def guard(self, path: str) -> _Guard | None:
        return next((g for g in self._guards if g.pattern.match(path)), None)


def may_open(app: Any, actor: Actor | None, href: str) -> bool:
    """Whether following ``href`` would pass the target route's permission check for this actor.
    Other sites, static files and unknown paths are left alone (True): only permissions are judged."""
    if not isinstance(href, str) or not href.startswith("/") or href.startswith("//"):
        return True
    guards: RouteGuards | None = getattr(app.state, "route_guards", None)
    if guards is None:
        guards = app.state.route_guards = RouteGuards(app.router.routes)
    guard = guards.guard(href.split("?", 1)[0].split("#", 1)[0])
    if guard is None or not guard.signed_in:
        return True
    if actor is None:
        return False
    if not all(actor.can(p) for p in guard.permissions):
        return False
    admin = any(p in ADMIN_PERMISSION_KIND for p in guard.permissions)
    return not admin or bool(app.state.settings.admin_allowed_from(actor.ip))


@pass_context
def may_open_global(ctx: Context, href: str) -> bool:
    request = ctx.get("request")
    return request is None or may_open(request.app, ctx.get("actor"), href)


@pass_context
def link(ctx: Context, href: str, text: Any, class_: str = "", title: str = "") -> Markup:
    """``<a href>`` when the user may open it; the text alone (escaped) when not."""
    if not may_open_global(ctx, href):
        return escape(text)
    attrs = Markup("")
    if class_:
        attrs += Markup(' class="{}"').format(class_)
    if title:
        attrs += Markup(' title="{}"').format(title)
    return Markup('<a href="{}"{}>{}</a>').format(href, attrs, text)


# --- names instead of codes


def named(name: Any, code: Any) -> Markup:
    """A name with its code beside it: 住房和城乡建设局 <code>zjj</code>; the code alone is never shown
    bare, so a missing name reads 未登记."""
    code_html = Markup('<code class="code">{}</code>').format(code) if code not in (None, "") else Markup("")
    if name in (None, ""):
        return Markup('<span class="muted">未登记</span> {}').format(code_html) if code_html else Markup("—")
    return Markup("{} {}").format(name, code_html) if code_html else escape(name)


def code(value: Any) -> Markup:
    """A code marked as one (``<code>``), for codes shown beside a name in another column."""
    return Markup('<code class="code">{}</code>').format(value)


def lookup(code: Any, names: Mapping[Any, Any]) -> Markup:
    """``{{ d.code | lookup(department_names) }}``: the name from a page-supplied mapping, code beside."""
    return named(names.get(code), code)


# accounts that are not people: what they stand for
SPECIAL_ACCOUNTS = {"system": "系统（自动作业）", "demo": "演示数据", "": "—"}


def person(username: str | None, names: Mapping[str, str] | None = None) -> Markup:
    """Who did something: the person's name with the login name beside it, or what a special account
    stands for (system jobs, the demo loader). Without a name from the page, the login name as a code."""
    username = username or ""
    if username in SPECIAL_ACCOUNTS:
        return escape(SPECIAL_ACCOUNTS[username])
    full = (names or {}).get(username)
    return named(full, username) if full else code(username)


class LabelFilters:
    """The label book as template filters: actions, object types and audit details by their names."""

    def __init__(self, book: LabelBook) -> None:
        self.book = book

    def action(self, code: str) -> Markup:
        return named(self.book.action(code) or "未登记的操作", code)

    def field(self, code: str) -> Markup:
        """A list filter's name (网格, 处置部门); an unnamed one as its code."""
        name = self.book.field(code)
        return escape(name) if name else named("未登记的条件", code)

    def object(self, object_type: str, object_id: Any = "") -> Markup:
        if not object_type:
            return Markup("—")
        name = self.book.object_type(object_type) or "未登记的对象"
        shown = self.book.object_id(object_type, str(object_id)) if object_id not in (None, "") else ""
        return Markup("{} {}").format(name, shown) if shown else escape(name)

    def object_href(self, object_type: str, object_id: Any) -> str | None:
        return self.book.object_href(object_type, str(object_id)) if object_id not in (None, "") else None

    def details(self, action: str, detail: Mapping[str, Any] | None) -> list[Detail]:
        return self.book.details(action, detail)


# --- schedules and QR codes


def schedule_text(expr: str | None) -> str:
    return cron.describe(expr)


def qr_svg(text: str, title: str = "二维码") -> Markup:
    """A QR code as inline SVG, drawn here (no image service, nothing leaves the county's network)."""
    qr = segno.make(text, error="m")
    svg = qr.svg_inline(scale=4, border=2, title=title, dark="#1d2733", svgclass="qr", omitsize=False)
    return Markup(svg)  # noqa: S704 - segno writes only its own SVG elements; the text is encoded as modules
