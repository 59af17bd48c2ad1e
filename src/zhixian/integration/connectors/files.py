"""CSV (UTF-8 with or without BOM, GBK/GB18030), Excel (.xlsx/.xls via calamine) and JSON files."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

from zhixian.errors import FieldError, Invalid
from zhixian.integration.connectors import FileInfo, Opened, Row
from zhixian.platform import uploads

CHUNK = 1 << 20
csv.field_size_limit(10 * 1024 * 1024)


def detect_encoding(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):  # GB18030 is a superset of GBK and GB2312
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as f:
                while chunk := f.read(CHUNK):
                    if b"\x00" in chunk:
                        raise Invalid(
                            "文件含有空字节，不是可识别的文本 CSV（可能是 UTF-16 无 BOM 或二进制文件），"
                            "请另存为 UTF-8 或 GBK 编码的 CSV",
                            field="file",
                        )
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise Invalid("无法识别文件编码：既不是 UTF-8 也不是 GBK/GB18030，请另存为 UTF-8 编码的 CSV", field="file")


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header(raw: list[str]) -> list[str]:
    header = [h.strip() for h in raw]
    if not header or not any(header):
        raise Invalid("第 1 行（表头）为空", field="file")
    empty = [i + 1 for i, h in enumerate(header) if not h]
    if empty:
        raise Invalid(f"表头第 {'、'.join(map(str, empty[:10]))} 列没有列名", field="file")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise Invalid(f"表头列名重复：{'、'.join(dupes)}", field="file")
    return header


def _csv_reader(path: Path, encoding: str, delimiter: str) -> tuple[io.TextIOWrapper, Any]:
    handle = io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="")
    return handle, csv.reader(handle, delimiter=delimiter)


def scan_csv(path: Path) -> FileInfo:
    """Whole-file check: encoding, header, and every row's width (ragged rows refuse the file)."""
    encoding = detect_encoding(path)
    with io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="") as first:
        delimiter = _delimiter(first.readline())
    handle, reader = _csv_reader(path, encoding, delimiter)
    with handle:
        try:
            header = _header(next(reader))
        except StopIteration as exc:
            raise Invalid("文件没有任何内容", field="file") from exc
        except csv.Error as exc:
            raise Invalid(f"CSV 格式错误：{exc}", field="file") from exc
        ragged: list[FieldError] = []
        rows = 0
        try:
            for number, row in enumerate(reader, start=2):
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                rows += 1
                if len(row) != len(header) and len(ragged) < 50:
                    ragged.append(FieldError(f"第 {number} 行有 {len(row)} 列，表头有 {len(header)} 列", row=number))
        except csv.Error as exc:
            raise Invalid(f"CSV 格式错误（第 {reader.line_num} 行附近）：{exc}", field="file") from exc
    if ragged:
        raise Invalid(
            f"CSV 有 {len(ragged)}{'+' if len(ragged) == 50 else ''} 行列数与表头不一致（如 {ragged[0].message}），"
            "可能是字段中含未加引号的分隔符，请修正后重新上传",
            ragged,
        )
    encoding_label = {"utf-8-sig": "UTF-8（带 BOM）", "utf-8": "UTF-8", "gb18030": "GBK/GB18030", "utf-16": "UTF-16"}
    return FileInfo(
        "csv",
        header,
        rows,
        encoding=encoding,
        delimiter=delimiter,
        notes=[f"编码：{encoding_label.get(encoding, encoding)}"],
    )


def open_csv(path: Path, encoding: str, delimiter: str) -> Opened:
    handle, reader = _csv_reader(path, encoding, delimiter)
    header = _header(next(reader))
    width = len(header)

    def rows() -> Iterator[Row]:
        with handle:
            for number, row in enumerate(reader, start=2):
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != width:
                    raise Invalid(f"第 {number} 行有 {len(row)} 列，表头有 {width} 列（文件在检查后被改动？）")
                yield number, dict(zip(header, row, strict=True))

    return Opened(header, rows())


