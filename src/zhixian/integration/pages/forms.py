"""What the integration pages share: the permission aliases, field labels, and how refused input is
placed beside its field (the forms themselves go through zhixian.web.forms)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from zhixian.errors import DomainError, FieldError
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.templating import render

Viewer = Annotated[Actor, Depends(Require("integration.view"))]
Runner = Annotated[Actor, Depends(Require("integration.run"))]
KINDS = {"csv": "CSV 文件", "excel": "Excel 文件", "json": "JSON 文件", "sql": "SQL 数据库", "http": "HTTP 接口"}
# the fields of each remote-source form; the secret one (url for SQL, token for HTTP) is never sent back
REMOTE_FIELDS = {
    "sql": ("name", "resource_id", "url", "query", "timeout"),
    "http": ("name", "resource_id", "url", "records_key", "page_param", "size_param", "page_size", "token", "timeout"),
}
REMOTE_SECRET = {"sql": "url", "http": "token"}
CONNECTION_FIELDS = {
    kind: tuple(f for f in fields if f not in ("name", "resource_id")) for kind, fields in REMOTE_FIELDS.items()
}
LABELS = {
    "name": "名称",
    "kind": "类型",
    "resource_id": "加载到资源",
    "query": "查询语句",
    "timeout": "超时（秒）",
    "records_key": "记录字段",
    "page_param": "页码参数名",
    "size_param": "每页条数参数名",
    "page_size": "每页条数",
    "token": "令牌",
    "schedule": "定时",
    "incremental": "增量方式",
    "watermark_column": "水位列",
    "active": "启用",
    "file": "文件",
}
URL_LABEL = {"sql": "连接串", "http": "接口地址"}
# messages of model-level checks, placed beside the field they are about
_MODEL_ERRORS = {
    "SQL 数据源须填写查询语句": "query",
    "按水位增量同步须指定水位列": "watermark_column",
    "SQL 数据源的水位列名只能含字母、数字、下划线": "watermark_column",
}


def model_field(error: FieldError) -> str | None:
    """A rule about the whole record that is about one field: its message goes beside that field."""
    return _MODEL_ERRORS.get(error.message) if not error.field else None


def message_of(exc: DomainError) -> str:
    """The error's sentence once: its detail, and the row or field errors only where they add to it."""
    extra = [e.message for e in exc.errors[:5] if e.message != exc.detail and e.message not in exc.detail]
    return exc.detail + ("：" + "；".join(extra) if extra else "")


def refused(
    request: Request, session: SessionDep, actor: Actor, exc: DomainError, title: str, back: str
) -> HTMLResponse:
    """An action that was refused: nothing kept, the reason, and the way back."""
    session.rollback()
    return render(
        request,
        "integration/message.html",
        actor,
        status_code=exc.status,
        title=title,
        message=message_of(exc),
        back=back,
    )
