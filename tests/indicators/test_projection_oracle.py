"""The service's projections and gaps against the reference projection (tests/indicators/projection_oracle.py).

Random registries of tests/indicators/strategies.generate (they live through the 2025 reform), with persons moved
near statutory retirement and near their 40th birthday, and random courses (every kind of award, and none) and
enrolments of every status with expected completions before, inside and after the window.  For EVERY ratio and
per-capita indicator of the catalog, for the root, the city, one of its agencies and a new commune:
GET /indicators/{code}/projection for training none and expected (completion_rate for the ratios at the root and
the city) — every point's numerator, denominator and status equal to the oracle's on the transformed registry,
value within 1e-9 — and the events' invariants (the persons with events at a point are exactly those whose
state changed; each person's net change is carried by their last event of the interval; the sums of the deltas
are the differences of the figures; retirement events fall on R + 1 by the oracle's schedule).  For the ratios at
the root: GET /indicators/{code}/gap against the projection at T and the exact `needed`, and the candidates'
invariants.

PROJECTION_SEEDS=N (default 2) seeds per backend from PROJECTION_SEED_START (default 0); PROJECTION_PERSONS the
size of each registry (default 40).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Registry
from tests.indicators import oracle
from tests.indicators.projection_oracle import (
    FINISHED,
    PENDING,
    Projection,
    base_registry,
    events_by_point,
    needed,
    pending_awards,
    points,
    retirement_day,
)
from tests.indicators.strategies import generate
from tests.indicators.test_against_service import load, prefixed

SEED_START = int(os.environ.get("PROJECTION_SEED_START", "0"))
SEEDS = list(range(SEED_START, SEED_START + int(os.environ.get("PROJECTION_SEEDS", "2"))))
PERSONS = int(os.environ.get("PROJECTION_PERSONS", "40"))
TOLERANCE = 1e-9
DETAILED = 40
RATIO_IDS = [i for i, t in oracle.TARGETS.items() if t[0] == "ratio"]
PER_CAPITA_IDS = [i for i, t in oracle.TARGETS.items() if t[0] == "per_capita"]
EVENT_KINDS = {"age", "retirement", "record_start", "record_end", "training", "org_unit"}
QUALIFICATIONS = ("degrees", "languages", "political_theory", "state_management", "specialties")
WINDOW = (date(2026, 1, 1), date(2030, 12, 31))
REFORM_WINDOW = (date(2025, 7, 1), date(2029, 3, 15))


# ───────────────────────── generated training ─────────────────────────
AWARDS: list[tuple[str, dict[str, Any] | None]] = [
    ("foreign_language", {"languages": {"language": "en", "kind": "foreign", "level": 4}}),
    ("foreign_language", {"languages": {"language": "fr", "kind": "foreign", "level": 3}}),
    ("political_theory", {"political_theory": {"level": "cao_cap"}}),
    ("political_theory", {"political_theory": {"level": "trung_cap"}}),
    ("state_management", {"state_management": {"level": "chuyen_vien_chinh"}}),
    ("degree", {"degrees": {"level": "master", "field": "Quản lý công"}}),
    ("degree", {"degrees": {"level": "doctor", "field": "Kinh tế", "country": "FR"}}),
    ("specialist", {"specialties": {"level": "ck1", "field": "Nội"}}),
    ("specialist", {"specialties": {"level": "ck2", "field": "Ngoại"}}),
    ("other", {"languages": {"language": "km", "kind": "ethnic_minority", "fluent": True}}),
    ("it", None),
]


def _course(code: str, kind: str, awards: dict[str, Any] | None) -> dict[str, Any]:
    return {"code": code, "name": f"Khóa {code}", "kind": kind, "provider": "Trường Chính trị", "org_unit": "VN",
            "start": "2024-01-05", "end": "2031-06-30", "hours": 400, "mode": "part_time", "country": "VN",
            "cost_per_person": 1000000, "funding": "state_budget", "awards": awards}


def _rand_day(rng: random.Random, lo: date, hi: date) -> date:
    return lo + timedelta(days=rng.randint(0, max(0, (hi - lo).days)))


def training(reg: dict[str, Any], seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Courses of every kind of award and enrolments of every status; moves some births near retirement or 40."""
    rng = random.Random(seed * 104729 + 7)
    for p in reg["persons"]:
        birth = date.fromisoformat(p["birth_date"])
        roll = rng.random()
        if roll < 0.3:  # retires between 2025 and 2031 (only ever moved earlier: every record stays after birth)
            lo, hi = (date(1969, 1, 1), date(1975, 12, 31)) if p["gender"] == "female" else (date(1963, 6, 1), date(1969, 6, 30))
            moved = _rand_day(rng, lo, hi)
        elif roll < 0.5:  # turns 40 between 2025 and 2031
            moved = _rand_day(rng, date(1985, 6, 1), date(1991, 6, 30))
        else:
            continue
        if moved < birth:
            p["birth_date"] = moved.isoformat()
    courses = [_course(f"K{i}", kind, awards) for i, (kind, awards) in enumerate(AWARDS)]
    enrolments = []
    for p in reg["persons"]:
        if rng.random() < 0.35:
            continue
        birth = date.fromisoformat(p["birth_date"])
        for c in rng.sample(courses, k=rng.choice([1, 1, 2, 3])):
            status = rng.choice(["planned", "enrolled", "enrolled", "completed", "failed", "withdrawn"])
            start = max(_rand_day(rng, date(2022, 1, 1), date(2029, 6, 30)), birth + timedelta(days=20 * 366))
            roll = rng.random()
            if roll < 0.1:
                expected = None
            elif roll < 0.25:  # on a key day: the window's start, a 31 December, the day after
                expected = max(start, rng.choice([WINDOW[0], date(2026, 12, 31), date(2027, 1, 1), date(2028, 12, 31),
                                                  WINDOW[1], REFORM_WINDOW[1], date(2025, 7, 2)]))
            else:
                expected = _rand_day(rng, start, start + timedelta(days=rng.randint(30, 1500)))
            completed = _rand_day(rng, start, start + timedelta(days=900)) if status == "completed" else None
            enrolments.append({"person": p["external_id"], "course": c["code"], "status": status,
                               "start": start.isoformat(), "expected_completion": expected and expected.isoformat(),
                               "completed_on": completed and completed.isoformat(), "decision": f"{rng.randint(1, 999)}/QĐ",
                               "cost": None, "commitment_until": None})
    return courses, enrolments


