"""A closed unit evaluated after its last day answers for its territory (spec revision 2, point 5).

domain.md, 'Targets outlive the units they were set for': for a unit U closed on L and a date D after it, the
units active on D that were in U's subtree on L, with the successors followed transitively from them where all
of a successor's predecessors lie there; a successor that also continues units from elsewhere is shared, left
out and named with what it would have added. The registry below is counted by hand (see `reform`).
"""

from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.factories import import_records, org_unit, person
from tests.conftest import Registry, uniq

CODE = "ST-2030-PD-STAFF-POSTGRAD"  # employees of every tier; the share: a postgraduate degree
L, D = "2025-06-30", "2025-12-31"
AFTER = "2025-07-01"


@dataclass
class Reform:
    r: Registry
    p: str  # the province that closes on L
    units: dict[str, str]  # short name -> code

    def __getitem__(self, name: str) -> str:
        return self.units[name]

    def value(self, unit: str, on: str = D, token: str | None = None, **extra: str) -> dict[str, Any]:
        resp = self.r.client.get(f"/api/v1/indicators/{extra.pop('code', CODE)}/value",
                                 params={"org_unit": unit, "as_of": on, **extra},
                                 headers=self.r.headers(token) if token else self.r.headers())
        assert resp.status_code == 200, resp.text
        return dict(resp.json())


def _job(unit: str, start: str, end: str | None = None) -> dict[str, Any]:
    return {"org_unit": unit, "category": "cong_chuc", "occupation": "specialist", "primary": True,
            "start": start, "end": end}


MASTER = [{"level": "master", "field": "Quản lý công", "institution": "Học viện Hành chính Quốc gia", "country": "VN",
           "awarded_on": "2015-06-30"}]


