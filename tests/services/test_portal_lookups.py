"""A published lookup (住房公积金) on the portal: refused until the person consents, then read through the
exchange under the portal department's grant — one audited call that shows in "who used my data"."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.services.helpers import licensed_person
from tests.services.portal_helpers import HTML, citizen
from zhixian import clock
from zhixian.catalog.models import DataItem, Resource
from zhixian.exchange.models import Call, Grant
from zhixian.integration.models import Record
from zhixian.platform.models import AuditRecord, Department


def _gjj_resource(db, key: str) -> Resource:
    """The 公积金 account resource of 住建局 with one record for ``key``, and a lookup grant to the portal's
    department (大数据发展管理中心) — as the county would publish and grant it."""
    depts = {d.code: d for d in db.execute(select(Department)).scalars()}
    res = Resource(
        code="108001/000001", category="108001", name="住房公积金缴存信息", kind="部门",
        department_id=depts["zjj"].id, share_type="有条件共享", grade="一般", sensitivity=2,
        key_field="id_number", status="published",
    )  # fmt: skip
    items = [("id_number", "公民身份号码", "身份证号", "身份证号"), ("unit", "缴存单位", "", ""),
             ("monthly", "月缴存额", "", ""), ("balance", "账户余额", "", "")]  # fmt: skip
    res.items = [
        DataItem(seq=i, name=n, field_name=f, rule=r, masking=m) for i, (f, n, r, m) in enumerate(items, start=1)
    ]
    db.add(res)
    db.flush()
    db.add(Record(resource_id=res.id, key=key, data={"id_number": key, "unit": "嘉善示例公司", "monthly": "1280",
                                                       "balance": "35620.50"}, content_hash="t"))  # fmt: skip
    today = clock.local_today()
    db.add(
        Grant(
            resource_id=res.id, resource_code=res.code, resource_name=res.name, provider_department_id=res.department_id,
            consumer_department_id=depts["sjb"].id, items=["unit", "monthly", "balance"], operations=["lookup"],
            purpose="一网通享：本人查询公积金", valid_from=today - timedelta(days=1), valid_until=today + timedelta(days=365),
        )
    )  # fmt: skip
    db.flush()
    return res


def test_a_lookup_needs_consent_then_is_an_audited_exchange_call_seen_in_who_used_my_data(server, node, db):
    key, name, _ = licensed_person(db, node.cipher)
    res = _gjj_resource(db, key)
    person = citizen(server, node, name, key)
    calls = db.execute(select(func.count()).select_from(Call).where(Call.resource_id == res.id)).scalar_one()
    before = person.get("/portal/me/lookups/gjj", headers=HTML)
    assert before.status_code == 200
    assert "需要你同意" in before.text
    assert "35620.50" not in before.text
    assert db.execute(select(func.count()).select_from(Call).where(Call.resource_id == res.id)).scalar_one() == calls

    person.post("/portal/me/consents", data={"scope": "lookup:gjj", "do": "give"}, headers=HTML)
    page = person.get("/portal/me/lookups/gjj", headers=HTML)
    assert page.status_code == 200
    assert "35620.50" in page.text
    assert "嘉善示例公司" in page.text
    call = db.execute(select(Call).where(Call.resource_id == res.id).order_by(Call.id.desc()).limit(1)).scalar_one()
    assert call.result == "成功"
    audit_row = db.execute(
        select(AuditRecord)
        .where(AuditRecord.action == "exchange.department_read")
        .order_by(AuditRecord.id.desc())
        .limit(1)
    ).scalar_one()
    assert audit_row.username.startswith("citizen:")
    usage = person.get("/portal/me/usage", headers=HTML).text
    assert "本人查询住房公积金" in usage
    assert "住房公积金缴存信息" in usage
    assert person.get("/portal/me/lookups/nosuch", headers=HTML).status_code == 422
    person.close()
