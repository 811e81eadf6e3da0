"""Spec revision 2, point 2: a target set "at every level" (các cấp) is met only when each tier with members
reaches the floor; the value is the share over all tiers together and `by_tier` lists each tier's own."""

from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.factories import import_records, org_unit, person
from tests.conftest import Registry, uniq

WOMEN = "CT-2030-WOMEN-PARTY-COMMITTEE"  # band [0.20, 0.25], disaggregate_by: tier of the body
DAY = "2024-12-31"


@dataclass(frozen=True)
class Committees:
    """A province P with its committee P-BCH (tier province) and a commune C with its committee C-BCH (tier commune)."""

    r: Registry
    province: str
    province_body: str
    commune: str
    commune_body: str
    district_body: str

    def value(self, unit: str, token: str | None = None) -> dict[str, Any]:
        headers = self.r.headers(token) if token else self.r.headers()
        answer = self.r.client.get(f"/api/v1/indicators/{WOMEN}/value", params={"org_unit": unit, "as_of": DAY}, headers=headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def values(self, token: str | None = None) -> dict[str, dict[str, Any]]:
        headers = self.r.headers(token) if token else self.r.headers()
        answer = self.r.client.get(f"/api/v1/indicators/{WOMEN}/values", params={"as_of": DAY, "under": self.province},
                                   headers=headers)
        assert answer.status_code == 200, answer.text
        return {i["org_unit"]: i for i in answer.json()["items"]}


def committees(registry: Registry, *, province_women: int, commune_women: int,
               district: tuple[int, int] | None = None) -> Committees:
    """Ten members in each of the two committees (the given number of them women); optionally a small district one."""
    p = uniq("TIER")
    c = Committees(registry, p, f"{p}-BCH", f"{p}-C", f"{p}-C-BCH", f"{p}-D-BCH")
    units = [
        org_unit(p, kind="area", tier="province", name="Tỉnh Hậu Giang"),
        org_unit(c.province_body, parent=p, kind="party_executive_committee", tier="province", sector="party",
                 name="Ban Chấp hành Đảng bộ tỉnh"),
        org_unit(c.commune, parent=p, tier="commune", name="Xã Vị Thanh"),
        org_unit(c.commune_body, parent=c.commune, kind="party_executive_committee", tier="commune", sector="party",
                 name="Ban Chấp hành Đảng bộ xã"),
    ]
    if district is not None:
        units.append(org_unit(c.district_body, parent=p, kind="party_executive_committee", tier="district", sector="party",
                              name="Ban Chấp hành Đảng bộ huyện"))
    assert import_records(registry, "org-units", units)["created"] == len(units)
    groups = [(c.province_body, province_women, 10), (c.commune_body, commune_women, 10)]
    if district is not None:
        groups.append((c.district_body, *district))
    people = []
    for body, women, size in groups:
        seat = [{"body": body, "role": "member", "start": "2020-10-01", "end": None}]
        people += [person(f"{body}-{i}", c.commune if body == c.commune_body else p, gender="female" if i < women else "male",
                          memberships=seat) for i in range(size)]
    assert import_records(registry, "persons", people)["created"] == len(people)
    return c


def tier(tier: str, num: int, den: int, status: str, position: str) -> dict[str, Any]:
    return {"tier": tier, "numerator": num, "denominator": den, "value": num / den, "status": status, "band_position": position}


def test_a_tier_below_the_floor_fails_the_target_though_the_whole_reaches_it(registry: Registry) -> None:
    c = committees(registry, province_women=3, commune_women=1)
    whole = c.value(c.province)
    assert (whole["numerator"], whole["denominator"], whole["value"]) == (4, 20, 0.2)  # the share over all tiers: at the floor
    assert whole["band_position"] == "within"
    assert whole["status"] == "not_met"  # the commune tier is below 20%
    assert whole["by_tier"] == [tier("province", 3, 10, "met", "above"), tier("commune", 1, 10, "not_met", "below")]
    assert c.value(c.province_body)["by_tier"] == [tier("province", 3, 10, "met", "above")]
    assert c.value(c.province_body)["status"] == "met"
    assert c.value(c.commune)["status"] == "not_met"


def test_values_agree_with_value_for_every_unit(registry: Registry) -> None:
    c = committees(registry, province_women=3, commune_women=1)
    every = c.values()
    for unit in (c.province, c.province_body, c.commune, c.commune_body):
        one = c.value(unit)
        assert {k: every[unit][k] for k in ("numerator", "denominator", "value", "status", "band_position")} == \
            {k: one[k] for k in ("numerator", "denominator", "value", "status", "band_position")}, unit
    assert [every[u]["status"] for u in (c.province, c.province_body, c.commune, c.commune_body)] == \
        ["not_met", "met", "not_met", "not_met"]
    split = registry.client.get(f"/api/v1/indicators/{WOMEN}/breakdown", params={"org_unit": c.province, "as_of": DAY,
                                                                                 "by": "child_units"},
                                headers=registry.headers()).json()
    assert {x["key"]: x["status"] for x in split["cells"]} == {c.province_body: "met", c.commune: "not_met"}


def test_every_tier_met_is_met(registry: Registry) -> None:
    c = committees(registry, province_women=2, commune_women=3)
    whole = c.value(c.province)
    assert (whole["value"], whole["status"]) == (0.25, "met")
    assert [(t["tier"], t["status"]) for t in whole["by_tier"]] == [("province", "met"), ("commune", "met")]
    assert c.values()[c.province]["status"] == "met"


def test_an_auditor_sees_small_tiers_suppressed_and_the_exact_status(registry: Registry) -> None:
    # province 3/10 and commune 3/10 are met, the whole 6/23 too; the district tier, 0 of 3 (under k = 5), is not
    c = committees(registry, province_women=3, commune_women=3, district=(0, 3))
    auditor = registry.token("auditor", [c.province])
    seen = c.value(c.province, auditor)  # asked first: the cache must keep the exact answer for others
    exact = c.value(c.province)
    assert exact["by_tier"][1] == tier("district", 0, 3, "not_met", "below")
    assert exact["status"] == seen["status"] == "not_met"
    assert seen["by_tier"] == [
        tier("province", 3, 10, "met", "above") | {"suppressed": False},
        {"tier": "district", "numerator": None, "denominator": None, "value": None, "status": "no_data",
         "band_position": None, "suppressed": True, "suppression": "primary"},
        tier("commune", 3, 10, "met", "above") | {"suppressed": False},
    ]
    assert c.value(c.province, auditor) == seen  # and from the cache, the same
    assert c.values(auditor)[c.province]["status"] == "not_met"


@pytest.mark.parametrize("viewer", ["admin", "auditor"])
def test_a_published_run_keeps_by_tier(registry: Registry, viewer: str) -> None:
    c = committees(registry, province_women=3, commune_women=3, district=(0, 3))
    run = registry.client.post("/api/v1/indicator-runs", json={"doc": "CT", "org_unit": c.province, "as_of": DAY},
                               headers=registry.headers())
    assert run.status_code == 201, run.text
    token = registry.token("auditor", [c.province]) if viewer == "auditor" else None
    shown = registry.client.get(f"/api/v1/indicator-runs/{run.json()['id']}",
                                headers=registry.headers(token) if token else registry.headers()).json()
    frozen = next(x for x in shown["results"] if x["indicator"] == WOMEN)
    assert frozen["status"] == "not_met"
    district = frozen["by_tier"][1]
    assert district["tier"] == "district"
    assert (district["denominator"], district.get("suppressed")) == ((None, True) if viewer == "auditor" else (3, None))
