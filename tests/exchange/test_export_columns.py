"""The column-at-a-time renderer (one code path for a query's page and a bulk export's batches) gives,
row for row, what the per-row rules give: every resource kind, masked and plain grants, sole traders,
and rows read as ORM objects or as a batch's plain rows. The CSV helper for columns neutralises exactly
as the per-row one; disclosures filed between batches, and a grant revoked mid-export, keep their rules."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select, update

from zhixian.catalog.models import Resource
from zhixian.exchange import columns, export_run, records, sources, views
from zhixian.exchange.models import Call, Disclosure, ExportJob, Grant
from zhixian.exports import FORMULA_START, csv_columns, csv_lines, safe_cell, safe_column
from zhixian.integration.models import LegalPerson, Person
from zhixian.platform import masking


def _per_row(r: views.Renderer, row: Any) -> dict[str, Any]:
    """The rules applied one row at a time, as the renderer did before it worked by column."""
    source = r.source
    raw = records.raw_values(source, row)
    kinds = records.kinds(source, row, r.static) if source.kind == "legal" else r.static
    out: dict[str, Any] = {}
    for name, how, kind in r._plan(kinds):
        value = raw.get(name)
        if how == views._AS_IS:
            out[name] = views._json(value)
        elif how == views._KIND:
            out[name] = masking.mask_value(kind, value)
        elif how == views._STORED:
            out[name] = records.stored_mask(row, name)
        elif how == views._BIRTH:
            out[name] = masking.mask_value("birth_date", value) or None
        elif how == views._HIDE:
            out[name] = masking.HIDDEN if value not in (None, "") else views._json(value)
        else:
            out[name] = records.decrypted(row, name, r.cipher)
    return out


def _sources(db, cipher) -> list[sources.Source]:
    """A resource with records of each kind: 人口, 法人 and a departmental one."""
    ids = db.execute(
        select(Resource.id).where(Resource.key_field != "", Resource.base_library != "地理").order_by(Resource.id)
    ).scalars()
    found: dict[str, sources.Source] = {}
    for rid in ids:
        source = sources.load(db, rid)
        if source is not None and source.kind not in found and sources.query(db, source, cipher, [], limit=1):
            found[source.kind] = source
    assert set(found) == {"person", "legal", "record"}
    return list(found.values())


@pytest.mark.parametrize("plain", ["none", "all"])
def test_columns_give_what_the_per_row_rules_give_for_every_kind(db, node, plain) -> None:
    for source in _sources(db, node.cipher):
        fields = list(source.items)
        granted = set(fields) if plain == "all" else set()
        r = views.Renderer(source, fields, granted, node.cipher, node.settings)
        orm = sources.query(db, source, node.cipher, [], limit=400)
        assert orm, source.name
        expected = [_per_row(r, row) for row in orm]
        assert r.records(orm) == expected, source.name
        assert [r.render(row) for row in orm[:3]] == expected[:3]
        plain_rows = sources.batch(db, source, node.cipher, [], after_id=0, limit=400, columns=r.columns_read())
        assert r.records(plain_rows) == expected, f"{source.name}：批量读取的行应与逐行渲染一致"
        cols = columns.of(source, plain_rows, ())
        expected_subjects: dict[str, list[str]] = {}
        for kind, subject in (records.subject(source, x, node.cipher) for x in orm):
            expected_subjects.setdefault(kind, []).append(subject)
        assert columns.subjects(source, cols, node.cipher) == expected_subjects


def test_sole_traders_are_masked_as_persons_beside_companies(db, node) -> None:
    legal = next(s for s in _sources(db, node.cipher) if s.kind == "legal")
    usccs = set(db.execute(select(LegalPerson.uscc)).scalars())
    assert any(masking.is_individual_business(u) for u in usccs)
    assert any(not masking.is_individual_business(u) for u in usccs)
    r = views.Renderer(legal, ["uscc", "name", "address", "legal_rep"], set(), node.cipher, node.settings)
    rows = sources.batch(db, legal, node.cipher, [], after_id=0, limit=10_000, columns=r.columns_read())
    out = r.records(rows)
    for row, rec in zip(rows, out, strict=True):
        if masking.is_individual_business(row.uscc) and row.address:
            assert rec["address"] == masking.address(row.address)
        elif not masking.is_individual_business(row.uscc):
            assert rec["address"] == row.address


def test_a_masked_export_never_reads_ciphertexts(db, node) -> None:
    person = next(s for s in _sources(db, node.cipher) if s.kind == "person")
    masked = views.Renderer(person, ["id_number", "name", "phone"], set(), node.cipher, node.settings)
    assert "id_enc" in masked.columns_read()  # the stored mask is read beside it …
    rows = sources.batch(db, person, node.cipher, [], after_id=0, limit=5, columns=masked.columns_read())
    plain = views.Renderer(person, ["id_number"], {"id_number"}, node.cipher, node.settings)
    clear = plain.records(sources.batch(db, person, node.cipher, [], after_id=0, limit=5, columns=plain.columns_read()))
    assert all(len(c["id_number"]) == 18 and "*" not in c["id_number"] for c in clear)
    assert all("*" in m["id_number"] for m in masked.records(rows))


@pytest.mark.parametrize(
    "column",
    [
        [*FORMULA_START, "a", "", None, 3, 2.5, "张三", "＝1", " =1", "'=1"],
        ["=1", "=1", "x", "=1"],
        [["list"], "=x", {"a": 1}],  # unhashable values (a record's JSON) are judged one by one
        [],
    ],
)
def test_a_column_is_neutralised_as_each_cell_is(column) -> None:
    assert safe_column(column) == [safe_cell(v) for v in column]
    rows = [[v, v] for v in column]
    assert csv_columns([list(column), list(column)]) == csv_lines(rows)


def test_disclosures_filed_between_batches_hold_every_exported_person(mzj, node, db, monkeypatch) -> None:
    monkeypatch.setattr(export_run, "DISCLOSE_EVERY", 7)
    resp = mzj.gateway.call("exports", mzj.resource, {"items": ["name"], "format": "jsonl"})
    assert resp.status_code == 202, resp.text
    job = resp.json()["export"]["id"]
    with node.db.transaction() as s:
        claimed = export_run.claim(s, now=export_run.utcnow())
    assert export_run.run(node, job, claimed[0][1], batch=5) == "done"
    call = db.execute(select(ExportJob.call_id).where(ExportJob.id == job)).scalar_one()
    subjects = list(db.execute(select(Disclosure.subject).where(Disclosure.call_id == call)).scalars())
    persons = list(db.execute(select(Person.id_index)).scalars())
    assert sorted(subjects) == sorted(persons), "每条导出的记录恰有一条披露记录"


def test_a_grant_revoked_between_batches_fails_the_job_and_leaves_no_disclosure(mzj, node, db, monkeypatch) -> None:
    monkeypatch.setattr(export_run, "DISCLOSE_EVERY", 3)
    resp = mzj.gateway.call("exports", mzj.resource, {"items": ["name"]})
    job = resp.json()["export"]["id"]
    written = export_run._Writer.write

    def revoke_after_first(self, cols) -> None:
        written(self, cols)
        with node.db.transaction() as s:
            s.execute(update(Grant).where(Grant.id == mzj.grant["id"]).values(status="revoked", status_reason="收回"))

    monkeypatch.setattr(export_run._Writer, "write", revoke_after_first)
    with node.db.transaction() as s:
        claimed = export_run.claim(s, now=export_run.utcnow())
    assert export_run.run(node, job, claimed[0][1], batch=5) == "failed"
    stored = db.get(ExportJob, job)
    assert stored.status == "failed"
    assert "撤销" in stored.error
    call = db.get(Call, stored.call_id)
    assert (call.rows, call.result) == (0, "失败")
    assert db.execute(select(func.count()).where(Disclosure.call_id == call.id)).scalar_one() == 0
    assert not any((node.settings.data_dir / "exports").glob("*.part"))


EDGE_VALUES = [
    None,
    "",
    " ",
    "a",
    "张",
    "张三",
    "  欧阳娜娜 ",
    "张三",
    "110101199001011234",
    "11010119900101123X",
    "1101",
    "13800138000",
    "138",
    "北京市朝阳区建国路1号院3单元",
    "南湖区新兴路12号3幢",
    "某某",
    "=1",
    "１２３",
    date(1990, 1, 2),
    "1990-01-02",
    "19",
    "abcd",
    0,
    False,
    0.0,
    1,
    True,
    1.0,
    12.5,
]


@pytest.mark.parametrize("kind", [*masking.PERSON_KINDS.values(), "uscc", "plain"])
def test_each_distinct_value_is_masked_as_the_rule_masks_it(node, kind) -> None:
    person = sources.Source(
        0, "", "", "person", "id_number", 0, "人口", "", "", "", None, "published", classified=False
    )
    r = views.Renderer(person, ["name"], set(), node.cipher, node.settings)
    expected = [masking.mask_value(kind, v) for v in EDGE_VALUES]
    assert r._masks(kind, EDGE_VALUES) == expected
    assert r._masks(kind, list(reversed(EDGE_VALUES))) == list(reversed(expected))  # from the memo
