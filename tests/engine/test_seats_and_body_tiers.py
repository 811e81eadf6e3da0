"""Spec revision 2, points 3 and 4: seats need no employment; the tier of a body is its own.

3. People's Council delegates who are farmers or entrepreneurs, party committee members from the police
   and the army are persons with a membership and no employment: membership-based populations count them.
   Positions still lie within an employment.
4. "Huyện và tương đương": a party_executive_committee of tier district counts as district tier wherever it
   sits, also directly under a province (the committee of the province's agencies, say).
"""

from typing import Any

from tests.api.factories import import_records, org_unit, person
from tests.conftest import Registry, uniq

DAY = "2024-12-31"


def _seat(body: str, **kw: Any) -> dict[str, Any]:
    return {"body": body, "role": "member", "start": "2021-05-01", "end": None} | kw


def _post(unit: str, rank: str = "department_head") -> dict[str, Any]:
    return {"org_unit": unit, "title": "Giám đốc", "rank": rank, "key_leader": False, "start": "2020-01-01", "end": None}


def _province(registry: Registry, *extra: dict[str, Any]) -> str:
    """A province of its own (a root), with a state agency, and `extra` units (parent code prefixed)."""
    p = uniq("SEAT")
    units = [org_unit(p, kind="area", tier="province"),
             org_unit(f"{p}-S", parent=p, kind="state_agency", tier="province")]
    units += [org_unit(f"{p}-{u['code']}", **({k: v for k, v in u.items() if k != "code"} | {"parent": p})) for u in extra]
    assert import_records(registry, "org-units", units)["created"] == len(units)
    return p


def _unemployed(pid: str, **kw: Any) -> dict[str, Any]:
    """A person with no employment at all (a farmer, an entrepreneur, an officer of the police or the army)."""
    return person(pid, "", employments=[], **kw)


def _persons(registry: Registry, people: list[dict[str, Any]]) -> None:
    res = import_records(registry, "persons", people)
    assert res["created"] == len(people), res


def _value(registry: Registry, code: str, unit: str) -> dict[str, Any]:
    r = registry.client.get(f"/api/v1/indicators/{code}/value", params={"org_unit": unit, "as_of": DAY},
                            headers=registry.headers())
    assert r.status_code == 200, r.text
    return dict(r.json())


def _values(registry: Registry, code: str, unit: str) -> tuple[int, int]:
    r = registry.client.get(f"/api/v1/indicators/{code}/values", params={"as_of": DAY, "under": unit},
                            headers=registry.headers())
    assert r.status_code == 200, r.text
    item = next(i for i in r.json()["items"] if i["org_unit"] == unit)
    return item["numerator"], item["denominator"]


def _counted(registry: Registry, code: str, unit: str) -> dict[str, bool]:
    r = registry.client.get(f"/api/v1/indicators/{code}/persons", params={"org_unit": unit, "as_of": DAY},
                            headers=registry.headers())
    assert r.status_code == 200, r.text
    return {i["external_id"]: i["in_numerator"] for i in r.json()["persons"]}


def test_a_delegate_without_an_employment_is_counted(registry: Registry) -> None:
    p = _province(registry, {"code": "HDND", "kind": "peoples_council", "tier": "province"})
    farmer = _unemployed(f"{p}-farmer", gender="female", memberships=[_seat(f"{p}-HDND", role="delegate")])
    trader = _unemployed(f"{p}-trader", gender="male", memberships=[_seat(f"{p}-HDND", role="delegate")])
    clerk = person(f"{p}-clerk", f"{p}-S", gender="male", memberships=[_seat(f"{p}-HDND", role="delegate")])
    _persons(registry, [farmer, trader, clerk])
    value = _value(registry, "CT-2030-WOMEN-PEOPLES-COUNCIL", p)
    assert (value["numerator"], value["denominator"]) == (1, 3)
    assert _values(registry, "CT-2030-WOMEN-PEOPLES-COUNCIL", p) == (1, 3)
    assert _counted(registry, "CT-2030-WOMEN-PEOPLES-COUNCIL", p) == {
        f"{p}-farmer": True, f"{p}-trader": False, f"{p}-clerk": False}


def test_a_position_still_needs_an_employment(registry: Registry) -> None:
    p = _province(registry, {"code": "BCH", "kind": "party_executive_committee", "tier": "province", "sector": "party"})
    # an army officer: a seat in the committee and a post recorded in the agency, but no employment
    officer = _unemployed(f"{p}-officer", gender="male", birth_date="1990-03-01", memberships=[_seat(f"{p}-BCH")],
                          positions=[_post(f"{p}-S")])
    director = person(f"{p}-director", f"{p}-S", birth_date="1990-03-01", positions=[_post(f"{p}-S")])
    _persons(registry, [officer, director])
    leaders = _value(registry, "CT-2030-CITY-LEADERS-U40", p)
    assert (leaders["numerator"], leaders["denominator"]) == (1, 1)
    assert _counted(registry, "CT-2030-CITY-LEADERS-U40", p) == {f"{p}-director": True}
    # the officer's seat counts all the same
    committee = _value(registry, "CT-2030-WOMEN-PARTY-COMMITTEE", p)
    assert (committee["numerator"], committee["denominator"]) == (0, 1)


