"""Demo source files with realistic dirt, and the small demo load the seed performs.

Dirt in the generated files, at fixed rates: exact duplicate rows, ID numbers with a wrong check
character, ID numbers typed in full-width digits, four date formats plus Excel serials, missing
names, gender as 1/2/男/女, phone numbers with +86 or spaces, and some with too few digits.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.catalog.models import Resource
from zhixian.demo import names
from zhixian.integration.models import Mapping, Run, Source
from zhixian.platform.models import Department, Division

PEOPLE_COLUMNS = ["身份证号", "姓名", "性别", "出生日期", "联系电话", "住址", "户籍地区划代码"]
LEGAL_COLUMNS = [
    "统一社会信用代码",
    "名称",
    "法定代表人",
    "住所",
    "成立日期",
    "注册资本（万元）",
    "联系电话",
    "所在区划代码",
]
PEOPLE_MAPPING = {
    "id_number": "身份证号",
    "name": "姓名",
    "gender": "性别",
    "birth_date": "出生日期",
    "phone": "联系电话",
    "address": "住址",
    "division_code": "户籍地区划代码",
}
LEGAL_MAPPING = {
    "uscc": "统一社会信用代码",
    "name": "名称",
    "legal_rep": "法定代表人",
    "address": "住所",
    "established": "成立日期",
    "capital": "注册资本（万元）",
    "phone": "联系电话",
    "division_code": "所在区划代码",
}
_FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
_ROADS = ("解放路", "人民大道", "中山路", "健康路", "谈公路", "亭桥路", "施家南路", "罗星街道西路", "枫南路")


def _date_text(rng: random.Random, d: date) -> str:
    style = rng.random()
    if style < 0.55:
        return d.isoformat()
    if style < 0.7:
        return f"{d.year}/{d.month}/{d.day}"
    if style < 0.82:
        return f"{d.year}年{d.month}月{d.day}日"
    if style < 0.94:
        return d.strftime("%Y%m%d")
    return str((d - date(1899, 12, 30)).days)  # an Excel serial pasted as text


def people_rows(rng: random.Random, n: int, villages: list[tuple[str, str]], area_code: str) -> Iterator[list[str]]:
    recent: list[list[str]] = []
    for _ in range(n):
        if recent and rng.random() < 0.02:
            yield list(rng.choice(recent))
            continue
        male = rng.random() < 0.51
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(80 * 365))
        idn = names.id_number(rng, area_code=area_code, birth=birth, male=male)
        r = rng.random()
        if r < 0.008:
            idn = idn[:17] + ("0" if idn[17] != "0" else "1")  # wrong check character
        elif r < 0.018:
            idn = idn.translate(_FULL)  # full-width digits: valid once normalised
        name = names.person_name(rng, male=male) if rng.random() > 0.005 else ""
        gender = rng.choice(("1", "男")) if male else rng.choice(("2", "女"))
        phone = ""
        p = rng.random()
        if p < 0.9:
            phone = names.mobile(rng)
            if p < 0.03:
                phone = "+86 " + phone
            elif p < 0.035:
                phone = phone[:10]  # a digit short
        code, village = rng.choice(villages)
        address = f"{village}{rng.choice(_ROADS)}{rng.randint(1, 300)}号"
        row = [idn, name, gender, _date_text(rng, birth), phone, address, code]
        recent.append(row)
        if len(recent) > 500:
            recent.pop(0)
        yield row


def legal_rows(rng: random.Random, n: int, villages: list[tuple[str, str]], area_code: str) -> Iterator[list[str]]:
    recent: list[list[str]] = []
    for i in range(n):
        if recent and rng.random() < 0.02:
            yield list(rng.choice(recent))
            continue
        code = names.uscc(rng, area_code=area_code, kind=rng.choice(("enterprise", "enterprise", "individual")))
        if rng.random() < 0.01:
            code = code[:17] + ("0" if code[17] != "0" else "1")
        dcode, village = rng.choice(villages)
        established = date(1995, 1, 1) + timedelta(days=rng.randrange(30 * 365))
        row = [
            code,
            f"嘉善{village[:2]}{rng.choice(('五金', '纺织', '电子', '食品', '木业'))}有限公司{i}",
            names.person_name(rng),
            f"{village}{rng.choice(_ROADS)}{rng.randint(1, 500)}号",
            _date_text(rng, established),
            str(rng.choice((50, 100, 500, 1000, 3000))),
            names.mobile(rng) if rng.random() < 0.8 else "",
            dcode,
        ]
        recent.append(row)
        if len(recent) > 200:
            recent.pop(0)
        yield row


def write_file(path: Path, columns: list[str], rows: Iterator[list[str]], *, encoding: str = "utf-8-sig") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".xlsx":
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("数据")
        ws.append(columns)
        for row in rows:
            ws.append(row)
        wb.save(path)
        return path
    with path.open("w", encoding=encoding, newline="", errors="replace") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


def villages_from(node: Any) -> list[tuple[str, str]]:
    with node.db.transaction() as session:
        return villages(session)


def villages(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(select(Division.code, Division.name).where(Division.level == "village")).all()
    return [(c, n) for c, n in rows] or [("330421001001", "示范村")]


def seed(session: Session, ctx: Any) -> None:
    """A small population load from two departments (so the demo shows provenance and conflicts)."""
    if session.execute(select(Source.id).limit(1)).first():
        return
    from zhixian.integration import pipeline

    person = session.execute(select(Resource).where(Resource.base_library == "人口")).scalar_one_or_none()
    legal = session.execute(select(Resource).where(Resource.base_library == "法人")).scalar_one_or_none()
    if person is None or legal is None:
        return
    depts = {d.code: d for d in session.execute(select(Department)).scalars()}
    rng = ctx.rng("integration")
    vill = villages(session)
    area = ctx.settings.county_code
    folder = ctx.settings.data_dir / "integration" / "demo"
    people = list(people_rows(rng, 400, vill, area))
    civil = [list(r) for r in people[:60]]
    for r in civil[:8]:
        r[4] = names.mobile(rng)  # 民政 holds a different phone for a few people: conflicts for 公安 to settle
    plans = [
        ("公安人口数据（演示）", "gaj", person, PEOPLE_COLUMNS, PEOPLE_MAPPING, people, "people_gaj.csv"),
        ("民政救助对象（演示）", "mzj", person, PEOPLE_COLUMNS, PEOPLE_MAPPING, civil, "people_mzj.csv"),
        (
            "市场主体登记（演示）",
            "scj",
            legal,
            LEGAL_COLUMNS,
            LEGAL_MAPPING,
            list(legal_rows(rng, 150, vill, area)),
            "legal_scj.csv",
        ),
    ]
    for title, dept_code, resource, columns, mapping, rows, filename in plans:
        dept = depts.get(dept_code)
        if dept is None:
            continue
        path = write_file(folder / filename, columns, iter(rows))
        source = Source(
            name=title,
            kind="csv",
            department_id=dept.id,
            resource_id=resource.id,
            file_path=path.relative_to(ctx.settings.data_dir).as_posix(),
            file_name=filename,
            file_sha256="demo",
            mapping_version=1,
            created_by="demo",
            config={"columns": columns, "rows": len(rows), "encoding": "utf-8-sig", "delimiter": ","},
            schedule="0 2 * * *",
        )
        session.add(source)
        session.flush()
        session.add(Mapping(source_id=source.id, version=1, columns=mapping, created_by="demo"))
        run = Run(
            source_id=source.id,
            resource_id=resource.id,
            mapping_version=1,
            operator="demo",
            department_id=dept.id,
            status="running",
            lineage={"source": title, "mapping_version": 1},
        )
        session.add(run)
        session.flush()
        plan = pipeline.Plan(
            source_id=source.id,
            resource_id=resource.id,
            base_library=resource.base_library,
            key_field=resource.key_field,
            department_id=dept.id,
            owner_department_id=resource.department_id,
            mapping=mapping,
            checker=pipeline.make_checker(session, resource, mapping, area),
            incremental="hash",
            watermark_column="",
            watermark_value="",
        )
        numbered = list(enumerate(rows, start=2))
        counts = pipeline.process_batch(
            session,
            plan,
            run.id,
            [(n, dict(zip(columns, r, strict=True))) for n, r in numbered],
            ctx.cipher,
            None,
            "demo",
        )
        run.read, run.loaded, run.updated, run.unchanged = len(rows), counts.loaded, counts.updated, counts.unchanged
        run.duplicates, run.conflicts, run.quarantined = counts.duplicates, counts.conflicts, counts.quarantined
        run.key_conflicts = counts.key_conflicts
        run.checkpoint, run.batches, run.status = len(rows), 1, "succeeded"
        from zhixian.clock import utcnow

        run.finished_at = utcnow()
        session.flush()
        from zhixian.integration import quality

        quality.snapshot(session, resource_id=resource.id)