def reform(r: Registry) -> Reform:
    """Province P and province Q close on L and merge into N. Under P, district H closes on L:

    * X1 moves from H to N (still active on D): in P's territory;
    * X2 and X3 close, continued by M (under N): every predecessor under P, so M is in the territory;
    * X4 closes with Q's commune QX into M2: M2 is shared (1 postgraduate of 2 persons);
    * X5 closes into T1, which closes on 30 Sep into T2: followed transitively, T2 is in the territory;
    * P's department S and Q's department QS merge into NS: shared (0 of 1); N itself continues P and Q: shared;
    * a station NEW starts under M on 1 July with no predecessor: not in the territory (the definition's units).

    Persons: a1 (master) in X1 throughout, a2 X2 -> M, a3 (master) X4 -> M2, a4 S -> NS, a5 QX -> M2,
    a6 (master) X5 -> T1 -> T2, a7 (master) at NEW, a8 in H until L and no job after.
    On D the territory {X1, M, T2} holds a1, a2, a6: 2 of 3. On L, P's subtree held a1, a2, a3, a4, a6, a8: 3 of 6.
    """
    p, q = uniq("TP"), uniq("TQ")
    u = {"P": p, "Q": q, "N": uniq("TN"), "H": f"{p}-H", "S": f"{p}-S", "QS": f"{q}-S", "NS": uniq("TNS"),
         **{k: f"{p}-{k}" for k in ("X1", "X2", "X3", "X4", "X5", "M", "M2", "T1", "T2", "NEW")}, "QX": f"{q}-X"}
    units = [
        org_unit(u["N"], tier="province", valid_from=AFTER),
        org_unit(u["NS"], parent=u["N"], tier="province", kind="state_agency", valid_from=AFTER),
        org_unit(u["M"], parent=u["N"], valid_from=AFTER),
        org_unit(u["M2"], parent=u["N"], valid_from=AFTER),
        org_unit(u["T2"], parent=u["N"], valid_from="2025-10-01"),
        org_unit(u["T1"], parent=u["N"], valid_from=AFTER, valid_to="2025-09-30") | {"successors": [u["T2"]]},
        org_unit(u["NEW"], parent=u["M"], kind="commune_health_station", sector="health", valid_from=AFTER),
        org_unit(p, tier="province", valid_to=L) | {"successors": [u["N"]]},
        org_unit(q, tier="province", valid_to=L) | {"successors": [u["N"]]},
        org_unit(u["H"], parent=p, tier="district", valid_to=L),
        org_unit(u["S"], parent=p, tier="province", kind="state_agency", valid_to=L) | {"successors": [u["NS"]]},
        org_unit(u["QS"], parent=q, tier="province", kind="state_agency", valid_to=L) | {"successors": [u["NS"]]},
        org_unit(u["X1"], parent=u["H"]) | {"parents": [{"code": u["H"], "start": "2004-01-01", "end": L},
                                                       {"code": u["N"], "start": AFTER, "end": None}]},
        org_unit(u["X2"], parent=u["H"], valid_to=L) | {"successors": [u["M"]]},
        org_unit(u["X3"], parent=u["H"], valid_to=L) | {"successors": [u["M"]]},
        org_unit(u["X4"], parent=u["H"], valid_to=L) | {"successors": [u["M2"]]},
        org_unit(u["X5"], parent=u["H"], valid_to=L) | {"successors": [u["T1"]]},
        org_unit(u["QX"], parent=q, valid_to=L) | {"successors": [u["M2"]]},
    ]
    report = import_records(r, "org-units", units)
    assert report["errors"] == [], report["errors"]

    def moved(*spans: tuple[str, str, str | None]) -> list[dict[str, Any]]:
        return [_job(u[k], s, e) for k, s, e in spans]

    people = [
        ("a1", True, moved(("X1", "2008-01-01", None))),
        ("a2", False, moved(("X2", "2008-01-01", L), ("M", AFTER, None))),
        ("a3", True, moved(("X4", "2008-01-01", L), ("M2", AFTER, None))),
        ("a4", False, moved(("S", "2008-01-01", L), ("NS", AFTER, None))),
        ("a5", False, moved(("QX", "2008-01-01", L), ("M2", AFTER, None))),
        ("a6", True, moved(("X5", "2008-01-01", L), ("T1", AFTER, "2025-09-30"), ("T2", "2025-10-01", None))),
        ("a7", True, moved(("NEW", AFTER, None))),
        ("a8", False, moved(("H", "2008-01-01", L))),
    ]
    records = [person(f"{p}-{name}", "", employments=jobs, degrees=MASTER if master else [],
                      ethnicity="05" if name in ("a1", "a2", "a6") else "01")  # Khmer: the protected indicator's
               for name, master, jobs in people]
    report = import_records(r, "persons", records)
    assert report["errors"] == [], report["errors"]
    return Reform(r, p, u)


@pytest.fixture
def made(registry: Registry) -> Reform:
    return reform(registry)


def test_a_closed_province_answers_for_its_territory(made: Reform) -> None:
    v = made.value(made.p)
    assert (v["numerator"], v["denominator"], v["status"]) == (2, 3, "met")
    assert v["value"] == pytest.approx(2 / 3)
    assert v["scope"] == "territory"
    terr = v["territory"]
    assert terr["last_day"] == L and terr["units"] == 3
    assert terr["top_units"] == sorted([made["X1"], made["M"], made["T2"]])
    assert terr["shared"] == sorted([
        {"org_unit": made["M2"], "numerator": 1, "denominator": 2},
        {"org_unit": made["N"], "numerator": 0, "denominator": 0},
        {"org_unit": made["NS"], "numerator": 0, "denominator": 1},
    ], key=lambda s: s["org_unit"])
    assert v["at_closure"] == {"as_of": L, "numerator": 3, "denominator": 6, "value": 0.5, "status": "met",
                               "band_position": v["at_closure"]["band_position"]}
    assert "closed on 2025-06-30" in v["note"] and "left out" in v["note"]


