"""The demo county's licences fit their holders: no child holds a 结婚证 or a 不动产权证书, and none was issued
before its holder reached the age to hold it (the seed once gave a seven-year-old a marriage certificate)."""

from __future__ import annotations

from sqlalchemy import select

from zhixian.integration.models import Person
from zhixian.services.models import Licence

FROM_AGE = {"jhz": (20, 22), "bdc": (18, 18)}  # (female, male)


def _years(born, on) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_marriage_and_property_licences_are_held_only_by_adults(db) -> None:
    rows = db.execute(
        select(Licence.type_code, Licence.issued_on, Person.birth_date, Person.gender)
        .join(Person, Person.id_index == Licence.holder_index)
        .where(Licence.type_code.in_(FROM_AGE))
    ).all()
    assert {r.type_code for r in rows} == set(FROM_AGE)  # the demo still holds both kinds
    for code, issued, born, gender in rows:
        least = FROM_AGE[code][gender == "男"]
        assert _years(born, issued) >= least, (code, issued, born, gender)
