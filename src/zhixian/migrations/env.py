"""Runs migrations for the enabled subsystems (their version folders are the version_locations)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from alembic import context
from sqlalchemy import Table

from zhixian.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _table_dirs() -> dict[str, Path]:
    """Which package folder each mapped table's model lives in (for per-subsystem autogenerate)."""
    out: dict[str, Path] = {}
    for mapper in Base.registry.mappers:
        table = mapper.local_table
        if isinstance(table, Table):
            out[table.name] = Path(inspect.getfile(mapper.class_)).parent
    return out


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:  # noqa: ARG001 - the signature is fixed by its caller
    only = config.attributes.get("subsystem_dir")
    if only is None:
        return True
    if type_ == "table":
        return _inside(_table_dirs().get(name or ""), Path(only))
    table = getattr(obj, "table", None)
    return table is None or _inside(_table_dirs().get(table.name), Path(only))


def _inside(folder: Path | None, package: Path) -> bool:
    """A subsystem's tables may live in its sub-packages (perception/sensors, perception/cameras)."""
    return folder is not None and folder.is_relative_to(package)


def run() -> None:
    connection = config.attributes.get("connection")
    opts: dict[str, Any] = {
        "target_metadata": target_metadata,
        "include_object": include_object,
        "render_as_batch": True,
        "compare_type": True,
    }
    if connection is not None:
        context.configure(connection=connection, **opts)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, **opts)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