def prefixed_training(courses: list[dict[str, Any]], enrolments: list[dict[str, Any]],
                      prefix: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return ([c | {"code": prefix + c["code"], "org_unit": prefix + c["org_unit"]} for c in courses],
            [e | {"person": prefix + e["person"], "course": prefix + e["course"]} for e in enrolments])


# ───────────────────────── talking to the service ─────────────────────────
def _get(r: Registry, path: str, **params: str) -> dict[str, Any]:
    resp = r.client.get(f"/api/v1{path}", params=params, headers=r.headers())
    if resp.status_code != 200:
        return {"http": resp.status_code, "body": resp.text[:400]}
    return dict(resp.json())


def _num_eq(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or not isinstance(a, int | float):
        return False
    return abs(float(a) - float(b)) <= TOLERANCE * max(1.0, abs(float(b)))


class Check:
    """Collects every disagreement with the reference projection on one seed."""

    def __init__(self, r: Registry, seed: int, prefix: str, reg: dict[str, Any], courses: list[dict[str, Any]],
                 enrolments: list[dict[str, Any]]) -> None:
        self.r, self.seed, self.prefix = r, seed, prefix
        self.reg, self.courses, self.enrolments = reg, courses, enrolments
        self.persons = {p["external_id"]: p for p in base_registry(reg, courses, enrolments)["persons"]}  # awards in
        self.projections: dict[date, Projection] = {}
        self.problems: list[str] = []
        self.calls = 0

    def projection(self, d0: date) -> Projection:
        if d0 not in self.projections:
            self.projections[d0] = Projection(self.reg, self.courses, self.enrolments, d0)
        return self.projections[d0]

    def fail(self, text: str) -> None:
        self.problems.append(f"[seed {self.seed}] {text}")

    def projection_of(self, ind: str, unit: str, window: tuple[date, date], scenario: str) -> None:
        d0, d1 = window
        self.calls += 1
        got = _get(self.r, f"/indicators/{ind}/projection", org_unit=unit, **{"from": d0.isoformat()},
                   to=d1.isoformat(), training=scenario)
        where = f"{ind} @ {unit} from {d0} to {d1} training={scenario}"
        if "http" in got:
            self.fail(f"{where}: {got}")
            return
        proj = self.projection(d0)
        want = proj.project(ind, unit, d1, scenario)
        pts = got.get("points") or []
        if [p.get("as_of") for p in pts] != [w["as_of"] for w in want]:
            self.fail(f"{where}: points {[p.get('as_of') for p in pts]} != {[w['as_of'] for w in want]}")
            return
        for g, w in zip(pts, want, strict=True):
            bad = [f for f in ("numerator", "denominator", "value") if not _num_eq(g.get(f), w[f])]
            if g.get("status") != w["status"] and not (scenario == "completion_rate" and self._on_edge(ind, w)):
                bad.append("status")
            if bad:
                shown = {k: g.get(k) for k in ("numerator", "denominator", "value", "status")}
                self.fail(f"{where} at {w['as_of']}: {bad} differ\n      service: {shown}\n      oracle:  "
                          f"{ {k: w[k] for k in ('numerator', 'denominator', 'value', 'status')} }"
                          + self._diagnose(proj, ind, unit, date.fromisoformat(w["as_of"]), scenario))
        if scenario != "completion_rate" and oracle.TARGETS[ind][0] == "ratio":
            self.events(where, proj, ind, unit, [date.fromisoformat(w["as_of"]) for w in want], pts,
                        got.get("events") or [], scenario)

    def _on_edge(self, ind: str, want: dict[str, Any]) -> bool:
        band = oracle.TARGETS[ind][2]
        return ind in oracle.EVERY_LEVEL or (want.get("value") is not None and band is not None
                                            and abs(want["value"] - band[0]) < 1e-9)

    def _diagnose(self, proj: Projection, ind: str, unit: str, on: date, scenario: str) -> str:
        if scenario == "completion_rate":
            return f"\n      rates: {proj.rates(unit)}"
        det = proj.scenarios[scenario].oracle.detail(ind, unit, on)
        got = _get(self.r, f"/indicators/{ind}/persons", org_unit=unit, as_of=on.isoformat())
        today = {p["external_id"] for p in got.get("persons", [])} if "http" not in got else set()
        return (f"\n      oracle population {sorted(det.population)}, passing {sorted(det.passing)}"
                f"\n      (the registry as it stands on {on}, /persons: {sorted(today)})")

    def events(self, where: str, proj: Projection, ind: str, unit: str, pts: list[date], got_points: list[dict[str, Any]],
               events: list[dict[str, Any]], scenario: str) -> None:
        by_point = events_by_point(events)
        unknown = set(by_point) - {p.isoformat() for p in pts[1:]}
        if unknown:
            self.fail(f"{where}: events at points {sorted(unknown)} (points {[p.isoformat() for p in pts]})")
        for prev, pt, g_prev, g_pt in zip(pts, pts[1:], got_points, got_points[1:], strict=False):
            evs = by_point.get(pt.isoformat(), [])
            for f in ("numerator", "denominator"):
                total = sum(e.get(f) or 0 for e in evs)
                if isinstance(g_pt.get(f), int) and isinstance(g_prev.get(f), int) and total != g_pt[f] - g_prev[f]:
                    self.fail(f"{where}: events at {pt} sum {f} {total} != {g_pt[f]} - {g_prev[f]}")
            want = proj.changed(ind, unit, prev, pt, scenario)
            persons: dict[str, list[dict[str, Any]]] = {}
            for e in evs:
                if e.get("kind") not in EVENT_KINDS:
                    self.fail(f"{where}: event of kind {e.get('kind')!r}: {e}")
                day = date.fromisoformat(e["date"])
                if not prev < day <= pt:
                    self.fail(f"{where}: event dated {day} at point {pt} (previous point {prev}): {e}")
                persons.setdefault(e.get("person"), []).append(e)
                self._event_facts(where, e, proj)
            if set(persons) != set(want):
                self.fail(f"{where}: persons with events at {pt} {sorted(map(str, persons))} != persons whose state "
                          f"changed {sorted(want)} (oracle deltas {want})")
            for pid, mine in persons.items():
                if pid not in want:
                    continue
                last = max(e["date"] for e in mine)
                net = (sum(e.get("numerator") or 0 for e in mine), sum(e.get("denominator") or 0 for e in mine))
                early = [e for e in mine if e["date"] != last and (e.get("numerator") or e.get("denominator"))]
                if net != want[pid] or early:
                    self.fail(f"{where}: {pid} at {pt}: events carry {net} (want {want[pid]}), earlier ones "
                              f"non-zero: {early}; events {mine}")

    def _event_facts(self, where: str, e: dict[str, Any], proj: Projection) -> None:
        rec = self.persons.get(e.get("person") or "")
        if rec is None:
            self.fail(f"{where}: event of an unknown person: {e}")
            return
        day = date.fromisoformat(e["date"])
        kind = e.get("kind")
        if kind == "retirement":
            r = retirement_day(date.fromisoformat(rec["birth_date"]), rec["gender"])
            if (day, e.get("last_day")) != (r + timedelta(days=1), r.isoformat()):
                self.fail(f"{where}: retirement event {e} of a {rec['gender']} born {rec['birth_date']}: "
                          f"R = {r} by the schedule")
        elif kind == "age":
            birth = date.fromisoformat(rec["birth_date"])
            if (day.month, day.day) != (birth.month, birth.day) and (birth.month, birth.day) != (2, 29):
                self.fail(f"{where}: age event {e} not on a birthday ({rec['birth_date']})")
        elif kind == "training":
            ok = any(en["person"] == rec["external_id"] and en["course"] == e.get("course")
                     and en["expected_completion"] == e["date"]
                     for en in pending_awards(self.enrolments, self.courses, proj.d0))
            if not ok:
                self.fail(f"{where}: training event {e} matches no pending enrolment")
        elif kind in ("record_start", "record_end"):
            recs = rec["employments"] + rec["positions"] + rec["memberships"]
            days = ({r["start"] for r in recs} if kind == "record_start" else
                    {(date.fromisoformat(r["end"]) + timedelta(days=1)).isoformat() for r in recs if r["end"]})
            if kind == "record_start":  # a qualification already recorded with a future awarded_on starts then
                days |= {q["awarded_on"] for name in QUALIFICATIONS for q in rec.get(name) or []}
            if e["date"] not in days:
                self.fail(f"{where}: {kind} event {e} matches no record of the person")

    def gap(self, ind: str, unit: str, window: tuple[date, date], scenario: str) -> None:
        d0, t = window
        self.calls += 1
        got = _get(self.r, f"/indicators/{ind}/gap", org_unit=unit, **{"from": d0.isoformat()}, as_of=t.isoformat(),
                   training=scenario)
        where = f"gap {ind} @ {unit} from {d0} as of {t} training={scenario}"
        if "http" in got:
            self.fail(f"{where}: {got}")
            return
        proj = self.projection(d0)
        want = proj.evaluate(ind, unit, t, scenario)
        bad = [f for f in ("numerator", "denominator", "value") if not _num_eq(got.get(f), want[f])]
        if got.get("status") != want["status"]:
            bad.append("status")
        _kind, _same, band, strict = oracle.TARGETS[ind]
        k = needed(want["numerator"], want["denominator"], band, strict)
        if got.get("needed") != k:
            bad.append(f"needed {got.get('needed')} (want {k})")
        if bad:
            self.fail(f"{where}: {bad}; service {({f: got.get(f) for f in ('numerator', 'denominator', 'value', 'status')})}"
                      f", oracle {want}")
            return
        det = proj.scenarios[scenario].oracle.detail(ind, unit, t)
        outside = det.population - det.passing
        cands = got.get("candidates")
        if not isinstance(cands, list):
            self.fail(f"{where}: candidates {cands!r}")
            return
        ids = [c.get("external_id") for c in cands]
        if not set(ids) <= outside or len(set(ids)) != len(ids):
            self.fail(f"{where}: candidates {sorted(map(str, ids))} not (distinct) persons of the population outside the "
                      f"numerator {sorted(outside)}")
        if got.get("closable_by_training") is False:
            if cands:
                self.fail(f"{where}: not closable by training but candidates {ids}")
            return
        if len(cands) + (got.get("beyond_training") or 0) != len(outside):
            self.fail(f"{where}: {len(cands)} candidates + {got.get('beyond_training')} beyond training != "
                      f"{len(outside)} outside the numerator")
        key = [(not c.get("enrolled"), sum(x.get("short_by") or 0 for x in c.get("lacks") or []), c.get("external_id"))
               for c in cands]
        if key != sorted(key) or [c.get("rank") for c in cands] != list(range(1, len(cands) + 1)):
            self.fail(f"{where}: candidates not ranked by (not enrolled, short_by, external_id): "
                      f"{[(c.get('rank'), k) for c, k in zip(cands, key, strict=True)]}")
        pending = {(e["person"], e["course"]): e for e in self.enrolments if e["status"] in PENDING}
        for c in cands:
            lacks = c.get("lacks") or []
            if not lacks or any((x.get("short_by") or 0) < 1 for x in lacks):
                self.fail(f"{where}: candidate {c.get('external_id')} lacks {lacks}")
            covered = [x["covered_by"] for x in lacks if x.get("covered_by")]
            if bool(covered) != bool(c.get("enrolled")):
                self.fail(f"{where}: candidate {c.get('external_id')} enrolled={c.get('enrolled')} but covered_by {covered}")
            for cov in covered:
                e = pending.get((c["external_id"], cov.get("course")))
                if e is None or e["expected_completion"] != cov.get("expected_completion") \
                        or e["status"] != cov.get("status") or cov["expected_completion"] > t.isoformat():
                    self.fail(f"{where}: candidate {c.get('external_id')} covered_by {cov}: no such pending enrolment "
                              f"completing by {t} ({e})")


def report(problems: list[str], calls: int) -> str:
    shown = "\n".join(problems[:DETAILED])
    more = f"\n... and {len(problems) - DETAILED} more" if len(problems) > DETAILED else ""
    return f"{len(problems)} disagreements after {calls} calls:\n{shown}{more}"


# ───────────────────────── the test ─────────────────────────
def world(seed: int) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    reg = generate(seed, persons=PERSONS)
    courses, enrolments = training(reg, seed)
    return reg, courses, enrolments


def loaded(fresh_registry: Callable[[], Registry], seed: int, prefix: str) -> tuple[dict[str, Any], Check]:
    """The generated registry of the seed, its courses and enrolments, under `prefix` in a fresh registry."""
    reg, courses, enrolments = world(seed)
    sub = prefixed(reg, prefix)
    sub_courses, sub_enrolments = prefixed_training(courses, enrolments, prefix)
    r = fresh_registry()
    load(r, sub)
    for kind, records in (("courses", sub_courses), ("enrolments", sub_enrolments)):
        res = r.import_lines(kind, [json.dumps(x, ensure_ascii=False) for x in records])
        assert not res.get("errors"), f"{kind}: {res['errors'][:5]}"
    return reg, Check(r, seed, prefix, sub, sub_courses, sub_enrolments)


def units_of(reg: dict[str, Any]) -> list[str]:
    codes = {u["code"] for u in reg["org_units"]}
    picks = ["VN", "CT"] + [c for c in ("CT-SNV", "CT-XM1") if c in codes]
    return picks


@pytest.mark.parametrize("seed", SEEDS)
def test_projection_and_gap_against_the_reference(fresh_registry: Callable[[], Registry], seed: int) -> None:
    reg, check = loaded(fresh_registry, seed, f"J{seed}-")
    prefix = check.prefix
    units = [prefix + u for u in units_of(reg)]
    root, city = units[0], units[1]
    for ind in RATIO_IDS + PER_CAPITA_IDS:
        for unit in units:
            for scenario in ("none", "expected"):
                check.projection_of(ind, unit, WINDOW, scenario)
        check.projection_of(ind, root, REFORM_WINDOW, "expected")
    for ind in RATIO_IDS:
        for unit in (root, city):
            check.projection_of(ind, unit, WINDOW, "completion_rate")
        for scenario in ("none", "expected"):
            check.gap(ind, root, WINDOW, scenario)
    assert not check.problems, report(check.problems, check.calls)


@settings(max_examples=int(os.environ.get("PROJECTION_EXAMPLES", "3")), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(min_value=100, max_value=10**6),
       start=st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)),
       years=st.integers(min_value=0, max_value=6),
       scenario=st.sampled_from(("none", "expected", "completion_rate")))
