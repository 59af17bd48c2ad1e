"""The one way zhixian writes spreadsheets and CSV files, so that no exported cell runs as a formula.

Any text a user or a remote system can influence (a department name, a class name, a source address
from ``X-Forwarded-For``) ends up in exports that people open in Excel or WPS. A cell that starts with
``= + - @``, a tab or a carriage return (or their full-width forms, which WPS converts) is prefixed
with ``'`` (OWASP "CSV injection"): the spreadsheet shows it as plain text. Importers that read our
own exports back call ``plain_cell`` to undo exactly that prefix. Every module that writes a workbook
or a CSV goes through here; ``tests/test_exports.py`` fails when one does not.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

__all__ = [
    "FORMULA_START",
    "Sheet",
    "csv_columns",
    "csv_lines",
    "csv_text",
    "plain_cell",
    "safe_cell",
    "safe_column",
    "safe_row",
    "xlsx_bytes",
]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet must store it: text that could start a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


def safe_column(values: Iterable[Any]) -> list[Any]:
    """``safe_cell`` of every value of a column, in one pass (a bulk export neutralises a column at a time)."""
    values = list(values)
    starts = FORMULA_START
    try:  # a column repeats values a great deal: each distinct one is judged once
        risky = {v for v in set(values) if isinstance(v, str) and v.startswith(starts)}
    except TypeError:  # an unhashable value
        return [safe_cell(v) for v in values]
    return [("'" + v) if v in risky else v for v in values] if risky else values


def plain_cell(value: str) -> str:
    """Undoes ``safe_cell`` on a cell read back from one of our exports (and only that prefix)."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_START) else value


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a header row and data rows; the styling the exports share."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]
    width: float | None = None  # every column this wide (characters)
    bold_header: bool = False
    freeze_header: bool = False


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    """An .xlsx file whose every text cell is neutralised and stored as text, never as a formula."""
    wb = Workbook()
    first = wb.active
    assert first is not None
    for index, spec in enumerate(sheets):
        ws = first if index == 0 else wb.create_sheet()
        ws.title = spec.title
        ws.append(safe_row(spec.header))
        for row in spec.rows:
            ws.append(safe_row(row))
        for row_cells in ws.iter_rows():
            for cell in row_cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # openpyxl would take a remaining "=" as a formula
        if spec.bold_header:
            for cell in ws[1]:
                cell.font = Font(bold=True)
        if spec.freeze_header:
            ws.freeze_panes = "A2"
        if spec.width:
            for col in ws.iter_cols(min_row=1, max_row=1):
                ws.column_dimensions[col[0].column_letter].width = spec.width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_lines(rows: Iterable[Sequence[Any]]) -> str:
    """CSV lines (CRLF) without a header, every text cell neutralised: for files written batch by batch."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(safe_row(row) for row in rows)
    return buf.getvalue()


def csv_columns(columns: Sequence[Sequence[Any]]) -> str:
    """``csv_lines`` of rows given a column at a time (equal columns, one per CSV field)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(zip(*(safe_column(c) for c in columns), strict=True))
    return buf.getvalue()


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = True) -> str:
    """CSV text (with a BOM so Excel reads UTF-8) whose every text cell is neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(safe_row(header))
    for row in rows:
        writer.writerow(safe_row(row))
    return ("\ufeff" if bom else "") + buf.getvalue()