def test_the_territory_is_the_units_not_their_new_children(made: Reform) -> None:
    """A station opened under a territory unit without a predecessor is nobody's territory: a7 is not counted."""
    persons = made.r.client.get(f"/api/v1/indicators/{CODE}/persons", params={"org_unit": made.p, "as_of": D},
                                headers=made.r.headers()).json()
    assert sorted(i["external_id"] for i in persons["persons"]) == [f"{made.p}-a1", f"{made.p}-a2", f"{made.p}-a6"]
    assert (persons["numerator"], persons["denominator"]) == (2, 3)


def test_a_closed_district_and_a_closed_commune(made: Reform) -> None:
    district = made.value(made["H"])
    assert (district["numerator"], district["denominator"]) == (2, 3)
    assert district["territory"]["shared"] == [{"org_unit": made["M2"], "numerator": 1, "denominator": 2}]
    shared_only = made.value(made["X4"])  # its one successor is shared: an empty territory, no value
    assert (shared_only["numerator"], shared_only["denominator"], shared_only["value"], shared_only["status"]) == \
        (0, 0, None, "no_data")
    assert shared_only["territory"]["units"] == 0 and "no value" in shared_only["note"]
    assert shared_only["at_closure"]["denominator"] == 1


def test_an_open_unit_and_a_date_before_closure_are_as_before(made: Reform) -> None:
    before = made.value(made.p, L)
    assert (before["numerator"], before["denominator"]) == (3, 6)
    assert "scope" not in before and "at_closure" not in before
    n = made.value(made["N"])
    assert (n["numerator"], n["denominator"]) == (4, 7) and "scope" not in n  # a1 a2 a3 a4 a5 a6 a7 under N


def test_values_give_closed_units_their_territory(made: Reform) -> None:
    resp = made.r.client.get(f"/api/v1/indicators/{CODE}/values", params={"as_of": D, "under": made.p},
                             headers=made.r.headers())
    assert resp.status_code == 200, resp.text
    items = {i["org_unit"]: i for i in resp.json()["items"]}
    assert set(items) == {made[k] for k in ("P", "H", "S", "X2", "X3", "X4", "X5")}
    # X2 and X3 alone do not hold all of M's predecessors: M is shared for each; X5 alone holds T2's
    for code, (num, den) in {made.p: (2, 3), made["H"]: (2, 3), made["S"]: (0, 0), made["X2"]: (0, 0),
                             made["X3"]: (0, 0), made["X5"]: (1, 1), made["X4"]: (0, 0)}.items():
        assert (items[code]["numerator"], items[code]["denominator"], items[code]["scope"]) == (num, den, "territory")
    for code in items:  # the all-units pass and /value agree on every closed unit
        one = made.value(code)
        assert (one["numerator"], one["denominator"], one["status"]) == \
            (items[code]["numerator"], items[code]["denominator"], items[code]["status"]), code


def test_a_unit_that_never_existed_by_the_date_has_no_territory(made: Reform) -> None:
    v = made.value(made["T2"], "2025-08-01")
    assert (v["denominator"], v["status"]) == (0, "no_data") and "scope" not in v
    assert "no territory" in v["note"]


def test_known_at_before_a_successor_was_removed(made: Reform) -> None:
    """The territory is read as recorded: with X5's successor removed later, an earlier known_at still follows it."""
    import time
    from datetime import UTC, datetime

    time.sleep(0.01)
    known = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    report = import_records(made.r, "org-units", [org_unit(made["X5"], parent=made["H"], valid_to=L)])
    assert report["errors"] == [] and report["updated"] == 1
    now = made.value(made.p)  # T2 no longer continues a unit of P: a1 and a2 are left
    assert (now["numerator"], now["denominator"], now["territory"]["units"]) == (1, 2, 2)
    then = made.value(made.p, known_at=known)
    assert (then["numerator"], then["denominator"], then["territory"]["units"]) == (2, 3, 3)


