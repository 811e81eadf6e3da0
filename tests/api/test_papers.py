"""Qualifications as written on the paper (spec revision 2, point 13): a language certificate by name and
score, mapped to the 6-level framework by a sourced table; political theory held by a certificate of
equivalence (tương đương), counted as its level."""

from typing import Any

import pytest

from tests.api.factories import (
    Record,
    SmallTree,
    assert_round_trips,
    create_person,
    export_records,
    import_records,
    person,
    person_exports,
)
from tests.conftest import Registry, uniq


def with_languages(tree: SmallTree, *languages: dict[str, Any], **overrides: Any) -> Record:
    items = [{"language": "en", "kind": "foreign", "awarded_on": "2019-06-01"} | item for item in languages]
    return person(f"{tree.province}-{uniq('PA')}", tree.school_a, languages=items, **overrides)


DERIVED = [  # (the paper as written, the level it counts as)
    ({"certificate": "IELTS", "score": "6.0"}, 4),
    ({"certificate": "IELTS", "score": "4,5"}, 3),
    ({"certificate": "ielts", "score": "5.5"}, 4),
    ({"certificate": "TOEFL iBT", "score": "46"}, 4),
    ({"certificate": "TOEFL ITP", "score": "470"}, 3),
    ({"certificate": "Linguaskill", "score": "165"}, 4),
    ({"certificate": "B"}, 2),
    ({"certificate": "C", "language": "fr"}, 3),
    ({"certificate": "VSTEP", "score": "Bậc 5"}, 5),
    ({"certificate": "JLPT", "score": "N3", "language": "ja"}, 4),
    ({"certificate": "HSK", "score": "3", "language": "zh"}, 3),
    ({"certificate": "DELF", "score": "B2", "language": "fr"}, 4),
]


class TestCertificates:
    @pytest.mark.parametrize(("paper", "level"), DERIVED, ids=[f"{p['certificate']}-{p.get('score')}" for p, _l in DERIVED])
    def test_the_level_is_derived_stored_and_exported_beside_the_paper(self, registry: Registry, tree: SmallTree,
                                                                      paper: dict[str, Any], level: int) -> None:
        record = with_languages(tree, paper)
        stored = create_person(registry, record)
        [item] = stored["languages"]
        assert item["level"] == level and item["certificate"] == paper["certificate"]
        assert item.get("score") == paper.get("score")
        again = import_records(registry, "persons", [record])
        assert (again["unchanged"], again["errors"]) == (1, [])
        exported = import_records(registry, "persons", [stored])  # the export's form (level and paper) is the same record
        assert (exported["unchanged"], exported["errors"]) == (1, [])

    REFUSED = {
        "unknown_certificate": ({"certificate": "Chứng chỉ XYZ"}, "languages[0].certificate", "not in the registry's"),
        "unconfirmed_score": ({"certificate": "IELTS", "score": "7.5"}, "languages[0].certificate", "no level is confirmed"),
        "toeic_one_score": ({"certificate": "TOEIC", "score": "700"}, "languages[0].certificate", "four skills"),
        "wrong_language": ({"certificate": "IELTS", "score": "6.0", "language": "fr"}, "languages[0].certificate",
                           "certificate of 'en'"),
        "score_not_a_number": ({"certificate": "IELTS", "score": "sáu"}, "languages[0].certificate", "not a number"),
        "level_disagrees": ({"certificate": "IELTS", "score": "6.0", "level": 5}, "languages[0].level", "counts as level 4"),
        "score_without_certificate": ({"level": 3, "score": "6.0"}, "languages[0]", "goes with the certificate"),
        "control_character": ({"certificate": "IELTS", "score": "6.0\u0000"}, "languages[0].score", ""),
        "huge_score": ({"certificate": "IELTS", "score": "6" * 5000}, "languages[0].score", ""),
        "nested_score": ({"certificate": "IELTS", "score": {"a": [[["6.0"]]]}}, "languages[0].score", ""),
        "neither": ({}, "languages[0]", "needs a level"),
        "unreadable_score_beside_a_level": ({"certificate": "IELTS", "score": "Band 5.0", "level": 6}, "languages[0].score",
                                            "not a number"),
        "score_between_rows_beside_a_level": ({"certificate": "IELTS", "score": "6.75", "level": 6}, "languages[0].score",
                                              "in no row"),
        "abc_with_a_score": ({"certificate": "B", "score": "x", "level": 5}, "languages[0].score", "in no row"),
        "wrong_language_beside_a_level": ({"certificate": "DELF", "score": "B2", "level": 2}, "languages[0].score",
                                          "certificate of 'fr'"),
        "underscore_digits": ({"certificate": "TOEFL iBT", "score": "4_5"}, "languages[0].certificate", "not a number"),
        "other_script_digits": ({"certificate": "IELTS", "score": "\u0666"}, "languages[0].certificate", "not a number"),
        "infinite": ({"certificate": "IELTS", "score": "inf", "level": 1}, "languages[0].score", "not a number"),
        "empty_certificate": ({"certificate": "", "score": "6.0", "level": 4}, "languages[0].certificate", ""),
        "score_with_spaces": ({"certificate": "IELTS", "score": " 6.0"}, "languages[0].score", ""),
    }

    @pytest.mark.parametrize("case", REFUSED)
    def test_a_paper_the_table_cannot_place_is_an_error_naming_why_and_nothing_else_is_lost(
            self, registry: Registry, tree: SmallTree, case: str) -> None:
        paper, field, why = self.REFUSED[case]
        bad = with_languages(tree, paper)
        good = with_languages(tree, {"certificate": "IELTS", "score": "6.5"})
        before = export_records(registry, "persons")
        report = import_records(registry, "persons", [bad, good])
        assert report["created"] == 1, report
        errors = [e for e in report["errors"] if e["line"] == 1]
        assert errors and len(errors) == len(report["errors"]), report
        assert any(e["field"] == field and why in e["message"] for e in errors), errors
        after = export_records(registry, "persons")
        assert [r for r in after if r["external_id"] != good["external_id"]] == before
        r = registry.client.put(f"/api/v1/persons/{bad['external_id']}", json=bad, headers=registry.headers())
        assert r.status_code == 422, r.text

    def test_the_table_is_served_with_its_sources(self, registry: Registry) -> None:
        body = registry.client.get("/api/v1/code-lists/foreign_language_level", headers=registry.headers()).json()
        table = body["equivalences"]
        assert "23/2021/TT-BGDĐT" in table["sources"]["tt23"]
        assert all(row["source"] in table["sources"] for row in table["rows"])
        ielts = [r for r in table["rows"] if r["certificate"] == "IELTS"]
        assert {(r["min"], r["max"], r["level"]) for r in ielts} >= {(4.0, 5.0, 3), (5.5, 6.5, 4)}
        assert any(r["level"] is None for r in ielts)  # unconfirmed scores are said to be so, not guessed


