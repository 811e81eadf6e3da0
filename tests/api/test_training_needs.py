"""GET /training-needs: the title-standard rows missed under a unit, checked person by person and row by row against a
plain computation from the exported records (the title-standard table of domain.md); enrolments that count towards
a need; what each role sees; hostile parameters."""

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from app.models import Course, Enrolment, Person
from app.services import history, training_needs, tree
from app.services.context import SYSTEM
from tests.conftest import Registry, uniq
from tests.fixtures.province import build_province
from tests.indicators.oracle import (
    CATEGORY_ROWS,
    DEGREE,
    OCCUPATION_ROWS,
    RANK_ROWS,
    STATE_MGMT,
    THEORY,
    Oracle,
    PersonOn,
)
from tests.indicators.oracle import Registry as Records

URL = "/api/v1/training-needs"
LEVELS = (("degrees", DEGREE), ("political_theory", THEORY), ("state_management", STATE_MGMT))
Key = tuple[str, str, str, str, str, str | None]  # person, qualification, level, subject, code, unit


def _get(registry: Registry, token: str | None = None, **params: str) -> Any:
    return registry.client.get(URL, params=params, headers=registry.headers(token) if token else registry.headers())


# ───────────────────────── the independent computation ─────────────────────────
def _jobs(p: PersonOn) -> list[tuple[str, str, str]]:
    """(subject, code, unit) of every record a title standard may name on the day (positions only while employed)."""
    jobs = [("rank", pos["rank"], pos["org_unit"]) for pos in p.positions]
    if p.primary is not None:
        jobs.append(("category", p.primary["category"], p.primary["org_unit"]))
        if p.primary.get("occupation"):
            jobs.append(("occupation", p.primary["occupation"], p.primary["org_unit"]))
    return jobs


def _expected(oracle: Oracle, unit: str, on: date) -> set[Key]:
    tables = {"rank": RANK_ROWS, "occupation": OCCUPATION_ROWS, "category": CATEGORY_ROWS}
    found: set[Key] = set()
    for p in oracle.persons_on(on):
        held = {"degrees": p.degree, "political_theory": p.theory, "state_management": p.state_mgmt}
        for subject, code, where in _jobs(p):
            row = tables[subject].get(code)
            if row is None or not oracle.in_scope(where, unit, on):
                continue
            for (name, order), level in zip(LEVELS, row, strict=True):
                if level is not None and held[name] < order[level]:
                    found.add((p.id, name, level, subject, code, where))
    return found


def _answered(body: dict[str, Any]) -> set[Key]:
    return {(m["external_id"], g["need"]["qualification"], g["need"]["level"], r["subject"], r["code"], r["org_unit"])
            for g in body["groups"] for m in g["members"] for r in m["rows"]}


def _held_as_computed(body: dict[str, Any], oracle: Oracle, on: date) -> None:
    persons = {p.id: p for p in oracle.persons_on(on)}
    orders = dict(LEVELS)
    for g in body["groups"]:
        name = g["need"]["qualification"]
        for m in g["members"]:
            p = persons[m["external_id"]]
            held = {"degrees": p.degree, "political_theory": p.theory, "state_management": p.state_mgmt}[name]
            assert (orders[name][m["held"]] if m["held"] else 0) == held, (m, name)


def test_title_needs_are_exactly_the_rows_each_person_misses(registry: Registry) -> None:
    prefix = uniq("TN")
    data = build_province(seed=7, persons=220, prefix=prefix)
    for kind, key in (("org-units", "org_units"), ("persons", "persons")):
        lines = [json.dumps(r, ensure_ascii=False) for r in data[key]]
        assert registry.import_lines(kind, lines)["errors"] == []
    exported = [json.loads(line) for line in registry.export("persons").splitlines() if line.strip()]
    mine = [p for p in exported if p["external_id"].startswith(f"{prefix}-")]
    assert len(mine) == 220
    oracle = Oracle(Records({"org_units": data["org_units"], "persons": mine}))
    cases = [(prefix, date(2024, 12, 31)), (prefix, date(2025, 12, 31)), (f"{prefix}-H1", date(2024, 12, 31)),
             (f"{prefix}-H1-X1", date(2023, 6, 30)), (f"{prefix}-H2-M", date(2025, 12, 31)), (f"{prefix}-SGD", date(2025, 9, 1)),
             (f"{prefix}-H1", date(2025, 12, 31))]  # a district closed on 2025-06-30: its territory
    seen = 0
    for unit, day in cases:
        r = _get(registry, org_unit=unit, as_of=day.isoformat())
        assert r.status_code == 200, r.text
        body = r.json()
        expected = _expected(oracle, unit, day)
        assert _answered(body) == expected, (unit, day)
        _held_as_computed(body, oracle, day)
        for g in body["groups"]:
            assert g["persons"] == len(g["members"]) and g["enrolled_before"] == 0
        seen += len(expected)
    assert seen > 20, "the generated province should miss some rows"
    counts = _get(registry, registry.token("integration", [prefix]), org_unit=prefix, as_of="2024-12-31").json()
    named = _get(registry, org_unit=prefix, as_of="2024-12-31").json()
    assert [g["need"] for g in counts["groups"]] == [g["need"] for g in named["groups"]]
    for shown, full in zip(counts["groups"], named["groups"], strict=True):
        small = full["persons"] < 5  # SUPPRESSION_THRESHOLD's default
        assert (shown["persons"], shown["suppressed"]) == ((None, True) if small else (full["persons"], False))