def test_the_territory_in_every_role(made: Reform) -> None:
    """Scoped callers: the closed unit's token sees its territory's figures, names only the persons it may read,
    and a token of another province is refused; the database is read, never written."""
    r = made.r
    before = r.export("org-units"), r.export("persons")
    auditor, officer, other = (r.token("auditor", [made.p]), r.token("hr_officer", [made.p]),
                               r.token("auditor", [made["Q"]]))
    for token in (auditor, officer):
        v = made.value(made.p, token=token)
        assert (v["numerator"], v["denominator"], v["scope"]) == (2, 3, "territory")
        listed = r.client.get(f"/api/v1/indicators/{CODE}/persons", params={"org_unit": made.p, "as_of": D},
                              headers=r.headers(token)).json()
        # a1 works in X1, which now sits under the new city: not the P token's to read
        assert sorted(i["external_id"] for i in listed["persons"]) == [f"{made.p}-a2", f"{made.p}-a6"]
        assert listed["not_listed_outside_your_units"] == 1
    refused = r.client.get(f"/api/v1/indicators/{CODE}/value", params={"org_unit": made.p, "as_of": D},
                           headers=r.headers(other))
    assert refused.status_code == 403 and refused.json()["code"] == "out_of_scope"
    assert (r.export("org-units"), r.export("persons")) == before


PROTECTED = "ST-2025-ETHNIC-STAFF-LANGUAGE"  # reads ethnicity: an auditor gets protected aggregates


def test_a_protected_territory_is_withheld_from_aggregate_roles(made: Reform) -> None:
    r = made.r
    auditor = r.token("auditor", [made.p])
    v = made.value(made.p, token=auditor, code=PROTECTED)
    assert v["scope"] == "territory" and v["suppressed"] is True and v["suppression"] == "territory"
    assert (v["numerator"], v["denominator"], v["value"], v["status"]) == (None, None, None, "no_data")
    assert v["at_closure"]["suppressed"] is True and v["at_closure"]["denominator"] is None
    assert "withheld" in v["note"] and "no value" not in v["note"]  # the note says nothing of the counts
    assert v["territory"]["top_units"] == sorted([made["X1"], made["M"], made["T2"]])
    assert all(set(s) == {"org_unit"} for s in v["territory"]["shared"])
    admin = made.value(made.p, code=PROTECTED)  # the exact figure exists: an administrator reads it
    assert admin["denominator"] is not None and "suppressed" not in admin
    items = r.client.get(f"/api/v1/indicators/{PROTECTED}/values", params={"as_of": D, "under": made.p},
                         headers=r.headers(auditor)).json()["items"]
    closed = [i for i in items if i.get("scope") == "territory"]
    assert closed and all(i["suppressed"] and i["suppression"] == "territory" and i["denominator"] is None
                          for i in closed)
    split = r.client.get(f"/api/v1/indicators/{PROTECTED}/breakdown",
                         params={"org_unit": made.p, "as_of": D, "by": "gender"}, headers=r.headers(auditor)).json()
    assert split["cells"] and all(c["suppressed"] and c["suppression"] == "territory" for c in split["cells"])
    assert admin["denominator"] == 3 and admin["scope"] == "territory"


def test_the_sql_of_a_territory_runs(made: Reform) -> None:
    """/sql of a closed unit lists the territory's statements and the figure on the last day's."""
    shown = made.r.client.get(f"/api/v1/indicators/{CODE}/sql", params={"org_unit": made.p, "as_of": D},
                              headers=made.r.headers()).json()
    purposes = [s["purpose"].split(":")[0] for s in shown["statements"]]
    assert purposes == ["numerator, denominator", "territory", "territory.shared",
                        f"at_closure ({L})"], purposes