def test_a_district_tier_committee_under_a_province_is_district_tier(registry: Registry) -> None:
    p = _province(registry, {"code": "DUK", "kind": "party_executive_committee", "tier": "district", "sector": "party"},
                  {"code": "BCH", "kind": "party_executive_committee", "tier": "province", "sector": "party"})
    master = [{"level": "master", "field": "Luật", "institution": "Học viện Chính trị", "country": "VN",
               "awarded_on": "2015-06-30"}]
    people = [
        person(f"{p}-a", f"{p}-S", degrees=master, memberships=[_seat(f"{p}-DUK")]),
        person(f"{p}-b", f"{p}-S", memberships=[_seat(f"{p}-DUK")]),
        _unemployed(f"{p}-c", degrees=master, memberships=[_seat(f"{p}-DUK")]),  # from the police
        person(f"{p}-d", f"{p}-S", degrees=master, memberships=[_seat(f"{p}-BCH")]),  # province tier
    ]
    _persons(registry, people)
    district = _value(registry, "ST-2025-DISTRICT-COMMITTEE-POSTGRAD", p)
    assert (district["numerator"], district["denominator"]) == (2, 3)
    assert _values(registry, "ST-2025-DISTRICT-COMMITTEE-POSTGRAD", p) == (2, 3)
    assert set(_counted(registry, "ST-2030-DISTRICT-COMMITTEE-POSTGRAD", p)) == {f"{p}-a", f"{p}-b", f"{p}-c"}
    province = _value(registry, "ST-2025-PROVINCE-COMMITTEE-POSTGRAD", p)
    assert (province["numerator"], province["denominator"]) == (1, 1)
    tiers = registry.client.get("/api/v1/indicators/CT-2030-WOMEN-PARTY-COMMITTEE/breakdown",
                                params={"org_unit": p, "as_of": DAY, "by": "tier"}, headers=registry.headers())
    assert tiers.status_code == 200, tiers.text
    split = {g["key"]: g["denominator"] for g in tiers.json()["cells"]}
    assert split == {"district": 3, "province": 1}


def test_the_drill_down_says_why_each_person_is_in_the_population(registry: Registry) -> None:
    """Not only why a person is in the numerator: which record puts them in the population at all."""
    p = _province(registry, {"code": "HDND", "kind": "peoples_council", "tier": "province"},
                  {"code": "HDND2", "kind": "peoples_council", "tier": "province"})
    farmer = _unemployed(f"{p}-farmer", gender="female", memberships=[_seat(f"{p}-HDND", role="delegate")])
    twice = person(f"{p}-twice", f"{p}-S", gender="male",
                   memberships=[_seat(f"{p}-HDND", role="delegate"), _seat(f"{p}-HDND2", role="delegate")])
    _persons(registry, [farmer, twice])
    r = registry.client.get("/api/v1/indicators/CT-2030-WOMEN-PEOPLES-COUNCIL/persons",
                            params={"org_unit": p, "as_of": DAY}, headers=registry.headers())
    assert r.status_code == 200, r.text
    by = {i["external_id"]: i for i in r.json()["persons"]}
    assert by[f"{p}-farmer"]["in_population_by"] == [{"subject": "membership", "org_unit": f"{p}-HDND"}]
    assert by[f"{p}-twice"]["in_population_by"] == [{"subject": "membership", "org_unit": f"{p}-HDND"},
                                                     {"subject": "membership", "org_unit": f"{p}-HDND2"}]
    assert by[f"{p}-farmer"]["why"]["person.gender"] == "female" and by[f"{p}-farmer"]["in_numerator"] is True


def test_a_person_with_seats_in_two_bodies_counts_once_above_both(registry: Registry) -> None:
    """The all-units pass counts persons with rows at one unit per unit and groups only those with rows at several
    (compiler.unit_counts_all and scopes.ScopePairs.roll_up, F16, F19): a delegate of the province's and the
    commune's councils is one person in the province, the commune and each council, in /values as in /value, and
    in each tier once."""
    p = _province(registry, {"code": "HDND", "kind": "peoples_council", "tier": "province"},
                  {"code": "X", "kind": "area", "tier": "commune"})
    council_x = f"{p}-X-HDND"
    assert import_records(registry, "org-units", [org_unit(council_x, parent=f"{p}-X", kind="peoples_council",
                                                           tier="commune")])["created"] == 1
    both = [_seat(f"{p}-HDND", role="delegate"), _seat(council_x, role="delegate")]
    _persons(registry, [
        _unemployed(f"{p}-w", gender="female", memberships=both),
        _unemployed(f"{p}-m", gender="male", memberships=both),
        _unemployed(f"{p}-w2", gender="female", memberships=[_seat(council_x, role="delegate")]),
        _unemployed(f"{p}-m2", gender="male", memberships=[_seat(f"{p}-HDND", role="delegate")]),
    ])
    code = "CT-2030-WOMEN-PEOPLES-COUNCIL"
    expected = {p: (2, 4), f"{p}-X": (2, 3), council_x: (2, 3), f"{p}-HDND": (1, 3)}
    r = registry.client.get(f"/api/v1/indicators/{code}/values", params={"as_of": DAY, "under": p},
                            headers=registry.headers())
    items = {i["org_unit"]: i for i in r.json()["items"]}
    for unit, counts in expected.items():
        assert (items[unit]["numerator"], items[unit]["denominator"]) == counts, unit
        one = _value(registry, code, unit)
        assert (one["numerator"], one["denominator"], one["status"]) == (*counts, items[unit]["status"]), unit
    # the province's tier is 1 of 3 (not above 35%), the commune's 2 of 3: the province is short in one tier
    assert items[p]["status"] == "not_met" and items[f"{p}-X"]["status"] == "met"