def _workbook(path: Path) -> CalamineWorkbook:
    uploads.check_xlsx(path, uploads.UploadLimits())
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several types for non-workbooks
        raise Invalid("文件不是有效的 Excel 工作簿（.xlsx/.xls）", field="file") from exc


def _sheet(wb: CalamineWorkbook, sheet: str) -> Any:
    if sheet and sheet not in wb.sheet_names:
        raise Invalid(f"工作簿中没有工作表“{sheet}”", field="sheet")
    return wb.get_sheet_by_name(sheet or wb.sheet_names[0])


def _cell_name(row: int, col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


def scan_excel(path: Path, sheet: str = "") -> FileInfo:
    wb = _workbook(path)
    ws = _sheet(wb, sheet)
    merged = [m for m in (ws.merged_cell_ranges or []) if m[0][0] == 0]
    if merged:
        (r0, c0), (r1, c1) = merged[0]
        raise Invalid(
            f"表头含合并单元格（{_cell_name(r0, c0)}:{_cell_name(r1, c1)}），无法确定每列的列名；"
            "请取消合并，保证第 1 行每列一个列名后重新上传",
            field="file",
        )
    rows = ws.iter_rows()
    try:
        header = _header([str(h) if h is not None else "" for h in next(rows)])
    except StopIteration as exc:
        raise Invalid("工作表没有任何内容", field="file") from exc
    count = sum(1 for r in rows if any(v not in ("", None) for v in r))
    return FileInfo("excel", header, count, sheet=ws.name)


def open_excel(path: Path, sheet: str = "") -> Opened:
    ws = _sheet(_workbook(path), sheet)
    rows_iter = ws.iter_rows()
    header = _header([str(h) if h is not None else "" for h in next(rows_iter)])

    def rows() -> Iterator[Row]:
        for number, row in enumerate(rows_iter, start=2):
            if any(v not in ("", None) for v in row):
                yield number, {h: (row[i] if i < len(row) and row[i] != "" else None) for i, h in enumerate(header)}

    return Opened(header, rows())


def _json_records(path: Path) -> list[Any]:
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise Invalid("JSON 文件必须是 UTF-8 编码", field="file") from exc
    except json.JSONDecodeError as exc:
        raise Invalid(f"JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）", field="file") from exc
    if isinstance(doc, dict):
        lists = [v for k, v in doc.items() if isinstance(v, list) and k in ("data", "rows", "records", "items")]
        doc = lists[0] if lists else None
    if not isinstance(doc, list):
        raise Invalid("JSON 应为对象数组，或含 data/rows/records/items 数组的对象", field="file")
    bad = [i + 1 for i, r in enumerate(doc) if not isinstance(r, dict)]
    if bad:
        raise Invalid(f"第 {'、'.join(map(str, bad[:10]))} 条不是对象", field="file")
    return doc


def json_columns(records: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for r in records:
        for k in r:
            seen.setdefault(str(k), None)
    return list(seen)


def flat(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value


def scan_json(path: Path) -> FileInfo:
    records = _json_records(path)
    if not records:
        raise Invalid("JSON 数组为空，没有可导入的记录", field="file")
    return FileInfo("json", json_columns(records), len(records))


def open_json(path: Path) -> Opened:
    records = _json_records(path)
    columns = json_columns(records)

    def rows() -> Iterator[Row]:
        for number, rec in enumerate(records, start=1):
            yield number, {str(k): flat(v) for k, v in rec.items()}

    return Opened(columns, rows())


def scan(path: Path, kind: str, sheet: str = "") -> FileInfo:
    if path.stat().st_size == 0:
        raise Invalid("文件为空（0 字节）", field="file")
    if kind == "csv":
        return scan_csv(path)
    if kind == "excel":
        return scan_excel(path, sheet)
    return scan_json(path)