def test_every_ratio_at_the_root_on_drawn_registries_and_windows(fresh_registry: Callable[[], Registry], seed: int,
                                                                  start: date, years: int, scenario: str) -> None:
    """Hypothesis draws the registry (its seed), the window (D0 and its length in years, 0: D0 to its 31 December)
    and the scenario; every ratio indicator of the catalog at the root must agree with the reference."""
    reg, check = loaded(fresh_registry, seed, f"H{seed}-")
    root = check.prefix + units_of(reg)[0]
    window = (start, date(start.year + years, 12, 31))
    for ind in RATIO_IDS:
        check.projection_of(ind, root, window, scenario)
    assert not check.problems, report(check.problems, check.calls)


def test_the_generated_training_is_varied() -> None:
    """The generator gives what the comparison needs: pending awards inside the window, finished ones, retirements
    and 40th birthdays inside it."""
    reg, courses, enrolments = world(SEEDS[0])
    d0, d1 = WINDOW
    statuses = {e["status"] for e in enrolments}
    assert statuses == set(PENDING) | set(FINISHED)
    inside = [e for e in pending_awards(enrolments, courses, d0) if e["expected_completion"] <= d1.isoformat()]
    assert len(inside) >= 5
    retiring = [p for p in reg["persons"] if d0 <= retirement_day(date.fromisoformat(p["birth_date"]), p["gender"]) <= d1]
    assert len(retiring) >= 3
    forty = [p for p in reg["persons"] if d0.year - 40 <= int(p["birth_date"][:4]) <= d1.year - 40]
    assert len(forty) >= 3
    assert points(d0, d1) == [d0] + [date(y, 12, 31) for y in range(2026, 2031)]


