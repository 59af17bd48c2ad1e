"""The exchange pages as staff use them: forms that answer in Chinese beside the field, actions that
follow the rules, a secret shown once, and API documentation whose examples really work."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from html import unescape

import httpx
from sqlalchemy import func, select
from tests.exchange.helpers import people, resource_id

from zhixian import clock
from zhixian.platform.models import AuditRecord

HTML = {"Accept": "text/html"}


def _form(client, url: str, data: dict | list) -> object:
    """A browser's form post: repeated names (checkboxes) become lists."""
    pairs = list(data.items()) if isinstance(data, dict) else list(data)
    fields: dict[str, list[str]] = {"csrf_token": [client.headers["X-CSRF-Token"]]}
    for name, value in pairs:
        fields.setdefault(name, []).append(str(value))
    return client.post(url, data=fields, headers=HTML)


def _beside(html: str, field_id: str) -> str:
    """The message shown beside a field, which is described by it."""
    found = re.search(rf'<div class="field-error" id="{field_id}-error">([^<]*)</div>', html)
    assert found, f"no message beside {field_id}"
    control = re.search(rf'<[^>]*\bid="{field_id}"[^>]*>', html)
    assert control, f"no control {field_id}"
    assert f"{field_id}-error" in control.group(0), "the control is described by its message"
    return unescape(found.group(1))


def test_a_request_goes_from_the_form_to_a_grant_through_the_pages(as_user, db) -> None:
    consumer, provider = as_user("zjj_officer"), as_user("gaj_officer")
    rid = resource_id(db, "人口")
    page = consumer.get(f"/exchange/requests/new?resource_id={rid}", headers=HTML)
    assert page.status_code == 200
    assert "公民身份号码" in page.text
    assert "仅本部门所在乡镇/村" in page.text
    # nothing ticked: the form comes back with the message beside the items
    empty = _form(
        consumer, "/exchange/requests/new", {"resource_id": rid, "purpose": "住房保障审核", "legal_basis": "依据"}
    )
    assert empty.status_code == 422
    assert _beside(empty.text, "f-items") == "至少需要 1 项"
    assert 'value="住房保障审核"' in empty.text  # what was typed stays
    done = _form(
        consumer,
        "/exchange/requests/new",
        [
            ("resource_id", rid),
            ("items", "id_number"),
            ("items", "name"),
            ("operations", "verify"),
            ("purpose", "住房保障资格审核"),
            ("legal_basis", "《公共租赁住房管理办法》"),
            ("period_start", clock.local_today().isoformat()),
            ("period_end", (clock.local_today() + timedelta(days=180)).isoformat()),
            ("row_scope", "all"),
        ],
    )
    assert done.status_code == 303, done.text[:500]
    url = done.headers["location"].split("?")[0]
    detail = provider.get(url, headers=HTML)
    assert "待提供方答复" in detail.text
    assert "答复不同意" in detail.text
    assert "提交申请" in detail.text  # the timeline
    # a refusal without a reason stays on the page with the message
    refused = _form(provider, url + "/act/refuse", {"reason": ""})
    assert refused.status_code == 422
    assert "不能少于 2 个字符" in _beside(refused.text, "refuse-reason")
    assert "未答复" in refused.text
    assert 'id="approve-items-error"' not in refused.text  # only the refused form says anything
    too_long = _form(
        provider,
        url + "/act/approve",
        [
            ("items", "id_number"),
            ("items", "name"),
            ("operations", "verify"),
            ("valid_until", "2099-01-01"),
            ("note", "同意"),
        ],
    )
    assert too_long.status_code == 422
    assert "不能超过申请的使用期限" in _beside(too_long.text, "approve-valid_until")
    assert 'value="2099-01-01"' in too_long.text
    assert 'value="同意"' in too_long.text
    approved = _form(
        provider,
        url + "/act/approve",
        [("items", "id_number"), ("items", "name"), ("operations", "verify"), ("row_scope", "keep")],
    )
    assert approved.status_code == 303
    shown = consumer.get(url, headers=HTML).text
    assert "已授权" in shown
    assert re.search(r'href="/exchange/grants/\d+"', shown)
    # the queue shows it with its state, and the consumer has nothing left to do
    listed = consumer.get("/exchange/requests?box=mine", headers=HTML).text
    assert url.rsplit("/", 1)[1].zfill(6) in listed


