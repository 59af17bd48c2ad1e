"""Bulk export (批量导出) through the gateway: an application asks for every granted row meeting its filters,
a worker writes them to one gzip file (``export_run``), and only the same application downloads it.

The three calls are ordinary signed gateway calls (``gateway.handle``): the grant must allow 条件查询,
the items and filters are checked exactly as for a query (``operations``), and each call is recorded.
A job belongs to the application and resource it was asked for: any other application, or the same one
under another resource id, gets the 404 an unknown job gets (IDOR). A download checks the grant again,
so a grant revoked after the file was written stops the file leaving.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import DomainError, NotFound
from zhixian.exchange import operations, sources
from zhixian.exchange.models import Application, ExportJob
from zhixian.platform.schemas import Input
from zhixian.settings import Settings

FORMATS = {"csv": "CSV（UTF-8，带 BOM，Excel 可直接打开）", "jsonl": "JSON Lines（每行一个 JSON 对象）"}
STATUS_LABELS = {
    "queued": "排队中",
    "running": "生成中",
    "done": "可下载",
    "failed": "失败",
    "expired": "已过期",
}
MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


class ExportIn(Input):
    filters: list[dict[str, Any]] = Field(
        default_factory=list, max_length=20, description="条件，同条件查询：[{field, op, value}]"
    )
    items: list[str] | None = Field(
        default=None, max_length=200, description="要导出的信息项；为空时导出全部已授权信息项"
    )
    format: Literal["csv", "jsonl"] = Field(default="csv", description="文件格式：csv 或 jsonl（均为 gzip 压缩）")
    reason: str = Field(default="", max_length=200, description="调用事由（如业务编号），记入审计")


class Gone(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, [], 410, "导出文件已不可下载")


class NotReady(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, [], 409, "导出文件尚未生成")


def exports_dir(settings: Settings) -> Path:
    return settings.data_dir / "exports"


def _path(job: ExportJob) -> str:
    return f"/api/v1/exchange/gateway/resources/{job.resource_id}/exports/{job.id}"


def view(job: ExportJob) -> dict[str, Any]:
    """What the application is told about its job (no server paths, no other application's facts)."""

    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    out: dict[str, Any] = {
        "id": job.id,
        "status": job.status,
        "status_name": STATUS_LABELS.get(job.status, job.status),
        "format": job.format,
        "items": job.items,
        "filters": job.filters,
        "rows": job.rows,
        "size": job.size,
        "sha256": job.sha256 or None,
        "error": job.error or None,
        "created_at": moment(job.created_at),
        "finished_at": moment(job.finished_at),
        "expires_at": moment(job.expires_at),
        "status_url": _path(job),
        "file_url": _path(job) + "/file" if job.status == "done" else None,
    }
    return out


def submit(ctx: operations.Context, body: ExportIn, *, ip: str) -> operations.Result:
    """Queues an export of the granted rows meeting ``filters``; the worker does the rest."""
    fields = operations.granted_items(ctx.grant, body.items)
    conditions = operations.user_filters(ctx, body.filters, fields)
    job = ExportJob(
        application_id=ctx.application.id,
        resource_id=ctx.source.resource_id,
        grant_id=ctx.grant.id,
        consumer_department_id=ctx.application.department_id,
        provider_department_id=ctx.source.department_id,
        items=fields,
        filters=conditions,
        format=body.format,
        reason=body.reason,
        ip=ip[:64],
        status="queued",
        created_at=utcnow(),
    )
    ctx.session.add(job)
    ctx.session.flush()
    masked = sorted(operations.masked_items(ctx, fields))
    return operations.Result(
        body={"resource": operations.resource_view(ctx), "export": view(job), "masked": masked},
        items=fields,
        masked=masked,
        rows=0,
        reason=body.reason,
    )


def owned(session: Session, application: Application, source: sources.Source, job_id: int) -> ExportJob:
    """The job if this application asked for it under this resource; otherwise the same 404 as no job."""
    job = session.execute(
        select(ExportJob).where(
            ExportJob.id == job_id,
            ExportJob.application_id == application.id,
            ExportJob.resource_id == source.resource_id,
        )
    ).scalar_one_or_none()
    if job is None:
        raise NotFound(f"本应用对该资源没有编号为 {job_id} 的导出任务")
    return job


def status(session: Session, application: Application, source: sources.Source, job_id: int) -> operations.Result:
    """A job's state: answered whatever became of the grant since (a failed job says why it failed)."""
    job = owned(session, application, source, job_id)
    resource = {"id": source.resource_id, "code": source.code, "name": source.name}
    return operations.Result(body={"resource": resource, "export": view(job)}, items=list(job.items), masked=[])


def file(ctx: operations.Context, job_id: int) -> tuple[operations.Result, Path, ExportJob]:
    """The finished file of a job of this application, while it is kept."""
    job = owned(ctx.session, ctx.application, ctx.source, job_id)
    if job.status in ("queued", "running"):
        raise NotReady(f"导出任务 {job.id} {STATUS_LABELS[job.status]}，请稍后查询状态")
    if job.status == "failed":
        raise Gone(f"导出任务 {job.id} 失败：{job.error}")
    path = exports_dir(ctx.settings) / job.file_name
    if job.status == "expired" or (job.expires_at and job.expires_at <= utcnow()) or not path.is_file():
        raise Gone(f"导出任务 {job.id} 的文件已过期删除，请重新提交导出")
    result = operations.Result(
        body={"export": job.id},
        items=list(job.items),
        masked=[],
        rows=job.rows,
        reason=f"下载导出文件 {job.id}",
    )
    return result, path, job


def download_name(job: ExportJob) -> str:
    return f"export-{job.id}.{job.format}.gz"
