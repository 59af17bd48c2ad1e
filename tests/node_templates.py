"""Seeded test nodes are built once per test run and cloned.

Migrating and seeding a demo county takes about a minute (SQLite) to a minute and a half (PostgreSQL), and
the suite starts some fifteen of them with only a few settings told apart. The first process that asks for
a (backend, settings) pair builds it under a file lock; every later one copies the data directory and, on
PostgreSQL, creates its database from the template database (``CREATE DATABASE … TEMPLATE``). xdist workers
share the templates through ``ZHIXIAN_TEST_RUN``, set by the controller before the workers start.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

RUN = os.environ.setdefault("ZHIXIAN_TEST_RUN", uuid.uuid4().hex[:12])
ROOT = Path(tempfile.gettempdir()) / f"zhixian-templates-{RUN}"
PREFIX = f"zx_tpl_{RUN}_"


def _key(backend: str, overrides: dict[str, object]) -> str:
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("ZHIXIAN_"))  # settings and seed sizes
    described = json.dumps([backend, sorted((k, repr(v)) for k, v in overrides.items()), env])
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def _admin_engine(admin_url: str):  # type: ignore[no-untyped-def]
    return create_engine(admin_url, isolation_level="AUTOCOMMIT")


def clone(
    data_dir: Path,
    backend: str,
    overrides: dict[str, object],
    *,
    admin_url: str | None,
    build: Callable[[Path, str], None],
) -> str:
    """Fill ``data_dir`` (and a new PostgreSQL database, whose URL is returned; "" on SQLite) with a copy of the
    seeded node for these settings; ``build(folder, database_url)`` makes the template the first time."""
    ROOT.mkdir(exist_ok=True)
    key = _key(backend, overrides)
    folder = ROOT / key
    template_db = PREFIX + key
    base = admin_url.rsplit("/", 1)[0] if admin_url else ""
    with (ROOT / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            url = ""
            if backend == "postgresql":
                assert admin_url
                engine = _admin_engine(admin_url)
                with engine.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{template_db}" WITH (FORCE)'))
                    conn.execute(text(f'CREATE DATABASE "{template_db}"'))
                engine.dispose()
                url = f"{base}/{template_db}"
            build(folder, url)
            (folder / ".done").write_text("built\n")
        shutil.copytree(folder, data_dir, ignore=shutil.ignore_patterns(".done"), dirs_exist_ok=True)
        if backend != "postgresql":
            return ""
        assert admin_url
        name = f"zx_test_{uuid.uuid4().hex[:12]}"
        engine = _admin_engine(admin_url)
        with engine.connect() as conn:
            # the seed leaves pooled connections of its own engines behind (e.g. the integration pipeline's)
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :t AND pid <> pg_backend_pid()"
                ),
                {"t": template_db},
            )
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
        engine.dispose()
        return f"{base}/{name}"


def remove_all(admin_url: str | None) -> None:
    """At the end of the run (controller only): drop the template databases and folders."""
    if admin_url:
        engine = _admin_engine(admin_url)
        with engine.connect() as conn:
            names = conn.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": PREFIX + "%"}
            ).scalars()
            for name in list(names):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
    shutil.rmtree(ROOT, ignore_errors=True)