def test_the_secret_is_shown_once_on_a_page_that_is_not_cached(as_user) -> None:
    officer = as_user("mzj_officer")
    bad = _form(
        officer, "/exchange/apps/new", {"name": "网页登记（测试）", "ip_allow": "not-an-ip", "daily_quota": "x"}
    )
    assert bad.status_code == 422
    assert "不是有效的 IP" in _beside(bad.text, "f-ip_allow")
    assert _beside(bad.text, "f-daily_quota") == "必须是整数"
    assert 'value="网页登记（测试）"' in bad.text
    assert ">not-an-ip</textarea>" in bad.text
    created = _form(officer, "/exchange/apps/new", {"name": "网页登记（测试）", "ip_allow": "10.1.0.0/16\n10.2.3.4"})
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    secret = re.search(r'<div class="secret" id="secret">([^<]+)</div>', created.text).group(1)
    app_id = re.search(r'href="/exchange/apps/(\d+)"', created.text).group(1)
    detail = officer.get(f"/exchange/apps/{app_id}", headers=HTML)
    assert secret not in detail.text
    assert "10.2.3.4/32" in detail.text
    taken = _form(officer, "/exchange/apps/new", {"name": "网页登记（测试）"})
    assert taken.status_code == 409
    assert "已有名为" in _beside(taken.text, "f-name")
    limits = _form(
        officer, f"/exchange/apps/{app_id}", {"do": "limits", "ip_allow": "10.9.9.9", "rate_per_minute": "0"}
    )
    assert limits.status_code == 422
    assert _beside(limits.text, "f-rate_per_minute") == "不能小于 1"
    assert ">10.9.9.9</textarea>" in limits.text  # what was typed, not what is stored
    rotated = _form(officer, f"/exchange/apps/{app_id}", {"do": "rotate"})
    new_secret = re.search(r'<div class="secret" id="secret">([^<]+)</div>', rotated.text).group(1)
    assert new_secret != secret
    assert "第 2 版" in rotated.text
    # another department's officer reaches neither the page nor the rotation
    other = as_user("zjj_officer")
    assert other.get(f"/exchange/apps/{app_id}", headers=HTML).status_code == 404
    assert _form(other, f"/exchange/apps/{app_id}", {"do": "rotate"}).status_code == 404


def test_grant_actions_on_the_page_need_a_reason_and_are_shown_on_the_timeline(mzj, as_user) -> None:
    provider = as_user("gaj_officer")
    url = f"/exchange/grants/{mzj.grant['id']}"
    assert "暂停" in provider.get(url, headers=HTML).text
    unreasoned = _form(provider, url + "/act", {"do": "suspend", "reason": ""})
    assert unreasoned.status_code == 422
    assert _beside(unreasoned.text, "stop-reason") == "请写明暂停或撤销的理由"
    early = _form(provider, url + "/act", {"do": "renew", "valid_until": "2020-01-01", "reason": "续期说明"})
    assert early.status_code == 422
    assert "须晚于现有有效期" in _beside(early.text, "renew-valid_until")
    assert 'value="续期说明"' in early.text
    assert _form(provider, url + "/act", {"do": "suspend", "reason": "安全整改"}).status_code == 303
    page = provider.get(url, headers=HTML).text
    assert "已暂停" in page
    assert "暂停授权" in page
    assert "安全整改" in page
    # the consumer sees the grant but no management forms
    assert 'name="do"' not in as_user("mzj_officer").get(url, headers=HTML).text


