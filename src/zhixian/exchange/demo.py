"""Demo seed: applications, requests in every state, grants, and a month of gateway calls.

Everything goes through the real services and the real signed gateway, with the clock moved back to
when each step "happened", so timelines, deadlines, lights, audit records and usage figures are all
true to the code that would have produced them.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian import clock
from zhixian.exchange import apps, gateway, grants, requests, signing, sources
from zhixian.exchange.models import Application, Grant, ShareRequest
from zhixian.exchange.schemas import (
    ApplicationIn,
    ApproveIn,
    DisputeIn,
    RefuseIn,
    RequestIn,
    ResolveIn,
)
from zhixian.platform import service as platform_service
from zhixian.platform.actor import Actor
from zhixian.platform.models import Department, User

PERSON_ALL = ["id_number", "name", "gender", "birth_date", "address", "division_code"]


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Runs the block as if it were ``moment`` (then the clock goes on from where it was)."""
    real, started = clock.utcnow(), time.monotonic()
    clock.pin(moment)
    try:
        yield
    finally:
        clock.pin(real + timedelta(seconds=time.monotonic() - started))


@dataclass
class _App:
    row: Application
    secret: str


class _Seeder:
    def __init__(self, session: Session, ctx: Any) -> None:
        self.session, self.ctx, self.settings, self.cipher = session, ctx, ctx.settings, ctx.cipher
        self.rng = ctx.rng("exchange")
        self.depts = {d.code: d for d in session.execute(select(Department)).scalars()}
        self.now = clock.utcnow()

    def ago(self, days: float, hour: int = 10) -> datetime:
        """``days`` before the seed's now, at ``hour`` Beijing time."""
        day = (self.now - timedelta(days=days)).astimezone(clock.LOCAL_TZ).date()
        return datetime.combine(day, dtime(hour, self.rng.randint(0, 59)), tzinfo=clock.LOCAL_TZ)

    def dept_code(self, dept_id: int) -> str:
        return next((c for c, d in self.depts.items() if d.id == dept_id), "")

    def officer(self, code: str) -> Actor:
        username = "datahub" if code == "sjb" else f"{code}_officer"
        user = self.session.execute(select(User).where(User.username == username)).scalar_one()
        actor = platform_service.load_actor(self.session, user_id=user.id)
        assert actor is not None
        return actor

    def township(self) -> Actor:
        dept = next(d for c, d in sorted(self.depts.items()) if c.startswith("xz") and d.division_code)
        return Actor(
            user_id=0,
            username=f"staff_{dept.code}",
            full_name=dept.name,
            department_id=dept.id,
            department_path=dept.path,
            department_name=dept.name,
            permissions=frozenset({"exchange.view", "exchange.request", "integration.view"}),
        )

    def app(self, actor: Actor, name: str, description: str) -> _App:
        row, secret = apps.create_application(
            self.session,
            actor=actor,
            cipher=self.cipher,
            settings=self.settings,
            data=ApplicationIn(name=name, description=description),
        )
        return _App(row, secret)

    def request(self, actor: Actor, resource_id: int, items: list[str], ops: list[str], **kw: Any) -> ShareRequest:
        today = clock.local_today()
        data = RequestIn(
            resource_id=resource_id,
            items=items,
            operations=ops,
            period_start=today,
            period_end=kw.pop("period_end", today + timedelta(days=365)),
            **kw,
        )
        return requests.submit(self.session, actor=actor, settings=self.settings, data=data)


# the citizen portal's published lookups: resource code → (provider, items, purpose)
PORTAL_LOOKUPS = {
    "380001/900001": ("zjj", ["id_number", "unit", "monthly", "balance"], "一网通享：本人查询住房公积金缴存信息"),
    "380002/900001": (
        "gaj",
        ["id_number", "plate", "open_count", "fines", "last_place"],
        "一网通享：本人查询机动车违法",
    ),
}


def _portal_lookups(s: _Seeder, session: Session) -> None:
    """政务数据办 (who runs the portal) holds a lookup grant on each published lookup, approved by its owner;
    the portal reads one person's record with it only when that person asks and has consented."""
    if "sjb" not in s.depts:
        return
    listed = {r.code: r for r in sources.published(session)}
    for code, (owner, items, purpose) in PORTAL_LOOKUPS.items():
        if code not in listed or owner not in s.depts:
            continue
        with at(s.ago(15)):
            req = s.request(
                s.officer("sjb"), listed[code].id, items, ["lookup"], purpose=purpose,
                legal_basis="《浙江省公共数据条例》第三十条（本人授权查询）",
                scenario="公众实名登录一网通享、同意后查询本人记录",
            )  # fmt: skip
        with at(s.ago(13, 10)):
            requests.approve(
                session, actor=s.officer(owner), settings=s.settings, request_id=req.id,
                data=ApproveIn(note="同意，限本人授权查询"),
            )  # fmt: skip


