"""The indicator engine on a tiny, hand-countable province that lives through the 2025 reform."""

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import Registry, uniq


def unit(code: str, kind: str, tier: str, sector: str, parents: list[tuple[str, str, str | None]],
         valid_to: str | None = None, ethnic_contact: bool = False) -> dict[str, Any]:
    return {"code": code, "name": f"Đơn vị {code}", "kind": kind, "tier": tier, "sector": sector,
            "ethnic_contact": ethnic_contact, "valid_from": "2000-01-01", "valid_to": valid_to,
            "parents": [{"code": p, "start": s, "end": e} for p, s, e in parents]}


def person(pid: str, birth: str, gender: str, *, employments: list[dict[str, Any]], **lists: Any) -> dict[str, Any]:
    return {"external_id": pid, "full_name": f"Nguyễn Văn {pid}", "birth_date": birth, "gender": gender,
            "ethnicity": lists.pop("ethnicity", "01"), "employments": employments, **lists}


def job(org_unit: str, start: str, end: str | None = None, category: str = "cong_chuc", occupation: str = "specialist",
        primary: bool = True) -> dict[str, Any]:
    return {"org_unit": org_unit, "category": category, "occupation": occupation, "primary": primary, "start": start, "end": end}


class Province:
    """P (province) > D (district, closes 2025-06-30) > C (commune, re-parented to P on 2025-07-01)."""

    def __init__(self, registry: Registry):
        self.r = registry
        p = uniq("P")
        self.P, self.D, self.C, self.A = p, f"{p}-D", f"{p}-C", f"{p}-A"
        self.BCH_D, self.BTV_D, self.HS = f"{p}-BCHD", f"{p}-BTVD", f"{p}-HS"
        units = [
            unit(self.P, "area", "province", "state", []),
            unit(self.A, "state_agency", "province", "state", [(self.P, "2000-01-01", None)]),
            unit(self.D, "area", "district", "state", [(self.P, "2000-01-01", None)], valid_to="2025-06-30"),
            unit(self.C, "area", "commune", "state", [(self.D, "2000-01-01", "2025-06-30"), (self.P, "2025-07-01", None)]),
            unit(self.HS, "commune_health_station", "commune", "health", [(self.C, "2000-01-01", None)]),
            unit(self.BCH_D, "party_executive_committee", "district", "party", [(self.D, "2000-01-01", None)],
                 valid_to="2025-06-30"),
            unit(self.BTV_D, "party_standing_committee", "district", "party", [(self.D, "2000-01-01", None)],
                 valid_to="2025-06-30"),
        ]
        report = registry.import_lines("org-units", [json.dumps(u, ensure_ascii=False) for u in units])
        assert report["errors"] == [] and report["created"] == 7

    def persons(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        report = self.r.import_lines("persons", [json.dumps(p, ensure_ascii=False) for p in records])
        assert report["errors"] == [], report["errors"]
        return report

    def value(self, code: str, org_unit: str, as_of: str, **params: str) -> dict[str, Any]:
        r = self.r.client.get(f"/api/v1/indicators/{code}/value", params={"org_unit": org_unit, "as_of": as_of, **params},
                              headers=self.r.headers())
        assert r.status_code == 200, r.text
        return dict(r.json())


@pytest.fixture
def prov(registry: Registry) -> Province:
    return Province(registry)


def leaders(prov: Province) -> list[dict[str, Any]]:
    """Three office-level leaders in the district: one under 40 with level-4 English, one under 40 without, one older."""
    def leader(pid: str, birth: str, lang: int | None) -> dict[str, Any]:
        return person(f"{prov.P}-{pid}", birth, "male",
                      employments=[job(prov.D, "2010-01-01", "2025-06-30")],
                      positions=[{"org_unit": prov.D, "title": "Trưởng phòng", "rank": "office_head", "key_leader": False,
                                  "start": "2015-01-01", "end": "2025-06-30"}],
                      languages=[] if lang is None else [{"language": "en", "kind": "foreign", "level": lang,
                                                          "certificate": "VSTEP", "awarded_on": "2019-01-01"}])
    return [leader("L1", "1990-05-01", 4), leader("L2", "1991-01-01", 3), leader("L3", "1970-01-01", 5)]


class TestRatio:
    def test_counts_each_qualifying_person_under_the_unit(self, prov: Province) -> None:
        prov.persons(leaders(prov))
        got = prov.value("CT-2025-LEADER-U40-LANG4", prov.P, "2024-12-31")
        assert (got["numerator"], got["denominator"], got["status"]) == (1, 2, "met")
        assert got["value"] == pytest.approx(0.5)
        assert got["target"]["band"] == [0.25, None]

    def test_the_abolished_district_has_no_population_after_the_reform(self, prov: Province) -> None:
        prov.persons(leaders(prov))
        got = prov.value("CT-2025-LEADER-U40-LANG4", prov.P, "2025-12-31")
        assert (got["numerator"], got["denominator"], got["value"], got["status"]) == (0, 0, None, "no_data")

    def test_end_dates_are_inclusive(self, prov: Province) -> None:
        prov.persons(leaders(prov))
        assert prov.value("CT-2025-LEADER-U40-LANG4", prov.D, "2025-06-30")["denominator"] == 2
        assert prov.value("CT-2025-LEADER-U40-LANG4", prov.D, "2025-07-01")["denominator"] == 0

    def test_a_qualification_awarded_after_the_date_does_not_count(self, prov: Province) -> None:
        prov.persons(leaders(prov))
        assert prov.value("CT-2025-LEADER-U40-LANG4", prov.P, "2018-12-31")["numerator"] == 0

    def test_the_wider_reading_is_a_second_indicator(self, prov: Province) -> None:
        prov.persons(leaders(prov))
        got = prov.value("CT-2025-CADRES-LANG4-WIDE", prov.P, "2024-12-31")
        assert (got["numerator"], got["denominator"]) == (2, 3)


class TestReform:
    def test_a_re_parented_commune_counts_under_its_parent_of_the_day(self, prov: Province) -> None:
        doctor = person(f"{prov.P}-DR", "1985-01-01", "female", employments=[
            job(prov.HS, "2015-01-01", occupation="doctor", category="vien_chuc")])
        prov.persons([doctor])
        assert prov.value("ST-2025-COMMUNE-STATIONS-WITH-DOCTOR", prov.D, "2025-06-30")["numerator"] == 1
        # the closed district answers for its territory (revision 2, point 5): the commune moved on, its station too
        closed = prov.value("ST-2025-COMMUNE-STATIONS-WITH-DOCTOR", prov.D, "2025-07-01")
        assert (closed["numerator"], closed["denominator"], closed["scope"]) == (1, 1, "territory")
        after = prov.value("ST-2025-COMMUNE-STATIONS-WITH-DOCTOR", prov.P, "2025-07-01")
        assert (after["numerator"], after["denominator"], after["status"]) == (1, 1, "met")


class TestPerCapita:
    def test_uses_the_latest_population_figure_of_the_unit_itself(self, prov: Province) -> None:
        doctors = [person(f"{prov.P}-DR{i}", "1985-01-01", "male", employments=[
            job(prov.A, "2015-01-01", occupation="doctor", category="vien_chuc")]) for i in range(3)]
        prov.persons(doctors)
        stats = [{"code": "population", "org_unit": prov.P, "period": "2023", "value": 10000, "source": "GSO"},
                 {"code": "population", "org_unit": prov.P, "period": "2024", "value": 20000, "source": "GSO"},
                 {"code": "population", "org_unit": prov.A, "period": "2024", "value": 1, "source": "not used"}]
        assert prov.r.import_lines("statistics", [json.dumps(s) for s in stats])["created"] == 3
        got = prov.value("ST-2025-DOCTORS-PER-10K", prov.P, "2024-06-30")
        assert (got["numerator"], got["denominator"], got["status"]) == (3, 20000, "not_met")
        assert got["value"] == pytest.approx(1.5)
        assert prov.value("ST-2025-DOCTORS-PER-10K", prov.P, "2023-12-31")["denominator"] == 10000
        none = prov.value("ST-2025-DOCTORS-PER-10K", prov.P, "2022-12-31")
        assert (none["numerator"], none["denominator"], none["value"], none["status"]) == (3, None, None, "no_data")


class TestKnownAt:
    def test_a_late_correction_changes_the_past_value_now_but_not_as_known_before(self, prov: Province) -> None:
        records = leaders(prov)
        prov.persons(records)
        before = prov.value("CT-2025-LEADER-U40-LANG4", prov.P, "2024-12-31")
        assert before["numerator"] == 1
        time.sleep(0.01)
        yesterday = datetime.now(UTC).isoformat()
        time.sleep(0.01)
        records[1]["languages"].append({"language": "fr", "kind": "foreign", "level": 4, "certificate": "DELF",
                                        "awarded_on": "2024-03-01"})  # recorded today, awarded last year
        assert prov.persons([records[1]])["updated"] == 1
        assert prov.value("CT-2025-LEADER-U40-LANG4", prov.P, "2024-12-31")["numerator"] == 2
        as_known = prov.value("CT-2025-LEADER-U40-LANG4", prov.P, "2024-12-31", known_at=yesterday)
        assert (as_known["numerator"], as_known["denominator"]) == (1, 2)


class TestWholeTree:
    def test_every_unit_at_once_equals_each_unit_alone(self, prov: Province) -> None:
        prov.persons(leaders(prov))
        for code in ("CT-2025-LEADER-U40-LANG4", "ST-2025-COMMUNE-STATIONS-WITH-DOCTOR", "CT-2025-MASTERS-PHD-INFLOW"):
            r = prov.r.client.get(f"/api/v1/indicators/{code}/values", params={"as_of": "2024-12-31", "under": prov.P},
                                  headers=prov.r.headers())
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            assert {i["org_unit"] for i in items} == {prov.P, prov.A, prov.D, prov.C, prov.HS, prov.BCH_D, prov.BTV_D}
            for item in items:
                one = prov.value(code, item["org_unit"], "2024-12-31")
                assert (item["numerator"], item["denominator"], item["status"]) == (one["numerator"], one["denominator"],
                                                                                     one["status"])


class TestDrillDown:
    def test_lists_every_person_with_whether_and_why(self, prov: Province) -> None:
        prov.persons(leaders(prov))
        r = prov.r.client.get("/api/v1/indicators/CT-2025-LEADER-U40-LANG4/persons",
                              params={"org_unit": prov.P, "as_of": "2024-12-31"}, headers=prov.r.headers())
        assert r.status_code == 200
        got = {p["external_id"]: p for p in r.json()["persons"]}
        assert set(got) == {f"{prov.P}-L1", f"{prov.P}-L2"}
        assert got[f"{prov.P}-L1"]["in_numerator"] is True
        # why in the numerator (the share's field) and why in the population (its filter's fields: under 40, a leader)
        for pid, level in ((f"{prov.P}-L1", 4), (f"{prov.P}-L2", 3)):
            why = got[pid]["why"]
            assert set(why) == {"person.highest_foreign_language", "person.age", "person.highest_position_rank"}, why
            assert why["person.highest_foreign_language"] == level and why["person.age"] < 40
            assert why["person.highest_position_rank"] and got[pid]["in_population_by"]


class TestDefinitions:
    def test_a_new_version_is_published_and_the_old_one_stays_for_known_at(self, prov: Province) -> None:
        prov.persons(leaders(prov))
        h = prov.r.headers()
        current = prov.r.client.get("/api/v1/indicators/CT-2025-LEADER-U40-LANG4", headers=h).json()
        before = datetime.now(UTC).isoformat()
        time.sleep(0.01)
        changed = current["definition"] | {"target": {"band": [0.6, None], "strict": False}}
        r = prov.r.client.put("/api/v1/indicators/CT-2025-LEADER-U40-LANG4", json=changed, headers=h)
        try:
            assert r.status_code == 200, r.text
            assert r.json()["version"] == current["version"] + 1
            assert prov.value("CT-2025-LEADER-U40-LANG4", prov.P, "2024-12-31")["status"] == "not_met"
            old = prov.value("CT-2025-LEADER-U40-LANG4", prov.P, "2024-12-31", known_at=before)
            assert (old["status"], old["definition"]["version"]) == ("met", current["version"])
        finally:
            prov.r.client.put("/api/v1/indicators/CT-2025-LEADER-U40-LANG4", json=current["definition"], headers=h)

    def test_an_unknown_field_is_refused_with_its_place(self, registry: Registry) -> None:
        spec = {"id": uniq("X"), "names": {"vi": "x", "en": "x"}, "source": {"doc": "X", "clause": "1"},
                "source_kind": "registry", "kind": "ratio",
                "population": {"anchors": [{"subject": "employment"}]}, "share": {"field": "person.shoe_size", "gte": 4}}
        r = registry.client.post("/api/v1/indicators", json=spec, headers=registry.headers())
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "share"
        assert "person.shoe_size" in r.json()["errors"][0]["message"]

    def test_the_catalog_lists_every_target_with_band_and_deadline(self, registry: Registry) -> None:
        import yaml

        from app.services.indicators.catalog import DATA

        targets = yaml.safe_load((DATA / "targets.yaml").read_text("utf-8"))["targets"]
        listed = {i["code"]: i for i in registry.client.get("/api/v1/indicators", headers=registry.headers()).json()["items"]}
        for t in targets:
            assert t["id"] in listed
            if "target" in t:
                assert listed[t["id"]]["target"]["band"] == list(t["target"]["band"])
                assert listed[t["id"]]["target"]["strict"] == t["target"].get("strict", False)
            if "deadline" in t:
                assert listed[t["id"]]["deadline"] == t["deadline"].isoformat()


class TestBreakdown:
    def test_by_child_units_sums_to_the_parent(self, prov: Province) -> None:
        prov.persons(leaders(prov))
        r = prov.r.client.get("/api/v1/indicators/CT-2025-CADRES-LANG4-WIDE/breakdown",
                              params={"org_unit": prov.P, "as_of": "2024-12-31", "by": "child_units"}, headers=prov.r.headers())
        assert r.status_code == 200, r.text
        cells = {c["key"]: c for c in r.json()["cells"]}
        assert set(cells) == {prov.A, prov.D}
        assert (cells[prov.D]["numerator"], cells[prov.D]["denominator"]) == (2, 3)
        assert (cells[prov.A]["denominator"], cells[prov.A]["value"], cells[prov.A]["status"]) == (0, None, "no_data")

    def test_by_age_band_counts_each_person_once(self, prov: Province) -> None:
        prov.persons(leaders(prov))
        r = prov.r.client.get("/api/v1/indicators/CT-2025-CADRES-LANG4-WIDE/breakdown",
                              params={"org_unit": prov.P, "as_of": "2024-12-31", "by": "age_band"}, headers=prov.r.headers())
        cells = {c["key"]: (c["numerator"], c["denominator"]) for c in r.json()["cells"]}
        assert cells == {"30_39": (1, 2), "50_59": (1, 1)}

    def test_small_cells_are_suppressed_for_auditors(self, prov: Province) -> None:
        prov.persons(leaders(prov))
        auditor = prov.r.token("auditor", [prov.P])
        r = prov.r.client.get("/api/v1/indicators/CT-2025-CADRES-LANG4-WIDE/breakdown",
                              params={"org_unit": prov.P, "as_of": "2024-12-31", "by": "gender"}, headers=prov.r.headers(auditor))
        assert r.status_code == 200, r.text
        assert r.json()["cells"] == [{"key": "male", "numerator": None, "denominator": None, "value": None,
                                      "status": "no_data", "band_position": None, "suppressed": True,
                                      "suppression": "primary"}]


class TestPublishedRuns:
    def test_a_run_is_frozen_and_a_diff_names_what_changed(self, prov: Province) -> None:
        records = leaders(prov)
        prov.persons(records)
        h = prov.r.headers()
        first = prov.r.client.post("/api/v1/indicator-runs", json={"doc": "CT", "org_unit": prov.P, "as_of": "2024-12-31"},
                                   headers=h)
        assert first.status_code == 201, first.text
        frozen = {x["indicator"]: x for x in first.json()["results"]}
        assert frozen["CT-2025-LEADER-U40-LANG4"]["numerator"] == 1
        records[1]["languages"].append({"language": "fr", "kind": "foreign", "level": 4, "certificate": None,
                                        "awarded_on": "2024-03-01"})
        prov.persons([records[1]])
        second = prov.r.client.post("/api/v1/indicator-runs", json={"doc": "CT", "org_unit": prov.P, "as_of": "2024-12-31"},
                                    headers=h).json()
        again = prov.r.client.get(f"/api/v1/indicator-runs/{first.json()['id']}", headers=h).json()
        assert again["results"] == first.json()["results"]
        diff = prov.r.client.get(f"/api/v1/indicator-runs/{first.json()['id']}/diff/{second['id']}", headers=h).json()
        changed = {c["indicator"] for c in diff["changed"]}
        assert "CT-2025-LEADER-U40-LANG4" in changed
        assert [w["key"] for w in diff["writes_between"]] == [f"{prov.P}-L2"]
