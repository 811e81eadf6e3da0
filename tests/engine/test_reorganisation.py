"""The 1 July 2025 merger (Sóc Trăng + Hậu Giang + old Cần Thơ -> Cần Thơ 92), as a reorganisation plan."""

import json
from typing import Any

import pytest

from tests.conftest import Registry, uniq

KINDS_COMPUTED = ("ratio", "per_capita", "coverage", "flow_count")


def _unit(code: str, kind: str, tier: str, sector: str, parent: str | None, valid_from: str = "2004-01-01") -> dict[str, Any]:
    return {
        "code": code,
        "name": f"Đơn vị {code}",
        "kind": kind,
        "tier": tier,
        "sector": sector,
        "ethnic_contact": False,
        "valid_from": valid_from,
        "valid_to": None,
        "parents": [{"code": parent, "start": valid_from, "end": None}] if parent else [],
    }


def _person(
    pid: str, gender: str, birth: str, unit: str, occupation: str, category: str = "vien_chuc", **lists: Any
) -> dict[str, Any]:
    return {
        "external_id": pid,
        "full_name": f"Lâm Thị {pid}",
        "birth_date": birth,
        "gender": gender,
        "ethnicity": "05",
        "employments": [
            {
                "org_unit": unit,
                "category": category,
                "occupation": occupation,
                "primary": True,
                "start": "2015-03-01",
                "end": None,
            }
        ],
        **lists,
    }


