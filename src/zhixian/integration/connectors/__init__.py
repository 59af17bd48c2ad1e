"""Connectors: every source yields its column names and ``(row number, {column: value})`` lazily.

File sources are checked whole when uploaded (encoding, ragged rows, merged header cells) so a
bad file is refused before anything is stored; remote sources are read with a timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Row = tuple[int, dict[str, Any]]


@dataclass
class FileInfo:
    kind: str
    columns: list[str]
    rows: int
    encoding: str = ""
    delimiter: str = ","
    sheet: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Opened:
    columns: list[str]
    rows: Iterator[Row]


KIND_BY_SUFFIX = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "excel", ".xls": "excel", ".json": "json"}


def kind_for(filename: str) -> str | None:
    name = filename.lower()
    for suffix, kind in KIND_BY_SUFFIX.items():
        if name.endswith(suffix):
            return kind
    return None
