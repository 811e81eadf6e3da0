"""Planning pools (planning.md 'Planning pools'): the title and term of a pool, and its check against the rules
in force on a date (app/data/planning_rules.yaml), on both engines.

The world, checked on 2027-06-01 (Quy định 377-QĐ/TW in force) and on 2025-06-01 (Quy định 50-QĐ/TW):
pools QH1-QH4 are for titles of rank province_deputy, QH5 of department_head, QH6 of department_deputy
with a long term. QH1 holds four candidates: C1 (also in QH2-QH4: four pools of the same level), C2 (58
months to retirement on 2027-06-01: the 60-month rule), C3 (a discipline in force in 2027) and C4.
QH5 (C4, C5) holds every rule in 2027; in 2025 QĐ 50's composition floors judge the province's pools
(1 woman of 5 candidates, nobody under 40).
"""

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.factories import create_person, import_records, org_unit, person
from tests.conftest import Registry, uniq

AFTER, BEFORE = "2027-06-01", "2025-06-01"  # QĐ 377 in force from 2025-10-08; QĐ 50 before
TERM = ["2026-01-01", "2031-12-31"]


def pool(code: str, parent: str, title: str | None, rank: str | None, term: Any = TERM, tier: str = "province") -> dict[str, Any]:
    rec = org_unit(code, parent=parent, kind="planning_pool", tier=tier, sector="party", valid_from="2020-01-01",
                   name=f"Quy hoạch {code}")
    return rec | {"pool_for": None if title is None else {"org_unit": title, "rank": rank}, "term": term}


def seat(body: str, start: str = "2025-01-01") -> dict[str, Any]:
    return {"body": body, "role": "candidate", "start": start, "end": None}


@dataclass
class World:
    registry: Registry
    p: str

    def code(self, suffix: str) -> str:
        return f"{self.p}-{suffix}"

    def check(self, suffix: str, as_of: str, token: str | None = None) -> Any:
        h = self.registry.headers(token) if token else self.registry.headers()
        return self.registry.client.get(f"/api/v1/planning-pools/{self.code(suffix)}/check", params={"as_of": as_of},
                                        headers=h)


@pytest.fixture
def world(registry: Registry) -> World:
    p = uniq("PQ")
    units = [org_unit(p, kind="area", tier="province", valid_from="2000-01-01"),
             org_unit(f"{p}-UB", parent=p, kind="state_agency", tier="province", valid_from="2000-01-01"),
             org_unit(f"{p}-X", parent=p, tier="commune", valid_from="2000-01-01"),
             org_unit(f"{p}-Y", parent=p, tier="commune", valid_from="2000-01-01")]
    units += [pool(f"{p}-QH{n}", p, f"{p}-UB", "province_deputy") for n in (1, 2, 3, 4)]
    units += [pool(f"{p}-QH5", p, f"{p}-UB", "department_head", term=[2026, 2031]),
              pool(f"{p}-QH6", p, f"{p}-UB", "department_deputy", term=["2026-01-01", "2040-12-31"])]
    moved = pool(f"{p}-QH7", f"{p}-X", f"{p}-Y", "office_head", tier="commune")
    moved["parents"] = [{"code": f"{p}-X", "start": "2020-01-01", "end": "2025-06-30"},
                        {"code": f"{p}-Y", "start": "2025-07-01", "end": None}]
    report = import_records(registry, "org-units", [*units, moved])
    assert report["errors"] == [] and report["created"] == 11, report
    ub = f"{p}-UB"
    people = [
        person(f"{p}-C1", ub, full_name="Trần Văn Một", gender="male", birth_date="1980-02-10",
               memberships=[seat(f"{p}-QH{n}") for n in (1, 2, 3, 4)]),
        person(f"{p}-C2", ub, full_name="Lê Văn Hai", gender="male", birth_date="1970-03-15",
               memberships=[seat(f"{p}-QH1"), seat(f"{p}-QH6")]),
        person(f"{p}-C3", ub, full_name="Phạm Văn Ba", gender="male", birth_date="1978-07-01",
               memberships=[seat(f"{p}-QH1")],
               disciplines=[{"form": "khien_trach", "start": "2027-01-01", "end": "2027-12-31"}]),
        person(f"{p}-C4", ub, full_name="Nguyễn Thị Bốn", gender="female", birth_date="1985-05-10",
               memberships=[seat(f"{p}-QH1"), seat(f"{p}-QH5"), seat(f"{p}-QH7")]),
        person(f"{p}-C5", ub, full_name="Đỗ Văn Năm", gender="male", birth_date="1975-09-20",
               memberships=[seat(f"{p}-QH5")]),
    ]
    for record in people:
        create_person(registry, record)
    return World(registry, p)


