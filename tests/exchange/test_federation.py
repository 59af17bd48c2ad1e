"""Two nodes on loopback — a county and its city, each a real uvicorn process with its own SQLite data
directory — register, publish catalogues, forward a request, grant back and answer a county call across
nodes; forged, unsigned and replayed messages are refused in Chinese; a city that is down delays messages
without losing them. The test process acts as each node's command line (it opens their databases)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text
from tests import figures
from tests.conftest import PASSWORD, Client, dispose_node, make_node
from tests.exchange.helpers import Gateway
from typer.testing import CliRunner

from zhixian import clock
from zhixian.app import Node
from zhixian.exchange import apps, sources
from zhixian.exchange.federation import catalog_sync, joining, keys, peers, protocol, transport
from zhixian.exchange.federation import cli as federation_cli
from zhixian.exchange.federation.models import FedGrant, FedRequest, Message, Peer, RemoteResource
from zhixian.exchange.models import Call, Disclosure
from zhixian.exchange.schemas import ApplicationIn
from zhixian.platform.actor import Actor
from zhixian.platform.models import Department

# the tests are one story on the same two nodes (register → publish → request → call): one worker, in order
pytestmark = pytest.mark.xdist_group("federation")

FED = "/api/v1/exchange/federation"
LEGAL = "102001/000001"  # 法人基础信息 in every demo county
_SERVE = (
    "import sys; from datetime import datetime; from zhixian import clock; "
    "clock.pin(datetime.fromisoformat(sys.argv[1])); import uvicorn; "
    "uvicorn.run('zhixian.app:serve_app', factory=True, host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')"
)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    node: Node
    key: keys.NodeKey
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "ZHIXIAN_DATA_DIR": str(self.node.settings.data_dir),
            "ZHIXIAN_COUNTY_CODE": self.node.settings.county_code,
            "ZHIXIAN_COUNTY_NAME": self.node.settings.county_name,
            "ZHIXIAN_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, clock.utcnow().isoformat(), str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(300):
            try:
                httpx.get(self.url + "/healthz", timeout=1)
            except httpx.HTTPError:
                assert self.proc.poll() is None, self.proc.stderr.read().decode() if self.proc.stderr else ""
                time.sleep(0.1)
            else:
                return
        raise RuntimeError("node did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(15)
            self.proc = None

    @contextlib.contextmanager
    def user(self, username: str) -> Iterator[Client]:
        with Client(base_url=self.url, timeout=30) as client:
            assert client.login(username, PASSWORD).status_code == 200
            yield client


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, Live]]:
    base = tmp_path_factory.mktemp("federation")
    county = make_node(base / "county", "sqlite")
    city = make_node(base / "city", "sqlite", county_code="330402", county_name="嘉兴市")
    lives = []
    for node, node_id in ((county, "zx-330421"), (city, "zx-3304")):
        key = keys.generate(node.settings.data_dir, node_id=node_id, name=node.settings.county_name)
        lives.append(Live(node, key, _port()))
    for live in lives:
        live.start()
    try:
        yield lives[0], lives[1]
    finally:
        for live in lives:
            live.stop()
            dispose_node(live.node)


def _deliver(live: Live) -> int:
    return transport.deliver(live.node.db, settings=live.node.settings, key=live.key, force=True)


def _last_out(live: Live, type_: str) -> Message:
    with live.node.db.transaction() as s:
        return (
            s.execute(
                select(Message).where(Message.direction == "out", Message.type == type_).order_by(Message.id.desc())
            )
            .scalars()
            .first()
        )


def _publish(live: Live, peer_node: str, *, full: bool = False) -> Message | None:
    with live.node.db.transaction() as s:
        peer = peers.by_node(s, peer_node)
        assert peer is not None
        made = catalog_sync.publish(s, key=live.key, peer=peer, full=full)
        message_id = made.id if made else None
    if message_id is None:
        return None
    _deliver(live)
    with live.node.db.transaction() as s:
        return s.get(Message, message_id)


def _remote_count(live: Live) -> int:
    with live.node.db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(RemoteResource)).scalar_one())


def test_county_registers_and_waits_for_the_city_to_approve_its_key(nodes: tuple[Live, Live]) -> None:
    county, city = nodes
    # a fingerprint that does not match stops registration before anything is sent
    with pytest.raises(joining.JoinFailed, match="指纹"):
        joining.register(county.node.settings, county.key, url=city.url, self_url=county.url, expect="0000-1111")
    result = joining.register(
        county.node.settings, county.key, url=city.url, self_url=county.url, expect=city.key.fingerprint
    )
    assert result["status"] == "pending"
    assert "待本节点数据主管部门核对指纹后批准" in result["note"]
    with county.node.db.transaction() as s:
        peers.pin_upstream(
            s,
            node_id=result["node_id"],
            name=result["name"],
            base_url=result["base_url"],
            algorithm=result["algorithm"],
            public_key=result["public_key"],
            expect=city.key.fingerprint,
        )
    # not yet approved: the catalogue waits in the outbox, with a Chinese reason
    message = _publish(county, "zx-3304")
    assert message is not None
    assert message.result == "queued"
    assert "尚未批准" in message.note
    assert "下次重试" in message.note
    # the city's data authority compares fingerprints and approves
    with city.user("datahub") as hub:
        listed = hub.get(f"{FED}/peers").json()
        peer = next(p for p in listed if p["node_id"] == "zx-330421")
        assert peer["status"] == "pending"
        assert peer["fingerprint"] == county.key.fingerprint
        wrong = hub.post(f"{FED}/peers/{peer['id']}/approve", json={"fingerprint": "ABCD"})
        assert wrong.status_code == 422
        assert "不一致" in wrong.json()["detail"]
        ok = hub.post(f"{FED}/peers/{peer['id']}/approve", json={"fingerprint": county.key.fingerprint})
        assert ok.status_code == 200
        assert ok.json()["status"] == "active"
    with city.user("gaj_officer") as officer:  # a department officer may not approve nodes
        assert officer.post(f"{FED}/peers/{peer['id']}/approve", json={}).status_code == 403
    assert _deliver(county) == 1
    assert _last_out(county, "catalog.publish").result == "delivered"


def test_catalogue_publish_is_incremental_and_idempotent(nodes: tuple[Live, Live]) -> None:
    county, city = nodes
    count = _remote_count(city)
    assert count > 10
    with city.node.db.transaction() as s:
        entry = s.execute(select(RemoteResource).where(RemoteResource.code == LEGAL)).scalar_one()
        assert entry.origin_node == "zx-330421"
        assert entry.name == "法人基础信息"
    assert _publish(county, "zx-3304") is None  # nothing changed since
    for _ in range(2):  # the same full batch twice changes nothing on the city
        again = _publish(county, "zx-3304", full=True)
        assert again is not None
        assert again.result == "delivered"
        assert f"新增 0 条，更新 0 条，未变 {count} 条" in again.note
    assert _remote_count(city) == count
    # the same message delivered twice (a lost answer, a retry) is handled once
    with county.node.db.transaction() as s:
        body = s.get(Message, again.id).body
    target = transport.Target(city.key.node_id, city.key.name, city.url, city.key.algorithm, city.key.public_key)
    repeated = transport.post(county.node.settings, county.key, target, transport.INBOX, protocol.dumps(body))
    assert repeated["duplicate"] is True
    # the city's page of what crossed
    with city.user("datahub") as hub:
        page = hub.get("/exchange/federation")
        assert page.status_code == 200
        assert "zx-330421" in page.text
        assert "目录发布" in page.text
    with city.user("gaj_officer") as officer:
        assert officer.get("/exchange/federation").status_code == 403


def _county_app(county: Live) -> tuple[str, str]:
    with county.node.db.transaction() as s:
        dept = s.execute(select(Department).where(Department.code == "gaj")).scalar_one()
        actor = Actor(
            user_id=0,
            username="tester",
            full_name="测试",
            department_id=dept.id,
            department_path=dept.path,
            department_name=dept.name,
            permissions=frozenset({"exchange.view", "exchange.request"}),
        )
        app, secret = apps.create_application(
            s,
            actor=actor,
            cipher=county.node.cipher,
            settings=county.node.settings,
            data=ApplicationIn(name="市级数据回流"),
        )
        return app.client_id, secret


def test_county_request_is_decided_by_the_city_and_a_county_call_is_answered(nodes: tuple[Live, Live]) -> None:
    county, city = nodes
    # the city publishes its catalogue down, so county departments can ask for its resources
    with city.node.db.transaction() as s:
        assert peers.by_node(s, "zx-330421") is not None
    down = _publish(city, "zx-330421")
    assert down is not None
    assert down.result == "delivered"
    until = (clock.local_today() + timedelta(days=90)).isoformat()
    with county.user("gaj_officer") as officer:
        asked = officer.post(
            f"{FED}/requests",
            json={
                "resource_code": LEGAL,
                "items": ["uscc", "name", "legal_rep"],
                "operations": ["lookup"],
                "purpose": "市场主体登记信息核对",
                "period_end": until,
            },
        )
        assert asked.status_code == 201, asked.text
        assert asked.json()["status"] == "pending"
        bad = officer.post(
            f"{FED}/requests",
            json={"resource_code": LEGAL, "items": ["nothing"], "purpose": "测试", "period_end": until},
        )
        assert bad.status_code == 422
        assert "没有信息项" in bad.json()["detail"]
    with city.user("datahub") as hub:
        incoming = [r for r in hub.get(f"{FED}/requests").json() if r["direction"] == "in"]
        assert incoming
        assert incoming[0]["department_code"] == "gaj"
        assert incoming[0]["status"] == "pending"
        decided = hub.post(f"{FED}/requests/{incoming[0]['id']}/decide", json={"approve": True})
        assert decided.status_code == 200
        assert decided.json()["status"] == "granted"
    with county.node.db.transaction() as s:
        req = s.get(FedRequest, asked.json()["id"])
        assert req.status == "granted"
        grant = s.execute(select(FedGrant).where(FedGrant.direction == "received")).scalars().one()
        grant_id = grant.id
    # a county department's application calls the city's resource through its own node
    with city.node.db.transaction() as s:
        _, legal = sources.sample_keys(s, city.node.cipher, 4)
    client_id, secret = _county_app(county)
    gateway = Gateway(county.url, client_id, secret)
    try:
        answer = gateway.signed("POST", f"{FED}/gateway/{grant_id}/lookup", {"key": legal[0], "reason": "核对"})
        assert answer.status_code == 200, answer.text
        record = answer.json()["record"]
        assert record["uscc"] == legal[0]
        assert set(record) == {"uscc", "name", "legal_rep"}
        # outside the grant: an item not granted is refused by the city, in Chinese
        refused = gateway.signed("POST", f"{FED}/gateway/{grant_id}/lookup", {"key": legal[0], "items": ["phone"]})
        assert refused.status_code == 403
        assert "未获授权的信息项" in refused.json()["detail"]
        # an operation the grant does not include is refused at the county node already
        query = gateway.signed("POST", f"{FED}/gateway/{grant_id}/query", {})
        assert query.status_code == 403
        assert "不包含此调用方式" in query.json()["detail"]
    finally:
        gateway.close()
    # another county department's application may not use the grant made for 公安
    with county.node.db.transaction() as s:
        other = s.execute(select(Department).where(Department.code == "zjj")).scalar_one()
        actor = Actor(0, "tester", "测试", other.id, other.path, other.name, frozenset({"exchange.request"}))
        app, other_secret = apps.create_application(
            s, actor=actor, cipher=county.node.cipher, settings=county.node.settings, data=ApplicationIn(name="他部门")
        )
        other_client = app.client_id
    intruder = Gateway(county.url, other_client, other_secret)
    try:
        denied = intruder.signed("POST", f"{FED}/gateway/{grant_id}/lookup", {"key": legal[0]})
        assert denied.status_code == 403
        assert "只给部门 gaj" in denied.json()["detail"]
    finally:
        intruder.close()
    with city.node.db.transaction() as s:
        served = s.execute(select(Message).where(Message.type == "gateway.call", Message.direction == "in")).scalars()
        assert [m.result for m in served] == ["accepted", "refused"]


def _fetch(client: Client, url: str) -> tuple[int, str]:
    resp = client.get(url)
    return resp.status_code, resp.text


def _calls_total(client: Client, href: str) -> int:
    query = dict(parse_qsl(urlsplit(href).query))
    resp = client.get("/api/v1/exchange/calls", params={**query, "size": 1})
    assert resp.status_code == 200, resp.text
    return int(resp.json()["total"])


def test_calls_across_nodes_count_in_usage_with_the_node_named(nodes: tuple[Live, Live]) -> None:
    county, city = nodes
    # the county forwarded two calls to the city (one answered, one refused there); the city served both
    for live, peer, asked in ((county, "zx-3304", "consumer"), (city, "zx-330421", "")):
        with live.user("datahub") as hub:
            stats = hub.get("/api/v1/exchange/statistics").json()
            row = next(n for n in stats["nodes"] if n["node"] == peer)
            assert row["calls"] == 2
            assert row["rows"] == 1
            assert row["node_name"]
            assert _calls_total(hub, row["href"]) == 2
            page = hub.get("/exchange/statistics")
            checked, problems = figures.mismatches(str(page.url), page.text, partial(_fetch, hub))
            assert checked
            assert not problems, problems
            assert row["node_name"] in hub.get(row["href"]).text, "调用列表应写明对方节点"
        if asked:
            with live.user("gaj_officer") as officer:
                rows = [r for r in officer.get("/api/v1/exchange/usage", params={"side": asked}).json() if r["node"]]
                assert [(r["node"], r["calls"]) for r in rows] == [(peer, 2)]
                assert _calls_total(officer, rows[0]["href"]) == 2
    # the city knows whose record a county department read: the served lookup's disclosure
    with city.node.db.transaction() as s:
        served = s.execute(select(Call).where(Call.node == "zx-330421", Call.result == "成功")).scalars().one()
        assert served.provider_department_id is not None
        assert s.execute(select(func.count()).where(Disclosure.call_id == served.id)).scalar_one() == 1


def _app_of(county: Live, department: str, name: str) -> Gateway:
    with county.node.db.transaction() as s:
        dept = s.execute(select(Department).where(Department.code == department)).scalar_one()
        actor = Actor(0, "tester", "测试", dept.id, dept.path, dept.name, frozenset({"exchange.request"}))
        app, secret = apps.create_application(
            s, actor=actor, cipher=county.node.cipher, settings=county.node.settings, data=ApplicationIn(name=name)
        )
        return Gateway(county.url, app.client_id, secret)


def test_city_grants_every_county_department_directly_and_revokes(nodes: tuple[Live, Live]) -> None:
    county, city = nodes
    with city.node.db.transaction() as s:
        county_peer = peers.by_node(s, "zx-330421")
        assert county_peer is not None
        peer_id = county_peer.id
        _, legal = sources.sample_keys(s, city.node.cipher, 2)
        company = s.execute(text("SELECT name FROM integration_legal_person WHERE uscc = :u"), {"u": legal[0]})
        company_name = company.scalar_one()
    until = (clock.local_today() + timedelta(days=30)).isoformat()
    terms = {"peer_id": peer_id, "resource_code": LEGAL, "operations": ["verify"], "purpose": "企业名称核验"}
    with city.user("datahub") as hub:
        bad = hub.post(f"{FED}/grants", json={**terms, "items": ["nope"], "valid_until": until})
        assert bad.status_code == 422
        assert "没有信息项" in bad.json()["detail"]
        made = hub.post(f"{FED}/grants", json={**terms, "items": ["uscc", "name"], "valid_until": until})
        assert made.status_code == 201, made.text
        given = made.json()["id"]
    with city.user("gaj_officer") as officer:
        assert officer.post(f"{FED}/grants", json={**terms, "items": ["uscc"], "valid_until": until}).status_code == 403
    with county.node.db.transaction() as s:
        copy = s.execute(select(FedGrant).where(FedGrant.direction == "received", FedGrant.remote_id == given))
        received = copy.scalar_one()
        assert received.department_code == ""
        assert received.status == "active"
        grant_id = received.id
    # any county department may use it: 住建局's application verifies a company name
    gateway = _app_of(county, "zjj", "企业核验")
    try:
        body = {"key": legal[0], "name": company_name}
        answer = gateway.signed("POST", f"{FED}/gateway/{grant_id}/verify", body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["match"] is True
        wrong = gateway.signed("POST", f"{FED}/gateway/{grant_id}/verify", {**body, "name": "另一家公司"})
        assert wrong.json()["match"] is False
        with city.user("datahub") as hub:
            assert hub.post(f"{FED}/grants/{given}/revoke").json()["status"] == "revoked"
        with county.node.db.transaction() as s:
            assert s.get(FedGrant, grant_id).status == "revoked"
        after = gateway.signed("POST", f"{FED}/gateway/{grant_id}/verify", body)
        assert after.status_code == 403
        assert "已撤销" in after.json()["detail"]
    finally:
        gateway.close()


def _send(city: Live, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(city.url + transport.INBOX, content=body, headers=headers, timeout=10)


def test_unsigned_forged_and_replayed_messages_are_refused(nodes: tuple[Live, Live]) -> None:
    county, city = nodes
    body = protocol.dumps(
        protocol.envelope(county.key, to=city.key.node_id, type_="catalog.publish", payload={"resources": []})
    )
    unsigned = _send(city, body, {"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert "缺少请求头 X-ZX-Node" in unsigned.json()["detail"]
    # signed by another key that claims to be the county
    impostor = keys.NodeKey("zx-330421", "冒充", "ed25519", Ed25519PrivateKey.generate())
    forged = _send(city, body, protocol.signed_headers(impostor, body, clock.utcnow()))
    assert forged.status_code == 401
    assert "签名验证失败" in forged.json()["detail"]
    # a genuine message altered on the way
    headers = protocol.signed_headers(county.key, body, clock.utcnow())
    tampered = _send(city, body.replace(b'"resources":[]', b'"resources":[null]'), headers)
    assert tampered.status_code == 401
    assert "签名验证失败" in tampered.json()["detail"]
    # a genuine message sent twice
    headers = protocol.signed_headers(county.key, body, clock.utcnow())
    assert _send(city, body, headers).status_code == 200
    replay = _send(city, body, headers)
    assert replay.status_code == 401
    assert "重放" in replay.json()["detail"]
    # a stale one
    old = protocol.signed_headers(county.key, body, clock.utcnow() - timedelta(hours=1))
    stale = _send(city, body, old)
    assert stale.status_code == 401
    assert "时间戳" in stale.json()["detail"]
    # meant for another node
    elsewhere = protocol.dumps(protocol.envelope(county.key, to="zx-999999", type_="catalog.publish", payload={}))
    wrong = _send(city, elsewhere, protocol.signed_headers(county.key, elsewhere, clock.utcnow()))
    assert wrong.status_code == 401
    assert "不是本节点" in wrong.json()["detail"]
    with city.node.db.transaction() as s:
        refused = s.execute(select(func.count()).select_from(Message).where(Message.result == "refused")).scalar_one()
    assert refused >= 6
    # every answer is signed by the city: the county can tell a real refusal from a forged one
    assert replay.headers["X-ZX-Node"] == city.key.node_id
    assert json.loads(replay.content)["in_reply_to"] == headers["X-ZX-Nonce"]


def test_a_city_that_is_down_gets_its_messages_later(nodes: tuple[Live, Live]) -> None:
    county, city = nodes
    city.stop()
    try:
        until = (clock.local_today() + timedelta(days=30)).isoformat()
        with county.user("gaj_officer") as officer:
            asked = officer.post(
                f"{FED}/requests",
                json={"resource_code": LEGAL, "items": ["uscc", "name"], "purpose": "停机时提交", "period_end": until},
            )
            assert asked.status_code == 201, asked.text
        # a department sees only its own forwarded requests
        with county.user("zjj_officer") as other:
            assert other.get(f"{FED}/requests").json() == []
        queued = _last_out(county, "request.submit")
        assert queued.result == "queued"
        assert "无法连接" in queued.note
        assert "已排队" in queued.note
        assert _deliver(county) == 0  # still down: still queued, tried once more
        assert _last_out(county, "request.submit").attempts == 2
        # a data call is answered now or not at all: a clear 503, nothing queued
        with county.node.db.transaction() as s:
            grant_id = s.execute(select(FedGrant.id).where(FedGrant.department_code == "gaj")).scalar_one()
        gateway = _app_of(county, "gaj", "停机时调用")
        try:
            down = gateway.signed("POST", f"{FED}/gateway/{grant_id}/lookup", {"key": "91330402MA00000000"})
        finally:
            gateway.close()
        assert down.status_code == 503
        assert "暂时无法连接" in down.json()["detail"]
        assert _last_out(county, "gateway.call").result == "failed"
    finally:
        city.start()
    assert _deliver(county) == 1
    delivered = _last_out(county, "request.submit")
    assert delivered.result == "delivered"
    assert delivered.id == queued.id
    with city.node.db.transaction() as s:
        arrived = s.execute(select(FedRequest).where(FedRequest.purpose == "停机时提交")).scalar_one()
        assert arrived.direction == "in"
        assert arrived.remote_id == asked.json()["id"]
    with county.node.db.transaction() as s:
        assert s.execute(select(Peer).where(Peer.role == "upstream")).scalar_one().status == "active"


def _cli(live: Live, *args: str) -> tuple[int, str, str]:
    settings = live.node.settings
    env = {
        "ZHIXIAN_DATA_DIR": str(settings.data_dir),
        "ZHIXIAN_DATABASE_URL": "",
        "ZHIXIAN_COUNTY_CODE": settings.county_code,
        "ZHIXIAN_COUNTY_NAME": settings.county_name,
        "ZHIXIAN_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",
    }
    result = CliRunner().invoke(federation_cli.app, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_command_line_shows_the_node_and_refuses_what_it_cannot_do(nodes: tuple[Live, Live]) -> None:
    county, city = nodes
    code, out, _ = _cli(county, "identity")
    assert code == 0
    assert out.strip() == f"zx-330421 {county.key.fingerprint}"
    code, out, _ = _cli(county, "status")
    assert code == 0
    assert "上级 zx-3304" in out
    assert "已生效" in out
    assert "排队中的消息 0 条" in out
    code, out, _ = _cli(county, "publish")
    assert code == 0
    assert "没有变化" in out
    code, _, err = _cli(county, "keygen")
    assert code == 1
    assert "--force" in err
    code, _, err = _cli(city, "approve", "zx-nowhere")
    assert code == 1
    assert "没有登记节点" in err
