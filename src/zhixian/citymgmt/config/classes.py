"""The class table (应用维护) as the case hub reads it: cached per worker, reloaded when it changes."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt.geo import service as geo
from zhixian.citymgmt.models import CaseClass
from zhixian.errors import FieldError, Invalid

__all__ = ["ClassInfo", "class_limit", "class_table", "classes_changed", "get_class"]


@dataclass(frozen=True)
class ClassInfo:
    """A class row as cached in memory: intake and dispatch read it on every case."""

    code: str
    kind: str
    name: str
    parent_code: str | None
    limit_value: float
    limit_unit: str
    urgent_value: float
    urgent_unit: str
    department_code: str | None
    active: bool


_CLASS_LOCK = threading.Lock()
_CLASS_CACHE: dict[str, tuple[int, dict[str, ClassInfo]]] = {}


def classes_changed(session: Session) -> None:
    """Call after writing cm_class: every worker reloads its class table on its next lookup."""
    geo.bump_version(session, geo.CLASSES)


def class_table(session: Session, known: dict[int, int] | None = None) -> dict[str, ClassInfo]:
    version = (known if known is not None else geo.versions(session)).get(geo.CLASSES, 0)
    bind = session.get_bind()
    key = str(bind.engine.url) if hasattr(bind, "engine") else str(id(bind))
    cached = _CLASS_CACHE.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _CLASS_LOCK:
        table = {
            r.code: ClassInfo(
                code=r.code,
                kind=r.kind,
                name=r.name,
                parent_code=r.parent_code,
                limit_value=r.limit_value,
                limit_unit=r.limit_unit,
                urgent_value=r.urgent_value,
                urgent_unit=r.urgent_unit,
                department_code=r.department_code,
                active=r.active,
            )
            for r in session.execute(select(CaseClass)).scalars()
        }
        _CLASS_CACHE[key] = (version, table)
        return table


def get_class(session: Session, code: str, known: dict[int, int] | None = None) -> ClassInfo:
    row = class_table(session, known).get(code)
    if row is None or not row.active or row.parent_code is None:
        raise Invalid(f"案件类别 {code} 不存在或已停用", [FieldError("未知的部件/事件小类", field="class_code")])
    return row


def class_limit(cls: ClassInfo | CaseClass, *, urgent: bool) -> tuple[float, float]:
    """(hours, days) of working time for this class."""
    value, unit = (cls.urgent_value, cls.urgent_unit) if urgent else (cls.limit_value, cls.limit_unit)
    return (0.0, float(value)) if unit == "days" else (float(value), 0.0)
