"""数据整合's facts on a catalogue resource's page: how many records it holds, their quality, where they
come from, and the files and addresses to fill and read it (see ``catalog.facts``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.catalog.facts import Fact, FactGroup
from zhixian.catalog.models import Resource
from zhixian.clock import LOCAL_TZ
from zhixian.integration.labels import SOURCE_KINDS
from zhixian.integration.models import LegalPerson, Person, QualitySnapshot, Record, Run, Source
from zhixian.integration.service import source_scope
from zhixian.platform.actor import Actor
from zhixian.platform.models import Department

_LIBRARIES = {"人口": Person, "法人": LegalPerson}


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def resource_facts(session: Session, actor: Actor, resource: Resource) -> list[FactGroup]:
    """Records, quality and sources of one resource; links only where the reader may follow them."""
    library = _LIBRARIES.get(resource.base_library)
    if library is not None:
        records = session.execute(select(func.count()).select_from(library)).scalar_one()
        note = f"{resource.base_library}基础库合计（各部门提供、去重合并后）"
    else:
        records = session.execute(select(func.count()).where(Record.resource_id == resource.id)).scalar_one()
        note = ""
    data = [Fact("记录数", f"{records:,} 条", note=note)]
    seen = (
        set(session.execute(select(Source.id).where(Source.resource_id == resource.id, source_scope(actor))).scalars())
        if actor.can("integration.view")
        else set()
    )
    last = session.execute(
        select(Run)
        .where(Run.resource_id == resource.id, Run.status == "succeeded")
        .order_by(Run.finished_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    if last is not None and last.finished_at is not None:
        when = last.finished_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        data.append(
            Fact(
                "最近一次加载",
                when,
                href=f"/integration/runs/{last.id}" if last.source_id in seen else None,
                note=f"读取 {last.read} 行",
            )
        )
    else:
        data.append(Fact("最近一次加载", "尚未加载"))
    snap = (
        session.execute(
            select(QualitySnapshot)
            .where(QualitySnapshot.resource_id == resource.id)
            .order_by(QualitySnapshot.day.desc())
        )
        .scalars()
        .first()
    )
    if snap is not None:
        quality = (
            f"完整性 {_percent(snap.completeness)} · 有效性 {_percent(snap.validity)} · "
            f"及时性 {_percent(snap.timeliness)} · 重复率 {_percent(snap.duplication)}"
        )
        data.append(
            Fact(
                "数据质量",
                quality,
                href="/integration/quality",
                note=f"{snap.day.isoformat()} 统计" + ("，已超期未更新" if snap.overdue else ""),
            )
        )
    else:
        data.append(Fact("数据质量", "尚无统计（加载数据后每日统计）"))

    sources = session.execute(
        select(Source, Department.name)
        .join(Department, Department.id == Source.department_id)
        .where(Source.resource_id == resource.id)
        .order_by(Source.id)
    ).all()
    origin = [
        Fact(
            department,
            source.name,
            href=f"/integration/sources/{source.id}" if source.id in seen else None,
            note=f"{SOURCE_KINDS.get(source.kind, '其他')} · {'定时运行' if source.schedule else '按需运行'}"
            + ("" if source.active else " · 已停用"),
        )
        for source, department in sources
    ]
    downloads = [
        Fact(
            "填报模板（Excel）",
            "按本资源信息项生成的空白工作簿，填好后作为数据源上传",
            href=f"/integration/resources/{resource.id}/template.xlsx",
        ),
        Fact(
            "数据质量趋势（API）",
            f"/api/v1/integration/quality/{resource.id}/trend",
            href=f"/api/v1/integration/quality/{resource.id}/trend",
        ),
    ]
    return [
        FactGroup("数据", data),
        FactGroup(
            "数据来源",
            origin or [Fact("尚无数据源", "部门数据管理员可在“数据整合”中为本资源新建数据源", href="/integration")],
        ),
        FactGroup("数据填报", downloads=downloads),
    ]
