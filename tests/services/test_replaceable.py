"""The data authority's report of uploaded materials shared data could replace: a published, shareable resource
whose name carries the material's name is offered (an unshareable one is not), a resource the catalogue
import already named is offered too, the departments lacking a grant are named with a link to ask for one,
and every number opens the matters or the application materials it counts."""

from __future__ import annotations

from sqlalchemy import select

from tests.figures import mismatches
from tests.services.helpers import actor, person_resource
from zhixian.catalog.models import Resource
from zhixian.platform.models import Department
from zhixian.services import replaceable
from zhixian.services.matters import service as matters
from zhixian.services.schemas import MatterIn

HTML = {"Accept": "text/html"}


def _resource(db, name: str, share_type: str = "无条件共享") -> Resource:
    rsj = db.execute(select(Department).where(Department.code == "rsj")).scalar_one()
    row = Resource(
        code=f"399001/{abs(hash(name)) % 999999:06d}",
        category="399001",
        name=name,
        kind="部门",
        department_id=rsj.id,
        share_type=share_type,
        grade="一般",
        status="published",
        linked_codes=[],
        key_field="record_no",
    )
    db.add(row)
    db.flush()
    return row


def test_core_term_drops_generic_endings_but_keeps_three_characters():
    assert replaceable.core_term("银行账户信息") == "银行账户"
    assert replaceable.core_term("申请人身份证明") == "身份证明"  # "身份" alone would match too much
    assert replaceable.core_term("经营场所使用证明") == "经营场所使用"


def test_a_shareable_resource_named_like_an_uploaded_material_is_offered_with_the_grants_to_ask_for(db):
    shareable = _resource(db, "社保银行账户信息")
    closed = _resource(db, "银行账户核验结果", share_type="不予共享")
    rows = {r.name: r for r in replaceable.report(db, actor=actor(db, "datahub"))}
    bank = rows["银行账户信息"]
    offered = {c.resource_id: c for c in bank.candidates}
    assert shareable.id in offered
    assert closed.id not in offered
    assert offered[shareable.id].rule == "名称匹配"
    needs = {n.department_name for n in offered[shareable.id].needs}
    assert {"民政局", "人社局"} <= needs or len(needs) >= 2
    assert not any(n.granted for n in offered[shareable.id].needs)
    assert bank.matters >= 3
    assert rows["平面布局图"].candidates == []


def test_a_resource_the_catalogue_named_for_an_uploaded_material_is_offered(db):
    data = MatterIn.model_validate(
        {
            "code": "330421TEST0000901",
            "name": "测试户籍证明开具",
            "department_code": "mzj",
            "kind": "公共服务",
            "level": "县",
            "statutory_days": 5,
            "promised_days": 1,
            "materials": [{"name": "户籍情况说明", "source": "upload", "resource_id": person_resource(db)}],
        }
    )
    matters.apply(db, data, matters.Departments(db), "test")
    rows = {r.name: r for r in replaceable.report(db, actor=actor(db, "datahub"))}
    (candidate,) = rows["户籍情况说明"].candidates
    assert candidate.resource_id == person_resource(db)
    assert candidate.rule == "清单标注"
    assert all(n.granted for n in candidate.needs)  # the demo gives 民政局 a grant on the population base


def test_only_the_data_authority_opens_the_report(as_user):
    assert as_user("mzj_head").get("/services/replaceable", headers=HTML).status_code == 403
    assert as_user("datahub").get("/services/replaceable", headers=HTML).status_code == 200


def test_every_number_on_the_report_opens_exactly_its_records(db, as_user):
    _resource(db, "社保银行账户信息")
    db.flush()
    client = as_user("datahub")

    def fetch(url: str) -> tuple[int, str]:
        resp = client.get(url, headers=HTML)
        return resp.status_code, resp.text

    status, html = fetch("/services/replaceable")
    assert status == 200
    assert "/exchange/requests/new?resource_id=" in html
    checked, problems = mismatches("/services/replaceable", html, fetch)
    assert checked > 20
    assert problems == []