def test_the_dashboard_shows_the_territory(made: Reform) -> None:
    """The indicator page of the closed province on D: the territory, its units, the shared successors and the
    province's own figure on its last day, in Vietnamese and in English; never a 500."""
    from tests.web.test_sessions import sign_in

    client = sign_in(made.r.client, made.r.token("auditor", [made.p]))
    try:
        for lang, heading, closing in (("vi", "Địa bàn của đơn vị đã kết thúc hoạt động", "Số liệu của chính đơn vị"),
                                       ("en", "The territory of a closed unit", "Its own figure on its last day")):
            page = client.get(f"/dashboard/indicators/{CODE}",
                              params={"doc": "ST", "org_unit": made.p, "as_of": D, "lang": lang})
            assert page.status_code == 200, page.text[-2000:]
            html = page.text
            section = html[html.index('data-scope="territory"'):]
            section = section[:section.index("</section>")]
            assert heading in section and closing in section
            assert all(made[k] in section for k in ("X1", "M", "T2", "M2", "NS", "N"))
            assert "3 / 6" in section and "1 / 2" in section  # at closure; what M2 would have added
    finally:
        client.cookies.clear()


def test_a_scoped_officer_gets_no_protected_territory_figure(made: Reform) -> None:
    """An HR officer of P sees ethnicity of its own persons, but the territory gathers units that now sit under the
    new city (X1's a1 is no longer P's to read): a protected indicator's territory figures are withheld from it,
    in /value, /values and the breakdowns; a non-protected one is given; the whole-tree administrator gets both."""
    r = made.r
    officer = r.token("hr_officer", [made.p])
    v = made.value(made.p, token=officer, code=PROTECTED)
    assert (v["suppressed"], v["suppression"], v["denominator"]) == (True, "territory", None)
    assert all(set(s) == {"org_unit"} for s in v["territory"]["shared"]) and v["at_closure"]["denominator"] is None
    items = r.client.get(f"/api/v1/indicators/{PROTECTED}/values", params={"as_of": D, "under": made.p},
                         headers=r.headers(officer)).json()["items"]
    assert all(i["suppressed"] for i in items if i.get("scope") == "territory")
    split = r.client.get(f"/api/v1/indicators/{PROTECTED}/breakdown",
                         params={"org_unit": made.p, "as_of": D, "by": "age_band"}, headers=r.headers(officer)).json()
    assert split["cells"] and all(c["suppressed"] for c in split["cells"])
    assert made.value(made.p, token=officer)["denominator"] == 3  # not protected: the territory's figure
    assert made.value(made.p, code=PROTECTED)["denominator"] == 3  # the whole-tree administrator


def test_a_successor_link_is_in_force_only_after_its_predecessor_closed(made: Reform) -> None:
    """X1 (in P's territory) closes later, on 2026-03-31, into Z, a commune of another, open province R: on D the link
    is not in force yet, Z is not P's; after X1 closed, Z continues only X1 and joins P's territory."""
    r, rz = made.r, uniq("TR")
    z = f"{rz}-Z"
    x1 = org_unit(made["X1"], parent=made["H"], valid_to="2026-03-31") | {
        "parents": [{"code": made["H"], "start": "2004-01-01", "end": L},
                    {"code": made["N"], "start": AFTER, "end": "2026-03-31"}], "successors": [z]}
    report = import_records(r, "org-units", [org_unit(rz, tier="province"), org_unit(z, parent=rz), x1])
    assert report["errors"] == [], report["errors"]
    report = import_records(r, "persons", [person(f"{made.p}-z1", z, degrees=MASTER)])
    assert report["errors"] == [], report["errors"]
    on_d = made.value(made.p)
    assert (on_d["numerator"], on_d["denominator"]) == (2, 3) and z not in on_d["territory"]["top_units"]
    later = made.value(made.p, "2026-06-30")  # a1 had no job after X1 closed; z1 at Z; a2 at M; a6 at T2
    assert z in later["territory"]["top_units"] and made["X1"] not in later["territory"]["top_units"]
    assert (later["numerator"], later["denominator"]) == (2, 3)


