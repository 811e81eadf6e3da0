"""A province of ~1000 persons through the 2025 reform: imported with zero errors, idempotent, lossless round trip."""

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from tests.api.factories import changes_after, cursor
from tests.conftest import Registry, _bind, _create_database, _migrate
from tests.fixtures.province import FIRST_DAY, LAST_DAY, build_province, ndjson

KINDS = {"org-units": "org_units", "statistics": "statistics", "persons": "persons"}  # import order: units first
KEYS = {"org-units": lambda r: r["code"], "persons": lambda r: r["external_id"],
        "statistics": lambda r: (r["code"], r["org_unit"], r["period"])}


@dataclass
class Province:
    backend: str
    url: str
    data: dict[str, list[dict[str, Any]]]
    reports: dict[str, dict[str, Any]]

    def registry(self) -> Registry:
        return Registry(self.backend, self.url, _bind(self.url))


LINEAGE = (  # (closed unit, the units that continue it), codes without the province prefix; {d} is the district
    (r"-H(\d)", ("-H{d}-M", "-H{d}-X3")),  # a district is split: its new commune and the commune that stays
    (r"-H(\d)-HU", ("-H{d}-M-DU",)), (r"-H(\d)-UB", ("-H{d}-M-UB",)), (r"-H(\d)-TTYT", ("-TTYT{d}",)),
    (r"-H(\d)-X[12]", ("-H{d}-M",)), (r"-H(\d)-X[12]-UB", ("-H{d}-M-UB",)), (r"-H(\d)-X[12]-DU", ("-H{d}-M-DU",)),
)


