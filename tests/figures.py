"""Figures and the lists they open, read from rendered HTML (shared by the HTTP and browser tests).

The page contract (DESIGN.md §1, every figure opens its records):
- a figure is an element with ``data-figure="<count>"`` and an ``href`` to the list of those records;
- a list page states its total in ``data-total="<count>"`` (the shared pager does); when the link has a
  ``#fragment``, the total is the ``data-total`` inside the element with that id.
A subsystem that adds a home card or a figure gets checked by tests/citymgmt/test_figures_match_lists.py
without any change to the test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass(frozen=True)
class Figure:
    value: int
    href: str
    text: str  # what the user sees around it (the card's label, the cell's row), for messages


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: list[tuple[int, str, list[str]]] = []  # value, href, text collected inside
        self.totals: list[tuple[int, tuple[str, ...]]] = []  # value, ids of the enclosing elements
        self._stack: list[tuple[str, str | None]] = []
        self._open: list[tuple[int, int]] = []  # (index into figures, depth) of figures being read
        self._row_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("tr", "li"):
            self._row_text = []
        if a.get("data-total") is not None:
            ids = (*(i for _, i in self._stack if i), a.get("id") or "")
            self.totals.append((int(a["data-total"] or "0"), ids))
        if a.get("data-figure") is not None:
            in_row = any(t in ("tr", "li") for t, _ in self._stack)
            context = [*(self._row_text[:1] if in_row else []), a.get("title") or ""]  # a row's first cell names it
            self.figures.append((int(a["data-figure"] or "0"), unescape(a.get("href") or ""), context))
            if tag not in _VOID:
                self._open.append((len(self.figures) - 1, len(self._stack)))
        if tag not in _VOID:
            self._stack.append((tag, a.get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        while self._stack:
            open_tag, _ = self._stack.pop()
            while self._open and self._open[-1][1] >= len(self._stack):
                self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        text = data.strip()
        if not text:
            return
        self._row_text.append(text)
        for index, _ in self._open:
            self.figures[index][2].append(text)


def figures_on(html: str) -> list[Figure]:
    reader = _Reader()
    reader.feed(html)
    return [Figure(v, h, " ".join(t for t in text if t)) for v, h, text in reader.figures]


def total_on(html: str, fragment: str = "") -> int | None:
    """The list's total, or None when the page states none (which is itself a defect of the page)."""
    reader = _Reader()
    reader.feed(html)
    values = {v for v, ids in reader.totals if not fragment or fragment in ids}
    if not values:
        return None
    assert len(values) == 1, f"页面给出多个不同的总数：{sorted(values)}"
    return values.pop()


def mismatches(page_url: str, html: str, fetch: Callable[[str], tuple[int, str]]) -> tuple[int, list[str]]:
    """Follows every figure on a page; returns how many were checked and what did not match.

    ``fetch(url) -> (status, html)`` fetches as the same user; a link is fetched once however many
    figures share it (they must then agree too).
    """
    seen: dict[str, int | None] = {}
    problems: list[str] = []
    found = figures_on(html)
    for f in found:
        if not f.href or f.href.startswith(("http:", "https:", "//")):
            problems.append(f"{page_url}：数字 {f.value}（{f.text}）没有站内链接：{f.href!r}")
            continue
        url, fragment = urldefrag(urljoin(page_url, f.href))
        key = f"{url}#{fragment}"
        if key not in seen:
            status, body = fetch(url)
            if status != 200:
                problems.append(f"{page_url}：数字 {f.value}（{f.text}）链接 {f.href} 打开失败（{status}）")
                seen[key] = None
                continue
            total = total_on(body, fragment)
            if total is None:
                problems.append(f"{page_url}：{f.href} 页面没有标明总数（data-total）")
            seen[key] = total
        total = seen[key]
        if total is not None and total != f.value:
            problems.append(f"{page_url}：数字 {f.value}（{f.text}）打开的列表共 {total} 条：{f.href}")
    return len(found), problems
