"""The layering rule, checked: services never load the web stack, and features meet only through service/schemas.

1. A module that is not a web module (routes, pages, the app, ``zhixian.web``) imports nothing from fastapi,
   starlette, jinja2 or ``zhixian.web`` — directly or through another zhixian module.
2. A feature uses another feature only through its ``service`` and ``schemas`` (and the platform's shared kernel:
   the actor, audit, crypto, masking, uploads, outbound, idempotency modules every feature builds on).
Imports under ``if TYPE_CHECKING:`` only name types and are not counted.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).parents[1] / "src" / "zhixian"
WEB_LIBRARIES = ("fastapi", "starlette", "jinja2", "zhixian.web")
FEATURES = (
    "platform",
    "catalog",
    "integration",
    "citymgmt",
    "exchange",
    "perception",
    "services",
    "extensions.storefronts",
)
PUBLIC = {"service", "schemas"}
# the 底座's shared kernel: not business rules of the platform feature, but the tools every feature uses
PLATFORM_KERNEL = {"actor", "audit", "crypto", "masking", "uploads", "outbound", "idempotency"}
WEB_NAMES = {"api", "pages", "web", "deps", "subsystem", "open311", "app", "cli", "api_changes"}

# Known exceptions, each with its reason; the list may only shrink (a new entry needs a reviewer's yes).
NOT_YET_WEB_FREE: dict[str, str] = {}
NOT_YET_THROUGH_SERVICE = {
    ("zhixian.catalog.demo", "zhixian.platform.models"): "demo seed reads departments by code",
    ("zhixian.catalog.pages", "zhixian.platform.models"): "department pickers; to platform.service",
    ("zhixian.catalog.service", "zhixian.platform.models"): "department scope joins in SQL",
    ("zhixian.integration.access", "zhixian.catalog.models"): "base-library owners joined in SQL",
    ("zhixian.integration.access", "zhixian.platform.models"): "department paths joined in SQL",
    ("zhixian.integration.basedata", "zhixian.catalog.models"): "quality joins resources in SQL",
    ("zhixian.integration.basedata", "zhixian.platform.models"): "quality joins departments in SQL",
    ("zhixian.integration.demo", "zhixian.catalog.models"): "demo seed finds the base-library resources",
    ("zhixian.integration.demo", "zhixian.platform.models"): "demo seed reads villages and departments",
    ("zhixian.integration.records", "zhixian.catalog.models"): "record history names the resource in SQL",
    ("zhixian.integration.records", "zhixian.platform.models"): "record history names the department in SQL",
    ("zhixian.integration.pipeline", "zhixian.platform.models"): "division codes checked in bulk",
    ("zhixian.integration.quality", "zhixian.catalog.grading"): "update-cycle days of a resource",
    ("zhixian.integration.quality", "zhixian.catalog.models"): "reads the resource being measured",
    ("zhixian.integration.service", "zhixian.catalog.models"): "load targets and their columns",
    ("zhixian.integration.service", "zhixian.platform.models"): "department scope joins in SQL",
    # exchange (merged in the same session as the check): departments and resources joined in SQL; to move
    # behind platform.service / catalog.service / integration.service functions
    ("zhixian.exchange.apps", "zhixian.platform.models"): "application owners by department, joined in SQL",
    ("zhixian.exchange.demo", "zhixian.platform.models"): "demo seed reads departments by code",
    ("zhixian.exchange.grants", "zhixian.platform.models"): "grant lists name departments in SQL",
    ("zhixian.exchange.reads", "zhixian.platform.models"): "usage reads name departments in SQL",
    ("zhixian.exchange.requests", "zhixian.platform.models"): "request queues scoped by department path in SQL",
    ("zhixian.exchange.usage", "zhixian.platform.models"): "statistics per department in SQL",
    ("zhixian.exchange.sources", "zhixian.catalog.models"): "the gateway reads a granted resource's items",
    (
        "zhixian.exchange.sources",
        "zhixian.integration.models",
    ): "the gateway reads base-library and departmental records",
    (
        "zhixian.exchange.subsystem",
        "zhixian.integration.access",
    ): "registers grants with integration.access.register_grant",
    ("zhixian.citymgmt.demo", "zhixian.platform.calendar"): "demo history uses the working calendar directly",
}


def module_name(path: Path) -> str:
    parts = ("zhixian", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in ROOT.rglob("*.py") if "migrations" not in p.parts}


# web modules whose names other helpers import (the citizen realm's route dependency and page renderer)
WEB_MODULES = {"zhixian.services.portal.session", "zhixian.services.portal.render"}


def is_web(module: str) -> bool:
    parts = module.split(".")
    last = parts[-1]
    return (
        module in WEB_MODULES
        or module.startswith("zhixian.web")
        or last in WEB_NAMES
        or last.endswith(("_api", "_pages"))
        or last.startswith("pages_")
        or "pages" in parts[:-1]
    )


def feature_of(module: str) -> str | None:
    for feature in FEATURES:
        if module == f"zhixian.{feature}" or module.startswith(f"zhixian.{feature}."):
            return feature
    return None


@cache
def runtime_imports(module: str) -> frozenset[str]:
    """Modules imported at run time (not under TYPE_CHECKING), as absolute dotted names."""
    tree = ast.parse(MODULES[module].read_text())
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only |= {id(n) for child in node.body for n in ast.walk(child)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in MODULES}
    return frozenset(found)


def web_import_chain(module: str, seen: frozenset[str] = frozenset()) -> list[str] | None:
    """The import path from ``module`` to a web library, if there is one."""
    for target in sorted(runtime_imports(module)):
        if target.startswith(WEB_LIBRARIES) and (target.split(".")[0] != "zhixian" or target.startswith("zhixian.web")):
            return [module, target]
        if target in MODULES and target not in seen and target != module:
            chain = web_import_chain(target, seen | {module})
            if chain:
                return [module, *chain]
    return None


def test_non_web_modules_never_load_fastapi_starlette_jinja_or_zhixian_web() -> None:
    problems = []
    for module in sorted(MODULES):
        if is_web(module) or module in NOT_YET_WEB_FREE:
            continue
        chain = web_import_chain(module)
        if chain:
            problems.append(" → ".join(chain))
    assert not problems, "services must not load the web stack:\n" + "\n".join(problems)


def test_every_service_models_and_schemas_module_is_checked() -> None:
    named = [m for m in MODULES if m.rsplit(".", 1)[-1] in ("service", "models", "schemas", "settings")]
    assert len(named) >= 15
    assert not [m for m in named if is_web(m)]


def test_features_use_each_other_only_through_service_and_schemas() -> None:
    problems = []
    for module in sorted(MODULES):
        mine = feature_of(module)
        if mine is None:
            continue
        for target in runtime_imports(module):
            other = feature_of(target)
            if other is None or other == mine or target == f"zhixian.{other}":
                continue
            part = target.removeprefix(f"zhixian.{other}.").split(".")[0]
            allowed = PUBLIC | (PLATFORM_KERNEL if other == "platform" else set())
            if part not in allowed and (module, f"zhixian.{other}.{part}") not in NOT_YET_THROUGH_SERVICE:
                problems.append(f"{module} imports {target}")
    assert not problems, "use another feature only through its service and schemas:\n" + "\n".join(problems)


def test_known_exceptions_are_still_needed() -> None:
    """An exception that no longer applies is removed, so the list only shrinks."""
    for module in NOT_YET_WEB_FREE:
        assert web_import_chain(module), f"{module} no longer loads the web stack: remove it from NOT_YET_WEB_FREE"
    for module, target in NOT_YET_THROUGH_SERVICE:
        assert target in runtime_imports(module), f"{module} no longer imports {target}: remove the exception"


def test_importing_a_service_loads_no_web_framework() -> None:
    """The issue's done-when check, in a fresh interpreter: ``python -X importtime -c 'import zhixian.catalog.service'``."""
    services = ["zhixian.catalog.service", "zhixian.citymgmt.service", "zhixian.integration.service"]
    services += ["zhixian.platform.service", "zhixian.extensions.storefronts.service"]
    services += ["zhixian.perception.service", "zhixian.perception.sensors.service"]
    for module in services:
        run = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
        )
        loaded = [line for line in run.stderr.splitlines() if any(f" {lib}" in line for lib in WEB_LIBRARIES)]
        assert not loaded, f"import {module} loads:\n" + "\n".join(loaded[:10])
