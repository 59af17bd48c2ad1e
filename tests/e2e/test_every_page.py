"""Every page, for every demo user: no link answers 403 (or fails), and nothing a person reads is
untranslated Latin — no raw action codes, object types, JSON, role tags, department codes or ids.

This crawl is the guard for pages added later: a new page that shows ``zjj`` instead of 住建局, or links
the leader to a page the leader may not open, fails here. Codes may stand beside names when marked up
as code (``<code>``); the allow-list in crawl.py names what else may stay Latin (numbers, codes with
digits, file names, URLs, units, Excel/CSV/JSON/API …).
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.conftest import Client, LiveServer
from tests.e2e.crawl import crawl, latin_only, shape

# one user per kind of work, as the county's staff sign in (tests/platform/route_access.py names them too)
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
    "zjj_officer",
    "window01",
    "mzj_head",
    "staff",
)


@pytest.fixture(scope="module")
def visits(demo_server: LiveServer) -> dict[str, list]:
    found: dict[str, list] = {}
    filters_seen: set[str] = set()  # a filtered list renders alike for every user: one visit in all
    for user in USERS:
        with Client(base_url=demo_server.url, timeout=60) as client:
            assert client.login(user).status_code == 200, user
            found[user] = list(crawl(client, filters_seen=filters_seen))
    return found


def test_the_crawl_reaches_each_users_pages(visits) -> None:
    reached = {user: {shape(v.url) for v in pages if v.status == 200} for user, pages in visits.items()}
    assert "/admin/audit" in reached["auditor"]
    assert "/catalog/systems" in reached["datahub"]
    assert "/citymgmt/ops" in reached["leader"]
    assert any(s.startswith("/integration/sources/{id}") for s in reached["gaj_officer"])
    assert all(len(pages) >= 3 for pages in reached.values()), reached


KNOWN_DEBT: tuple[str, ...] = ()  # pages a check may skip, each with the issue that removes it: none now


def _debt(url: str | None) -> bool:
    return bool(url) and str(url).startswith(KNOWN_DEBT)


def test_no_link_on_any_page_answers_403_or_fails(visits) -> None:
    broken = [
        f"{user}: {v.url} → {v.status}（链接出自 {v.came_from}）"
        for user, pages in visits.items()
        for v in pages
        if v.status >= 400 and not _debt(v.url) and not _debt(v.came_from)
    ]
    assert not broken, "\n".join(broken)


def test_nothing_a_person_reads_is_untranslated_latin(visits) -> None:
    found: dict[str, set[str]] = defaultdict(set)
    for user, pages in visits.items():
        for v in pages:
            if _debt(v.url):
                continue
            for where, text in v.texts:
                rest = latin_only(text)
                if rest is not None:
                    found[f"{text[:80]!r}（{where}）"].add(f"{user} {shape(v.url)}")
    lines = [f"{text} 见于 {sorted(places)[:3]}" for text, places in sorted(found.items())]
    assert not lines, f"{len(lines)} 处英文或代码未译：\n" + "\n".join(lines[:80])


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("zjj", False),
        ("citymgmt.evaluation_export", False),
        ('{"rows": 5}', False),
        ("security", False),
        ("department_id=5", False),
        ("住建局", True),
        ("SYS007", True),
        ("91330421MA2168539U", True),
        ("people_gaj.csv", True),
        ("导出 Excel", True),
        ("Excel", True),
        ("2026-11-18 10:00", True),
        ("GB/T 2260", True),
        ("12 KB", True),
        ("%LEL", True),
        ("dB(A)", True),
        ("μg/m³", True),
        ("LEL", True),
        ("level", False),
    ],
)
def test_the_scan_tells_codes_from_words(text: str, ok: bool) -> None:
    assert (latin_only(text) is None) is ok
