"""Org units through the 2025 reform: dated parents, closing, children and listings as of a date, ETags."""

from dataclasses import dataclass

import pytest

from tests.api.factories import Record, create_person, get_person, import_records, org_unit, person
from tests.conftest import Registry, uniq


@dataclass(frozen=True)
class Reform:
    """Province P; district D and its committee D-UB close on 2025-06-30; commune X moves from D to P on 2025-07-01."""

    province: str
    district: str
    district_office: str
    commune: str
    school: str
    province_office: str
    teacher: Record
    official: Record


@pytest.fixture
def reform(registry: Registry) -> Reform:
    p = uniq("R")
    d, x = f"{p}-H1", f"{p}-H1-X1"
    units = [
        org_unit(p, tier="province", name="Tỉnh Sóc Trăng"),
        org_unit(f"{p}-UBND", parent=p, kind="state_agency", tier="province", name="Ủy ban nhân dân tỉnh"),
        org_unit(d, parent=p, tier="district", valid_to="2025-06-30", name="Huyện Mỹ Xuyên"),
        org_unit(f"{d}-UB", parent=d, kind="state_agency", tier="district", valid_to="2025-06-30",
                 name="Ủy ban nhân dân huyện Mỹ Xuyên"),
        org_unit(x, name="Xã Tham Đôn") | {"parents": [{"code": d, "start": "2004-01-01", "end": "2025-06-30"},
                                                      {"code": p, "start": "2025-07-01", "end": None}]},
        org_unit(f"{x}-TH", parent=x, kind="school_primary", sector="education", name="Trường Tiểu học Tham Đôn"),
    ]
    assert import_records(registry, "org-units", units)["created"] == 6
    teacher = create_person(registry, person(f"{p}-T", f"{x}-TH"))
    official = create_person(registry, person(f"{p}-O", f"{d}-UB", full_name="Thạch Sa Rây", gender="male", ethnicity="05",
                                              employments=[
        {"org_unit": f"{d}-UB", "category": "cong_chuc", "occupation": "specialist", "primary": True,
         "start": "2010-01-01", "end": "2025-06-30"},
        {"org_unit": f"{p}-UBND", "category": "cong_chuc", "occupation": "specialist", "primary": True,
         "start": "2025-07-01", "end": None}]))
    return Reform(p, d, f"{d}-UB", x, f"{x}-TH", f"{p}-UBND", teacher, official)


def children(registry: Registry, code: str, on: str) -> list[str]:
    r = registry.client.get(f"/api/v1/org-units/{code}/children", params={"as_of": on}, headers=registry.headers())
    assert r.status_code == 200, r.text
    return [u["code"] for u in r.json()["items"]]


def listed(registry: Registry, token: str | None = None, **params: str) -> list[str]:
    headers = registry.headers(token) if token else registry.headers()
    r = registry.client.get("/api/v1/persons", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return [p["external_id"] for p in r.json()["items"]]


class TestTreeThroughTheReform:
    def test_commune_is_a_child_of_the_district_until_the_reform_and_of_the_province_after(
            self, registry: Registry, reform: Reform) -> None:
        assert children(registry, reform.district, "2025-06-30") == [reform.district_office, reform.commune]
        assert children(registry, reform.district, "2025-07-01") == []
        assert reform.commune not in children(registry, reform.province, "2025-06-30")
        assert reform.commune in children(registry, reform.province, "2025-07-01")

    def test_persons_under_the_district_are_listed_as_of_a_day_before_the_reform_only(
            self, registry: Registry, reform: Reform) -> None:
        before = listed(registry, org_unit=reform.district, as_of="2025-06-30")
        after = listed(registry, org_unit=reform.district, as_of="2025-07-01")
        assert (before, after) == (sorted([reform.official["external_id"], reform.teacher["external_id"]]), [])

    def test_persons_under_the_province_are_listed_on_both_sides_of_the_reform(self, registry: Registry,
                                                                                reform: Reform) -> None:
        expected = sorted([reform.official["external_id"], reform.teacher["external_id"]])
        for day in ("2025-06-30", "2025-07-01"):
            assert listed(registry, org_unit=reform.province, as_of=day) == expected

    def test_a_province_token_reaches_persons_of_closed_and_moved_units(self, registry: Registry, reform: Reform) -> None:
        token = registry.token("hr_officer", [reform.province])
        assert listed(registry, token) == sorted([reform.official["external_id"], reform.teacher["external_id"]])

    def test_a_closed_district_token_reaches_its_own_closed_units_but_not_the_moved_commune(
            self, registry: Registry, reform: Reform) -> None:
        token = registry.token("hr_officer", [reform.district])
        assert listed(registry, token) == [reform.official["external_id"]]
        assert get_person(registry, reform.teacher["external_id"], token).status_code == 404


class TestCloseUnit:
    def test_closing_a_unit_with_a_continuing_employment_is_a_409(self, registry: Registry, reform: Reform) -> None:
        r = registry.client.post(f"/api/v1/org-units/{reform.school}/close", json={"on": "2025-06-30"},
                                 headers=registry.headers())
        assert (r.status_code, r.json()["code"]) == (409, "unit_has_active_assignments")
        unit = registry.client.get(f"/api/v1/org-units/{reform.school}", headers=registry.headers()).json()
        assert unit["valid_to"] is None

    def test_closing_a_unit_ends_its_validity_and_parent_links(self, registry: Registry, reform: Reform) -> None:
        registry.client.post(f"/api/v1/persons/{reform.teacher['external_id']}/close", json={"on": "2025-12-31"},
                             headers=registry.headers())
        r = registry.client.post(f"/api/v1/org-units/{reform.school}/close", json={"on": "2025-12-31"},
                                 headers=registry.headers())
        assert r.status_code == 200, r.text
        assert (r.json()["valid_to"], r.json()["parents"][-1]["end"]) == ("2025-12-31", "2025-12-31")

    def test_closing_before_the_unit_opens_is_a_422(self, registry: Registry, reform: Reform) -> None:
        r = registry.client.post(f"/api/v1/org-units/{reform.school}/close", json={"on": "2000-01-01"},
                                 headers=registry.headers())
        assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "on")


class TestOrgUnitETags:
    def test_stale_if_match_on_put_is_a_412_and_changes_nothing(self, registry: Registry, reform: Reform) -> None:
        url = f"/api/v1/org-units/{reform.school}"
        first = registry.client.get(url, headers=registry.headers())
        registry.client.patch(url, json={"name": "Trường Tiểu học Tham Đôn 1"}, headers=registry.headers())
        r = registry.client.put(url, json=first.json() | {"name": "Trường Tiểu học Tham Đôn 2"},
                                headers=registry.headers() | {"If-Match": first.headers["ETag"]})
        assert (r.status_code, r.json()["code"]) == (412, "precondition_failed")
        assert registry.client.get(url, headers=registry.headers()).json()["name"] == "Trường Tiểu học Tham Đôn 1"

    def test_patch_with_an_unknown_field_is_a_422(self, registry: Registry, reform: Reform) -> None:
        r = registry.client.patch(f"/api/v1/org-units/{reform.school}", json={"address": "Sóc Trăng"},
                                  headers=registry.headers())
        assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "address")

    def test_post_of_an_existing_code_is_a_409(self, registry: Registry, reform: Reform) -> None:
        r = registry.client.post("/api/v1/org-units", json=org_unit(reform.school, parent=reform.commune),
                                 headers=registry.headers())
        assert (r.status_code, r.json()["code"]) == (409, "duplicate_code")