def test_the_documented_curl_and_python_examples_work_against_the_gateway(mzj, server, node, db) -> None:
    (person, idn), *_ = people(db, node.cipher, 1)
    with httpx.Client(base_url=server.url) as client:
        assert (
            client.post(
                "/api/v1/auth/login", json={"username": "mzj_officer", "password": "Demo-pass-2026"}
            ).status_code
            == 200
        )
        page = unescape(client.get(f"/exchange/docs/{mzj.resource}", headers=HTML).text)
    assert "脱敏：仅保留首尾各 1 位" in page
    blocks = re.findall(r'<pre class="code">(.*?)</pre>', page, re.S)
    curl = next(b for b in blocks if b.startswith("CLIENT_ID=") and "/verify" in b)
    python = next(b for b in blocks if b.startswith("import hashlib") and "/verify" in b)
    secret, client_id = mzj.gateway.secret, mzj.gateway.client_id
    body = f'{{"key":"{idn}","name":"{person.name}"}}'
    script = (
        curl.replace("zx0123456789abcdef", client_id)
        .replace("在应用管理页面领取的密钥", secret)
        .replace("https://平台地址", server.url)
    )
    script = re.sub(r"BODY='[^']*'", f"BODY='{body}'", script).replace("TS=$(date +%s)", f"TS={_now()}")
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert '"match":true' in done.stdout.replace(" ", ""), done.stdout + done.stderr
    code = (
        python.replace("zx0123456789abcdef", client_id)
        .replace("在应用管理页面领取的密钥", secret)
        .replace("https://平台地址", server.url)
        .replace("str(int(time.time()))", f"'{_now()}'")
    )
    code = re.sub(
        r'resp = call\("POST", "([^"]+)", .*\)',
        rf'resp = call("POST", "\1", {{"key": "{idn}", "name": "{person.name}"}})',
        code,
    )
    namespace: dict = {}
    exec(
        compile(code.replace("print(resp.status_code, resp.json())", "RESULT = resp.json()"), "doc", "exec"), namespace
    )
    assert namespace["RESULT"]["match"] is True


def _now() -> str:
    return str(int(clock.utcnow().timestamp()))


def test_person_usage_page_is_for_authorised_officers_and_is_audited(mzj, as_user, node, db) -> None:
    (_, idn), *_ = people(db, node.cipher, 1)
    mzj.gateway.call("lookup", mzj.resource, {"key": idn, "reason": "JZ-PAGE"})
    assert as_user("leader").get("/exchange/person-usage", headers=HTML).status_code == 403
    hub = as_user("datahub")
    before = db.execute(select(func.count()).where(AuditRecord.action == "exchange.person_usage.lookup")).scalar_one()
    page = _form(hub, "/exchange/person-usage", {"id_number": idn, "note": "来电"})
    assert page.status_code == 200
    assert "JZ-PAGE" in page.text
    assert "嘉善县民政局" in page.text
    assert idn not in page.text  # the number is not echoed back
    after = db.execute(select(func.count()).where(AuditRecord.action == "exchange.person_usage.lookup")).scalar_one()
    assert after == before + 1
    bad = _form(hub, "/exchange/person-usage", {"id_number": "123", "note": "来电"})
    assert bad.status_code == 422
    assert "18 位" in _beside(bad.text, "f-id_number")
    assert 'value="123"' not in bad.text  # the number is not echoed, even when refused
    assert 'value="来电"' in bad.text


def test_every_usage_figure_is_a_link_to_its_calls(as_user) -> None:
    hub = as_user("datahub")
    for url in ("/exchange/usage?side=county", "/exchange/statistics"):
        page = hub.get(url, headers=HTML).text
        figures = re.findall(r'<a class="card[^"]*" href="([^"]+)"><div class="value">(\d+)</div>', page)
        assert figures, url
        for href, value in figures:
            target = unescape(href)
            if target.startswith("/exchange/calls"):
                listed = hub.get(target, headers=HTML).text
                assert f"共 {value} 条" in listed, (url, target)