def _province(p: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    units = [
        _unit(p, "area", "province", "state", None),
        _unit(f"{p}-SYT", "state_agency", "province", "health", p),
        _unit(f"{p}-D1", "area", "district", "state", p),
        _unit(f"{p}-X1", "area", "commune", "state", f"{p}-D1"),
        _unit(f"{p}-TYT", "commune_health_station", "commune", "health", f"{p}-X1"),
        _unit(f"{p}-BCH", "party_executive_committee", "province", "party", p),
        _unit(f"{p}-D1-BCH", "party_executive_committee", "district", "party", f"{p}-D1"),
    ]
    master = [{"level": "master", "field": "Y học", "institution": None, "country": "VN", "awarded_on": "2012-01-01"}]
    seat = [{"body": f"{p}-BCH", "role": "member", "start": "2020-10-01", "end": None}]
    district_seat = [{"body": f"{p}-D1-BCH", "role": "member", "start": "2020-08-01", "end": None}]
    persons = [
        _person(
            f"{p}-1",
            "female",
            "1980-01-01",
            f"{p}-SYT",
            "doctor",
            degrees=master,
            memberships=seat,
            specialties=[{"level": "ck1", "field": None, "awarded_on": "2016-01-01"}],
        ),
        _person(f"{p}-2", "male", "1975-01-01", f"{p}-SYT", "doctor", memberships=seat),
        _person(f"{p}-3", "female", "1990-01-01", f"{p}-TYT", "doctor"),
        _person(f"{p}-4", "female", "1992-01-01", f"{p}-TYT", "nurse"),
        _person(
            f"{p}-5",
            "male",
            "1986-01-01",
            f"{p}-D1",
            "specialist",
            "cong_chuc",
            degrees=master,
            memberships=district_seat,
            positions=[
                {
                    "org_unit": f"{p}-D1",
                    "title": "Trưởng phòng",
                    "rank": "office_head",
                    "key_leader": False,
                    "start": "2019-01-01",
                    "end": None,
                }
            ],
        ),
        _person(f"{p}-6", "male", "1970-01-01", f"{p}-X1", "other", "cap_xa_cong_chuc"),
    ]
    stats = [{"code": "population", "org_unit": p, "period": "2024", "value": 1_000_000, "source": "GSO"}]
    return units, persons, stats


def _plan(new: str, old: list[str]) -> dict[str, Any]:
    return {
        "name": "Hợp nhất Sóc Trăng, Hậu Giang và Cần Thơ thành thành phố Cần Thơ",
        "effective": "2025-07-01",
        "create": [
            _unit(new, "area", "province", "state", None, "2025-07-01"),
            _unit(f"{new}-SYT", "state_agency", "province", "health", new, "2025-07-01"),
            _unit(f"{new}-BCH", "party_executive_committee", "province", "party", new, "2025-07-01"),
        ],
        "close": [
            c
            for p in old
            for c in (
                {"code": p},
                {"code": f"{p}-SYT", "successor": f"{new}-SYT"},
                {"code": f"{p}-BCH", "successor": f"{new}-BCH"},
                {"code": f"{p}-D1", "successor": f"{p}-X1"},
                {"code": f"{p}-D1-BCH", "end_assignments": True},
            )
        ],
        "reparent": [{"code": f"{p}-X1", "parent": new} for p in old],
        "category_map": {"cap_xa_cong_chuc": "cong_chuc", "cap_xa_chuyen_trach": "can_bo"},
    }


@pytest.fixture
def merger(registry: Registry) -> tuple[Registry, str, list[str]]:
    tag = uniq("M")
    old = [f"{tag}ST", f"{tag}HG", f"{tag}CT"]
    units, people, stats = [], [], []
    for p in old:
        u, pe, st = _province(p)
        units, people, stats = units + u, people + pe, stats + st
    for kind, lines in (("org-units", units), ("persons", people), ("statistics", stats)):
        report = registry.import_lines(kind, [json.dumps(x, ensure_ascii=False) for x in lines])
        assert report["errors"] == [], report["errors"]
    return registry, f"{tag}92", old


def _values(registry: Registry, units: list[str], as_of: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    h = registry.headers()
    codes = [
        i["code"] for i in registry.client.get("/api/v1/indicators", headers=h).json()["items"] if i["kind"] in KINDS_COMPUTED
    ]
    out = {}
    for unit in units:
        for code in codes:
            v = registry.client.get(
                f"/api/v1/indicators/{code}/value", params={"org_unit": unit, "as_of": as_of}, headers=h
            ).json()
            out[(code, unit)] = (v["numerator"], v["denominator"], v["value"], v["status"])
    return out


def test_a_dry_run_previews_and_changes_nothing(merger: tuple[Registry, str, list[str]]) -> None:
    registry, new, old = merger
    before_feed = registry.client.get("/api/v1/changes", params={"after": 0, "limit": 5000}, headers=registry.headers()).json()[
        "next"
    ]
    r = registry.client.post("/api/v1/reorganisations", json=_plan(new, old), headers=registry.headers())
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["dry_run"] is True and preview["dangling"] == [] and preview["persons_affected"] == 3 * 4
    assert {(m["list"], m["to"]) for m in preview["moves"] if m["external_id"] == f"{old[0]}-1"} == {
        ("employments", f"{new}-SYT"),
        ("memberships", f"{new}-BCH"),
    }
    after_feed = registry.client.get("/api/v1/changes", params={"after": 0, "limit": 5000}, headers=registry.headers()).json()[
        "next"
    ]
    assert after_feed == before_feed


def test_a_plan_that_leaves_persons_behind_is_refused_with_who(merger: tuple[Registry, str, list[str]]) -> None:
    registry, new, old = merger
    plan = _plan(new, old)
    plan["close"] = [c | {"successor": None} if c["code"] == f"{old[0]}-SYT" else c for c in plan["close"]]
    r = registry.client.post("/api/v1/reorganisations", json=plan, headers=registry.headers())
    assert r.status_code == 422
    assert any(f"{old[0]}-1: employments at {old[0]}-SYT" in e["message"] for e in r.json()["errors"])


def test_applying_the_merger_keeps_the_past_and_gives_the_merged_present(merger: tuple[Registry, str, list[str]]) -> None:
    registry, new, old = merger
    before = _values(registry, old, "2025-06-30")
    r = registry.client.post(
        "/api/v1/reorganisations", params={"dry_run": "false"}, json=_plan(new, old), headers=registry.headers()
    )
    assert r.status_code == 200, r.text
    assert _values(registry, old, "2025-06-30") == before  # history is kept, not rewritten

    stat = {"code": "population", "org_unit": new, "period": "2025-07-01", "value": 3_000_000, "source": "NQ 202/2025/QH15"}
    assert registry.import_lines("statistics", [json.dumps(stat)])["errors"] == []
    after = _values(registry, [new], "2025-07-01")
    assert after[("ST-2025-DOCTORS-PER-10K", new)][:2] == (9, 3_000_000)
    assert after[("ST-2025-NURSES-PER-10K", new)][:2] == (3, 3_000_000)
    assert after[("ST-2025-PROVINCE-COMMITTEE-POSTGRAD", new)][:3] == (3, 6, 0.5)
    assert after[("CT-2030-WOMEN-PARTY-COMMITTEE", new)][:2] == (3, 6)  # the district committees' seats ended
    assert after[("ST-2025-COMMUNE-STATIONS-WITH-DOCTOR", new)][:3] == (3, 3, 1.0)
    assert after[("ST-2025-DOCTORS-CK1", new)][:2] == (3, 9)
    assert after[("ST-2025-DISTRICT-COMMITTEE-POSTGRAD", new)][3] == "no_data"
    for p in old:
        # revision 2, point 5: a closed province answers for its territory, its commune X1 and the station under it
        # (now under the new city): one doctor; the merged department and committee continue all three: shared
        assert _values(registry, [p], "2025-07-01")[("ST-2025-DOCTORS-PER-10K", p)][0] == 1
        v = registry.client.get("/api/v1/indicators/ST-2025-DOCTORS-PER-10K/value",
                                params={"org_unit": p, "as_of": "2025-07-01"}, headers=registry.headers()).json()
        assert v["scope"] == "territory" and v["territory"]["top_units"] == [f"{p}-X1"]
        assert [s["org_unit"] for s in v["territory"]["shared"]] == sorted([f"{new}-BCH", f"{new}-SYT"])
        assert v["at_closure"]["numerator"] == 3

    moved = registry.client.get(f"/api/v1/persons/{old[0]}-6", headers=registry.headers()).json()
    assert [(e["org_unit"], e["category"], e["start"], e["end"]) for e in moved["employments"]] == [
        (f"{old[0]}-X1", "cap_xa_cong_chuc", "2015-03-01", "2025-06-30"),
        (f"{old[0]}-X1", "cong_chuc", "2025-07-01", None),
    ]
    unit = registry.client.get(f"/api/v1/org-units/{old[0]}-X1", headers=registry.headers()).json()
    assert unit["parents"] == [
        {"code": f"{old[0]}-D1", "start": "2004-01-01", "end": "2025-06-30"},
        {"code": new, "start": "2025-07-01", "end": None},
    ]
