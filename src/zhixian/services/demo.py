"""Demo seed of 一网通办: a few hundred matters, licences for people and companies in the base databases, and
applications in every state — taken through the real services, with the clock moved back to when each step
"happened", so limits, lights, audit records and exchange calls are what the code would have produced."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import ric

from zhixian import clock
from zhixian.catalog import service as catalog_service
from zhixian.exchange import service as exchange_service
from zhixian.platform import service as platform_service
from zhixian.platform.actor import Actor, system_actor
from zhixian.services.applications import materials
from zhixian.services.applications import service as applications
from zhixian.services.demo_data import COUNTY, TOWNSHIP, VILLAGE, Material
from zhixian.services.licences import service as licences
from zhixian.services.matters import service as matters
from zhixian.services.models import Matter, ServiceApplication
from zhixian.services.ratings import service as ratings
from zhixian.services.schemas import ApplicationIn, DecisionIn, LicenceIn, MatterIn, RatingIn
from zhixian.settings import Settings

PERSON_CODE, LEGAL_CODE = "101001/000001", "102001/000001"
_KIND_CODE = {"行政许可": "XK", "行政给付": "JF", "行政确认": "QR", "公共服务": "GG"}


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    real, started = clock.utcnow(), time.monotonic()
    clock.pin(moment)
    try:
        yield
    finally:
        clock.pin(real + timedelta(seconds=time.monotonic() - started))


def _materials(spec: tuple[Material, ...], resources: dict[str, int | None]) -> list[dict[str, Any]]:
    out = []
    for name, how, detail in spec:
        m: dict[str, Any] = {"name": name, "required": True}
        if how == "U":
            m["source"] = "upload"
        elif how == "L":
            m.update(source="licence", licence_type=detail)
        else:
            resource = resources["E" if how == "SE" else "P"]
            if resource is None:
                m["source"] = "upload"
            else:
                m.update(source="shared", resource_id=resource, items=detail.split("、"), household=how == "H")
        out.append(m)
    return out


def _matter(
    code: str,
    dept: str,
    name: str,
    kind: str,
    level: str,
    numbers: tuple[int, int],
    texts: tuple[str, str, str, str],
    spec: tuple[Material, ...],
    resources: dict[str, int | None],
) -> MatterIn:
    (stat, prom), (depth, fee, basis, cond) = numbers, texts
    channels = ["窗口", "网上"] if depth in ("全程网办", "最多跑一次", "即办件") else ["窗口"]
    if level != "县":
        channels = ["就近办", "窗口"]
    faqs = [
        {"q": "可以委托他人代办吗？", "a": "可以，代办人须持本人身份证件和申请人签署的授权委托书。"},
        {"q": "已有电子证照的材料还要带复印件吗？", "a": "不需要。窗口可直接调用电子证照，无需提交复印件。"},
    ]
    return MatterIn.model_validate(
        {
            "code": code,
            "name": name,
            "department_code": dept,
            "kind": kind,
            "level": level,
            "legal_basis": basis,
            "conditions": cond,
            "statutory_days": max(stat, prom),
            "promised_days": prom,
            "fee": fee,
            "channels": channels,
            "online_depth": depth,
            "faqs": faqs,
            "materials": _materials(spec, resources),
        }
    )


def seed_matters(session: Session, settings: Settings) -> int:
    person, legal = (
        catalog_service.resource_by_code(session, PERSON_CODE),
        catalog_service.resource_by_code(session, LEGAL_CODE),
    )
    resources = {"P": person.id if person else None, "E": legal.id if legal else None}
    depts = matters.Departments(session)
    area = settings.county_code
    rows: list[MatterIn] = []
    for i, (dept, name, kind, stat, prom, depth, fee, basis, cond, spec) in enumerate(COUNTY, start=1):
        if dept not in depts.by_code:
            continue
        code = f"{area}{_KIND_CODE.get(kind, 'QT')}{i:05d}001"
        rows.append(_matter(code, dept, name, kind, "县", (stat, prom), (depth, fee, basis, cond), spec, resources))
    towns = sorted(c for c, d in depts.by_code.items() if d.kind == "乡镇街道")
    for t, town in enumerate(towns, start=1):
        for i, (name, kind, stat, prom, depth, spec) in enumerate(TOWNSHIP, start=1):
            code = f"{area}{_KIND_CODE.get(kind, 'QT')}{500 + i:05d}{t:03d}"
            rows.append(
                _matter(code, town, name, kind, "乡镇", (stat, prom), (depth, "不收费", "", ""), spec, resources)
            )
        for i, (name, kind, stat, prom, depth, spec) in enumerate(VILLAGE, start=1):
            code = f"{area}{_KIND_CODE.get(kind, 'QT')}{800 + i:05d}{t:03d}"
            rows.append(_matter(code, town, name, kind, "村", (stat, prom), (depth, "不收费", "", ""), spec, resources))
    for data in rows:
        matters.apply(session, data, depts, "demo")
    return len(rows)


MARRIAGE_AGE = {0: 20, 1: 22}  # 民法典 第一千零四十七条, by the ID number's sex digit (odd: male)


def _birthday(born: date, years: int) -> date:
    return born.replace(year=born.year + years, day=28 if (born.month, born.day) == (2, 29) else born.day)


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def seed_licences(session: Session, ctx: Any, people: list[tuple[str, str]], usccs: list[str]) -> None:
    """ID card and 户口簿 for everyone; 结婚证 and 不动产权证书 only for those old enough, issued after that age."""
    issuer = system_actor(frozenset({licences.MANAGE, "platform.scope.county"}))
    rng = ctx.rng("services.licences")
    today = clock.local_today()
    county = ctx.settings.county_name
    for n, (idn, name) in enumerate(people):
        born = ric.get_birth_date(idn)
        from_age = {"jhz": MARRIAGE_AGE[int(idn[16]) % 2], "bdc": 18}
        plan = [("sfz", "公安局"), ("hkb", "公安局")]
        if rng.random() < 0.5 and _age(born, today) >= from_age["jhz"]:
            plan.append(("jhz", "民政局"))
        if rng.random() < 0.3 and _age(born, today) >= from_age["bdc"]:
            plan.append(("bdc", "不动产登记中心"))
        if rng.random() < 0.1:
            plan.append(("cjz", "残疾人联合会"))
        for code, by in plan:
            issued = today - timedelta(days=rng.randint(30, 3000))
            if code in from_age:  # never before the holder could hold it
                issued = max(issued, _birthday(born, from_age[code]))
            until = (
                None if code in ("hkb", "jhz", "bdc") else issued + timedelta(days=365 * (20 if code == "sfz" else 5))
            )
            if n % 37 == 5 and code == "sfz":
                until = today - timedelta(days=10)  # a lapsed ID card: citing it is refused
            data = LicenceIn(
                type_code=code,
                number=f"{code.upper()}{ctx.settings.county_code}{n:06d}",
                holder_key=idn,
                holder_name=name or "—",
                issuer=f"{county}{by}",
                issued_on=issued,
                valid_until=until,
            )
            licences.load_licence(session, actor=issuer, cipher=ctx.cipher, data=data)
    for n, code in enumerate(usccs):
        issued = today - timedelta(days=rng.randint(30, 3000))
        data = LicenceIn(type_code="yyzz", number=f"YYZZ{code}", holder_key=code, holder_name=f"市场主体{n + 1}",
                         issuer=f"{county}市场监督管理局", issued_on=issued)  # fmt: skip
        licences.load_licence(session, actor=issuer, cipher=ctx.cipher, data=data)


def _working_days_ago(session: Session, settings: Settings, days: int, hour: int = 10) -> datetime:
    """A moment ``days`` working days before now (so limits run out as the demo needs)."""
    day = clock.local_today()
    cal = platform_service.working_calendar(session, settings=settings)
    while days > 0:
        day -= timedelta(days=1)
        if cal.is_workday(day):
            days -= 1
    return datetime.combine(day, datetime.min.time().replace(hour=hour), tzinfo=clock.LOCAL_TZ)


def _intake(session: Session, window: Actor, ctx: Any, app: ServiceApplication, goal: str) -> None:
    settings, cipher = ctx.settings, ctx.cipher
    materials.prefill(session, actor=window, settings=settings, cipher=cipher, application_id=app.id)
    if goal == "correction":
        applications.request_correction(session, actor=window, application_id=app.id, notes=["申请表未签字"])
    elif goal == "rejected":
        reason = "申请人户籍不在本县，不属于本机关受理范围"
        applications.reject(session, actor=window, application_id=app.id, reason=reason)
    elif goal != "received":
        for m in app.materials:
            if m.state == "missing":
                materials.receive_upload(
                    session,
                    actor=window,
                    settings=settings,
                    application_id=app.id,
                    material_row_id=m.id,
                    file_name=f"{m.name}.pdf",
                    content=b"%PDF-1.4 demo scan",
                )
        applications.accept(session, actor=window, settings=settings, application_id=app.id)


def _approve(session: Session, approver: Actor, app: ServiceApplication, step: str, decision: str) -> None:
    if step == "review":
        applications.review(session, actor=approver, application_id=app.id, note="材料齐全，符合条件")
    elif step == "decide":
        data = DecisionIn.model_validate({"decision": decision, "note": "经审查，符合规定"})
        applications.decide(session, actor=approver, application_id=app.id, data=data)
    else:
        applications.finish(session, actor=approver, application_id=app.id)


def seed_applications(session: Session, ctx: Any, people: list[tuple[str, str]]) -> None:
    window, approver = (
        platform_service.actor_named(session, "window01"),
        platform_service.actor_named(session, "mzj_approver"),
    )
    if window is None or approver is None or not people:
        return
    settings, cipher = ctx.settings, ctx.cipher
    dept = matters.Departments(session).by_code.get("mzj")
    picks = list(
        session.execute(
            select(Matter).where(Matter.department_id == (dept.id if dept else 0), Matter.level == "县")
        ).scalars()
    )
    if not picks:
        return
    rng = ctx.rng("services.applications")
    # (working days ago received, how far it got, rating)
    plan = [(22, "done", 1), (12, "done", 5), (11, "done", 4), (10, "done", 5), (9, "done", 2), (8, "done", 5),
            (7, "done", None), (8, "decided", None), (7, "reviewed", None), (6, "accepted", None),
            (5, "accepted", None), (14, "accepted", None), (3, "accepted", None), (2, "correction", None),
            (1, "rejected", 3), (0, "received", None), (0, "received", None)]  # fmt: skip
    for n, (ago, goal, grade) in enumerate(plan):
        matter = picks[n % len(picks)]
        idn, name = people[(n * 7) % len(people)]
        with at(_working_days_ago(session, settings, ago, 9)):
            data = ApplicationIn(matter_id=matter.id, applicant_key=idn, applicant_name=name or "申请人", consent=True)
            app = applications.create(session, actor=window, settings=settings, cipher=cipher, data=data)
            _intake(session, window, ctx, app, goal)
        steps = ["review", "decide", "finish"][: {"reviewed": 1, "decided": 2, "done": 3}.get(goal, 0)]
        for k, step in enumerate(steps):
            with at(_working_days_ago(session, settings, max(ago - 1 - k * 2, 0), 15)):
                _approve(session, approver, app, step, "approve" if rng.random() < 0.9 else "deny")
        if grade is not None:
            with at(_working_days_ago(session, settings, max(ago - 6, 0), 16)):
                reasons = ["办事效率高", "服务态度好"] if grade >= 4 else ["多次跑腿", "等待时间过长"]
                rating = RatingIn(grade=grade, reasons=reasons)
                ratings.rate(session, actor=window, settings=settings, application_id=app.id, data=rating)
    ratings.escalate(session, now=clock.utcnow())


def seed(session: Session, ctx: Any) -> None:
    if session.execute(select(Matter.id).limit(1)).first():
        return
    licences.seed_types(session)
    n = seed_matters(session, ctx.settings)
    people, usccs = exchange_service.sample_keys(session, ctx.cipher, 160)
    people = [(p, name) for p, name in people if licences_ok(p)]
    seed_licences(session, ctx, people[:150], usccs[:60])
    seed_applications(session, ctx, people)
    ctx.notes.append(f"一网通办：{n} 个政务服务事项，示例办件和评价")


def licences_ok(idn: str) -> bool:
    try:
        licences.holder_key("person", idn, "holder_key")
    except Exception:  # the demo population holds a few invalid numbers on purpose  # noqa: BLE001 - any failure is recorded and the loop goes on
        return False
    return True
