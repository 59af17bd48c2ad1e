"""The 9+28 model: a subsystem is one package and one entry point in group ``zhixian.subsystems``.

Everything a subsystem brings is declared on its ``Subsystem`` object, so the core mounts an
extension (routers, templates, permissions, roles, menus, demo seed, migrations) without
knowing it. Core subsystems are always on; extensions only when the county's settings name them.

What a subsystem adds to another one's extension points (home cards, case classes, case hooks,
intake channels, declared settings, the names of its codes, facts on catalogue resources) is a typed
field, not an open dict: a misspelled field is a
``TypeError`` when the package is imported, and mypy checks each item's shape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from zhixian.settings import Setting

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter
    from sqlalchemy.orm import Session

    from zhixian.catalog.schemas import ResourceFacts
    from zhixian.citymgmt.models import Case
    from zhixian.labels import Labels
    from zhixian.platform.actor import Actor
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
    primary: bool = False  # also a button at the top of the home page (工作台): what the person came to do


@dataclass(frozen=True)
class Apart:
    """When a job's work is heavy (seconds of Python), the in-process scheduler runs it as
    ``zhixian <argv>`` in a child process instead, so the web process keeps its GIL and garbage collector
    for requests; ``due(node)`` says, cheaply, whether there is such work now."""

    argv: tuple[str, ...]
    due: Callable[[Any], bool]


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[..., Any]
    every_seconds: int
    apart: Apart | None = None  # see Apart; a node running `zhixian jobs`/CLI loops runs func as it is


@dataclass(frozen=True)
class HomeCard:
    """One figure on the home page (工作台); ``href`` opens the records behind it."""

    title: str
    value: int | str
    href: str
    group: str
    alert: bool = False


HomeCardProvider = Callable[["Session", "Actor", "Settings"], Sequence[HomeCard]]
"""Cards for this actor, grouped under ``group``; an empty list when the actor may see none."""

CaseHook = Callable[["Session", "Case", dict[str, Any]], None]
"""Called by the case hub after a case is created, in its transaction, with the intake's ``context``."""


@dataclass(frozen=True)
class CaseCategory:
    """A 部件/事件 class a subsystem adds to the city-management code tables (seeded, then editable)."""

    code: str  # 小类, e.g. S0601
    major: str  # 大类, e.g. S06
    major_name: str
    name: str
    kind: Literal["component", "event"] = "event"
    filing_standard: str = ""  # 立案标准
    closing_standard: str = ""  # 结案标准
    limit_value: int = 1  # 处置时限
    limit_unit: Literal["hours", "days"] = "days"
    urgent_value: int = 4  # 紧急案件处置时限
    urgent_unit: Literal["hours", "days"] = "hours"
    department_code: str | None = None  # default handling department
    source: str = ""  # code of the subsystem that contributed it


@dataclass(frozen=True)
class IntakeSource:
    """A channel cases come in through (渠道), and the permission that lets an actor use it."""

    code: str  # stored on the case, at most 16 characters
    label: str
    permission: str


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
    # --- contributions to other subsystems' extension points, read through ``Registry.contributed``
    home_cards: list[HomeCardProvider] = field(default_factory=list)
    case_categories: list[CaseCategory] = field(default_factory=list)
    case_hooks: list[CaseHook] = field(default_factory=list)
    intake_sources: list[IntakeSource] = field(default_factory=list)
    settings: list[Setting[Any]] = field(default_factory=list)
    """Declared settings, read with ``Settings.declared(spec)`` (env ``ZHIXIAN_<CODE>_<NAME>``)."""
    labels: list[Labels] = field(default_factory=list)
    """Chinese names of the codes this subsystem writes (audit actions, object types, detail keys)."""
    catalog_resource_facts: list[ResourceFacts] = field(default_factory=list)
    """What this subsystem knows about a catalogue resource (records, quality, sources), on its page."""

    def __post_init__(self) -> None:
        for spec in self.settings:
            if spec.subsystem != self.code:
                raise ValueError(f"子系统 {self.code} 声明的设置 {spec.env} 属于另一个子系统 {spec.subsystem}")
        for source in self.intake_sources:
            if not 0 < len(source.code) <= 16:
                raise ValueError(f"子系统 {self.code} 的上报渠道代码 {source.code!r} 须为 1–16 个字符")


ContributionPoint = Literal[
    "home_cards", "case_categories", "case_hooks", "intake_sources", "settings", "labels", "catalog_resource_facts"
]
CONTRIBUTION_POINTS: tuple[ContributionPoint, ...] = (
    "home_cards",
    "case_categories",
    "case_hooks",
    "intake_sources",
    "settings",
    "labels",
    "catalog_resource_facts",
)


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

    @overload
    def contributed(self, point: Literal["home_cards"]) -> list[HomeCardProvider]: ...
    @overload
    def contributed(self, point: Literal["case_categories"]) -> list[CaseCategory]: ...
    @overload
    def contributed(self, point: Literal["case_hooks"]) -> list[CaseHook]: ...
    @overload
    def contributed(self, point: Literal["intake_sources"]) -> list[IntakeSource]: ...
    @overload
    def contributed(self, point: Literal["settings"]) -> list[Setting[Any]]: ...
    @overload
    def contributed(self, point: Literal["labels"]) -> list[Labels]: ...
    @overload
    def contributed(self, point: Literal["catalog_resource_facts"]) -> list[ResourceFacts]: ...
    def contributed(self, point: ContributionPoint) -> list[Any]:
        """Every enabled subsystem's items for one extension point, dependencies first."""
        if point not in CONTRIBUTION_POINTS:
            raise KeyError(f"unknown extension point {point!r}; known: {', '.join(CONTRIBUTION_POINTS)}")
        return [item for s in self.enabled.values() for item in getattr(s, point)]


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
    settings.check_declared([spec for sub in enabled.values() for spec in sub.settings], set(enabled))
    return Registry(available=available, enabled=enabled)
