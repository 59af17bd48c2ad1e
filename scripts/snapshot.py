"""Snapshot what the platform shows, to compare before and after a refactor.

    .venv/bin/python scripts/snapshot.py out.json          # OpenAPI document + a crawl of every page
    .venv/bin/python scripts/snapshot.py --diff a.json b.json

The crawl seeds the test county (fixed seed, pinned clock) in a temporary folder, signs in as each demo
user and follows every same-site link from the home page (GET only, query strings dropped past the first
of each path shape), recording the status and the page title. Nothing is written outside the temp folder.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections import deque
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

USERS = ("sysadmin", "secadmin", "auditor", "datahub", "leader", "acceptor", "dispatcher", "inspector01", "handler_zfj", "gaj_officer")
LINK = re.compile(r'href="(/[^"#]*)"')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
SKIP = ("/static/", "/api/", "/logout", "/auth/logout", "/docs", "/openapi")


def shape(path: str) -> str:
    return re.sub(r"/\d+", "/{id}", path.split("?")[0])


def crawl(limit_per_user: int = 400) -> dict[str, object]:
    import os

    os.environ.setdefault("ZHIXIAN_CITYMGMT_DEMO_CASES", "300")
    from fastapi.testclient import TestClient

    from tests.conftest import PASSWORD, SEED, TEST_OUTBOUND_ALLOW
    from zhixian import clock
    from zhixian.app import build_node, create_app
    from zhixian.cli import initialise
    from zhixian.demo import seed as demo_seed
    from zhixian.settings import Settings

    clock.pin(datetime.fromisoformat("2026-11-18T10:00:00+08:00"))
    tmp = Path(tempfile.mkdtemp(prefix="zx-snapshot-"))
    settings = Settings(data_dir=tmp, outbound_allow_networks=TEST_OUTBOUND_ALLOW)  # type: ignore[call-arg]
    node = build_node(settings)
    initialise(node)
    demo_seed.run(node, seed=SEED, password=PASSWORD)
    app = create_app(node=node)
    pages: dict[str, dict[str, object]] = {}
    with TestClient(app) as anon:
        openapi = anon.get("/api/openapi.json").json()
    for user in USERS:
        with TestClient(app, follow_redirects=False) as client:
            resp = client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
            client.headers["X-CSRF-Token"] = resp.json()["csrf_token"]
            seen_shapes: set[str] = set()
            queue: deque[str] = deque(["/"])
            seen: set[str] = set()
            found: dict[str, object] = {}
            while queue and len(found) < limit_per_user:
                url = queue.popleft()
                key = shape(url) + ("?" if "?" in url else "")
                if url in seen or key in seen_shapes:
                    continue
                seen.add(url)
                seen_shapes.add(key)
                r = client.get(url)
                title = ""
                if "text/html" in r.headers.get("content-type", ""):
                    m = TITLE.search(r.text)
                    title = " ".join(m.group(1).split()) if m else ""
                    for link in LINK.findall(r.text):
                        link = link.replace("&amp;", "&")
                        if not link.startswith(SKIP):
                            queue.append(link)
                found[key] = {"status": r.status_code, "title": title}
            pages[user] = found
    return {"openapi": openapi, "pages": pages}


def diff(a_path: str, b_path: str) -> int:
    a = json.loads(Path(a_path).read_text())
    b = json.loads(Path(b_path).read_text())
    changes = 0
    a_ops = {(p, m) for p, ms in a["openapi"]["paths"].items() for m in ms}
    b_ops = {(p, m) for p, ms in b["openapi"]["paths"].items() for m in ms}
    for op in sorted(a_ops - b_ops):
        print("API 删除", op)
        changes += 1
    for op in sorted(b_ops - a_ops):
        print("API 新增", op)
        changes += 1
    for p, m in sorted(a_ops & b_ops):
        if a["openapi"]["paths"][p][m] != b["openapi"]["paths"][p][m]:
            print("API 变化", p, m)
            changes += 1
    if a["openapi"].get("components") != b["openapi"].get("components"):
        print("API 组件（schemas）有变化")
        changes += 1
    for user in a["pages"]:
        pa, pb = a["pages"][user], b["pages"].get(user, {})
        for url in sorted(set(pa) | set(pb)):
            if pa.get(url) != pb.get(url):
                print(f"页面 {user} {url}: {pa.get(url)} → {pb.get(url)}")
                changes += 1
    print(f"{changes} 处不同")
    return 1 if changes else 0


if __name__ == "__main__":
    if sys.argv[1] == "--diff":
        sys.exit(diff(sys.argv[2], sys.argv[3]))
    Path(sys.argv[1]).write_text(json.dumps(crawl(), ensure_ascii=False, indent=1, sort_keys=True))
