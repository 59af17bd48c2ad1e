"""The 9+28 model: a subsystem is one package and one entry point in group ``zhixian.subsystems``.

Everything a subsystem brings is declared on its ``Subsystem`` object, so the core mounts an
extension (routers, templates, permissions, roles, menus, demo seed, migrations) without
knowing it. Core subsystems are always on; extensions only when the county's settings name them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter
    from sqlalchemy.orm import Session

    from zhixian.settings import Settings

log = logging.getLogger("zhixian.subsystems")

GROUP = "zhixian.subsystems"


@dataclass(frozen=True)
class Permission:
    code: str
    name: str


@dataclass(frozen=True)
class RoleSpec:
    """A default role seeded at ``init``; security administrators may edit it afterwards."""

    code: str
    name: str
    permissions: tuple[str, ...]
    description: str = ""
    admin_kind: Literal["system", "security", "audit"] | None = None


@dataclass(frozen=True)
class MenuItem:
    title: str
    path: str
    permission: str | None = None
    group: str = ""


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[..., Any]
    every_seconds: int


@dataclass
class Subsystem:
    code: str
    name: str
    kind: Literal["core", "extension"]
    description: str = ""
    standard: str = ""
    api_router: APIRouter | None = None
    page_router: APIRouter | None = None
    templates: Path | None = None
    static: Path | None = None  # served at /static/<code>/
    migrations: Path | None = None
    cli: typer.Typer | None = None
    permissions: list[Permission] = field(default_factory=list)
    roles: list[RoleSpec] = field(default_factory=list)
    menu: list[MenuItem] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    seed: Callable[[Session, Any], None] | None = None
    depends_on: tuple[str, ...] = ("platform",)
    contributions: dict[str, list[Any]] = field(default_factory=dict)
    """Open-ended extension points, e.g. ``{"case_categories": [...], "intake_sources": [...]}``."""


@dataclass
class Registry:
    available: dict[str, Subsystem]
    enabled: dict[str, Subsystem]
    problems: list[str] = field(default_factory=list)

    def state(self, code: str) -> str:
        if code in self.enabled:
            return "启用"
        return "未启用" if code in self.available else "未安装"

    def permissions(self) -> dict[str, Permission]:
        return {p.code: p for s in self.enabled.values() for p in s.permissions}

    def roles(self) -> list[RoleSpec]:
        return [r for s in self.enabled.values() for r in s.roles]

    def contributed(self, point: str) -> list[Any]:
        return [item for s in self.enabled.values() for item in s.contributions.get(point, [])]


def discover() -> dict[str, Subsystem]:
    found: dict[str, Subsystem] = {}
    for ep in entry_points(group=GROUP):
        obj = ep.load()
        if not isinstance(obj, Subsystem):
            raise TypeError(f"entry point {ep.name} in {GROUP} is not a Subsystem")
        if obj.code != ep.name:
            raise ValueError(f"entry point name {ep.name!r} differs from subsystem code {obj.code!r}")
        found[obj.code] = obj
    return found


def load(settings: Settings) -> Registry:
    available = discover()
    wanted = set(settings.enabled_extensions)
    if "*" in wanted:
        wanted = {c for c, s in available.items() if s.kind == "extension"}
    unknown = sorted(c for c in wanted if c not in available)
    if unknown:
        raise ValueError(f"enabled_extensions 中的扩展未安装：{', '.join(unknown)}")
    chosen = {c: s for c, s in available.items() if s.kind == "core" or c in wanted}
    for sub in chosen.values():
        missing = [d for d in sub.depends_on if d not in chosen and d != sub.code]
        if missing:
            raise ValueError(f"子系统 {sub.code} 依赖未启用的子系统：{', '.join(missing)}")
    # dependencies first (routes, seeds and menus follow this order), then core before extensions
    enabled: dict[str, Subsystem] = {}

    def visit(sub: Subsystem, trail: tuple[str, ...]) -> None:
        if sub.code in enabled:
            return
        if sub.code in trail:
            raise ValueError(f"子系统依赖成环：{' → '.join((*trail, sub.code))}")
        for dep in sub.depends_on:
            if dep != sub.code:
                visit(chosen[dep], (*trail, sub.code))
        enabled[sub.code] = sub

    for sub in sorted(chosen.values(), key=lambda s: (s.kind != "core", s.code)):
        visit(sub, ())
    return Registry(available=available, enabled=enabled)