def test_a_rate_s_shared_units_give_persons_not_a_denominator(made: Reform) -> None:
    docs = [person(f"{made.p}-d{i}", made["M2"], employments=[
        {"org_unit": made["M2"], "category": "vien_chuc", "occupation": "doctor", "primary": True,
         "start": AFTER, "end": None}]) for i in range(2)]
    assert import_records(made.r, "persons", docs)["errors"] == []
    v = made.value(made.p, code="ST-2025-DOCTORS-PER-10K")
    m2 = next(s for s in v["territory"]["shared"] if s["org_unit"] == made["M2"])
    assert m2 == {"org_unit": made["M2"], "numerator": 2, "denominator": None}


def test_a_published_run_of_a_closed_unit_keeps_its_territory_and_withholds_it_as_the_answer_does(made: Reform) -> None:
    """A run frozen for the closed province says it is the territory, what was left out and the last day's figure;
    read back by a scoped officer, a protected indicator's territory figures are withheld as in /value."""
    r = made.r
    run = r.client.post("/api/v1/indicator-runs", json={"doc": "ST", "org_unit": made.p, "as_of": D}, headers=r.headers())
    assert run.status_code in (200, 201), run.text
    run_id = run.json()["id"]
    frozen = {x["indicator"]: x for x in r.client.get(f"/api/v1/indicator-runs/{run_id}", headers=r.headers()).json()["results"]}
    assert frozen[CODE]["scope"] == "territory" and frozen[CODE]["at_closure"]["denominator"] == 6
    assert frozen[CODE]["territory"]["top_units"] == sorted([made["X1"], made["M"], made["T2"]])
    assert frozen[PROTECTED]["denominator"] == 3  # the whole-tree administrator reads the exact figure
    officer = r.token("hr_officer", [made.p])
    seen = {x["indicator"]: x for x in r.client.get(f"/api/v1/indicator-runs/{run_id}",
                                                    headers=r.headers(officer)).json()["results"]}
    assert seen[CODE]["denominator"] == 3 and seen[CODE]["at_closure"]["denominator"] == 6
    hidden = seen[PROTECTED]
    assert (hidden["suppressed"], hidden["denominator"], hidden["at_closure"]["denominator"]) == (True, None, None)
    assert all(set(s) == {"org_unit"} for s in hidden["territory"]["shared"])


def test_a_past_dates_drill_down_lists_only_persons_the_caller_may_read(made: Reform) -> None:
    """On a date before the closure, P's subtree held X1, which now sits under the new province: an officer of P may
    not read X1's a1 (GET /persons is a 404), so the drill-down on that date does not name a1 either (it is counted,
    and said to be left out); the whole-tree administrator gets everyone."""
    r = made.r
    officer = r.token("hr_officer", [made.p])
    a1 = f"{made.p}-a1"
    assert r.client.get(f"/api/v1/persons/{a1}", headers=r.headers(officer)).status_code == 404
    before = "2024-12-31"
    listed = r.client.get(f"/api/v1/indicators/{CODE}/persons", params={"org_unit": made.p, "as_of": before},
                          headers=r.headers(officer)).json()
    names = {p["external_id"] for p in listed["persons"]}
    assert a1 not in names and names and listed["not_listed_outside_your_units"] >= 1
    admin = r.client.get(f"/api/v1/indicators/{CODE}/persons", params={"org_unit": made.p, "as_of": before},
                         headers=r.headers()).json()
    assert a1 in {p["external_id"] for p in admin["persons"]} and "not_listed_outside_your_units" not in admin
    protected = r.client.get(f"/api/v1/indicators/{PROTECTED}/persons", params={"org_unit": made.p, "as_of": before},
                             headers=r.headers(officer)).json()
    assert a1 not in {p["external_id"] for p in protected["persons"]}
    assert "not_listed_outside_your_units" not in protected  # a protected figure's count of the unread says nothing
