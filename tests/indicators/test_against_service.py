"""The service's indicator values against the oracle (tests/indicators/oracle.py).

Two sources of registries:
- the hand-made registries of test_oracle.py, whose oracle answers are checked there by hand: every
  `ev(...)` call of those tests is recorded and replayed against the service, and every registry-computed
  indicator is also compared for every unit at every recorded date (GET /indicators/{id}/values);
- random registries that live through the 2025 reform (strategies.generate), several seeds per database
  under code prefixes: every registry-computed indicator for every unit at the key dates of the reform
  and one date near a record boundary per seed (GET /values), and GET /indicators/{id}/value for the root
  and a sample of interesting units and dates (a district, communes re-parented and new, a body, a unit
  closed at the reform, a health station, a re-parented agency), plus the reported and qualitative ones.

Numerator, denominator and status must be equal and the value equal within 1e-9.  Every mismatch is
collected and reported at the end, per indicator; the first ones of each indicator are diagnosed with
GET /indicators/{id}/persons: the persons only the service counts and those only the oracle counts,
with the service's "why" and the facts the oracle used.

ORACLE_SEEDS=N (default 4) sets how many seeds run per backend, ORACLE_SEED_START the first one,
ORACLE_BATCH how many share a database (default 4), ORACLE_PAIRS the number of sampled (unit, date)
pairs per seed and indicator asked through /value (default 4, plus the root on a key date).
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import random
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

import pytest

from tests.conftest import Registry
from tests.indicators import oracle
from tests.indicators.oracle import Oracle
from tests.indicators.strategies import KEY_DATES, generate, interesting_units

SEED_START = int(os.environ.get("ORACLE_SEED_START", "0"))
SEEDS = list(range(SEED_START, SEED_START + int(os.environ.get("ORACLE_SEEDS", "4"))))
BATCH = int(os.environ.get("ORACLE_BATCH", "4"))
BATCHES = [SEEDS[i:i + BATCH] for i in range(0, len(SEEDS), BATCH)]
PAIRS = int(os.environ.get("ORACLE_PAIRS", "4"))
TOLERANCE = 1e-9
DIAGNOSED_PER_INDICATOR = 2
DETAILED = 40


def _endpoint_ready() -> bool:
    try:
        from app.api import indicators  # noqa: F401
    except ImportError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _endpoint_ready(), reason="no indicator value endpoint (app/api/indicators.py) yet")


# ───────────────────────── talking to the service ─────────────────────────
def load(r: Registry, reg: dict[str, Any]) -> None:
    """Import a registry: org units, then persons, then statistics; every record must be accepted."""
    for kind, key in (("org-units", "org_units"), ("persons", "persons"), ("statistics", "statistics")):
        if not reg.get(key):
            continue
        res = r.import_lines(kind, [json.dumps(x, ensure_ascii=False) for x in reg[key]])
        assert not res.get("errors"), f"{kind}: {res['errors'][:5]}"


def _get(r: Registry, path: str, **params: str) -> dict[str, Any]:
    resp = r.client.get(f"/api/v1{path}", params=params, headers=r.headers())
    if resp.status_code != 200:
        return {"http": resp.status_code, "body": resp.text[:300]}
    return dict(resp.json())


def ask(r: Registry, ind: str, code: str, on: date) -> dict[str, Any]:
    return _get(r, f"/indicators/{ind}/value", org_unit=code, as_of=on.isoformat())


def ask_all(r: Registry, ind: str, on: date) -> dict[str, dict[str, Any]] | dict[str, Any]:
    res = _get(r, f"/indicators/{ind}/values", as_of=on.isoformat())
    if "http" in res:
        return res
    return {item["org_unit"]: item for item in res.get("items", [])}


def _num_eq(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float) or not isinstance(b, int | float):
        return False
    return abs(float(a) - float(b)) <= TOLERANCE * max(1.0, abs(float(b)))


def differs(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """The fields on which the service's answer differs from the oracle's."""
    if "http" in got:
        return [f"http {got['http']}"]
    bad = [f for f in ("numerator", "denominator") if not _num_eq(got.get(f), want[f])]
    if got.get("status") != want["status"]:
        bad.append("status")
    if not _num_eq(got.get("value"), want["value"]):
        bad.append("value")
    return bad


# ───────────────────────── the comparison ─────────────────────────
class Comparison:
    """Collects mismatches between the service and the oracle on one imported registry."""

    def __init__(self, r: Registry, reg: dict[str, Any], label: str) -> None:
        self.r, self.reg, self.label = r, reg, label
        self.o = Oracle(reg)
        self.mismatches: list[tuple[str, str]] = []  # (indicator, text)
        self.diagnosed: dict[str, int] = {}
        self.calls = 0

    def _record(self, ind: str, code: str, on: date, via: str, got: dict[str, Any], want: dict[str, Any], bad: list[str]) -> None:
        shown = {k: got.get(k) for k in ("numerator", "denominator", "value", "status", "http", "body") if k in got}
        text = (f"[{self.label}] {ind} @ {code} on {on} ({via}): {', '.join(bad)} differ\n"
                f"      service: {shown}\n      oracle:  {want}")
        if self.diagnosed.get(ind, 0) < DIAGNOSED_PER_INDICATOR:
            self.diagnosed[ind] = self.diagnosed.get(ind, 0) + 1
            text += "\n" + self.diagnose(ind, code, on)
        self.mismatches.append((ind, text))

    def check_value(self, ind: str, code: str, on: date) -> dict[str, Any]:
        """GET /value against the oracle (and the echoed fields and target band)."""
        self.calls += 1
        got, want = ask(self.r, ind, code, on), self.o.evaluate(ind, code, on)
        bad = differs(got, want)
        if "http" not in got:
            if (got.get("indicator"), got.get("org_unit"), got.get("as_of")) != (ind, code, on.isoformat()):
                bad.append("echoed indicator/org_unit/as_of")
            target = got.get("target")
            band = oracle.TARGETS[ind][2]
            if isinstance(target, dict) and "band" in target and band is not None and tuple(target["band"]) != band:
                bad.append(f"target band {target['band']} (catalog {list(band)})")
            kind = oracle.TARGETS[ind][0]
            num, den = got.get("numerator"), got.get("denominator")
            if kind in ("ratio", "coverage") and isinstance(num, int) and isinstance(den, int) and num > den:
                bad.append("numerator > denominator")
        if bad:
            self._record(ind, code, on, "/value", got, want, bad)
        return got

    def check_all_units(self, ind: str, on: date, codes: Iterable[str] | None = None) -> None:
        """GET /values (every unit at once) against the oracle, for every unit of the registry."""
        self.calls += 1
        items = ask_all(self.r, ind, on)
        if "http" in items:
            self.mismatches.append((ind, f"[{self.label}] {ind} on {on} (/values): {items}"))
            return
        for code in codes if codes is not None else self.o.reg.units:
            want = self.o.evaluate(ind, code, on)
            got = items.get(code)
            if got is None:  # /values lists the units that exist on the day; /value answers for the others
                if self.o.reg.exists(code, on) and (want["numerator"] or want["denominator"]):
                    self._record(ind, code, on, "/values", {"missing": True}, want, ["unit missing from /values"])
                continue
            bad = differs(got, want)
            if bad:
                self._record(ind, code, on, "/values", got, want, bad)

    def diagnose(self, ind: str, code: str, on: date) -> str:
        """Persons only one side counts, from GET /persons, with the service's why and the oracle's facts."""
        if oracle.TARGETS[ind][0] in ("coverage", "reported", "qualitative"):
            det = self.o.detail(ind, code, on) if oracle.TARGETS[ind][0] == "coverage" else None
            return f"      oracle units: {sorted(det.population)}; passing: {sorted(det.passing)}" if det else ""
        res = _get(self.r, f"/indicators/{ind}/persons", org_unit=code, as_of=on.isoformat())
        det = self.o.detail(ind, code, on)
        if "http" in res:
            return f"      /persons: {res}; oracle population {sorted(det.population)}, passing {sorted(det.passing)}"
        persons = {p["external_id"]: p for p in res.get("persons", [])}
        s_pop = set(persons)
        s_num = {pid for pid, p in persons.items() if p.get("in_numerator")}
        lines = []
        for label, only in (("only the service counts (population)", s_pop - det.population),
                            ("only the oracle counts (population)", det.population - s_pop),
                            ("only the service passes (numerator)", (s_num - det.passing) & det.population),
                            ("only the oracle passes (numerator)", (det.passing - s_num) & s_pop)):
            if not only:
                continue
            lines.append(f"      {label}: {sorted(only)}")
            for pid in sorted(only)[:2]:
                rec = next((p for p in self.reg["persons"] if p["external_id"] == pid), None)
                lines.append(f"        service why: {persons.get(pid, {}).get('why')}")
                lines.append(f"        oracle facts: {self.o.explain(ind, pid, on)}")
                lines.append(f"        record: {json.dumps(rec, ensure_ascii=False)}")
        if not lines:
            lines.append(f"      same persons on both sides ({len(s_pop)} counted, {len(s_num)} passing)")
        return "\n".join(lines)

    def check_same_as(self, answers: dict[tuple[str, str, date], dict[str, Any]]) -> None:
        for (ind, code, on), a in answers.items():
            same = oracle.TARGETS[ind][1]
            b = answers.get((same, code, on)) if same else None
            if b is not None and [a.get(k) for k in ("numerator", "denominator", "value")] != [
                    b.get(k) for k in ("numerator", "denominator", "value")]:
                self.mismatches.append((ind, f"[{self.label}] {ind} (same_as {same}) @ {code} on {on}: {a} vs {b}"))

    def report(self) -> str:
        per: dict[str, int] = {}
        for ind, _ in self.mismatches:
            per[ind] = per.get(ind, 0) + 1
        head = "\n".join(f"  {n:5d}  {k}" for k, n in sorted(per.items(), key=lambda kv: (-kv[1], kv[0])))
        shown = "\n".join(text for _, text in self.mismatches[:DETAILED])
        more = f"\n... and {len(self.mismatches) - DETAILED} more" if len(self.mismatches) > DETAILED else ""
        return f"{len(self.mismatches)} mismatches after {self.calls} calls, per indicator:\n{head}\n\n{shown}{more}"


# ───────────────────────── the hand-made registries of test_oracle.py ─────────────────────────
def prefixed(reg: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The registry with every unit code and person id prefixed, so that several share one database."""
    reg = copy.deepcopy(reg)
    for u in reg["org_units"]:
        u["code"] = prefix + u["code"]
        for link in u.get("parents") or []:
            link["code"] = prefix + link["code"]
        u["successors"] = [prefix + c for c in u.get("successors") or []]
    for p in reg["persons"]:
        p["external_id"] = prefix + p["external_id"]
        for item in (p.get("employments") or []) + (p.get("positions") or []):
            item["org_unit"] = prefix + item["org_unit"]
        for m in p.get("memberships") or []:
            m["body"] = prefix + m["body"]
    for s in reg["statistics"]:
        s["org_unit"] = prefix + s["org_unit"]
    return reg