# ───────────────────────── a hand-made unit with courses and enrolments ─────────────────────────
def _unit(code: str, parent: str | None, tier: str = "province", kind: str = "state_agency") -> str:
    parents = [{"code": parent, "start": "2000-01-01", "end": None}] if parent else []
    return json.dumps({"code": code, "name": f"Đơn vị {code}", "kind": kind, "tier": tier, "sector": "state",
                       "valid_from": "2000-01-01", "parents": parents}, ensure_ascii=False)


def _leader(pid: str, unit: str, *, theory: str = "trung_cap", state: str = "chuyen_vien_chinh",
            degree: str = "master") -> str:
    return json.dumps({
        "external_id": pid, "full_name": f"Nguyễn Văn {pid[-2:]}", "birth_date": "1975-05-05", "gender": "male",
        "employments": [{"org_unit": unit, "category": "cong_chuc", "occupation": "specialist", "primary": True,
                         "start": "2010-01-01"}],
        "positions": [{"org_unit": unit, "title": "Giám đốc", "rank": "department_head", "start": "2020-01-01"}],
        "degrees": [{"level": degree, "field": "Luật", "awarded_on": "2000-06-01"}],
        "political_theory": [{"level": theory, "awarded_on": "2012-06-01"}],
        "state_management": [{"level": state, "awarded_on": "2013-06-01"}],
    }, ensure_ascii=False)


