"""Uploaded-file sources: stored by content hash under the data directory, given a new file, deleted.

The stored path is relative to the data directory, so a restored backup or a moved data directory
keeps its sources. A deleted source stays as a row (its runs, records and history name it); only its
file goes, unless another source still uses the same file.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Conflict, Invalid
from zhixian.integration import service
from zhixian.integration.connectors import FileInfo, files, kind_for
from zhixian.integration.models import QuarantineRow, Record, Run, Source
from zhixian.platform import audit
from zhixian.platform.actor import Actor
from zhixian.settings import Settings

CHUNK = 1 << 20
FILE_KINDS = ("csv", "excel", "json")


def store_upload(settings: Settings, stream: IO[bytes], filename: str, sheet: str = "") -> tuple[Path, str, FileInfo]:
    """Streams the upload to disk (never whole in memory), checks it whole, and keeps it by content hash."""
    kind = kind_for(filename)
    if kind is None:
        raise Invalid("只支持 CSV、Excel（.xlsx/.xls）和 JSON 文件", field="file")
    folder = settings.data_dir / "integration" / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".part") as tmp:
        tmp_path = Path(tmp.name)
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if size > settings.max_upload_bytes:
                tmp.close()
                tmp_path.unlink(missing_ok=True)
                raise Invalid(f"文件超过上传上限 {settings.max_upload_bytes // (1024 * 1024)} MB", field="file")
            tmp.write(chunk)
    if size == 0:
        tmp_path.unlink(missing_ok=True)
        raise Invalid("文件为空（0 字节），请选择有内容的文件", field="file")
    final = folder / f"{digest.hexdigest()}{Path(filename).suffix.lower()}"
    existed = final.exists()
    try:
        shutil.move(tmp_path, final)
        info = files.scan(final, kind, sheet)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        if not existed:
            final.unlink(missing_ok=True)
        raise
    return final, digest.hexdigest(), info


def _apply_file(settings: Settings, row: Source, path: Path, sha: str, info: FileInfo, filename: str) -> None:
    relative = path.relative_to(settings.data_dir).as_posix()
    row.kind, row.file_path, row.file_sha256, row.file_name = info.kind, relative, sha, Path(filename).name[:255]
    row.config = {
        **(row.config or {}),
        "columns": info.columns,
        "rows": info.rows,
        "notes": info.notes,
        "encoding": info.encoding,
        "delimiter": info.delimiter,
        "sheet": info.sheet,
    }


def create_file_source(
    session: Session,
    *,
    actor: Actor,
    settings: Settings,
    name: str,
    resource_id: int,
    filename: str,
    stream: IO[bytes],
    sheet: str = "",
) -> Source:
    if not name.strip():
        raise Invalid("请填写数据源名称", field="name")
    service.check_new_source(session, actor, resource_id)
    path, sha, info = store_upload(settings, stream, filename, sheet)
    row = Source(
        name=name.strip()[:200],
        department_id=actor.department_id,
        resource_id=resource_id,
        created_by=actor.username,
        config={},
    )
    _apply_file(settings, row, path, sha, info, filename)
    return service.register_source(
        session, actor=actor, row=row, detail={"file": row.file_name, "sha256": sha, "rows": info.rows}
    )


def _file_source(session: Session, actor: Actor, source_id: int) -> Source:
    actor.require("integration.run")
    row = service.get_source(session, actor=actor, source_id=source_id)
    if row.kind not in FILE_KINDS:
        raise Invalid("该数据源不是文件数据源")
    if row.deleted_at is not None:
        raise Conflict("该数据源已删除")
    return row


def _running(session: Session, source_id: int) -> int | None:
    return session.execute(
        select(Run.id).where(Run.source_id == source_id, Run.status.in_(("queued", "running"))).limit(1)
    ).scalar()


def replace_file(
    session: Session, *, actor: Actor, settings: Settings, source_id: int, filename: str, stream: IO[bytes]
) -> Source:
    """A new file for the same source: mapping and schedule stay; an unfinished run of the old file is closed."""
    row = _file_source(session, actor, source_id)
    running = _running(session, row.id)
    if running is not None:
        raise Conflict(f"运行 #{running} 正在进行，请等它结束后再更换文件")
    old_file, old_name, old_sha = row.file_path, row.file_name, row.file_sha256
    path, sha, info = store_upload(settings, stream, filename, (row.config or {}).get("sheet", ""))
    _apply_file(settings, row, path, sha, info, filename)
    session.flush()
    _forget_file(session, settings, row, old_file, old_sha)
    audit.record(
        session,
        actor.audit,
        action="integration.source.file",
        object_type="integration_source",
        object_id=row.id,
        detail={"file": row.file_name, "sha256": sha, "replaced": old_name},
    )
    return row


def _forget_file(session: Session, settings: Settings, row: Source, old_file: str, old_sha: str) -> None:
    """Removes a file no longer used by any source that is not deleted (files are shared by content hash)."""
    if not old_file or old_file == row.file_path:
        return
    users = session.execute(
        select(func.count()).where(
            (Source.file_path == old_file) | (Source.file_sha256 == old_sha),
            Source.deleted_at.is_(None),
            Source.id != row.id,
        )
    ).scalar_one()
    if users:
        return
    stored = Path(old_file)
    target = stored if stored.is_absolute() else settings.data_dir / stored
    uploads = (settings.data_dir / "integration" / "uploads").resolve()
    if target.resolve().parent == uploads:  # never a file outside the upload folder (demo files stay)
        target.unlink(missing_ok=True)


def delete_summary(session: Session, *, actor: Actor, source_id: int) -> dict[str, int]:
    """What deleting would leave behind, for the confirmation page."""
    row = _file_source(session, actor, source_id)
    records = session.execute(select(func.count()).where(Record.source_id == row.id)).scalar_one()
    runs = session.execute(select(func.count()).where(Run.source_id == row.id)).scalar_one()
    open_rows = session.execute(
        select(func.count()).where(QuarantineRow.source_id == row.id, QuarantineRow.status == "open")
    ).scalar_one()
    return {"records": int(records), "runs": int(runs), "quarantine": int(open_rows)}


def delete_file_source(session: Session, *, actor: Actor, settings: Settings, source_id: int) -> Source:
    """The source stops (no runs, not listed) and its file goes; what it loaded stays, and says where from."""
    row = _file_source(session, actor, source_id)
    running = _running(session, row.id)
    if running is not None:
        raise Conflict(f"运行 #{running} 正在进行，请等它结束后再删除")
    summary = delete_summary(session, actor=actor, source_id=source_id)
    old_file, old_sha = row.file_path, row.file_sha256
    row.deleted_at, row.deleted_by, row.active, row.schedule, row.next_run_at = (
        utcnow(),
        actor.username,
        False,
        "",
        None,
    )
    row.file_path = ""
    session.flush()
    _forget_file(session, settings, row, old_file, old_sha)
    audit.record(
        session,
        actor.audit,
        action="integration.source.delete",
        object_type="integration_source",
        object_id=row.id,
        detail={"name": row.name, "file": row.file_name, **summary},
    )
    return row