def _resources(session: Session) -> dict[str, Any]:
    rows = sources.published(session)
    library = {r.base_library: r.id for r in rows if r.base_library in ("人口", "法人")}
    departmental = [r for r in rows if not r.base_library and r.code not in PORTAL_LOOKUPS]
    return {
        "person": library.get("人口"),
        "legal": library.get("法人"),
        "not_shared": [r for r in departmental if r.share_type == "不予共享"],
        "conditional": [r for r in departmental if r.share_type == "有条件共享"],
    }


def seed(session: Session, ctx: Any) -> None:
    if session.execute(select(Application.id).limit(1)).first():
        return
    s = _Seeder(session, ctx)
    if not {"gaj", "scj", "mzj", "rsj", "wjj", "nyj", "jtj"} <= set(s.depts):
        return
    res = _resources(session)
    if not res.get("person") or not res.get("legal"):
        return
    with at(s.ago(60)):
        made = {
            "mzj": s.app(s.officer("mzj"), "社会救助家庭经济状况核对系统", "低保、特困对象认定时核对申请人身份与户籍"),
            "rsj": s.app(s.officer("rsj"), "社保待遇资格认证系统", "养老金领取资格认证（生存核验）"),
            "wjj": s.app(s.officer("wjj"), "家庭医生签约服务系统", "签约居民身份核验与联系方式"),
            "town": s.app(s.township(), "基层治理四平台（本镇）", "网格员走访、人口信息回流到镇"),
            "jtj": s.app(s.officer("jtj"), "道路运输从业资格系统", "从业人员资格审核"),
        }
    g_mzj, g_rsj = _base_requests(s, res, made)
    _other_requests(s, res, made)
    _exceptions(s, res)
    _portal_lookups(s, session)
    for days_ago in (12, 8, 4, 0):  # the deadline job, as it ran: reminders first, escalation later
        moment = s.ago(days_ago, 8) if days_ago else s.now - timedelta(minutes=5)
        with at(moment):
            requests.deadlines(s.session, now=clock.utcnow())
    _history(s, made, res, g_mzj, g_rsj, s.officer("gaj"))
    s.session.flush()


def _base_requests(s: _Seeder, res: dict[str, Any], made: dict[str, _App]) -> tuple[Grant, Grant]:
    """Granted requests on the base databases: conditional (by the provider) and unconditional (checked)."""
    gaj, mzj, rsj, hub, town = s.officer("gaj"), s.officer("mzj"), s.officer("rsj"), s.officer("sjb"), s.township()
    a_mzj, a_rsj = made["mzj"], made["rsj"]
    basis = "《社会救助暂行办法》第十一条、《浙江省公共数据条例》第二十四条"
    # 有条件共享 → provider approves (on time): 民政 reads 人口 through its application
    with at(s.ago(40)):
        r1 = s.request(
            mzj,
            res["person"],
            PERSON_ALL,
            ["lookup", "query", "verify"],
            purpose="低保、特困供养对象家庭经济状况核对",
            legal_basis=basis,
            scenario="申请人提交身份证号后自动核对户籍与住址",
            application_id=a_mzj.row.id,
        )
    with at(s.ago(37, 15)):
        g_mzj = requests.approve(
            s.session, actor=gaj, settings=s.settings, request_id=r1.id, data=ApproveIn(note="同意，按最小必要原则提供")
        )
    # 生存核验 for pensions: verify and lookup of a few items; later suspended by the provider
    with at(s.ago(30)):
        r2 = s.request(
            rsj,
            res["person"],
            ["id_number", "name", "birth_date"],
            ["verify", "lookup"],
            purpose="养老保险待遇领取资格认证",
            legal_basis="《社会保险法》第七十三条",
            application_id=a_rsj.row.id,
        )
    with at(s.ago(26, 11)):
        g_rsj = requests.approve(s.session, actor=gaj, settings=s.settings, request_id=r2.id, data=ApproveIn())
    # 数据回流: a township reads its own residents (own division only), department-wide
    with at(s.ago(20)):
        r3 = s.request(
            town,
            res["person"],
            ["id_number", "name", "gender", "birth_date", "address", "division_code"],
            ["lookup", "query"],
            purpose="网格走访与基层治理，人口数据回流到镇",
            legal_basis="县数据回流工作方案",
            row_scope="own_division",
        )
    with at(s.ago(18, 9)):
        requests.approve(
            s.session, actor=gaj, settings=s.settings, request_id=r3.id, data=ApproveIn(note="限本镇户籍人口")
        )
    # 无条件共享 → the data authority's compliance check
    with at(s.ago(35)):
        r4 = s.request(
            mzj,
            res["legal"],
            ["uscc", "name", "legal_rep", "address", "division_code"],
            ["lookup", "verify"],
            purpose="救助对象名下企业核查",
            application_id=a_mzj.row.id,
            period_end=clock.local_today() + timedelta(days=300),
        )
    with at(s.ago(34, 14)):
        requests.approve(
            s.session,
            actor=hub,
            settings=s.settings,
            request_id=r4.id,
            data=ApproveIn(valid_until=clock.local_today() + timedelta(days=55)),
        )
    return g_mzj, g_rsj


