"""Attacks on the projection, the every-unit projection and the gap (#14): roles, scope in, out and formerly in,
sensitive populations, hostile parameters, and that a GET changes nothing."""

from typing import Any

import pytest

from tests.api.factories import course as _course
from tests.api.factories import cursor, import_records, moved_person, person, small_tree
from tests.api.factories import enrolment as _enrolment
from tests.conftest import Registry, uniq
from tests.security.test_disclosure import _access_rows

STANDARD = "CT-2025-LEADERS-MEET-STANDARDS"
TEACHERS = "ST-2025-TEACHERS-MEET-STANDARD"
ETHNIC = "ST-2025-ETHNIC-STAFF-LANGUAGE"
ROUTES = ("projection", "gap")


def _leader(ext: str, unit: str, birth: str, **extra: Any) -> dict[str, Any]:
    return person(ext, unit, birth_date=birth, gender="male", full_name=f"Lãnh đạo {ext}",
                  employments=[{"org_unit": unit, "category": "cong_chuc", "occupation": "specialist", "primary": True,
                                "start": "2010-01-01", "end": None}],
                  positions=[{"org_unit": unit, "title": "Giám đốc", "rank": "department_head", "key_leader": False,
                              "start": "2020-01-01", "end": None}],
                  political_theory=[{"level": "trung_cap", "awarded_on": "2015-07-01"}],
                  state_management=[{"level": "chuyen_vien_chinh", "awarded_on": "2016-01-01"}], **extra)


def _world(registry: Registry) -> tuple[Any, dict[str, str]]:
    """Leaders in the province's agency (six) and in commune A (one, retiring), one enrolled in a province course."""
    tree = small_tree(registry)
    ext = {f"p{i}": f"{tree.province}-P{i}" for i in range(6)} | {"a": f"{tree.province}-A0"}
    records = [_leader(ext[f"p{i}"], tree.agency, f"198{i}-02-0{i + 1}") for i in range(6)]
    records.append(_leader(ext["a"], tree.commune_a, "1966-05-20"))
    assert import_records(registry, "persons", records)["created"] == 7
    code = uniq("PC")
    assert import_records(registry, "courses", [_course(code, tree.province)])["errors"] == []
    assert import_records(registry, "enrolments", [
        _enrolment(ext["p0"], code, "enrolled", expected_completion="2027-06-30")])["errors"] == []
    return tree, ext


def _get(registry: Registry, route: str, token: str | None, code: str = STANDARD, **params: Any) -> Any:
    return registry.client.get(f"/api/v1/indicators/{code}/{route}", params=params,
                               headers=registry.headers(token) if token else registry.headers())


def _params(route: str, unit: str) -> dict[str, str]:
    return {"org_unit": unit, "from": "2026-01-01"} | ({"to": "2030-12-31"} if route == "projection" else
                                                        {"as_of": "2030-12-31"})


def test_counts_only_roles_never_receive_a_person(registry: Registry) -> None:
    tree, ext = _world(registry)
    integration = registry.token("integration", [tree.province])
    for route in ROUTES:
        r = _get(registry, route, integration, **_params(route, tree.province))
        assert r.status_code == 200, r.text
        for e in ext.values():
            assert e not in r.text and f"Lãnh đạo {e}" not in r.text, (route, e)
    gap = _get(registry, "gap", integration, **_params("gap", tree.province)).json()
    assert gap["candidates"] is None and gap["candidates_count"] == 6  # six short of cao cấp in 2030 (one retired)
    events = _get(registry, "projection", integration, **_params("projection", tree.province)).json()["events"]
    assert events and all("person" not in e for e in events)
    assert all(e["persons"] is None and e["suppressed"] for e in events)  # one person per kind and point
    # the same answers name them for the roles that see persons
    hr = registry.token("hr_officer", [tree.province])
    named = _get(registry, "gap", hr, **_params("gap", tree.province)).json()
    assert {c["external_id"] for c in named["candidates"]} == set(ext.values()) - {ext["a"]}
    assert named["candidates"][0]["external_id"] == ext["p0"] and named["candidates"][0]["enrolled"] is True


def test_a_commune_token_sees_its_commune_and_nothing_above_it(registry: Registry) -> None:
    tree, ext = _world(registry)
    officer_a = registry.token("hr_officer", [tree.commune_a])
    officer_b = registry.token("hr_officer", [tree.commune_b])
    for route in ROUTES:
        r = _get(registry, route, officer_a, **_params(route, tree.province))
        assert r.status_code == 403 and r.json()["code"] == "out_of_scope", r.text
        r = _get(registry, route, officer_b, **_params(route, tree.commune_a))
        assert r.status_code == 403 and r.json()["code"] == "out_of_scope", r.text
    own = _get(registry, "projection", officer_a, **_params("projection", tree.commune_a)).json()
    assert [p["denominator"] for p in own["points"]] == [1, 1, 1, 0, 0, 0]  # born May 1966: retires end of May 2028
    assert [(e["kind"], e["date"], e["person"]) for e in own["events"]] == [("retirement", "2028-06-01", ext["a"])]
    assert ext["p0"] not in str(own)
    every = _get(registry, "projections", officer_a, **{"from": "2026-01-01", "to": "2030-12-31"}).json()
    assert {u["org_unit"] for u in every["units"]} <= {tree.commune_a, tree.school_a}
    assert tree.province not in {u["org_unit"] for u in every["units"]}
    r = _get(registry, "projections", officer_a, under=tree.province)
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope", r.text