class Hand:
    """Province R with departments A and B; six leaders of A lack cao_cap, one of them chuyen_vien_chinh too;
    one leader of B lacks cao_cap."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.root = uniq("TR")
        self.a, self.b = f"{self.root}-A", f"{self.root}-B"
        units = [_unit(self.root, None, kind="area"), _unit(self.a, self.root), _unit(self.b, self.root)]
        assert registry.import_lines("org-units", units)["errors"] == []
        self.p = [f"{self.root}-P{i}" for i in range(1, 8)]
        people = [_leader(pid, self.a) for pid in self.p[:5]] + [_leader(self.p[5], self.a, state="chuyen_vien")]
        people.append(_leader(self.p[6], self.b))
        assert registry.import_lines("persons", people)["errors"] == []
        self.cao_cap, self.trung_cap, self.master = uniq("C"), uniq("C"), uniq("C")
        self._training()

    def _training(self) -> None:
        engine = create_engine(self.registry.url)
        with Session(engine) as session, session.begin():
            txn = history.current_txn(session, SYSTEM, note="test: courses and enrolments")
            a_id = tree.unit_id(session, self.a)
            awards = {self.cao_cap: {"political_theory": {"level": "cao_cap"}},
                      self.trung_cap: {"political_theory": {"level": "trung_cap"}},
                      self.master: {"degrees": {"level": "doctor", "field": "Luật"}}}
            session.add_all([Course(code=c, name=f"Lớp {c}", kind="political_theory", org_unit_id=a_id, awards=aw,
                                    sys_from=txn.id) for c, aw in awards.items()])
            found = session.execute(select(Person.external_id, Person.id).where(Person.external_id.in_(self.p)))
            ids = {e: i for e, i in found}  # noqa: C416 - rows, not pairs, to mypy
            rows = [(self.p[0], self.cao_cap, "enrolled", date(2026, 6, 30)),  # counted
                    (self.p[1], self.cao_cap, "planned", date(2026, 12, 31)),  # counted: planned, on the date
                    (self.p[2], self.cao_cap, "enrolled", date(2027, 3, 1)),  # after the date
                    (self.p[3], self.cao_cap, "withdrawn", date(2026, 6, 30)),  # withdrawn
                    (self.p[4], self.trung_cap, "enrolled", date(2026, 6, 30)),  # a level too low
                    (self.p[6], self.cao_cap, "enrolled", date(2026, 6, 30))]  # counted, under B
            session.add_all([Enrolment(person_id=ids[pid], course=c, status=s, expected_completion=d, sys_from=txn.id)
                             for pid, c, s, d in rows])
        engine.dispose()


@pytest.fixture
def hand(registry: Registry) -> Hand:
    return Hand(registry)


def _group(body: dict[str, Any], qualification: str, level: str) -> dict[str, Any]:
    found = [g for g in body["groups"] if g["need"].get("qualification") == qualification and g["need"]["level"] == level]
    assert len(found) == 1, body
    return found[0]


def test_enrolled_before_counts_open_enrolments_awarding_the_level_by_the_date(hand: Hand) -> None:
    r = _get(hand.registry, org_unit=hand.a, as_of="2026-12-05", before="2026-12-31")
    assert r.status_code == 200, r.text
    body = r.json()
    cao_cap = _group(body, "political_theory", "cao_cap")
    assert [m["external_id"] for m in cao_cap["members"]] == hand.p[:6]
    assert (cao_cap["persons"], cao_cap["enrolled_before"]) == (6, 2)
    assert {m["held"] for m in cao_cap["members"]} == {"trung_cap"}
    assert cao_cap["members"][0]["rows"] == [{"subject": "rank", "code": "department_head", "org_unit": hand.a}]
    state = _group(body, "state_management", "chuyen_vien_chinh")
    assert [(m["external_id"], m["held"]) for m in state["members"]] == [(hand.p[5], "chuyen_vien")]
    assert state["enrolled_before"] == 0
    later = _get(hand.registry, org_unit=hand.a, as_of="2026-12-05", before="2027-12-31").json()
    assert _group(later, "political_theory", "cao_cap")["enrolled_before"] == 3
    default = _get(hand.registry, org_unit=hand.a, as_of="2026-12-05").json()
    assert default["before"] == "2026-12-31" and _group(default, "political_theory", "cao_cap")["enrolled_before"] == 2
    whole = _get(hand.registry, org_unit=hand.root, as_of="2026-12-05").json()
    assert (_group(whole, "political_theory", "cao_cap")["persons"], _group(whole, "political_theory", "cao_cap")
            ["enrolled_before"]) == (7, 3)


def test_missing_counts_for_the_training_plans(hand: Hand) -> None:
    engine = create_engine(hand.registry.url)
    with Session(engine) as session:
        counts = training_needs.missing_counts(session, tree.unit_id(session, hand.root), date(2026, 12, 5))
        before = training_needs.missing_counts(session, tree.unit_id(session, hand.root), date(2019, 12, 31))
    engine.dispose()
    assert counts == {("political_theory", "cao_cap"): 7, ("state_management", "chuyen_vien_chinh"): 1}
    assert before == {}  # no position yet: the specialist row asks for a bachelor, which they hold


def test_indicator_needs_are_the_population_outside_the_numerator(hand: Hand) -> None:
    code = "ST-2025-PD-STAFF-POSTGRAD"
    r = _get(hand.registry, org_unit=hand.root, as_of="2026-12-05", indicator=code)
    assert r.status_code == 200, r.text
    group = next(g for g in r.json()["groups"] if g["need"]["kind"] == "indicator")
    drill = hand.registry.client.get(f"/api/v1/indicators/{code}/persons", params={"org_unit": hand.root,
                                     "as_of": "2026-12-05"}, headers=hand.registry.headers()).json()
    outside = sorted(p["external_id"] for p in drill["persons"] if not p["in_numerator"])
    assert [m["external_id"] for m in group["members"]] == outside == []  # every leader holds a master
    assert group["need"]["condition"]["en"] and group["enrolled_before"] == 0


def test_indicator_needs_count_courses_that_meet_the_condition(registry: Registry) -> None:
    root = uniq("TI")
    unit = f"{root}-A"
    assert registry.import_lines("org-units", [_unit(root, None, kind="area"), _unit(unit, root)])["errors"] == []
    pids = [f"{root}-P{i}" for i in range(3)]
    assert registry.import_lines("persons", [_leader(p, unit, degree="bachelor") for p in pids])["errors"] == []
    engine = create_engine(registry.url)
    with Session(engine) as session, session.begin():
        txn = history.current_txn(session, SYSTEM, note="test")
        course = uniq("C")
        session.add(Course(code=course, name="Thạc sĩ", kind="degree", org_unit_id=tree.unit_id(session, unit),
                           awards={"degrees": {"level": "master", "field": "Luật"}}, sys_from=txn.id))
        pid = session.scalar(select(Person.id).where(Person.external_id == pids[0]))
        session.add(Enrolment(person_id=pid, course=course, status="enrolled", expected_completion=date(2026, 9, 1),
                              sys_from=txn.id))
    engine.dispose()
    body = _get(registry, org_unit=root, as_of="2026-12-05", indicator="ST-2025-PD-STAFF-POSTGRAD").json()
    group = next(g for g in body["groups"] if g["need"]["kind"] == "indicator")
    assert [m["external_id"] for m in group["members"]] == pids
    assert (group["persons"], group["enrolled_before"]) == (3, 1)
    assert group["members"][0]["why"] == {"person.postgraduate": False}


# ───────────────────────── roles and scope ─────────────────────────
@pytest.mark.parametrize("role", ["admin", "hr_officer", "auditor"])
def test_roles_that_see_persons_get_the_members_of_their_units(hand: Hand, role: str) -> None:
    token = hand.registry.token(role, [hand.a])
    body = _get(hand.registry, token, org_unit=hand.a, as_of="2026-12-05").json()
    assert body["persons_named"] is True
    assert [m["external_id"] for m in _group(body, "political_theory", "cao_cap")["members"]] == hand.p[:6]
    assert hand.p[6] not in json.dumps(body)


def test_integration_gets_counts_with_small_groups_suppressed(hand: Hand) -> None:
    token = hand.registry.token("integration", [hand.root])
    r = _get(hand.registry, token, org_unit=hand.a, as_of="2026-12-05")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["persons_named"] is False
    for pid in hand.p:
        assert pid not in r.text
    cao_cap = _group(body, "political_theory", "cao_cap")
    assert (cao_cap["persons"], cao_cap["enrolled_before"], cao_cap["suppressed"]) == (6, 2, False)
    assert cao_cap.get("members") is None
    small = _group(body, "state_management", "chuyen_vien_chinh")
    assert (small["persons"], small["enrolled_before"], small["suppressed"]) == (None, None, True)
    assert small["suppression"] == "primary"


@pytest.mark.parametrize("role", ["admin", "hr_officer", "auditor", "integration"])
def test_a_token_of_one_unit_sees_nothing_of_another_or_above(hand: Hand, role: str) -> None:
    token = hand.registry.token(role, [hand.b])
    for unit in (hand.a, hand.root):
        r = _get(hand.registry, token, org_unit=unit, as_of="2026-12-05")
        assert r.status_code == 403 and r.json()["code"] == "out_of_scope", r.text
        assert all(pid not in r.text for pid in hand.p)
    own = _get(hand.registry, token, org_unit=hand.b, as_of="2026-12-05")
    assert own.status_code == 200 and all(pid not in own.text for pid in hand.p[:6])


# ───────────────────────── hostile parameters ─────────────────────────
@pytest.mark.parametrize(("params", "status", "code"), [
    ({"org_unit": "X\x00Y"}, 400, "invalid_characters"),
    ({"org_unit": "X\x1b[31m"}, 400, "invalid_characters"),
    ({"org_unit": "NO-SUCH-UNIT"}, 404, "org_unit_not_found"),
    ({"as_of": "99999-01-01"}, 422, "invalid_input"),
    ({"as_of": "2026-02-30"}, 422, "invalid_input"),
    ({"before": "0000-01-01"}, 422, "invalid_input"),
    ({"before": "yesterday"}, 422, "invalid_input"),
    ({"indicator": "NO-SUCH-INDICATOR"}, 404, "indicator_not_found"),
    ({"indicator": "../../etc"}, 422, "invalid_input"),
    ({"indicator": "X" * 500}, 422, "invalid_input"),
    ({"indicator": "CT-2025-MASTERS-PHD-INFLOW"}, 422, "not_a_ratio"),
    ({"as_of": "9999-12-31", "before": "0001-01-01"}, 200, None),
    ({"as_of": "0001-01-01"}, 200, None),
])
def test_hostile_parameters_answer_a_specific_4xx(hand: Hand, params: dict[str, str], status: int, code: str | None) -> None:
    r = _get(hand.registry, **({"org_unit": hand.a, "as_of": "2026-12-05"} | params))
    assert (r.status_code, r.json().get("code")) == (status, code), r.text