class TestPoliticalTheoryEquivalence:
    def test_a_certificate_of_equivalence_is_kept_and_counted_as_its_level(self, registry: Registry, tree: SmallTree) -> None:
        record = person(f"{tree.province}-{uniq('PT')}", tree.school_a, political_theory=[
            {"level": "cao_cap", "equivalent": True, "awarded_on": "2018-05-01"}])
        stored = create_person(registry, record)
        assert stored["political_theory"] == [{"level": "cao_cap", "awarded_on": "2018-05-01", "equivalent": True}]
        assert import_records(registry, "persons", [record])["unchanged"] == 1
        plain = person(f"{tree.province}-{uniq('PT')}", tree.school_a, political_theory=[
            {"level": "cao_cap", "equivalent": False, "awarded_on": "2018-05-01"}])
        assert create_person(registry, plain)["political_theory"] == [{"level": "cao_cap", "awarded_on": "2018-05-01"}]

    def test_the_equivalence_counts_in_the_figures(self, registry: Registry, tree: SmallTree) -> None:
        commune = uniq("PX")
        unit = {"code": commune, "name": "Xã Tương Đương", "kind": "area", "tier": "commune", "sector": "state",
                "valid_from": "2004-01-01", "parents": [{"code": tree.province, "start": "2004-01-01", "end": None}]}
        assert import_records(registry, "org-units", [unit])["errors"] == []
        job = [{"org_unit": commune, "category": "cap_xa_chuyen_trach", "occupation": None, "primary": True,
                "start": "2015-01-01", "end": None}]
        people = [person(f"{commune}-{n}", commune, employments=job, political_theory=theory) for n, theory in (
            (1, [{"level": "trung_cap", "equivalent": True, "awarded_on": "2018-05-01"}]),
            (2, [{"level": "trung_cap", "awarded_on": "2018-05-01"}]),
            (3, []))]
        assert import_records(registry, "persons", people)["created"] == 3
        v = registry.client.get("/api/v1/indicators/CT-2030-COMMUNE-CADRES-DEGREE/value", headers=registry.headers(),
                                params={"org_unit": commune, "as_of": "2025-01-01"}).json()
        assert (v["numerator"], v["denominator"]) == (2, 3), v

    def test_equivalent_must_be_a_boolean(self, registry: Registry, tree: SmallTree) -> None:
        record = person(f"{tree.province}-{uniq('PT')}", tree.school_a, political_theory=[
            {"level": "cao_cap", "equivalent": "yes", "awarded_on": "2018-05-01"}])
        [error] = import_records(registry, "persons", [record])["errors"]
        assert error["field"] == "political_theory[0].equivalent"


def test_json_lines_csv_and_xlsx_round_trip_byte_identical(registry: Registry, fresh_registry) -> None:
    first = fresh_registry()
    code = uniq("PR")
    unit = {"code": code, "name": "Xã Thử", "kind": "area", "tier": "commune", "sector": "state", "ethnic_contact": False,
            "valid_from": "2004-01-01", "valid_to": None, "parents": [], "successors": [], "local_languages": []}
    assert import_records(first, "org-units", [unit])["errors"] == []
    people = [
        person(f"{code}-1", code, languages=[
            {"language": "en", "kind": "foreign", "certificate": "IELTS", "score": "6.0", "awarded_on": "2019-06-01"},
            {"language": "fr", "kind": "foreign", "certificate": "B", "awarded_on": "2001-06-01"},
            {"language": "km", "kind": "ethnic_minority", "fluent": True, "awarded_on": "2010-01-15"}],
            political_theory=[{"level": "trung_cap", "awarded_on": "2012-01-01"},
                              {"level": "cao_cap", "equivalent": True, "awarded_on": "2018-05-01"}]),
        person(f"{code}-2", code, languages=[
            {"language": "ja", "kind": "foreign", "certificate": "JLPT", "score": "N3", "level": 4, "awarded_on": "2020-12-01"}]),
    ]
    assert import_records(first, "persons", people)["created"] == 2
    expected = first.export("persons")
    assert '"score": "6.0"' in expected or '"score":"6.0"' in expected
    assert_round_trips(fresh_registry, [unit], person_exports(first), created=2)