def recorded_scenarios() -> tuple[dict[str, Any], list[tuple[str, str, date]]]:
    """Run the hand-checked tests of test_oracle.py, recording every registry and question they put to the oracle.

    Returns one merged registry (each distinct registry under its own code prefix) and the questions."""
    from tests.indicators import test_oracle

    seen: dict[str, str] = {}
    merged: dict[str, Any] = {"org_units": [], "persons": [], "statistics": []}
    questions: list[tuple[str, str, date]] = []
    real = test_oracle.evaluate

    def recorder(reg: dict[str, Any], ind: str, code: str, on: date) -> dict[str, Any]:
        key = json.dumps(reg, sort_keys=True, default=str)
        if key not in seen:
            seen[key] = f"S{len(seen) + 1}-"
            sub = prefixed(reg, seen[key])
            for k in merged:
                merged[k] += sub[k]
        questions.append((ind, seen[key] + code, on))
        return real(reg, ind, code, on)

    test_oracle.evaluate = recorder  # type: ignore[assignment]
    try:
        for name, fn in sorted(vars(test_oracle).items()):
            if name.startswith("test_") and callable(fn) and not inspect.signature(fn).parameters \
                    and not hasattr(fn, "hypothesis"):
                fn()
    finally:
        test_oracle.evaluate = real  # type: ignore[assignment]
    return merged, list(dict.fromkeys(questions))


