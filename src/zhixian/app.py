"""create_app(settings) -> FastAPI: the core plus every enabled subsystem, on one node."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.middleware.gzip import GZipMiddleware

from zhixian import subsystems
from zhixian.db import Database
from zhixian.platform import audit, audit_anchor
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings, use
from zhixian.web import errors as web_errors
from zhixian.web.assets import StaticAssets
from zhixian.web.auth import Public
from zhixian.web.middleware import BodyLimit, ConditionalGet, EmptyQuery, SecurityHeaders
from zhixian.web.templating import asset_index, make_templates

log = logging.getLogger("zhixian")
STATIC = Path(__file__).parent / "web" / "static"
GZIP_MIN_BYTES = 1024  # below about one packet compression saves nothing


@dataclass
class Node:
    """What a process needs to act for this county: settings, subsystems, database and keys."""

    settings: Settings
    registry: subsystems.Registry
    db: Database
    cipher: FieldCipher


def build_node(settings: Settings | None = None) -> Node:
    settings = settings or Settings()
    _private_data_dir(settings)
    registry = subsystems.load(settings)
    use(settings)  # declared settings read where no node is at hand (e.g. catalog grading in schemas)
    key = audit.load_key(settings.data_dir / "keys" / "audit.key")
    anchor = audit_anchor.Anchor(
        settings.data_dir / "keys" / "audit.anchor",
        key,
        every_records=settings.audit_anchor_every_records,
        every_seconds=settings.audit_anchor_every_seconds,
    )
    db = Database(settings.effective_database_url, info={"audit_key": key, "audit_anchor": anchor})
    cipher = FieldCipher.from_file(settings.sm4_keys_path)
    return Node(settings=settings, registry=registry, db=db, cipher=cipher)


def _private_data_dir(settings: Settings) -> None:
    """The data directory holds the database, keys and citizens' uploads: only the service account may
    read it. The process creates everything from here on 0600/0700 (umask), and what an older version
    left readable is closed (the folders, the SQLite files and the keys)."""
    os.umask(0o077)
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    for folder in [data, *(p for p in data.iterdir() if p.is_dir() and not p.is_symlink())]:
        folder.chmod(0o700)
    url = settings.effective_database_url
    db_file = url.removeprefix("sqlite:///")
    private = [Path(db_file + s) for s in ("", "-wal", "-shm")] if url.startswith("sqlite:///") else []
    keys = data / "keys"
    private += [p for p in keys.iterdir() if p.is_file()] if keys.is_dir() else []
    for path in private:
        with contextlib.suppress(FileNotFoundError):
            path.chmod(0o600)


def create_app(settings: Settings | None = None, *, node: Node | None = None, run_jobs: bool = False) -> FastAPI:
    node = node or build_node(settings)
    settings = node.settings

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:  # noqa: ARG001 - the signature is fixed by its caller
        task = asyncio.create_task(_run_jobs(node)) if run_jobs else None
        yield
        if task:
            task.cancel()
        node.db.engine.dispose()

    app = FastAPI(
        title="智县 zhixian API",
        version="0.1.0",
        description=(
            "县域智慧城市运行平台接口。认证：Authorization: Bearer <API 令牌>，或浏览器会话（写操作需 X-CSRF-Token）。"
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.node = node
    app.state.settings = settings
    app.state.registry = node.registry
    app.state.db = node.db
    app.state.cipher = node.cipher
    app.state.templates = make_templates(node.registry, settings)
    assets = asset_index(node.registry)
    web_errors.install(app)

    # the last added runs first: SecurityHeaders wraps BodyLimit, so its 408/413 carry the headers too;
    # GZip is outermost and skips small bodies, event streams and what is already compressed (static assets)
    app.add_middleware(ConditionalGet)
    app.add_middleware(
        BodyLimit,
        max_body=settings.max_body_bytes,
        max_upload=settings.max_upload_bytes,
        timing=lambda: (settings.body_timeout_seconds, settings.body_min_rate_bytes),
    )
    app.add_middleware(EmptyQuery)  # pages read an empty filter as no filter
    app.add_middleware(SecurityHeaders)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=6)
    for sub in node.registry.enabled.values():
        if sub.static is not None:
            app.mount(f"/static/{sub.code}", StaticAssets(directory=sub.static), name=f"static-{sub.code}")
    app.mount("/static", StaticAssets(directory=STATIC, check_dir=False), name="static")

    # every API router before any page router: FastAPI matches routes one by one in this order, and API
    # paths (/api/...) never overlap page paths, so API calls (intake, devices) skip the page routes
    for sub in node.registry.enabled.values():
        if sub.api_router is not None:
            app.include_router(sub.api_router)
    for sub in node.registry.enabled.values():
        if sub.page_router is not None:
            app.include_router(sub.page_router)

    @app.get("/api/docs", include_in_schema=False, dependencies=[Public])
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="智县 API 文档",
            swagger_js_url=assets.url("vendor/swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=assets.url("vendor/swagger-ui/swagger-ui.css"),
            swagger_favicon_url=assets.url("favicon.svg"),
        )

    @app.get("/healthz", include_in_schema=False, dependencies=[Public])
    def healthz(request: Request) -> dict[str, str]:
        return {"status": "ok", "county": request.app.state.settings.county_code}

    return app


def serve_app() -> FastAPI:
    """uvicorn factory for `zhixian serve`: settings from the environment, jobs in-process."""
    return create_app(run_jobs=True)


async def _run_jobs(node: Node) -> None:
    """In-process scheduler for the one-server default; a bigger node runs `zhixian jobs` instead."""
    jobs = [job for sub in node.registry.enabled.values() for job in sub.jobs]
    if not jobs:
        return
    last: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    while True:
        now = loop.time()
        for job in jobs:
            if now - last.get(job.name, -1e9) >= job.every_seconds:
                last[job.name] = now
                try:
                    await run_job(node, job)
                except Exception:
                    log.exception("job %s failed", job.name)
        await asyncio.sleep(5)


async def run_job(node: Node, job: subsystems.Job) -> None:
    """One run of ``job``: in a thread of this process, or, when it has heavy work due, as ``zhixian
    <argv>`` in a child process (same environment and working directory, hence the same settings)."""
    if job.apart is not None and await asyncio.to_thread(job.apart.due, node):
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "zhixian.cli",
            *job.apart.argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await child.communicate()
        said = output.decode(errors="replace")[-2000:].strip()
        if child.returncode:
            log.error("job %s (%s) exited %s: %s", job.name, " ".join(job.apart.argv), child.returncode, said)
        else:
            log.info("job %s ran apart: %s", job.name, said)
        return
    await asyncio.to_thread(job.func, node)
