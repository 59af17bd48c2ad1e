"""Chinese full-text search over the catalogue: jieba tokens stored space-joined in ``search_text``.

SQLite indexes them with an FTS5 external-content table kept in step by triggers (see the
migration); PostgreSQL with a GIN index on ``to_tsvector('simple', search_text)``. Both see the
same tokens, so results agree across backends.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import jieba
from sqlalchemy import ColumnElement, func, literal_column, select, text
from sqlalchemy.orm import Session

from zhixian.catalog.models import Resource

jieba.setLogLevel(logging.WARNING)
_WORD = re.compile(r"\w", re.UNICODE)
_STOP = frozenset({"的", "和", "与", "及", "或", "等", "之", "其"})


def _clean(tokens: Iterable[str]) -> list[str]:
    out: list[str] = []
    for tok in tokens:
        t = tok.strip().lower()
        if t and _WORD.search(t) and t not in _STOP:
            out.append(t)
    return out


@lru_cache(maxsize=20_000)
def _part_tokens(part: str) -> tuple[str, ...]:
    """Names, item names and department words repeat across a catalogue: tokenise each once."""
    return tuple(dict.fromkeys([*_clean(jieba.cut_for_search(part)), *_clean(jieba.cut(part))]))


def index_text(*parts: str) -> str:
    """Search-mode tokens (words and their dictionary sub-words), de-duplicated, space-joined."""
    seen: dict[str, None] = {}
    for part in parts:
        if part:
            for tok in _part_tokens(part):
                seen.setdefault(tok, None)
    return " ".join(seen)


def query_tokens(query: str) -> list[str]:
    return list(dict.fromkeys(_clean(jieba.cut(query[:200]))))[:12]


def reindex(resource: Resource) -> None:
    resource.search_text = index_text(
        resource.name, resource.code, resource.summary, *(f"{i.name} {i.field_name}" for i in resource.items)
    )


def match_condition(session: Session, query: str) -> ColumnElement[bool] | None:
    """A WHERE condition selecting resources whose tokens contain every query token (None: no tokens)."""
    tokens = query_tokens(query)
    if not tokens:
        return None
    if session.get_bind().dialect.name == "postgresql":
        tsquery = " & ".join("'" + t.replace("'", "''").replace("\\", "") + "'" for t in tokens)
        return func.to_tsvector(literal_column("'simple'"), Resource.search_text).op("@@")(
            func.to_tsquery(literal_column("'simple'"), tsquery)
        )
    fts = " ".join('"' + t.replace('"', '""') + '"' for t in tokens)
    ids: Any = (
        select(literal_column("rowid"))
        .select_from(text("catalog_resource_fts"))
        .where(text("catalog_resource_fts MATCH :fts").bindparams(fts=fts))
    )
    return Resource.id.in_(ids)


def like_condition(query: str) -> ColumnElement[bool]:
    """The plain baseline the benchmark compares against."""
    pattern = f"%{query}%"
    return Resource.name.like(pattern) | Resource.summary.like(pattern)
