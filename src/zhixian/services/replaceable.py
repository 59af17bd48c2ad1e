"""Materials people still upload that shared data could replace (不再索要政府已有的材料, 国发〔2016〕51号).

For each material the catalogue says is satisfied by upload, the data authority sees how many matters ask
for it and how many applications received it as an upload (each number opens those records), which published,
shareable catalogue resources could replace it, and which handling departments still lack a grant on them.

Match rule, in order:
1. 清单标注: the material already names a catalogue resource (a matter import suggested one) but is still
   satisfied by upload;
2. 名称匹配: a published, shareable, non-classified resource whose name contains the material's name with its
   generic ending dropped (证明, 材料, 信息, 报告 …, keeping at least three characters), e.g. 银行账户信息 →
   "银行账户"; the name alone is the evidence, so the department checks the items before asking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.catalog import service as catalog_service
from zhixian.errors import DomainError
from zhixian.exchange import service as exchange_service
from zhixian.platform.actor import Actor
from zhixian.services.kpis import MaterialFilter, list_materials
from zhixian.services.matters import service as matters
from zhixian.services.models import Matter, MatterMaterial

REPORT = "services.report"
_ENDINGS = ("证明材料", "申报材料", "复印件", "证明", "材料", "信息", "报告", "文件", "资料")
_UNSHAREABLE = "不予共享"


def core_term(name: str) -> str:
    """The material's name without its generic ending (and 申请人/本人), as long as three characters remain."""
    term = name.strip().removeprefix("申请人").removeprefix("本人")
    for ending in _ENDINGS:
        if term.endswith(ending) and len(term) - len(ending) >= 3:
            return term.removesuffix(ending)
    return term


@dataclass(frozen=True)
class Need:
    department_id: int
    department_name: str
    granted: bool


@dataclass(frozen=True)
class Candidate:
    resource_id: int
    code: str
    name: str
    provider: str
    rule: str  # 清单标注 名称匹配
    needs: list[Need] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    name: str
    matters: int
    matters_href: str
    uploads: int
    uploads_href: str
    candidates: list[Candidate]


def _candidates(session: Session, actor: Actor, name: str, suggested: set[int]) -> list[tuple[int, str]]:
    """(resource id, rule) for the material's name: resources the catalogue import named, then name matches."""
    found: dict[int, str] = dict.fromkeys(suggested, "清单标注")
    term = core_term(name)
    if len(term) >= 2:
        flt = catalog_service.ResourceFilter(q=term, status="published")
        rows, _ = catalog_service.list_resources(session, actor=actor, flt=flt, limit=20, like=True)
        for r in rows:
            if term in r.name and r.share_type != _UNSHAREABLE and not r.classified:
                found.setdefault(r.id, "名称匹配")
    return sorted(found.items())


def report(session: Session, *, actor: Actor) -> list[Row]:
    """Every uploaded material name in the catalogue with its counts and the resources that could replace it."""
    actor.require(REPORT)
    uploads = session.execute(
        select(MatterMaterial.name, MatterMaterial.resource_id, Matter.department_id)
        .join(Matter, Matter.id == MatterMaterial.matter_id)
        .where(Matter.status == "active", MatterMaterial.source == "upload")
    ).all()
    by_name: dict[str, tuple[set[int], set[int]]] = {}
    for name, resource_id, department_id in uploads:
        suggested, departments = by_name.setdefault(name, (set(), set()))
        if resource_id:
            suggested.add(int(resource_id))
        departments.add(int(department_id))
    depts = matters.Departments(session)
    providers = catalog_service.department_names(session)
    out: list[Row] = []
    for name, (suggested, departments) in by_name.items():
        mflt = matters.MatterFilter(material=name, source="upload")
        _, n_matters = matters.list_matters(session, actor=actor, flt=mflt, limit=0)
        uflt = MaterialFilter(state="uploaded", name=name)
        _, n_uploads = list_materials(session, actor=actor, flt=uflt, limit=0)
        candidates = []
        for resource_id, rule in _candidates(session, actor, name, suggested):
            try:
                resource = catalog_service.get_resource(session, actor=actor, resource_id=resource_id)
            except DomainError:  # a suggestion naming a resource since removed
                continue
            needs = [
                Need(
                    d,
                    depts.name(d),
                    exchange_service.department_grant(session, department_id=d, resource_id=resource_id) is not None,
                )
                for d in sorted(departments)
            ]
            candidates.append(
                Candidate(
                    resource.id, resource.code, resource.name, providers.get(resource.department_id, ""), rule, needs
                )
            )
        out.append(
            Row(
                name,
                n_matters,
                "/services/matters?" + mflt.query_string(),
                n_uploads,
                "/services/kpis/materials?" + uflt.query_string(),
                candidates,
            )
        )
    return sorted(out, key=lambda r: (not r.candidates, -r.uploads, -r.matters, r.name))