def test_hand_made_registries_against_service(fresh_registry: Callable[[], Registry]) -> None:
    merged, questions = recorded_scenarios()
    r = fresh_registry()
    load(r, merged)
    cmp = Comparison(r, merged, "hand-made")
    for ind, code, on in questions:
        cmp.check_value(ind, code, on)
    for on in sorted({q[2] for q in questions}):
        for ind in oracle.REGISTRY_IDS:
            cmp.check_all_units(ind, on)
    assert not cmp.mismatches, cmp.report()


# ───────────────────────── random registries ─────────────────────────
def dates_for(reg: dict[str, Any], rng: random.Random, extra: int = 1) -> list[date]:
    """Dates near record boundaries (a start day, an end day or the day after it)."""
    bounds: set[date] = set()
    for p in reg["persons"]:
        for e in p["employments"] + p["positions"] + p["memberships"]:
            bounds.add(date.fromisoformat(e["start"]))
            if e["end"]:
                bounds.add(date.fromisoformat(e["end"]) + timedelta(days=rng.choice([0, 1])))
    return rng.sample(sorted(bounds), k=min(extra, len(bounds)))


@pytest.mark.parametrize("batch", BATCHES, ids=[f"seeds{b[0]}-{b[-1]}" for b in BATCHES])
def test_random_registries_against_service(fresh_registry: Callable[[], Registry], batch: list[int]) -> None:
    """A batch of random registries, each under its own code prefix in one database."""
    merged: dict[str, Any] = {"org_units": [], "persons": [], "statistics": []}
    plans = []
    dates = set(KEY_DATES)
    for seed in batch:
        rng = random.Random(seed * 7919 + 1)
        reg = generate(seed)
        prefix = f"R{seed}-"
        sub = prefixed(reg, prefix)
        for k in merged:
            merged[k] += sub[k]
        units = [prefix + u for u in interesting_units(reg, rng)]
        own = dates_for(reg, rng)
        dates |= set(own)
        grid = [(u, d) for u in units[1:] for d in KEY_DATES + own]
        plans.append((seed, prefix, rng, [(prefix + "VN", rng.choice(KEY_DATES))] + rng.sample(grid, k=min(PAIRS, len(grid)))))
    r = fresh_registry()
    load(r, merged)
    cmp = Comparison(r, merged, f"seeds {batch}")
    for ind in oracle.REGISTRY_IDS:  # every unit of every registry, one call per indicator and date
        for on in sorted(dates):
            cmp.check_all_units(ind, on)
    answers: dict[tuple[str, str, date], dict[str, Any]] = {}
    for seed, prefix, rng, pairs in plans:
        for ind in oracle.REGISTRY_IDS:
            for code, on in pairs:
                answers[(ind, code, on)] = cmp.check_value(ind, code, on)
        for ind in oracle.REPORTED_IDS + oracle.QUALITATIVE_IDS:
            code, on = prefix + rng.choice(["VN", "CT", "ST"]), rng.choice(KEY_DATES)
            got, want = ask(r, ind, code, on), cmp.o.evaluate(ind, code, on)
            if "http" in got or got.get("status") != want["status"] or not _num_eq(got.get("value"), want["value"]):
                cmp.mismatches.append((ind, f"[seed {seed}] {ind} @ {code} on {on}: service {got} / oracle {want}"))
        cmp.mismatches += [(m.split()[2], m) for m in _aggregation(r, cmp.o, rng, seed, prefix)]
    cmp.check_same_as(answers)
    assert not cmp.mismatches, cmp.report()


