"""SQL databases (SQLAlchemy URL, read-only, with a statement timeout) and paged HTTP JSON APIs.

Both connect only through ``platform.outbound``: never to this machine, loopback or link-local
addresses unless allow-listed, with the node's timeout cap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from zhixian.errors import Invalid, Unavailable
from zhixian.integration.connectors import Opened, Row
from zhixian.integration.connectors.files import flat, json_columns
from zhixian.platform import outbound

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_TIMEOUT_HINTS = ("timeout", "timed out", "canceling statement", "max_statement_time", "interrupted", "lost connection")


def check_query(query: str) -> str:
    q = query.strip().rstrip(";").strip()
    if not re.match(r"(?is)^(select|with)\b", q) or ";" in q:
        raise Invalid("SQL 数据源只允许一条 SELECT 查询", field="query")
    return q


def _engine(url: str, timeout: int, policy: outbound.Policy) -> Any:
    try:
        target, pinned = outbound.sql_target(url, policy)
    except outbound.Refused as exc:
        raise Invalid(f"连接串：{exc}", field="url") from exc
    except (ValueError, SQLAlchemyError) as exc:
        raise Invalid(f"数据库连接串无效：{type(exc).__name__}", field="url") from exc
    connect = max(2, int(min(policy.connect_timeout, timeout)))
    try:
        if url.startswith("postgresql"):
            args: dict[str, Any] = {"connect_timeout": connect, "options": f"-c statement_timeout={timeout * 1000}"}
        elif url.startswith(("mysql", "mariadb")):
            args = {"connect_timeout": connect, "read_timeout": timeout + 2}
        else:
            args = {}
        return create_engine(target, poolclass=NullPool, connect_args={**args, **pinned})
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise Invalid(f"数据库连接串无效：{type(exc).__name__}", field="url") from exc


def _sql_error(exc: Exception, timeout: int) -> Exception:
    message = str(exc).lower()
    if any(h in message for h in _TIMEOUT_HINTS):
        return Unavailable(f"数据源查询超时（超过 {timeout} 秒），已中止，本次未写入任何数据")
    return Unavailable(f"数据源查询失败：{str(getattr(exc, 'orig', exc)).splitlines()[0][:200]}")


def open_sql(
    url: str,
    query: str,
    *,
    timeout: int = 30,
    watermark_column: str = "",
    watermark: str = "",
    limit: int | None = None,
    policy: outbound.Policy | None = None,
) -> Opened:
    policy = policy or outbound.Policy()
    timeout = int(policy.timeout(timeout))
    q = check_query(query)
    params: dict[str, Any] = {}
    if watermark_column:
        if not IDENT.match(watermark_column):
            raise Invalid("水位列名只能含字母、数字、下划线", field="watermark_column")
        q = f"SELECT * FROM ({q}) zx_src"  # noqa: S608 - the query is the configured source; column name checked
        if watermark:
            q += f" WHERE {watermark_column} > :wm"
            params["wm"] = watermark
        q += f" ORDER BY {watermark_column}"
    if limit:
        q = f"SELECT * FROM ({q}) zx_lim LIMIT {int(limit)}"  # noqa: S608 - int only
    engine = _engine(url, timeout, policy)
    try:
        conn = engine.connect()
        dialect = engine.dialect.name
        if dialect in ("mysql", "mariadb"):
            conn.exec_driver_sql(f"SET SESSION max_statement_time = {int(timeout)}")
            conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
        elif dialect == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(text(q), params)
        columns = list(result.keys())
    except (DBAPIError, SQLAlchemyError) as exc:
        engine.dispose()
        raise _sql_error(exc, timeout) from exc

    def rows() -> Iterator[Row]:
        try:
            for number, row in enumerate(result, start=1):
                yield number, dict(zip(columns, row, strict=True))
        except (DBAPIError, SQLAlchemyError) as exc:
            raise _sql_error(exc, timeout) from exc
        finally:
            conn.close()
            engine.dispose()

    return Opened(columns, rows())


def open_http(
    url: str,
    *,
    records_key: str = "data",
    page_param: str = "page",
    size_param: str = "size",
    page_size: int = 100,
    first_page: int = 1,
    token: str = "",
    timeout: int = 30,
    max_pages: int = 100_000,
    policy: outbound.Policy | None = None,
) -> Opened:
    """Pages until an empty or short page. Columns are taken from the first page."""
    if not url.startswith(("http://", "https://")):
        raise Invalid("接口地址必须以 http:// 或 https:// 开头", field="url")
    policy = policy or outbound.Policy()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client = outbound.http_client(policy, timeout=timeout, headers=headers)

    def page(n: int) -> list[dict[str, Any]]:
        try:
            resp = outbound.get(
                client, url, params={page_param: n, size_param: page_size}, timeout=timeout, policy=policy
            )
        except outbound.Refused as exc:
            raise Invalid(f"接口地址：{exc}", field="url") from exc
        except outbound.Failed as exc:
            raise Unavailable(f"{exc}（第 {n} 页）") from exc
        if resp.status_code != 200:
            raise Unavailable(f"接口返回 HTTP {resp.status_code}（第 {n} 页）")
        try:
            body = json.loads(resp.content)
        except ValueError as exc:
            raise Unavailable(f"接口第 {n} 页返回的不是 JSON") from exc
        records = body.get(records_key) if isinstance(body, dict) else body
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise Unavailable(f"接口第 {n} 页中没有“{records_key}”对象数组")
        return records

    try:
        first = page(first_page)
    except Exception:
        client.close()
        raise
    columns = json_columns(first)

    def rows() -> Iterator[Row]:
        number = 0
        current, n = first, first_page
        try:
            for _ in range(max_pages):
                for rec in current:
                    number += 1
                    yield number, {str(k): flat(v) for k, v in rec.items()}
                if len(current) < page_size:
                    return
                n += 1
                current = page(n)
                if not current:
                    return
        finally:
            client.close()

    return Opened(columns, rows())
