"""SSRF (standard item 9): a data source may not be aimed at this machine, loopback, link-local (cloud
metadata) or unspecified addresses, neither when saved nor when read, nor through a redirect, unless an
administrator allow-lists the network. Test nodes allow-list loopback (tests/conftest.py); each test
here clears or narrows that list first.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from tests.integration.helpers import person_resource
from zhixian.integration.models import Source


class Canary:
    """An HTTP server that answers one page of people and counts every request it gets."""

    def __init__(self, host: str = "127.0.0.1", *, redirect_to: str = "") -> None:
        self.hits = 0
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                canary.hits += 1
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"data": [{"姓名": "张三"}]}, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer((host, 0), Handler)
        self.port = self._httpd.server_port
        self.url = f"http://{host}:{self.port}/people"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    c = Canary()
    yield c
    c.close()


@pytest.fixture
def strict(node: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The production default: nothing allow-listed."""
    monkeypatch.setattr(node.settings, "outbound_allow_networks", [])


def _http_source(client: Any, db: Any, url: str, name: str = "外部接口") -> Any:
    return client.post(
        "/api/v1/integration/sources",
        json={"name": name, "kind": "http", "resource_id": person_resource(db).id, "url": url},
    )


def _refused_on_url(resp: Any) -> None:
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert [e["field"] for e in body["errors"]] == ["url"], body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["errors"][0]["message"])  # a Chinese message


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{canary}/people",
        "http://localhost:{canary}/people",
        "http://LOCALHOST.:{canary}/people",
        "http://[::1]:{canary}/people",
        "http://[::ffff:127.0.0.1]:{canary}/people",
        "http://0.0.0.0:{canary}/people",
        "http://2130706433:{canary}/people",  # 127.0.0.1 written as one number
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:{server}/api/v1/me",  # the platform itself
    ],
)
def test_local_addresses_are_refused_when_saved(
    as_user: Any, db: Any, server: Any, canary: Canary, strict: None, target: str
) -> None:
    client = as_user("gaj_officer")
    url = target.format(canary=canary.port, server=server.port)
    _refused_on_url(_http_source(client, db, url, name="本机探测"))
    assert canary.hits == 0
    assert db.execute(select(Source).where(Source.name == "本机探测")).first() is None


def test_the_address_is_checked_again_when_read(
    as_user: Any, db: Any, node: Any, canary: Canary, monkeypatch: Any
) -> None:
    """Saved while allowed (or before the name pointed elsewhere): the read is refused all the same."""
    client = as_user("gaj_officer")
    created = _http_source(client, db, canary.url)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    monkeypatch.setattr(node.settings, "outbound_allow_networks", [])
    resp = client.get(f"/api/v1/integration/sources/{sid}/preview")
    _refused_on_url(resp)
    assert canary.hits == 0


def test_a_redirect_to_loopback_is_refused(as_user: Any, db: Any, node: Any, canary: Canary, monkeypatch: Any) -> None:
    """Only 127.0.0.2 is allow-listed; it redirects to 127.0.0.1, which is not."""
    monkeypatch.setattr(node.settings, "outbound_allow_networks", ["127.0.0.2/32"])
    redirector = Canary("127.0.0.2", redirect_to=canary.url)
    try:
        client = as_user("gaj_officer")
        _refused_on_url(_http_source(client, db, canary.url, name="直接访问"))
        created = _http_source(client, db, redirector.url)
        assert created.status_code == 201, created.text
        resp = client.get(f"/api/v1/integration/sources/{created.json()['id']}/preview")
        _refused_on_url(resp)
        assert redirector.hits == 1
        assert canary.hits == 0
    finally:
        redirector.close()


def test_allow_listed_loopback_is_read(as_user: Any, db: Any, node: Any, canary: Canary, monkeypatch: Any) -> None:
    monkeypatch.setattr(node.settings, "outbound_allow_networks", ["127.0.0.1/32"])
    client = as_user("gaj_officer")
    created = _http_source(client, db, canary.url)
    assert created.status_code == 201, created.text
    resp = client.get(f"/api/v1/integration/sources/{created.json()['id']}/preview")
    assert resp.status_code == 200, resp.text
    assert resp.json()["columns"] == ["姓名"]
    assert canary.hits == 1


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        "postgresql+psycopg://postgres@localhost/postgres",
        "postgresql+psycopg://postgres@/postgres",  # the local socket
        "postgresql+psycopg://postgres@10.1.2.3/postgres?host=127.0.0.1",
        "mysql+pymysql://root@[::1]:3306/test",
        "mysql+pymysql://root@169.254.169.254/test",
    ],
)
def test_sql_sources_on_local_hosts_are_refused(as_user: Any, db: Any, strict: None, url: str) -> None:
    client = as_user("gaj_officer")
    resp = client.post(
        "/api/v1/integration/sources",
        json={"name": "本机库", "kind": "sql", "resource_id": person_resource(db).id, "url": url, "query": "SELECT 1"},
    )
    _refused_on_url(resp)
    assert "postgres@" not in resp.text  # the connection string is not echoed
    assert "root@" not in resp.text


def test_the_form_names_the_address(as_user: Any, db: Any, canary: Canary, strict: None) -> None:
    client = as_user("gaj_officer")
    resp = client.post(
        "/integration/sources/remote",
        data={"kind": "http", "name": "表单探测", "resource_id": str(person_resource(db).id), "url": canary.url},
    )
    assert resp.status_code == 422
    assert "接口地址：不能访问本机地址" in resp.text
    assert canary.hits == 0
