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
from zhixian.integration.models import Mapping, Record, Run, Source
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
    made = 0
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
        made += 1
        if made % 5 in (2, 3, 0):  # households of three and of two share an address (and village); no extra draws
            address, code = recent[-1][5], recent[-1][6]
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
    _person_lookup_records(session, rng, people)


def _person_lookup_records(session: Session, rng: random.Random, people: list[list[str]]) -> None:
    """Departmental records keyed by ID number for the portal's lookups (住房公积金, 机动车违章), as the owning
    departments' systems would deliver them: most working people have a 公积金 account, a few a traffic fine."""
    codes = ("380001/900001", "380002/900001")
    by_code = {r.code: r for r in session.execute(select(Resource).where(Resource.code.in_(codes))).scalars()}
    gjj, wz = by_code.get("380001/900001"), by_code.get("380002/900001")
    units = ["嘉善示范纺织有限公司", "县人民医院", "嘉善精密机械股份有限公司", "县第一中学", "魏塘街道办事处"]
    places = ["体育南路与解放东路路口", "晋阳东路", "亭桥北路", "S32 申嘉湖高速嘉善段"]
    seen: set[str] = set()
    for n, row in enumerate(people):
        key = row[0].strip().upper()
        if not key or key in seen:  # the demo file repeats a few numbers on purpose (key conflicts)
            continue
        seen.add(key)
        if gjj is not None and rng.random() < 0.7:
            monthly = rng.randrange(300, 4000, 10)
            data = {"id_number": key, "unit": rng.choice(units), "monthly": monthly,
                    "balance": round(monthly * rng.randint(3, 120) * 1.02, 2)}  # fmt: skip
            session.add(Record(resource_id=gjj.id, key=key, data=data, content_hash=f"demo{n}"))
        if wz is not None and rng.random() < 0.15:
            count = rng.randint(1, 3)
            data = {"id_number": key, "plate": f"浙F{rng.randint(10000, 99999)}", "open_count": count,
                    "fines": 200 * count, "last_place": rng.choice(places)}  # fmt: skip
            session.add(Record(resource_id=wz.id, key=key, data=data, content_hash=f"demo{n}"))
    session.flush()