@pytest.mark.parametrize(("birth", "gender", "last_day"), [
    ("1961-01-15", "male", "2021-04-30"), ("1961-09-01", "male", "2021-12-31"),  # 60 y 3 m (Appendix I)
    ("1961-10-31", "male", "2022-04-30"), ("1962-06-10", "male", "2022-12-31"),  # 60 y 6 m
    ("1962-07-01", "male", "2023-04-30"), ("1966-05-20", "male", "2028-05-31"),  # 60 y 9 m; 62 from 2028
    ("1980-01-01", "male", "2042-01-31"), ("1960-03-03", "male", "2020-03-31"),  # 62; 60 before 2021
    ("1966-01-01", "female", "2021-05-31"), ("1966-08-31", "female", "2021-12-31"),  # 55 y 4 m
    ("1966-09-01", "female", "2022-05-31"), ("1971-09-15", "female", "2029-09-30"),  # 55 y 8 m; 58 in 2029
    ("1975-05-05", "female", "2035-05-31"), ("1965-02-28", "female", "2020-02-29"),  # 60 from 2035; 55 before 2021
])
def test_the_reference_retirement_day_follows_the_schedule(birth: str, gender: str, last_day: str) -> None:
    assert retirement_day(date.fromisoformat(birth), gender).isoformat() == last_day
