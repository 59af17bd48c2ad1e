"""A crawl of every page a demo user can reach from the home page, and what a person would read on it.

Used by test_every_page.py: sign in as the user, follow same-site links breadth-first (GET only), and
for each HTML page collect its links and the text a person reads — text nodes, and the title,
aria-label, placeholder and alt attributes — outside script, style and code-like elements (code, kbd,
samp, pre: a code marked as a code may be shown beside its name).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx

# links a crawl does not follow: files, the API (JSON), and sign-out (it would end the crawl)
SKIP = ("/static/", "/api/", "/logout", "/healthz")
# links, and the fragments htmx loads into a page by itself (hx-get): both must open for the user
HREF = re.compile(r"""<a\s[^>]*?href="(/[^"#]*)|\shx-get="(/[^"#]*)""")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
LATIN = re.compile(r"[A-Za-z]")

# What may stand in a text with no Chinese in it: numbers, dates, codes that contain a digit (SYS007,
# B0101, 91330421MA…, GB/T 2260), file names, URLs and e-mail addresses, units, and proper names of
# formats and standards that Chinese staff use as they are.
ALLOWED_TOKENS = re.compile(
    r"""
    https?://\S+ | [\w.+-]+@[\w-]+\.[\w.]+              # URLs, e-mail addresses
    | [\w\u3400-\u9fff-]+\.(?:csv|xlsx|xls|json|xml|geojson|zip|shp|png|jpe?g|pdf|txt)\b   # file names
    | \b(?=[A-Za-z0-9_./:-]*\d)[A-Za-z0-9][A-Za-z0-9_./:-]*\b   # codes with a digit: SYS007, B0101, WGS84
    | \b(?:Excel|CSV|JSON|XML|API|HTTPS?|SQL|PostgreSQL|MySQL|MariaDB|SQLite|GeoJSON|Shapefile|ZIP|PDF|URL
         |ID|GB/T|GB|DB|WGS|CGCS|GCJ|TOTP|SM2|SM3|SM4|SHA|Open311|api_key|Bearer|Google|Microsoft|Authenticator
         |KB|MB|GB|km|m|kg|h|min|s|ms|PM|AM|xlsx|xls|csv|json|xml|geojson|OK)\b
    | \bdB\(A\) | \b(?:LEL|ppm|dB|μg|mg|m³)(?=\W|$)         # sensor units: %LEL, ppm, dB(A), μg/m³
    """,
    re.VERBOSE,
)

CODE_LIKE = ("script", "style", "code", "kbd", "samp", "pre", "textarea", "template", "svg")
VOID = {"br", "img", "input", "meta", "link", "hr", "wbr", "source", "area", "col", "embed", "param", "track", "base"}
READ_ATTRS = ("title", "aria-label", "placeholder", "alt")


def latin_only(text: str) -> str | None:
    """The part of ``text`` that is Latin words nobody translated, or None if the text is fine."""
    if CJK.search(text) or not LATIN.search(text):
        return None
    rest = ALLOWED_TOKENS.sub(" ", text)
    return rest.strip() if LATIN.search(rest) else None


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.texts: list[tuple[str, str]] = []  # (where, text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if not any(t in CODE_LIKE for t in self.stack) and tag not in CODE_LIKE:
            for name in READ_ATTRS:
                if values.get(name):
                    self.texts.append((f"{tag}@{name}", str(values[name])))
            if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
                self.texts.append(("input@value", str(values["value"])))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if any(t in CODE_LIKE for t in self.stack):
            return
        text = " ".join(data.split())
        if text:
            self.texts.append((self.stack[-1] if self.stack else "", text))


def readable_texts(html: str) -> list[tuple[str, str]]:
    reader = _Reader()
    reader.feed(html)
    return reader.texts


def shape(url: str) -> str:
    """/catalog/resources/12?page=2 → /catalog/resources/{id}?page: pages of one kind look alike (a path
    segment with a digit in it is an id or a code: cases/5, classes/B0101)."""
    path, _, query = url.partition("?")
    keys = sorted({p.split("=", 1)[0] for p in query.split("&") if p})
    return re.sub(r"/[^/]*\d[^/]*", "/{id}", path) + ("?" + "&".join(keys) if keys else "")


@dataclass
class Visit:
    url: str
    status: int
    came_from: str
    texts: list[tuple[str, str]] = field(default_factory=list)


def crawl(
    client: httpx.Client, *, per_shape: int = 3, limit: int = 600, filters_seen: set[str] | None = None
) -> Iterator[Visit]:
    """Every page reachable from /, at most ``per_shape`` of each shape, breadth-first.

    A list opened with a set of filters (``?status&street_code``) is visited once, and once for all the users
    that share ``filters_seen``: the figures of the operations pages link to hundreds of combinations of one
    list, which render alike (each figure's list is checked against its count in tests/figures.py). The
    unfiltered list is still visited by every user, so a list a user may not open still fails the crawl."""
    filters_seen = set() if filters_seen is None else filters_seen
    queue: deque[tuple[str, str]] = deque([("/", "")])
    seen: set[str] = set()
    counts: dict[str, int] = {}
    visited = 0
    while queue and visited < limit:
        url, came_from = queue.popleft()
        key = shape(url)
        if url in seen or counts.get(key, 0) >= per_shape or key in filters_seen:
            continue
        if "?" in key:
            filters_seen.add(key)
        seen.add(url)
        counts[key] = counts.get(key, 0) + 1
        visited += 1
        resp = client.get(url)
        visit = Visit(url, resp.status_code, came_from)
        if resp.status_code == 200 and resp.headers.get("content-type", "").startswith("text/html"):
            visit.texts = readable_texts(resp.text)
            for anchor, fragment in HREF.findall(resp.text):
                link = (anchor or fragment).replace("&amp;", "&")
                if not link.startswith(SKIP) and link not in seen:
                    queue.append((link, url))
        yield visit