def rules(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    return sorted((v["rule"], v["external_id"]) for v in body["violations"])


class TestCheck:
    def test_each_violation_is_reported_with_its_rule_and_source(self, world: World) -> None:
        r = world.check("QH1", AFTER)
        assert r.status_code == 200, r.text
        body = r.json()
        c = world.code
        assert rules(body) == [("max_candidates_per_title", None), ("max_pools_per_level", c("C1")),
                               ("no_discipline", c("C3")), ("sixty_months_before_retirement", c("C2"))]
        assert all(set(v) == {"rule", "source", "external_id", "message"} for v in body["violations"])
        by_rule = {v["rule"]: v for v in body["violations"]}
        assert by_rule["max_candidates_per_title"]["source"].startswith("Quy định 377-QĐ/TW ngày 08/10/2025")
        assert by_rule["max_pools_per_level"]["source"].startswith("Quy định 377-QĐ/TW")
        assert by_rule["sixty_months_before_retirement"]["source"].startswith("Hướng dẫn 06-HD/BTCTW")
        assert "4 candidates" in by_rule["max_candidates_per_title"]["message"]
        assert "4 pools" in by_rule["max_pools_per_level"]["message"]
        assert "58 months" in by_rule["sixty_months_before_retirement"]["message"]
        assert "khien_trach" in by_rule["no_discipline"]["message"]
        assert body["candidates"] == 4 and body["pool_for"] == {"org_unit": c("UB"), "rank": "province_deputy"}
        assert body["term"] == TERM and body["as_of"] == AFTER

    def test_a_pool_that_holds_every_rule_gives_an_empty_list(self, world: World) -> None:
        body = world.check("QH5", AFTER).json()
        assert body["violations"] == []
        applied = {r["rule"] for r in body["rules_applied"]}
        assert applied == {"max_candidates_per_title", "max_pools_per_level", "serves_full_term",
                           "sixty_months_before_retirement", "no_discipline"}
        not_configured = {r["rule"]: r["why"] for r in body["rules_not_applied"]}
        assert set(not_configured) == {"composition_women", "composition_young"}
        assert all("no figure configured" in why for why in not_configured.values())

    def test_qd50_composition_judges_the_pools_of_its_time_only(self, world: World) -> None:
        before = world.check("QH5", BEFORE).json()
        assert rules(before) == [("composition_women", None), ("composition_young", None)]
        by_rule = {v["rule"]: v for v in before["violations"]}
        assert all(v["source"].startswith("Quy định 50-QĐ/TW") for v in by_rule.values())
        assert "20.0% of the 5 candidates" in by_rule["composition_women"]["message"]
        assert "at least 25%" in by_rule["composition_women"]["message"]
        assert "0.0% of the 5 candidates" in by_rule["composition_young"]["message"]
        assert "at least 15%" in by_rule["composition_young"]["message"]
        applied = {r["rule"]: r for r in before["rules_applied"]}
        assert applied["composition_women"]["min_share"] == 0.25 and applied["composition_young"]["min_share"] == 0.15
        assert world.check("QH5", AFTER).json()["violations"] == []  # QĐ 377: no figure, no violation

    def test_the_rule_of_the_day_before_and_after_the_replacement(self, world: World) -> None:
        last = {v["rule"]: v["source"] for v in world.check("QH1", "2025-10-07").json()["violations"]}
        first = {v["rule"]: v["source"] for v in world.check("QH1", "2025-10-08").json()["violations"]}
        assert last["max_candidates_per_title"].startswith("Quy định 50-QĐ/TW")
        assert first["max_candidates_per_title"].startswith("Quy định 377-QĐ/TW")
        assert "composition_women" in last and "composition_women" not in first

    def test_a_candidate_who_retires_before_the_term_ends(self, world: World) -> None:
        body = world.check("QH6", AFTER).json()
        assert rules(body) == [("serves_full_term", world.code("C2"))]
        assert "2032-03-31" in body["violations"][0]["message"] and "2040-12-31" in body["violations"][0]["message"]
        assert "sixty_months_before_retirement" in {r["rule"] for r in body["rules_not_applied"]}  # not a 5-year term

    def test_before_any_rule_nothing_is_applied(self, world: World) -> None:
        body = world.check("QH1", "2001-01-01").json()
        assert body["violations"] == [] and body["rules_applied"] == [] and body["candidates"] == 0


class TestRoles:
    def test_roles_that_see_persons_get_ids_and_names(self, world: World) -> None:
        for role in ("admin", "hr_officer", "auditor"):
            token = world.registry.token(role, [world.p])
            body = world.check("QH1", AFTER, token).json()
            assert {v["external_id"] for v in body["violations"]} == {None, world.code("C1"), world.code("C2"),
                                                                       world.code("C3")}, role
            assert "Phạm Văn Ba" in json.dumps(body, ensure_ascii=False)

    def test_an_aggregate_role_gets_the_violations_without_names(self, world: World) -> None:
        token = world.registry.token("integration", [world.p])
        r = world.check("QH1", AFTER, token)
        assert r.status_code == 200
        body = r.json()
        assert sorted(v["rule"] for v in body["violations"]) == ["max_candidates_per_title", "max_pools_per_level",
                                                                 "no_discipline", "sixty_months_before_retirement"]
        assert all(v["external_id"] is None for v in body["violations"])
        text = json.dumps(body, ensure_ascii=False)
        assert world.p + "-C" not in text and "Văn" not in text and "khien_trach" not in text
        assert "candidate 3 of 4" in text

    def test_out_of_scope_and_formerly_in_scope_are_refused(self, world: World) -> None:
        other = uniq("PO")
        assert import_records(world.registry, "org-units", [org_unit(other, tier="province")])["errors"] == []
        for role in ("admin", "hr_officer", "auditor", "integration"):
            token = world.registry.token(role, [other])
            r = world.check("QH1", AFTER, token)
            assert (r.status_code, r.json()["code"]) == (403, "out_of_scope"), role
            was = world.registry.token(role, [world.code("X")])  # QH7 lay under X until 2025-06-30
            r = world.check("QH7", AFTER, was)
            assert (r.status_code, r.json()["code"]) == (403, "out_of_scope"), role
            now = world.registry.token(role, [world.code("Y")])
            assert world.check("QH7", AFTER, now).status_code == 200, role

    def test_a_discipline_shown_by_name_is_logged_as_a_read_of_that_person(self, world: World) -> None:
        def reads(external_id: str) -> str:
            r = world.registry.client.get("/api/v1/audit", params={"person": external_id, "limit": 1000},
                                          headers=world.registry.headers())
            assert r.status_code == 200, r.text
            return json.dumps(r.json())

        assert "planning_pool_check" not in reads(world.code("C3"))
        world.check("QH1", AFTER, world.registry.token("integration", [world.p]))  # no names: nothing disclosed
        assert "planning_pool_check" not in reads(world.code("C3"))
        world.check("QH1", AFTER)
        assert "planning_pool_check" in reads(world.code("C3"))
        assert "planning_pool_check" not in reads(world.code("C4"))  # no discipline shown for C4


class TestHostileInput:
    @pytest.mark.parametrize("as_of", ["2027-13-45", "99999-01-01", "yesterday", "2027-06-01\x00", "1" * 5000])
    def test_bad_dates_are_refused(self, world: World, as_of: str) -> None:
        r = world.check("QH1", as_of)
        expected = (400, "invalid_characters") if "\x00" in as_of else (422, None)  # control characters: 400 everywhere
        assert (r.status_code, r.json().get("code") if expected[1] else None) == expected, r.text

    @pytest.mark.parametrize("code", ["QH%01", "QH%7F", "Q H", "x" * 5000, "%00", "../../etc"])
    def test_bad_codes_are_refused_without_a_500(self, world: World, code: str) -> None:
        r = world.registry.client.get(f"/api/v1/planning-pools/{code}/check", headers=world.registry.headers())
        assert r.status_code in (400, 404, 422), (code[:20], r.status_code, r.text[:200])

    def test_extreme_dates_and_other_units(self, world: World) -> None:
        for as_of in ("0001-01-01", "9999-12-31"):
            assert world.check("QH1", as_of).status_code == 200, as_of
        r = world.check("UB", AFTER)
        assert (r.status_code, r.json()["code"]) == (404, "not_a_planning_pool")
        r = world.registry.client.get("/api/v1/planning-pools/NO-SUCH-UNIT/check", headers=world.registry.headers())
        assert (r.status_code, r.json()["code"]) == (404, "org_unit_not_found")

    def test_the_gets_change_nothing(self, world: World) -> None:
        h = world.registry.headers()
        feed = world.registry.client.get("/api/v1/changes", params={"after": 0, "limit": 1}, headers=h)
        before = (world.registry.export("org-units"), world.registry.export("persons"))
        for suffix in ("QH1", "QH5", "QH6", "QH7", "UB"):
            for as_of in (AFTER, BEFORE):
                assert world.check(suffix, as_of).status_code < 500
        assert (world.registry.export("org-units"), world.registry.export("persons")) == before
        assert feed.status_code == 200


class TestRecords:
    def test_export_gives_dates_and_both_keys_on_pools_only(self, world: World) -> None:
        units = {u["code"]: u for u in map(json.loads, world.registry.export("org-units").splitlines())
                 if u["code"].startswith(world.p)}
        assert units[world.code("QH5")]["term"] == TERM  # given as years, exported as dates
        assert units[world.code("QH5")]["pool_for"] == {"org_unit": world.code("UB"), "rank": "department_head"}
        assert "pool_for" not in units[world.code("UB")] and "term" not in units[world.code("UB")]

    @pytest.mark.parametrize(("change", "field", "error"), [
        ({"kind": "state_agency", "term": None}, "pool_for", "not_a_planning_pool"),
        ({"kind": "state_agency", "pool_for": None}, "term", "not_a_planning_pool"),
        ({"pool_for": {"org_unit": "NO-SUCH-UNIT", "rank": "province_head"}}, "pool_for.org_unit", "pool_for_unknown_org_unit"),
        ({"pool_for": {"org_unit": "SELF", "rank": "province_head"}}, "pool_for.org_unit", "pool_for_unknown_org_unit"),
        ({"pool_for": {"org_unit": "UB", "rank": "emperor"}}, "pool_for.rank", "pool_for_unknown_rank"),
        ({"term": ["2031-12-31", "2026-01-01"]}, "term", "term_end_before_start"),
        ({"term": [2031, 2026]}, "term", "term_end_before_start"),
    ])
    def test_each_problem_has_its_field_and_code(self, world: World, change: dict[str, Any], field: str, error: str) -> None:
        code = uniq("PQX")
        rec = pool(code, world.p, world.code("UB"), "province_head") | change
        if rec["pool_for"] and rec["pool_for"]["org_unit"] in ("SELF", "UB"):
            rec["pool_for"] = rec["pool_for"] | {"org_unit": code if rec["pool_for"]["org_unit"] == "SELF" else world.code("UB")}
        report = import_records(world.registry, "org-units", [rec])
        assert [(e["field"], e["error"]) for e in report["errors"]] == [(field, error)], report
        r = world.registry.client.put(f"/api/v1/org-units/{code}", json=rec, headers=world.registry.headers())
        assert r.status_code == 422 and field in r.text, r.text

    @pytest.mark.parametrize("term", [["2026"], "someday", ["2026-02-30", "2031-12-31"], [True, 2031], [1e12, 2031]])
    def test_a_malformed_term_is_an_error_of_its_line(self, world: World, term: Any) -> None:
        rec = pool(uniq("PQX"), world.p, world.code("UB"), "province_head", term=term)
        report = import_records(world.registry, "org-units", [rec])
        assert report["created"] == 0 and [e["field"] for e in report["errors"]] == ["term"], report

    def test_a_pool_named_before_its_title_unit_in_one_file(self, registry: Registry) -> None:
        p = uniq("PQO")
        units = [org_unit(p, tier="province"), pool(f"{p}-QH", p, f"{p}-UB", "office_head"),
                 org_unit(f"{p}-UB", parent=p, kind="state_agency", tier="province")]
        report = import_records(registry, "org-units", units)
        assert report["errors"] == [] and report["created"] == 3, report

    def test_every_format_round_trips(self, fresh_registry: Any) -> None:
        source = fresh_registry()
        p = uniq("PQR")
        units = [org_unit(p, tier="province"), org_unit(f"{p}-UB", parent=p, kind="state_agency", tier="province"),
                 pool(f"{p}-QH", p, f"{p}-UB", "province_head", term=[2026, 2031]),
                 pool(f"{p}-QH0", p, None, None, term=None)]
        assert import_records(source, "org-units", units)["errors"] == []
        jsonl = source.export("org-units")
        assert '"term": ["2026-01-01", "2031-12-31"]' in jsonl or '"term":["2026-01-01","2031-12-31"]' in jsonl
        h = source.headers()
        ctypes = {"jsonl": "application/x-ndjson", "csv": "text/csv",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        for fmt, lang in (("jsonl", "en"), ("csv", "en"), ("csv", "vi"), ("xlsx", "en"), ("xlsx", "vi")):
            body = source.client.get("/api/v1/exports/org-units", params={"format": fmt, "lang": lang}, headers=h).content
            empty = fresh_registry()
            r = empty.client.post("/api/v1/imports/org-units", content=body,
                                  headers=empty.headers() | {"Content-Type": ctypes[fmt]})
            assert r.status_code == 200 and r.json()["errors"] == [] and r.json()["created"] == 4, (fmt, lang, r.text)
            assert empty.export("org-units") == jsonl, (fmt, lang)


class TestIndicators:
    def value(self, world: World, code: str, unit: str, as_of: str) -> dict[str, Any]:
        r = world.registry.client.get(f"/api/v1/indicators/{code}/value", params={"org_unit": unit, "as_of": as_of},
                                      headers=world.registry.headers())
        assert r.status_code == 200, r.text
        return dict(r.json())

    def test_the_share_of_women_among_the_candidates_under_a_unit(self, world: World) -> None:
        got = self.value(world, "QH-POOL-WOMEN", world.p, AFTER)  # C1..C5 in the province's pools; C4 a woman
        assert (got["numerator"], got["denominator"], got["value"], got["status"]) == (1, 5, 0.2, "not_met")
        assert got["target"]["band"] == [0.25, None]
        under_y = self.value(world, "QH-POOL-WOMEN", world.code("Y"), AFTER)  # QH7 (moved under Y): C4 alone
        assert (under_y["numerator"], under_y["denominator"], under_y["status"]) == (1, 1, "met")

    def test_the_share_of_young_cadres_counts_province_and_district_pools(self, world: World) -> None:
        got = self.value(world, "QH-POOL-YOUNG", world.p, "2024-06-01")  # C4 is 39 on that day, C1..C3, C5 older
        assert (got["numerator"], got["denominator"], got["status"]) == (0, 0, "no_data")  # seats start 2025
        got = self.value(world, "QH-POOL-YOUNG", world.p, "2025-05-01")  # C4 is 39 until 2025-05-10
        assert (got["numerator"], got["denominator"], got["status"]) == (1, 5, "met")
        got = self.value(world, "QH-POOL-YOUNG", world.p, AFTER)
        assert (got["numerator"], got["denominator"], got["status"]) == (0, 5, "not_met")
        commune = self.value(world, "QH-POOL-YOUNG", world.code("Y"), "2025-05-01")  # QH7 is a commune pool
        assert (commune["numerator"], commune["denominator"]) == (0, 0)

    def test_the_drill_down_names_the_candidates(self, world: World) -> None:
        r = world.registry.client.get("/api/v1/indicators/QH-POOL-WOMEN/persons",
                                      params={"org_unit": world.p, "as_of": AFTER}, headers=world.registry.headers())
        assert r.status_code == 200, r.text
        persons = r.json()["persons"]
        assert sorted(p["external_id"] for p in persons) == [world.code(f"C{n}") for n in range(1, 6)]
        counted = [p["external_id"] for p in persons if p["in_numerator"]]
        assert counted == [world.code("C4")], persons
        token = world.registry.token("integration", [world.p])
        r = world.registry.client.get("/api/v1/indicators/QH-POOL-WOMEN/persons",
                                      params={"org_unit": world.p, "as_of": AFTER}, headers=world.registry.headers(token))
        assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
