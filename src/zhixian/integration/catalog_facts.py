"""数据整合's facts on a catalogue resource's page: how many records it holds, their quality, where they
come from, and the files and addresses to fill and read it (``Subsystem.catalog_resource_facts``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.catalog.schemas import Fact, FactGroup, ResourceRead
from zhixian.clock import LOCAL_TZ
from zhixian.integration.labels import SOURCE_KINDS
from zhixian.integration.models import LegalPerson, Person, QualitySnapshot, Record, Run, Source
from zhixian.integration.service import source_scope
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor

_LIBRARIES = {"人口": Person, "法人": LegalPerson}


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _records(session: Session, resource: ResourceRead) -> Fact:
    library = _LIBRARIES.get(resource.base_library)
    if library is not None:
        count = session.execute(select(func.count()).select_from(library)).scalar_one()
        return Fact(
            label="记录数", value=f"{count:,} 条", note=f"{resource.base_library}基础库合计（各部门提供、去重合并后）"
        )
    count = session.execute(select(func.count()).where(Record.resource_id == resource.id)).scalar_one()
    return Fact(label="记录数", value=f"{count:,} 条")


def _last_load(session: Session, resource: ResourceRead, seen: set[int]) -> Fact:
    last = session.execute(
        select(Run)
        .where(Run.resource_id == resource.id, Run.status == "succeeded")
        .order_by(Run.finished_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    if last is None or last.finished_at is None:
        return Fact(label="最近一次加载", value="尚未加载")
    return Fact(
        label="最近一次加载",
        value=last.finished_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
        href=f"/integration/runs/{last.id}" if last.source_id in seen else None,  # runs of sources it may see
        note=f"读取 {last.read} 行",
    )


def _quality(session: Session, resource: ResourceRead) -> Fact:
    snap = (
        session.execute(
            select(QualitySnapshot)
            .where(QualitySnapshot.resource_id == resource.id)
            .order_by(QualitySnapshot.day.desc())
        )
        .scalars()
        .first()
    )
    if snap is None:
        return Fact(label="数据质量", value="尚无统计（加载数据后每日统计）")
    return Fact(
        label="数据质量",
        value=(
            f"完整性 {_percent(snap.completeness)} · 有效性 {_percent(snap.validity)} · "
            f"及时性 {_percent(snap.timeliness)} · 重复率 {_percent(snap.duplication)}"
        ),
        href="/integration/quality",
        note=f"{snap.day.isoformat()} 统计" + ("，已超期未更新" if snap.overdue else ""),
    )


def resource_facts(session: Session, actor: Actor, resource: ResourceRead) -> list[FactGroup]:
    """Records, quality and sources of one resource; links only where the reader may follow them."""
    seen = (
        set(session.execute(select(Source.id).where(Source.resource_id == resource.id, source_scope(actor))).scalars())
        if actor.can("integration.view")
        else set()
    )
    departments = {d.id: d.name for d in platform.list_departments(session, include_inactive=True)}
    sources = session.execute(select(Source).where(Source.resource_id == resource.id).order_by(Source.id)).scalars()
    origin = [
        Fact(
            label=departments.get(source.department_id, "—"),
            value=source.name,
            href=f"/integration/sources/{source.id}" if source.id in seen else None,
            note=f"{SOURCE_KINDS.get(source.kind, '其他')} · {'定时运行' if source.schedule else '按需运行'}"
            + ("" if source.active else " · 已停用"),
        )
        for source in sources
    ]
    none_yet = Fact(label="尚无数据源", value="部门数据管理员可在“数据整合”中为本资源新建数据源", href="/integration")
    downloads = [
        Fact(
            label="填报模板（Excel）",
            value="按本资源信息项生成的空白工作簿，填好后作为数据源上传",
            href=f"/integration/resources/{resource.id}/template.xlsx",
        ),
        Fact(
            label="数据质量趋势（API）",
            value=f"/api/v1/integration/quality/{resource.id}/trend",
            href=f"/api/v1/integration/quality/{resource.id}/trend",
        ),
    ]
    return [
        FactGroup(
            title="数据",
            facts=[_records(session, resource), _last_load(session, resource, seen), _quality(session, resource)],
        ),
        FactGroup(title="数据来源", facts=origin or [none_yet]),
        FactGroup(title="数据填报", downloads=downloads),
    ]