def test_a_former_employer_sees_in_the_events_whom_it_may_still_read(registry: Registry) -> None:
    tree = small_tree(registry)
    moved = uniq("M")
    assert import_records(registry, "persons", [moved_person(moved, tree)])["created"] == 1
    officer_a = registry.token("hr_officer", [tree.commune_a])
    params = {"org_unit": tree.commune_a, "from": "2024-06-01", "to": "2025-06-01", "training": "none"}
    answer = _get(registry, "projection", officer_a, TEACHERS, **params).json()
    assert [(p["as_of"], p["denominator"]) for p in answer["points"]] == [("2024-06-01", 1), ("2024-12-31", 0),
                                                                       ("2025-06-01", 0)]
    readable = registry.client.get(f"/api/v1/persons/{moved}", headers=registry.headers(officer_a)).status_code == 200
    # both dated events of that day are listed; the person's change is carried by the last
    assert [(e["kind"], e["date"], e.get("person"), e["denominator"]) for e in answer["events"]] == [
        ("record_end", "2024-09-01", moved, 0), ("record_start", "2024-09-01", moved, -1)] if readable else []


def test_a_sensitive_population_is_refused_to_auditors_and_logged_for_those_who_see_it(registry: Registry) -> None:
    tree = small_tree(registry)
    ext = [f"{tree.province}-K{i}" for i in range(2)]
    records = [person(e, tree.agency, ethnicity="04", employments=[
        {"org_unit": tree.agency, "category": "cong_chuc", "occupation": "specialist", "primary": True,
         "start": "2010-01-01", "end": None}]) for e in ext]
    assert import_records(registry, "persons", records)["created"] == 2
    auditor = registry.token("auditor", [tree.province])
    integration = registry.token("integration", [tree.province])
    for route in ROUTES:
        r = _get(registry, route, auditor, ETHNIC, **_params(route, tree.province))
        assert r.status_code == 403 and r.json()["code"] == "sensitive_population", r.text
    r = _get(registry, "projections", auditor, ETHNIC, under=tree.province, to="2030-12-31")
    assert r.status_code == 403 and r.json()["code"] == "sensitive_population", r.text
    # integration reads ethnicity (it synchronises whole records) and gets counts, never a name
    r = _get(registry, "gap", integration, ETHNIC, **_params("gap", tree.province))
    assert r.status_code == 200 and r.json()["candidates"] is None and not any(e in r.text for e in ext), r.text
    hr = registry.token("hr_officer", [tree.province])
    gap = _get(registry, "gap", hr, ETHNIC, **_params("gap", tree.province))
    assert gap.status_code == 200, gap.text
    assert {c["external_id"] for c in gap.json()["candidates"]} == set(ext)
    logged = {(pid, fields) for pid, fields, _action, _detail in _access_rows(registry, tree.province)}
    assert {(e, "ethnicity") for e in ext} <= logged


@pytest.mark.parametrize(("params", "code"), [
    ({"from": "2026-13-45"}, None),
    ({"from": "2030-01-01", "to": "2026-01-01"}, "invalid_range"),
    ({"to": "9999-12-31"}, "invalid_range"),
    ({"training": "<script>alert(1)</script>"}, "invalid_training"),
    ({"training": "expected\x00"}, "invalid_characters"),
    ({"org_unit": "P\x07\u202e"}, None),
    ({"org_unit": "X" * 5000}, None),
    ({"from": "0001-01-01", "to": "0001-12-31"}, None),
])
def test_hostile_parameters_get_a_clear_refusal(registry: Registry, params: dict[str, str], code: str | None) -> None:
    tree = small_tree(registry)
    for route in ROUTES:
        query = {"org_unit": tree.province} | {("as_of" if k == "to" and route == "gap" else k): v
                                                for k, v in params.items()}
        r = _get(registry, route, None, **query)
        assert r.status_code != 500, (route, params, r.text)
        if params.get("from") == "0001-01-01":
            assert r.status_code == 200, r.text  # nobody was born then: empty figures, no error
            continue
        assert 400 <= r.status_code < 500, (route, params, r.text)
        if code:
            assert r.json()["code"] == code, r.text
    r = _get(registry, "projection", None, "CT-2025-MASTERS-PHD-INFLOW", org_unit=tree.province)
    assert r.status_code == 422 and r.json()["code"] == "no_projection", r.text
    r = _get(registry, "gap", None, "NO-SUCH-INDICATOR", org_unit=tree.province)
    assert r.status_code == 404, r.text


def test_projections_and_gaps_change_nothing(registry: Registry) -> None:
    tree, _ext = _world(registry)
    kinds = ("persons", "courses", "enrolments", "org-units")
    before = {k: registry.export(k) for k in kinds}
    at = cursor(registry)
    for training in ("none", "expected", "completion_rate"):
        for route in ROUTES:
            assert _get(registry, route, None, **_params(route, tree.province), training=training).status_code == 200
    assert _get(registry, "projections", None, under=tree.province, to="2030-12-31").status_code == 200
    assert {k: registry.export(k) for k in kinds} == before
    assert cursor(registry) == at
