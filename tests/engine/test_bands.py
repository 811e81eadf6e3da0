"""Spec revision 2, point 1: a target band's min is a floor, max the level aimed for; band_position says where."""

from fractions import Fraction
from typing import Any

import pytest

from app.services.indicators import ratios
from app.services.indicators.spec import Target
from tests.api.factories import import_records, org_unit, person
from tests.conftest import Registry, uniq

BAND = Target(band=(0.2, 0.25))


@pytest.mark.parametrize(("value", "status", "position"), [
    (Fraction(1, 10), "not_met", "below"),
    (Fraction(1, 5), "met", "within"),  # "đạt từ 20 - 25%" is reached at 20%
    (Fraction(9, 40), "met", "within"),
    (Fraction(1, 4), "met", "within"),
    (Fraction(3, 10), "met", "above"),  # 30% has reached it too (vượt chỉ tiêu), never "not met"
    (None, "no_data", None),
])
def test_a_band_is_a_floor(value: Fraction | None, status: str, position: str | None) -> None:
    assert (ratios.status(value, BAND), ratios.band_position(value, BAND)) == (status, position)


def test_strict_floors_and_caps() -> None:
    more_than = Target(band=(0.35, None), strict=True)
    assert (ratios.status(Fraction(35, 100), more_than), ratios.band_position(Fraction(35, 100), more_than)) == \
        ("not_met", "below")
    assert ratios.status(Fraction(36, 100), more_than) == "met"
    cap = Target(band=(None, 0.25), direction="at_most")
    assert [(ratios.status(v, cap), ratios.band_position(v, cap)) for v in (Fraction(1, 5), Fraction(1, 4), Fraction(3, 10))] \
        == [("met", "within"), ("met", "within"), ("not_met", "above")]


def _office_leaders(registry: Registry, women: int, men: int) -> str:
    unit = uniq("BAND")
    assert import_records(registry, "org-units", [org_unit(unit, kind="state_agency", tier="province")])["created"] == 1
    post = {"org_unit": unit, "title": "Trưởng phòng", "rank": "office_head", "key_leader": False, "start": "2020-01-01",
            "end": None}
    people = [person(f"{unit}-{i}", unit, gender="female" if i < women else "male", positions=[post])
              for i in range(women + men)]
    assert import_records(registry, "persons", people)["created"] == women + men
    return unit


def _definition(registry: Registry, target: dict[str, Any]) -> str:
    code = f"XX-2030-{uniq('BAND')}"
    spec = {"id": code, "names": {"vi": "Tỷ lệ nữ lãnh đạo cấp phòng", "en": "Women among office leaders"},
            "source": {"doc": "XX", "clause": "II.1"}, "source_kind": "registry", "kind": "ratio",
            "population": {"anchors": [{"subject": "position", "where": {"field": "position.rank", "in": ["office_head"]}}]},
            "share": {"field": "person.gender", "eq": "female"}, "target": target, "deadline": "2030-12-31"}
    r = registry.client.post("/api/v1/indicators", json=spec, headers=registry.headers())
    assert r.status_code == 201, r.text
    return code


@pytest.mark.parametrize(("women", "status", "position"), [(1, "not_met", "below"), (2, "met", "within"),
                                                           (3, "met", "above")])
def test_women_above_the_band_have_met_it(registry: Registry, women: int, status: str, position: str) -> None:
    unit = _office_leaders(registry, women, 10 - women)
    code = _definition(registry, {"band": [0.2, 0.25]})
    value = registry.client.get(f"/api/v1/indicators/{code}/value", params={"org_unit": unit, "as_of": "2024-12-31"},
                                headers=registry.headers()).json()
    assert (value["value"], value["status"], value["band_position"]) == (women / 10, status, position)
    assert value["target"]["direction"] == "at_least"
    every = registry.client.get(f"/api/v1/indicators/{code}/values", params={"as_of": "2024-12-31"},
                                headers=registry.headers()).json()["items"]
    assert [(i["status"], i["band_position"]) for i in every if i["org_unit"] == unit] == [(status, position)]


def test_a_cap_is_met_at_or_below_its_max(registry: Registry) -> None:
    unit = _office_leaders(registry, 3, 7)
    code = _definition(registry, {"band": [None, 0.25], "direction": "at_most"})
    value = registry.client.get(f"/api/v1/indicators/{code}/value", params={"org_unit": unit, "as_of": "2024-12-31"},
                                headers=registry.headers()).json()
    assert (value["status"], value["band_position"], value["target"]["direction"]) == ("not_met", "above", "at_most")