def _other_requests(s: _Seeder, res: dict[str, Any], made: dict[str, _App]) -> None:
    """Requests still open (in time, reminded, escalated) and one withdrawn."""
    rsj, wjj, nyj, jtj = s.officer("rsj"), s.officer("wjj"), s.officer("nyj"), s.officer("jtj")
    with at(s.ago(1, 9)):
        s.request(
            rsj,
            res["legal"],
            ["uscc", "name"],
            ["verify"],
            purpose="参保单位名称核验",
            application_id=made["rsj"].row.id,
        )
    # 有条件 but late: reminded, then escalated to the data authority
    with at(s.ago(21)):
        s.request(
            wjj,
            res["person"],
            ["id_number", "name", "phone"],
            ["lookup"],
            purpose="家庭医生签约居民联系",
            legal_basis="《基本医疗卫生与健康促进法》第三十一条",
            application_id=made["wjj"].row.id,
        )
    with at(s.ago(2, 11)):
        s.request(
            nyj,
            res["person"],
            ["id_number", "name"],
            ["verify"],
            purpose="农业补贴发放对象身份核验",
            legal_basis="县农业补贴发放办法",
        )
    with at(s.ago(6)):
        wd = s.request(
            jtj,
            res["person"],
            ["id_number", "name"],
            ["verify"],
            purpose="从业人员身份核验",
            legal_basis="《道路运输条例》",
        )
    with at(s.ago(5)):
        requests.withdraw(s.session, actor=jtj, request_id=wd.id, note="改为使用电子证照核验")


def _exceptions(s: _Seeder, res: dict[str, Any]) -> None:
    """不予共享 refused by the catalogue (one disputed and open, one settled with a grant, later revoked)
    and a conditional request refused by its provider with a cited reason."""
    mzj, rsj, nyj, wjj, hub = s.officer("mzj"), s.officer("rsj"), s.officer("nyj"), s.officer("wjj"), s.officer("sjb")
    basis = "《社会救助暂行办法》第十一条"
    # 不予共享: refused by the catalogue; one disputed and still open, one disputed and settled with a grant
    own = (s.depts["mzj"].id, s.depts["nyj"].id, s.depts["rsj"].id)
    not_shared = [r for r in res["not_shared"] if r.department_id not in own]
    if len(not_shared) >= 3:
        with at(s.ago(15)):
            r5 = s.request(
                mzj,
                not_shared[0].id,
                ["record_no", "title", "handled_on"],
                ["lookup"],
                purpose="救助对象行政处罚记录核查",
                legal_basis=basis,
            )
        with at(s.ago(14)):
            requests.dispute(
                s.session,
                actor=mzj,
                settings=s.settings,
                request_id=r5.id,
                data=DisputeIn(reason="仅需处罚结果用于救助资格判断，不涉及案件细节"),
            )
        with at(s.ago(10)):
            s.request(
                rsj,
                not_shared[1].id,
                ["record_no", "title"],
                ["lookup"],
                purpose="参保核查",
                legal_basis="《社会保险法》",
            )
        with at(s.ago(28)):
            r6 = s.request(
                nyj,
                not_shared[2].id,
                ["record_no", "title", "division_code"],
                ["lookup", "query"],
                purpose="补贴对象核查",
                legal_basis="县农业补贴发放办法",
            )
        with at(s.ago(27)):
            requests.dispute(
                s.session,
                actor=nyj,
                settings=s.settings,
                request_id=r6.id,
                data=DisputeIn(reason="补贴发放须核对，县政府专题会议已明确"),
            )
        with at(s.ago(22)):
            g6 = requests.resolve(
                s.session,
                actor=hub,
                settings=s.settings,
                request_id=r6.id,
                data=ResolveIn(
                    decision="grant",
                    reason="依据县政府专题会议纪要〔2026〕12号，限补贴核查使用",
                    items=["record_no", "title"],
                ),
            )
        with at(s.ago(5, 16)):
            owner = s.dept_code(not_shared[2].department_id)
            provider = s.officer(owner) if _has_officer(s, not_shared[2].department_id) else hub
            if isinstance(g6, Grant):
                grants.revoke(s.session, actor=provider, grant_id=g6.id, reason="补贴核查工作已结束")
    conditional = [
        r for r in res["conditional"] if r.department_id != s.depts["wjj"].id and _has_officer(s, r.department_id)
    ]
    if conditional:
        with at(s.ago(12)):
            r7 = s.request(
                wjj,
                conditional[0].id,
                ["record_no", "title"],
                ["lookup"],
                purpose="健康档案关联核查",
                legal_basis="县卫生健康工作方案",
            )
        with at(s.ago(9, 15)):
            answerer = s.officer(s.dept_code(conditional[0].department_id))
            requests.refuse(
                s.session,
                actor=answerer,
                settings=s.settings,
                request_id=r7.id,
                data=RefuseIn(reason="所申请数据涉及未公开的执法信息，依据《政府信息公开条例》第十四条不予共享"),
            )


