"""Bounds on uploaded files, checked before any parser sees them (等保 item 21: bounded while streaming).

A small upload can still be a bomb: a zip member that inflates a thousandfold, an .xlsx whose sheet
XML is hundreds of megabytes, a "photo" far over its limit. Every upload route reads through
``read_limited`` and every zip-based format (zipped Shapefile, .xlsx) goes through ``open_zip`` and
``read_member``/``check_xlsx``, so the limits live in one place and are named in Chinese when they bite.
No web framework here: services and connectors call it too.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from zhixian.errors import FieldError, Invalid

if TYPE_CHECKING:
    from zhixian.settings import Settings

__all__ = ["UploadLimits", "check_xlsx", "open_zip", "read_limited", "read_member"]

CHUNK = 1024 * 1024
MB = 1024 * 1024
SPREADSHEET_MAX_BYTES = 50 * MB  # an uploaded workbook or catalogue file (data files have their own path)


@dataclass(frozen=True)
class UploadLimits:
    """Defaults equal the Settings defaults, for callers (CLI, connectors) that have no Settings at hand."""

    zip_max_members: int = 1000
    zip_max_inflated_bytes: int = 256 * MB
    zip_max_ratio: int = 200
    xlsx_max_sheet_bytes: int = 128 * MB

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadLimits:
        return cls(
            zip_max_members=settings.upload_zip_max_members,
            zip_max_inflated_bytes=settings.upload_zip_max_inflated_bytes,
            zip_max_ratio=settings.upload_zip_max_ratio,
            xlsx_max_sheet_bytes=settings.upload_xlsx_max_sheet_bytes,
        )


def _mb(n: int) -> str:
    return f"{n / MB:.0f} MB" if n >= MB else f"{n // 1024} KB"


def read_limited(stream: IO[bytes], limit: int, *, field: str = "file", label: str = "文件") -> bytes:
    """At most ``limit`` bytes: reads limit + 1 and refuses if that last byte came, never the whole stream."""
    buf = io.BytesIO()
    left = limit + 1
    while left > 0:
        chunk = stream.read(min(CHUNK, left))
        if not chunk:
            break
        buf.write(chunk)
        left -= len(chunk)
    if left <= 0:
        raise Invalid(f"{label}过大", [FieldError(f"{label}不能超过 {_mb(limit)}", field=field)])
    return buf.getvalue()


def _too_big(detail: str, field: str) -> Invalid:
    return Invalid("压缩文件超出解压限制", [FieldError(detail, field=field)])


def open_zip(source: bytes | Path, limits: UploadLimits, *, field: str = "file") -> zipfile.ZipFile:
    """The archive, after its directory passed the member-count, declared-size and ratio limits."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Invalid("文件不是有效的 ZIP 压缩包", field=field) from exc
    members = archive.infolist()
    if len(members) > limits.zip_max_members:
        raise _too_big(f"压缩包内文件过多（{len(members)} 个），上限 {limits.zip_max_members} 个", field)
    total = 0
    for info in members:
        total += info.file_size
        if total > limits.zip_max_inflated_bytes:
            raise _too_big(f"压缩包解压后超过 {_mb(limits.zip_max_inflated_bytes)}（{info.filename}）", field)
        if info.file_size > MB and info.file_size > limits.zip_max_ratio * max(info.compress_size, 1):
            raise _too_big(
                f"压缩包中 {info.filename} 的压缩比过高（超过 {limits.zip_max_ratio} 倍），疑似压缩炸弹", field
            )
    return archive


def read_member(
    archive: zipfile.ZipFile, name: str, limits: UploadLimits, *, field: str = "file", limit: int | None = None
) -> bytes:
    """One member, counting the bytes actually inflated (a lying directory entry is caught too)."""
    cap = limits.zip_max_inflated_bytes if limit is None else limit
    out = io.BytesIO()
    try:
        with archive.open(name) as member:
            while chunk := member.read(CHUNK):
                out.write(chunk)
                if out.tell() > cap:
                    raise _too_big(f"压缩包中 {name} 解压后超过 {_mb(cap)}", field)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:  # bad CRC, truncated, odd method
        raise Invalid(f"压缩包中 {name} 已损坏或无法解压", field=field) from exc
    return out.getvalue()


def _drain(archive: zipfile.ZipFile, name: str, cap: int, limit: int, field: str) -> int:
    """Bytes a member really inflates to, stopping at ``cap`` (what is left of ``limit``); nothing is kept."""
    seen = 0
    try:
        with archive.open(name) as member:
            while chunk := member.read(CHUNK):
                seen += len(chunk)
                if seen > cap:
                    raise _too_big(f"工作表 XML 解压后合计超过 {_mb(limit)}（{name}）", field)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise Invalid("Excel 工作簿已损坏（压缩数据校验失败）", field=field) from exc
    return seen


def check_xlsx(source: bytes | Path, limits: UploadLimits, *, field: str = "file") -> None:
    """Refuses an .xlsx whose sheet XML is too large before calamine or openpyxl builds it in memory.

    Legacy .xls (not a zip) passes through: its size is bounded by the upload itself.
    """
    if isinstance(source, bytes):
        is_zip = source[:4] == b"PK\x03\x04"
    else:
        with source.open("rb") as fh:
            is_zip = fh.read(4) == b"PK\x03\x04"
    if not is_zip:
        return
    try:
        zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source).close()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Invalid("文件不是有效的 Excel 工作簿（.xlsx/.xls）", field=field) from exc
    with open_zip(source, limits, field=field) as archive:
        budget = limits.xlsx_max_sheet_bytes
        for info in archive.infolist():
            name = info.filename.lower()
            if not name.endswith(".xml") or not name.startswith("xl/"):
                continue
            if info.file_size > budget:
                raise _too_big(
                    f"工作表 XML 解压后合计超过 {_mb(limits.xlsx_max_sheet_bytes)}（{info.filename}）", field
                )
            budget -= _drain(archive, info.filename, budget, limits.xlsx_max_sheet_bytes, field)