# Employment-based populations anchor each person at one unit (the primary employment's), so a unit's
# population is the disjoint union of its children's and of those anchored at the unit itself.
EMPLOYMENT_BASED = [
    "CT-2025-COLLEGE-LECTURER-PHD", "CT-2025-UNIVERSITY-LECTURER-PHD", "CT-2025-LEADER-U40-LANG4",
    "CT-2030-COMMUNE-CADRES-DEGREE", "ST-2025-PD-STAFF-MEET-STANDARDS", "ST-2025-PD-STAFF-POSTGRAD",
    "ST-2025-COMMUNE-STAFF-STANDARD", "ST-2025-ETHNIC-STAFF-LANGUAGE", "ST-2025-CONTACT-STAFF-LANGUAGE",
    "ST-2025-TEACHERS-MEET-STANDARD", "ST-2025-POLITICAL-SCHOOL-MASTERS", "ST-2025-COLLEGE-LECTURERS-STANDARD",
    "ST-2030-UPPER-SECONDARY-TEACHERS-MASTERS", "ST-2025-DOCTORS-CK1", "ST-2025-DOCTORS-PER-10K", "ST-2025-NURSES-PER-10K",
]


def _aggregation(r: Registry, o: Oracle, rng: random.Random, seed: int, prefix: str) -> list[str]:
    """Service numerator (and denominator) of a unit = those anchored at the unit itself (oracle) + the children's (service)."""
    out = []
    for ind in rng.sample(EMPLOYMENT_BASED, k=4):
        on = rng.choice(KEY_DATES)
        anchors = o.anchors(ind, on)
        items = ask_all(r, ind, on)
        if "http" in items:
            continue
        parents = sorted(c for c in o.reg.units if c.startswith(prefix) and o.reg.children(c, on))
        for code in parents:
            top = items.get(code) or {}
            here = {pid for pid, us in anchors.items() if code in us}
            kids = [items.get(c) or {} for c in o.reg.children(code, on)]
            if any(i.get("coverage") == "statistic" for i in [top, *kids]):
                continue  # an area's reported count of doctors (revision 2, point 9) is not a sum of persons
            passing_here = len(here & o.detail(ind, code, on).passing)
            total_num = passing_here + sum(k.get("numerator") or 0 for k in kids)
            if top.get("numerator") != total_num:
                out.append(f"[seed {seed}] {ind} aggregation @ {code} on {on}: service numerator {top.get('numerator')} != "
                           f"{passing_here} anchored at the unit (oracle) + children's service numerators "
                           f"{[k.get('numerator') for k in kids]}")
            if oracle.TARGETS[ind][0] == "ratio":
                total_den = len(here) + sum(k.get("denominator") or 0 for k in kids)
                if top.get("denominator") != total_den:
                    out.append(f"[seed {seed}] {ind} aggregation @ {code} on {on}: service denominator "
                               f"{top.get('denominator')} != {len(here)} anchored at the unit (oracle) + children's "
                               f"{[k.get('denominator') for k in kids]}")
    return out