def with_lineage(data: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The province with spec revision 2's keys: closed units name their successors (defined on later lines), and
    the province, district 2 and its new commune their local languages (Khmer; Khmer and Cantonese)."""
    p = data["org_units"][0]["code"]
    units = []
    for unit in data["org_units"]:
        rest = unit["code"].removeprefix(p)
        match = next(((m, names) for pattern, names in LINEAGE if (m := re.fullmatch(pattern, rest))), None)
        extra: dict[str, Any] = {}
        if match:
            extra["successors"] = [p + n.format(d=match[0][1]) for n in match[1]]
        if rest in ("", "-H2", "-H2-M"):
            extra["local_languages"] = ["km"] if rest != "-H2-M" else ["yue", "km"]
        units.append(unit | extra)
    return data | {"org_units": units}


@pytest.fixture(scope="module")
def province(backend_db: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Province]:
    """The generated province (with successors and local languages) imported once per backend into a registry of its own."""
    backend, shared_url = backend_db
    url, drop = _create_database(backend, tmp_path_factory)
    _migrate(url)
    data = with_lineage(build_province())
    registry = Registry(backend, url, _bind(url))
    reports = {kind: registry.import_lines(kind, ndjson(data[key])) for kind, key in KINDS.items()}
    yield Province(backend, url, data, reports)
    _bind(shared_url)
    drop()


@pytest.fixture
def loaded(province: Province) -> Registry:
    """A client of the province's registry."""
    return province.registry()


def differences(given: Any, stored: Any, path: str = "") -> list[str]:
    """How `stored` fails to keep `given`: it may only add keys valued null or [], and reorder list items."""
    if isinstance(given, dict) and isinstance(stored, dict):
        out = [f"{path}.{k}: missing" for k in given if k not in stored]
        out += [f"{path}.{k}: added as {stored[k]!r}" for k in stored if k not in given and stored[k] not in (None, [])]
        return out + [d for k in given if k in stored for d in differences(given[k], stored[k], f"{path}.{k}")]
    if isinstance(given, list) and isinstance(stored, list):
        unmatched = list(stored)
        out = []
        for i, item in enumerate(given):
            match = next((s for s in unmatched if not differences(item, s)), None)
            if match is None:
                out.append(f"{path}[{i}]: {item!r} not among {unmatched!r}")
            else:
                unmatched.remove(match)
        return out + [f"{path}: extra item {s!r}" for s in unmatched]
    same = given == stored and type(given) is type(stored)
    return [] if same else [f"{path}: {given!r} became {stored!r}"]


class TestDifferences:
    def test_added_null_and_empty_defaults_and_reordering_are_allowed(self) -> None:
        assert differences({"a": [{"x": 1}, {"x": 2}]}, {"a": [{"x": 2, "y": None}, {"x": 1, "y": []}], "b": None}) == []

    @pytest.mark.parametrize(("given", "stored"), [
        ({"a": 1}, {}), ({"a": 1}, {"a": 2}), ({"a": 1}, {"a": 1, "b": False}), ({"a": [1, 1]}, {"a": [1]}),
        ({"a": [1]}, {"a": [1, 2]}), ({"a": 1}, {"a": 1.0}), ({"a": True}, {"a": 1}),
    ])
    def test_anything_else_is_a_difference(self, given: Any, stored: Any) -> None:
        assert differences(given, stored) != []


class TestProvinceImport:
    @pytest.mark.parametrize("kind", list(KINDS))
    def test_every_line_is_created_without_errors(self, province: Province, kind: str) -> None:
        report, lines = province.reports[kind], len(province.data[KINDS[kind]])
        assert report["errors"] == []
        assert (report["lines"], report["created"], report["updated"], report["unchanged"], report["failed"]) == (
            lines, lines, 0, 0, 0)

    def test_persons_number_about_a_thousand(self, province: Province) -> None:
        assert len(province.data["persons"]) == 1000

    def test_closed_units_name_successors_defined_before_and_after_them(self, province: Province) -> None:
        units = province.data["org_units"]
        line = {u["code"]: i for i, u in enumerate(units)}
        named = {u["code"]: u["successors"] for u in units if u.get("successors")}
        assert len(named) == 4 * 10 and {len(s) for s in named.values()} == {1, 2}
        assert all(u["valid_to"] for u in units if u["code"] in named)
        forward = Counter(line[s] > line[c] for c, successors in named.items() for s in successors)
        assert forward == {True: 4 * 5, False: 4 * 6}  # a district's successors come after it, a commune's before
        assert sum(1 for u in units if u.get("local_languages")) == 3

    def test_export_carries_the_successors_and_local_languages(self, province: Province, loaded: Registry) -> None:
        exported = [json.loads(line) for line in loaded.export("org-units").splitlines()]
        given = {u["code"]: u for u in province.data["org_units"]}
        assert all("successors" in u and "local_languages" in u for u in exported)
        assert {u["code"]: (u["successors"], u["local_languages"]) for u in exported} == {
            c: (sorted(u.get("successors", [])), sorted(u.get("local_languages", []))) for c, u in given.items()}

    def test_importing_again_reports_everything_unchanged_and_writes_nothing(self, province: Province,
                                                                             loaded: Registry) -> None:
        mark = cursor(loaded)
        for kind, key in KINDS.items():
            report = loaded.import_lines(kind, ndjson(province.data[key]))
            lines = len(province.data[key])
            assert (report["created"], report["updated"], report["unchanged"], report["errors"]) == (0, 0, lines, [])
        assert changes_after(loaded, mark) == []
        r = loaded.client.get("/api/v1/changes", params={"after": mark}, headers=loaded.headers())
        assert r.json() == {"changes": [], "next": mark}

    @pytest.mark.parametrize("kind", list(KINDS))
    def test_export_keeps_every_input_record(self, province: Province, loaded: Registry, kind: str) -> None:
        key = KEYS[kind]
        exported = {key(r): r for r in map(json.loads, loaded.export(kind).splitlines())}
        given = province.data[KINDS[kind]]
        assert len(exported) == len(given)
        problems = {key(r): d for r in given if (d := differences(r, exported.get(key(r))))}
        assert problems == {}

    @pytest.mark.parametrize(("kind", "order"), [
        ("org-units", lambda r: r["code"]), ("persons", lambda r: r["external_id"]),
        ("statistics", lambda r: (r["org_unit"], r["code"], r["period"])),
    ])
    def test_export_is_one_record_a_line_in_key_order(self, loaded: Registry, kind: str,
                                                      order: Callable[[dict[str, Any]], Any]) -> None:
        text = loaded.export(kind)
        assert text.endswith("\n")
        records = [json.loads(line) for line in text.splitlines()]
        assert [order(r) for r in records] == sorted(order(r) for r in records)

    def test_export_keeps_vietnamese_text_as_utf8(self, loaded: Registry) -> None:
        r = loaded.client.get("/api/v1/exports/persons", headers=loaded.headers())
        assert r.headers["content-type"].startswith("application/x-ndjson")
        assert "Nguyễn".encode() in r.content and b"\\u" not in r.content

    def test_export_imported_into_an_empty_registry_exports_identical_bytes(
            self, loaded: Registry, fresh_registry: Callable[[], Registry]) -> None:
        first = {kind: loaded.export(kind) for kind in KINDS}
        empty = fresh_registry()
        assert all(empty.export(kind) == "" for kind in KINDS)
        for kind in KINDS:
            report = empty.import_lines(kind, first[kind])
            assert (report["errors"], report["created"]) == ([], first[kind].count("\n"))
        second = {kind: empty.export(kind) for kind in KINDS}
        for kind in KINDS:
            assert second[kind].encode() == first[kind].encode(), kind


@pytest.fixture(scope="module")
def data() -> dict[str, list[dict[str, Any]]]:
    """The generated province, without a database."""
    return build_province()


def _ages(persons: list[dict[str, Any]], on: date) -> list[int]:
    births = [date.fromisoformat(p["birth_date"]) for p in persons]
    return [on.year - b.year - ((on.month, on.day) < (b.month, b.day)) for b in births]


class TestProvinceFixture:
    """The generator is deterministic and carries every record type the acceptance asks for."""

    def test_same_seed_gives_the_same_data(self, data: dict[str, list[dict[str, Any]]]) -> None:
        assert build_province() == data

    def test_other_seed_size_and_prefix_change_the_data(self, data: dict[str, list[dict[str, Any]]]) -> None:
        other = build_province(seed=2, persons=50, prefix="CT")
        assert len(other["persons"]) == 50
        assert other["persons"][0]["full_name"] != data["persons"][0]["full_name"]
        codes = [u["code"] for u in other["org_units"]] + [p["external_id"] for p in other["persons"]]
        assert all(c == "CT" or c.startswith("CT-") for c in codes)

    def test_every_person_list_and_record_type_occurs(self, data: dict[str, list[dict[str, Any]]]) -> None:
        persons = data["persons"]

        def items(name: str) -> list[dict[str, Any]]:
            return [i for p in persons for i in p.get(name, [])]

        assert {e["primary"] for e in items("employments")} == {True, False}
        assert any(p["key_leader"] for p in items("positions"))
        assert {d["level"] for d in items("degrees")} >= {"intermediate", "college", "bachelor", "master", "doctor"}
        assert any(d.get("country") not in (None, "VN") for d in items("degrees"))
        assert {(lang["kind"], lang["language"]) for lang in items("languages")} >= {("foreign", "en"), ("ethnic_minority", "km")}
        assert {x["level"] for x in items("political_theory")} >= {"so_cap", "trung_cap", "cao_cap", "cu_nhan"}
        assert {x["level"] for x in items("state_management")} == {"chuyen_vien", "chuyen_vien_chinh", "chuyen_vien_cao_cap"}
        assert {x["level"] for x in items("specialties")} == {"ck1", "ck2"}
        assert {x["title"] for x in items("academic_titles")} == {"pgs", "gs"}
        assert {x["level"] for x in items("it_skills")} == {"basic", "advanced"}
        assert items("trainings")
        assert sum(1 for p in persons if p.get("national_id")) > 500
        assert sum(1 for p in persons if p.get("party_member_since")) > 300
        assert {x["reason"] for x in items("separations")} == {"retirement", "resignation", "transfer_out", "dismissal",
                                                               "death"}
        assert {x["form"] for x in items("disciplines")} == {"khien_trach", "canh_cao", "cach_chuc"}
        assert any(p.get("party_member_until") for p in persons)
        assert any(x.get("score") == "6.0" for x in items("languages"))
        assert any(x.get("equivalent") for x in items("political_theory"))

    def test_every_body_kind_has_members(self, data: dict[str, list[dict[str, Any]]]) -> None:
        units = {u["code"]: u for u in data["org_units"]}
        seats = Counter((units[m["body"]]["kind"], units[m["body"]]["tier"]) for p in data["persons"]
                        for m in p.get("memberships", []))
        for kind in ("party_standing_committee", "peoples_council", "management_list", "planning_pool"):
            assert seats[(kind, "province")] > 0, kind
        for tier in ("province", "district", "commune"):
            assert seats[("party_executive_committee", tier)] > 0, tier

    def test_population_is_mixed_and_working_age(self, data: dict[str, list[dict[str, Any]]]) -> None:
        persons = data["persons"]
        ethnicities = Counter(p["ethnicity"] for p in persons)
        assert set(ethnicities) == {"01", "05", "04"} and ethnicities["01"] > ethnicities["05"] > ethnicities["04"]
        assert any(p["full_name"].startswith("Thạch ") for p in persons if p["ethnicity"] == "05")
        ages = _ages(persons, date(2025, 12, 31))
        assert (min(ages), max(ages)) == (22, 60)

    def test_occupations_sit_in_units_of_their_kind(self, data: dict[str, list[dict[str, Any]]]) -> None:
        kinds = {u["code"]: u["kind"] for u in data["org_units"]}
        where: dict[str, set[str]] = {}
        for p in data["persons"]:
            for e in p["employments"]:
                where.setdefault(e["occupation"], set()).add(kinds[e["org_unit"]])
        assert where["teacher_primary"] == {"school_primary"}
        assert where["lecturer_college"] == {"college"}
        assert where["lecturer_political_school"] == {"political_school"}
        assert where["doctor"] <= {"hospital", "health_center", "commune_health_station"}
        assert where["nurse"] <= {"hospital", "health_center", "commune_health_station"}
        assert where["specialist"] <= {"party_agency", "state_agency", "mass_org"}

    def test_the_reform_closes_units_reparents_communes_and_moves_employments(
            self, data: dict[str, list[dict[str, Any]]]) -> None:
        units = data["org_units"]
        closing = {u["code"] for u in units if u["valid_to"] == LAST_DAY.isoformat()}
        assert {u["tier"] for u in units if u["code"] in closing} == {"district", "commune"}
        assert all(u["valid_to"] == LAST_DAY.isoformat() for u in units if u["tier"] == "district")
        reparented = [u for u in units if u["kind"] == "area" and u["tier"] == "commune" and len(u["parents"]) == 2]
        assert reparented and all(u["parents"][1]["start"] == FIRST_DAY.isoformat() for u in reparented)
        moves = [p for p in data["persons"] if any(e.get("end") == LAST_DAY.isoformat() and e["org_unit"] in closing
                                                   for e in p["employments"])
                 and any(e["start"] == FIRST_DAY.isoformat() for e in p["employments"])]
        assert len(moves) > 50

    def test_population_is_reported_for_every_area_over_several_years(self, data: dict[str, list[dict[str, Any]]]) -> None:
        areas = {u["code"] for u in data["org_units"] if u["kind"] == "area"}
        years = Counter(s["org_unit"] for s in data["statistics"] if s["code"] == "population")
        assert set(years) == areas
        assert years[data["org_units"][0]["code"]] == 5