def _has_officer(s: _Seeder, dept_id: int) -> bool:
    code = s.dept_code(dept_id)
    return s.session.execute(select(User.id).where(User.username == f"{code}_officer")).first() is not None


def _signed(
    app: _App, method: str, path: str, body: dict[str, Any] | None, *, secret: str | None = None
) -> gateway.Incoming:
    raw = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
    stamp = str(int(clock.utcnow().timestamp()))
    nonce = secrets.token_hex(12)
    sig = signing.sign(secret or app.secret, method, path, "", stamp, nonce, raw)
    headers = {
        signing.HEADER_CLIENT: app.row.client_id,
        signing.HEADER_TIMESTAMP: stamp,
        signing.HEADER_NONCE: nonce,
        signing.HEADER_SIGNATURE: sig,
    }
    return gateway.Incoming(method, path, "", headers, raw, "10.20.1.15")


def _history(s: _Seeder, apps_: dict[str, _App], res: dict[str, Any], g_mzj: Any, g_rsj: Any, gaj: Actor) -> None:  # noqa: ARG001 - the signature is fixed by its caller
    """A month of calls through the real gateway, including refusals (a suspended grant, a bad signature)."""
    persons, usccs = sources.sample_keys(s.session, s.cipher, 120)
    ids = [idn for idn, _ in persons]
    names = dict(persons)
    person, legal = res["person"], res["legal"]
    base = "/api/v1/exchange/gateway/resources/{}/{}"
    suspended = False
    for day in range(29, -1, -1):
        if day == 3 and isinstance(g_rsj, Grant) and not suspended:
            with at(s.ago(day, 9)):
                grants.suspend(s.session, actor=gaj, grant_id=g_rsj.id, reason="认证系统安全整改期间暂停调用")
            suspended = True
        plan: list[tuple[str, str, int, dict[str, Any], str | None]] = []
        for _ in range(s.rng.randint(2, 5)):
            idn = s.rng.choice(ids)
            plan.append(
                ("mzj", "lookup", person, {"key": idn, "reason": f"救助申请 JZ{s.rng.randint(1000, 9999)}"}, None)
            )
        plan.append(
            ("mzj", "verify", person, {"key": s.rng.choice(ids), "name": s.rng.choice(list(names.values()))}, None)
        )
        plan.append(("mzj", "lookup", legal, {"key": s.rng.choice(usccs)}, None))
        for _ in range(s.rng.randint(1, 4) if day < 25 else 0):  # granted 26 days ago
            idn = s.rng.choice(ids)
            plan.append(("rsj", "verify", person, {"key": idn, "name": names.get(idn, "")}, None))
        if day % 3 == 0 and day < 18:  # the township's grant started 18 days ago
            plan.append(
                (
                    "town",
                    "query",
                    person,
                    {"page_size": 20, "filters": [{"field": "gender", "op": "eq", "value": "女"}]},
                    None,
                )
            )
        if day % 7 == 2:
            plan.append(("wjj", "lookup", person, {"key": s.rng.choice(ids)}, None))  # no grant yet: refused
        if day % 10 == 4:
            plan.append(("mzj", "lookup", person, {"key": s.rng.choice(ids)}, "wrong-secret"))  # misconfigured client
        for i, (who, op, rid, body, secret) in enumerate(plan):
            moment = s.ago(day, 9 + (i * 7) % 9)
            if moment >= s.now:
                continue  # today's calls only up to now
            with at(moment):
                incoming = _signed(apps_[who], "POST", base.format(rid, op), body, secret=secret)
                gateway.handle(
                    s.session, settings=s.settings, cipher=s.cipher, incoming=incoming, operation=op, resource_id=rid
                )
