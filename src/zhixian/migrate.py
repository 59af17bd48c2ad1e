"""Alembic driven from code: `zhixian db upgrade` runs every enabled subsystem's branch to its head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from zhixian.subsystems import Registry

ENV_DIR = Path(__file__).parent / "migrations"


def alembic_config(registry: Registry, url: str, *, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ENV_DIR))
    locations = [str(s.migrations) for s in registry.enabled.values() if s.migrations and s.migrations.exists()]
    cfg.set_main_option("version_locations", " ".join(locations))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(registry: Registry, url: str, *, connection: Connection | None = None) -> None:
    command.upgrade(alembic_config(registry, url, connection=connection), "heads")


def revision(registry: Registry, url: str, *, subsystem: str, message: str) -> None:
    """Autogenerate a revision holding only this subsystem's tables, on its own branch."""
    sub = registry.enabled[subsystem]
    if sub.migrations is None:
        raise ValueError(f"子系统 {subsystem} 没有 migrations 目录")
    sub.migrations.mkdir(parents=True, exist_ok=True)
    cfg = alembic_config(registry, url)
    cfg.attributes["subsystem_dir"] = str(sub.migrations.parent)
    has_branch = any(sub.migrations.glob("*.py"))
    command.revision(
        cfg,
        message=message,
        autogenerate=True,
        head=f"{subsystem}@head" if has_branch else "base",
        branch_label=None if has_branch else subsystem,
        version_path=str(sub.migrations),
        depends_on=None if has_branch or subsystem == "platform" else [f"{d}@head" for d in sub.depends_on] or None,  # type: ignore[arg-type]  # alembic accepts a list
    )
