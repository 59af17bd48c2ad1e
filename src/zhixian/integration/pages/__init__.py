"""HTML pages of integration, one module per concern; ``router`` carries them all."""

from __future__ import annotations

from fastapi import APIRouter

from zhixian.integration.pages import records, review, runs, sources

router = APIRouter(include_in_schema=False)
for part in (sources, runs, review, records):
    router.include_router(part.router)
