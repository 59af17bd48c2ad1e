"""Every GET form of every page, as a demo user of each role: sent with its fields empty it answers 200 (an empty
field is "no filter"), and so it does with each field given a sensible value, and so does its 下一页.

The pages are found as scripts/snapshot.py finds them: signed in as each demo user, following every
same-site link from the home page (the first of each path shape)."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

from zhixian import clock

USERS = (
    "sysadmin",
    "secadmin",
    "auditor",
    "datahub",
    "leader",
    "acceptor",
    "shiftlead",
    "dispatcher",
    "inspector01",
    "handler_zfj",
    "gaj_officer",
    "staff",
)
SKIP = ("/static/", "/api/", "/logout", "/docs", "/openapi", "/open311/")
HTML = {"accept": "text/html"}
PAGES_PER_USER = 120


@dataclass
class Control:
    name: str
    kind: str  # text, search, date, number, select, hidden, checkbox, radio, …
    value: str = ""
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    controls: list[Control] = field(default_factory=list)


class Page(HTMLParser):
    """The links and the GET forms of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Control | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href", "").startswith(("/", "?")):
            self.links.append(a["href"])
        elif tag == "form":  # GET forms the browser sends itself (not those a script posts)
            native = a.get("method", "get").lower() == "get" and "data-endpoint" not in a
            self._form = Form(a.get("action", "")) if native else None
            if self._form is not None:
                self.forms.append(self._form)
        elif tag == "option" and self._select is not None:
            self._select.options.append(a.get("value", ""))
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input" and a.get("type", "text") not in ("submit", "button", "file"):
            self._form.controls.append(Control(a["name"], a.get("type", "text"), a.get("value", "")))
        elif tag == "textarea":
            self._form.controls.append(Control(a["name"], "textarea"))
        elif tag == "select":
            self._select = Control(a["name"], "select")
            self._form.controls.append(self._select)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def _shape(url: str) -> str:
    parts = urlsplit(url)
    return re.sub(r"/\d+", "/{id}", parts.path) + ("?" if parts.query else "")


def _empty(control: Control) -> str:
    """What a browser sends for a field left alone: nothing typed; a select without an empty choice sends its first."""
    if control.kind == "select" and control.options and "" not in control.options:
        return control.options[0]
    return ""


def _sensible(control: Control) -> str:
    """A value a person would put in the field."""
    if control.kind == "select":
        chosen = [o for o in control.options if o]
        return chosen[0] if chosen else ""
    if control.kind == "date":
        return (clock.local_today().replace(day=1)).isoformat()
    if control.kind == "number":
        return "1"
    if control.kind in ("checkbox", "radio"):
        return control.value or "on"
    return "人口" if control.name == "q" else "测试"


def _crawl(client) -> tuple[dict[str, Page], list[str]]:  # type: ignore[no-untyped-def]
    pages: dict[str, Page] = {}
    failures: list[str] = []
    seen: set[str] = set()
    queue: deque[str] = deque(["/"])
    while queue and len(pages) < PAGES_PER_USER:
        url = queue.popleft()
        if _shape(url) in seen or url.startswith(SKIP):
            continue
        seen.add(_shape(url))
        resp = client.get(url, headers=HTML)
        if resp.status_code != 200:
            if resp.status_code >= 500 or resp.status_code == 422:
                failures.append(f"{url} → {resp.status_code}")
            continue
        if "text/html" not in resp.headers.get("content-type", ""):
            continue
        page = Page()
        page.feed(resp.text)
        pages[url] = page
        for link in page.links:
            queue.append(urljoin(url, link.replace("&amp;", "&")))
    return pages, failures


def _submit(client, page_url: str, form: Form, values: dict[str, str], failures: list[str]) -> None:  # type: ignore[no-untyped-def]
    target = urljoin(page_url, form.action or urlsplit(page_url).path)
    query = urlencode(list(values.items()))
    url = f"{urlsplit(target).path}?{query}"
    resp = client.get(url, headers=HTML)
    if resp.status_code != 200:
        failures.append(f"{url} → {resp.status_code} {resp.text[:120]!r}")
        return
    for nxt in re.findall(r'href="(\?[^"]*page=\d+[^"]*)"', resp.text):  # 上一页/下一页 keep the filter
        link = urlsplit(target).path + nxt.replace("&amp;", "&")
        paged = client.get(link, headers=HTML)
        if paged.status_code != 200:
            failures.append(f"{link} → {paged.status_code}")


def test_every_get_form_of_every_page_answers_200_empty_and_filled(as_user) -> None:
    failures: list[str] = []
    tested: set[tuple[str, tuple[str, ...]]] = set()
    submitted = 0
    for user in USERS:
        client = as_user(user)
        pages, crawl_failures = _crawl(client)
        failures += [f"{user} {f}" for f in crawl_failures]
        for url, page in pages.items():
            for form in page.forms:
                target = urlsplit(urljoin(url, form.action or url)).path
                key = (_shape(target), tuple(c.name for c in form.controls))
                if key in tested or not form.controls:
                    continue
                tested.add(key)
                hidden = {c.name: c.value for c in form.controls if c.kind == "hidden"}
                visible = [c for c in form.controls if c.kind != "hidden"]
                empty = hidden | {c.name: _empty(c) for c in visible if c.kind not in ("checkbox", "radio")}
                _submit(client, url, form, empty, failures)
                submitted += 1
                for control in visible:
                    _submit(client, url, form, empty | {control.name: _sensible(control)}, failures)
                    submitted += 1
    assert len(tested) >= 8, tested  # the lists of the platform, catalogue, integration and 城管 were found
    assert submitted > 30
    assert failures == [], "\n".join(failures)
