"""GET /indicators/{code}/sql run by hand: the statements it shows give the figures /value answered (issue 11, point 4).

For every indicator of the catalog, on a province that lives through the 2025 reform (app/demo/province.py)
with the statistics every kind reads, at a province, communes and a district closed on 2025-06-30, the `sql`
of the answer is run as is with the database's own driver (psycopg, sqlite3: never through the app), statement
by statement as psql and the sqlite3 shell run a pasted script, and each statement gives what its purpose says:

* ratio: one row (numerator, denominator); a target set at every level adds (tier, numerator, denominator),
  the answer's `by_tier`;
* per_capita: the registry count of the population (both columns: the numerator when `coverage` is
  `registry`), the row of the population statistic (its value is the denominator) and the row of the
  numerator statistic `doctors`/`nurses` (its value is the numerator when `coverage` is `statistic`);
* coverage: one row per unit of the covered kind (unit_id, passes): the numerator is the sum of passes, the
  denominator the number of rows;
* flow_count: one row, the count (the numerator; no denominator);
* reported: the statistic row the answer's `statistic` came from (none: no value); a `period_average` the
  whole-year rows of the period, exactly the answer's `average.years`;
* qualitative: no statement (listed, never scored): the script is a comment that runs and gives nothing.
"""

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import Registry, uniq
from tests.fixtures.province import build_province

KINDS = {"ratio", "per_capita", "coverage", "flow_count", "reported", "qualitative"}
Rows = list[tuple[Any, ...]]


@dataclass
class Result:
    """One statement's result set: column names and rows."""

    columns: list[str]
    rows: Rows

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]


class Raw:
    """The registry's database through its own driver, as an auditor's psql or sqlite3 shell reaches it."""

    def __init__(self, r: Registry) -> None:
        self.backend = r.backend
        url = make_url(r.url)
        if r.backend == "sqlite":
            self.lite = sqlite3.connect(str(url.database))
        else:
            self.pg = psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False),
                                      autocommit=True)

    def close(self) -> None:
        (self.lite if self.backend == "sqlite" else self.pg).close()

    def one(self, sql: str) -> Result:
        """A single statement."""
        if self.backend == "sqlite":
            cur = self.lite.execute(sql)
            return Result([d[0] for d in cur.description or []], [tuple(r) for r in cur.fetchall()])
        with self.pg.cursor() as pcur:
            pcur.execute(sql)  # no parameters: psycopg sends the text as it is, as psql would
            return Result([d.name for d in pcur.description or []], [tuple(r) for r in pcur.fetchall()])

    def script(self, sql: str) -> list[Result]:
        """A whole pasted script: every result set, in order (statements that return none give none)."""
        if self.backend == "sqlite":
            return [self.one(s) for s in _sqlite_statements(sql)]
        out = []
        with self.pg.cursor() as cur:
            cur.execute(sql)
            while True:
                if cur.description is not None:
                    out.append(Result([d.name for d in cur.description], [tuple(r) for r in cur.fetchall()]))
                if not cur.nextset():
                    break
        return out


def _sqlite_statements(script: str) -> Iterator[str]:
    """The statements of a script as the sqlite3 shell reads them: lines up to a complete statement."""
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            yield buf
            buf = ""
    assert not buf.strip() or buf.lstrip().startswith("--"), f"an unterminated statement: {buf[:200]!r}"


# ───────────────────────── the registry ─────────────────────────
@dataclass
class Audit:
    r: Registry
    raw: Raw
    p: str  # the province's code
    catalog: list[dict[str, Any]]

    def get(self, path: str, token: str | None = None, **params: str) -> dict[str, Any]:
        resp = self.r.client.get(f"/api/v1{path}", params=params,
                                 headers=self.r.headers(token) if token else self.r.headers())
        assert resp.status_code == 200, f"{path} {params}: {resp.status_code} {resp.text[:500]}"
        return dict(resp.json())

    def points(self) -> list[tuple[str, str]]:
        """(unit, date): the province, a commune before and after it was re-parented to the province, the commune
        the reform made, the district closed on 2025-06-30 asked while it existed and after, a health station."""
        p = self.p
        return [(p, "2024-12-31"), (p, "2025-12-31"), (p, "2027-06-30"), (f"{p}-H1-X3", "2024-12-31"),
                (f"{p}-H1-X3", "2025-12-31"), (f"{p}-H1-M", "2025-12-31"), (f"{p}-H1", "2024-12-31"),
                (f"{p}-H1", "2025-12-31"), (f"{p}-H2-X1-TYT", "2024-12-31")]


def _stat(code: str, unit: str, period: str, value: float) -> dict[str, Any]:
    return {"code": code, "org_unit": unit, "period": period, "value": value, "source": "Báo cáo kiểm toán"}


def _statistics(p: str, catalog: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the kinds read besides the registry: doctors and nurses of some areas (not of the district), a
    figure for every reported indicator, yearly jobs figures with a year missing and a period not a whole year."""
    stats = [_stat("doctors", p, "2024", 1450), _stat("nurses", p, "2025", 2100.5),
             _stat("doctors", f"{p}-H1-X3", "2021", 3), _stat("nurses", f"{p}-H1-M", "2025-07-01", 11)]
    for item in catalog:
        code = item["code"]
        if item["kind"] != "reported":
            continue
        if item.get("aggregate") == "period_average":
            first = int(code.split("-")[1]) - 4
            years = [str(first), str(first + 1), f"{first + 2}-01-01/{first + 2}-12-31", f"{first + 3}-07-01/{first + 4}-06-30"]
            stats += [_stat(code, p, y, 26000 + 1000 * i) for i, y in enumerate(years)]
            stats.append(_stat(code, f"{p}-H1-X3", str(first), 120))
        else:
            stats += [_stat(code, p, "2023", 0.5), _stat(code, p, "2025-01-01/2025-06-30", 0.625),
                      _stat(code, f"{p}-H1-X3", "2024-12-31", 1)]
    return stats


@pytest.fixture(scope="module")
def audit(backend_db: tuple[str, str]) -> Iterator[Audit]:
    """One province per backend and module: the registry the checks below read (and never write)."""
    from tests.conftest import _bind

    backend, url = backend_db
    r = Registry(backend, url, _bind(url))
    p = uniq("AU")
    data = build_province(seed=11, persons=260, prefix=p)
    catalog = r.client.get("/api/v1/indicators", headers=r.headers()).json()["items"]
    data["statistics"] += _statistics(p, catalog)
    for unit in data["org_units"]:  # one district's communes list Khmer; the other district lists nothing
        if unit["code"].startswith(f"{p}-H2-X") and unit["code"].count("-") == 2:
            unit["local_languages"] = ["km"]
    for kind, key in (("org-units", "org_units"), ("persons", "persons"), ("statistics", "statistics")):
        report = r.import_lines(kind, [json.dumps(x, ensure_ascii=False) for x in data[key]])
        assert report["errors"] == [], report["errors"][:3]
    raw = Raw(r)
    yield Audit(r, raw, p, catalog)
    raw.close()


# ───────────────────────── what each statement gives ─────────────────────────
def _num(x: Any) -> float | None:
    return None if x is None else float(x)


def _year(day: Any) -> int:
    return int(str(day)[:4])


def _figure(res: Result) -> dict[str, Any] | None:
    """The statistic row a statement found, as the answer shows one (`statistic`, `numerator_statistic`)."""
    assert len(res.rows) <= 1, res.rows
    if not res.rows:
        return None
    return {k: res.column(k)[0] for k in ("code", "period", "value", "source")}


def _same_figure(shown: dict[str, Any] | None, found: dict[str, Any] | None) -> bool:
    if shown is None or found is None:
        return shown is found
    return {**shown, "value": _num(shown["value"])} == {**found, "value": _num(found["value"])}


def check(item: dict[str, Any], v: dict[str, Any], res: list[Result]) -> list[str]:
    """What differs between the answer `v` of the indicator `item` and what its statements gave by hand."""
    kind = item["kind"]
    if kind == "ratio":
        bad = [] if res[0].rows == [(v["numerator"], v["denominator"])] else [f"counts {res[0].rows}"]
        if "by_tier" in v:
            tiers = {str(t): (n, d) for t, n, d in res[1].rows}
            if tiers != {t["tier"]: (t["numerator"], t["denominator"]) for t in v["by_tier"]}:
                bad.append(f"by_tier {res[1].rows} vs {v['by_tier']}")
        if "place_of_work" in v:  # the last statement: the population's persons whose place of work lists no language
            (unlisted, _den), = res[-1].rows
            shown = v["place_of_work"].get("persons_where_none_listed")
            if shown is not None and unlisted != shown:
                bad.append(f"place_of_work {res[-1].rows} vs {v['place_of_work']}")
        return bad + ([] if len(res) == 1 + ("by_tier" in v) + ("place_of_work" in v) else [f"{len(res)} statements"])
    if kind == "per_capita":
        (registry, also), = res[0].rows
        population, area = _figure(res[1]), _figure(res[2])
        want_num = area["value"] if area else registry
        bad = [] if registry == also else [f"registry count {res[0].rows}"]
        bad += [] if _num(v["numerator"]) == _num(want_num) else [f"numerator {v['numerator']} vs {want_num}"]
        bad += [] if _num(v["denominator"]) == _num(population and population["value"]) else [f"population {population}"]
        bad += [] if v["coverage"] == ("statistic" if area else "registry") else [f"coverage {v['coverage']}"]
        return bad + ([] if _same_figure(v.get("numerator_statistic"), area) else [f"numerator_statistic {area}"])
    if kind == "coverage":
        passes = res[0].column("passes")
        return [] if (sum(passes), len(passes)) == (v["numerator"], v["denominator"]) else [f"coverage {res[0].rows}"]
    if kind == "flow_count":
        return [] if res[0].rows == [(v["numerator"],)] and v["denominator"] is None else [f"flow {res[0].rows}"]
    if kind == "reported" and item.get("aggregate") == "period_average":
        return _average(v, res[0])
    if kind == "reported":
        found = _figure(res[0])
        bad = [] if _same_figure(v.get("statistic"), found) else [f"statistic {v.get('statistic')} vs {found}"]
        return bad + ([] if _num(v["value"]) == _num(found and found["value"]) else [f"value {v['value']}"])
    assert kind == "qualitative"
    return [] if (res, v["numerator"], v["denominator"], v["value"]) == ([], None, None, None) else ["qualitative"]


def _average(v: dict[str, Any], res: Result) -> list[str]:
    years = [{"year": _year(s), "period": p, "value": _num(x), "source": src}
             for s, p, x, src in zip(res.column("period_start"), res.column("period"), res.column("value"),
                                     res.column("source"), strict=True)]
    shown = [y | {"value": _num(y["value"])} for y in (v.get("average") or {}).get("years", [])]
    bad = [] if years == shown else [f"years {years} vs {shown}"]
    mean = sum(y["value"] for y in years) / len(years) if years else None
    return bad + ([] if mean == _num(v["value"]) or abs((mean or 0) - (v["value"] or 0)) < 1e-9 else [f"mean {mean}"])


def check_all(item: dict[str, Any], v: dict[str, Any], purposes: list[str], res: list[Result],
              at_closure: Callable[[str], dict[str, Any]]) -> list[str]:
    """`check` on the answer's own statements; for a closed unit's territory (revision 2, point 5), also the
    territory's units and shared units, what each shared unit adds, and `at_closure` by its own statements."""
    own = [r for p, r in zip(purposes, res, strict=True) if not p.startswith(("territory", "at_closure"))]
    bad = check(item, v, own)
    if "scope" not in v:
        return bad + ([] if len(own) == len(res) else ["territory statements for an open unit"])
    (units,), (shared,) = ([r for p, r in zip(purposes, res, strict=True) if p.startswith(f"{name}:")]
                           for name in ("territory", "territory.shared"))
    terr = v["territory"]
    flags = sorted(flag for _unit, flag in units.rows)
    if flags != [0] * terr["units"] + [1] * len(terr["shared"]):
        bad.append(f"territory units {units.rows} vs {terr}")
    persons_only = item["kind"] in ("per_capita", "flow_count")  # no denominator of persons for a shared unit
    added = sorted((int(n or 0), None if d is None or persons_only else int(d)) for _u, n, d in shared.rows)
    shown = sorted((s["numerator"], s["denominator"]) for s in terr["shared"] if s["numerator"] or s["denominator"])
    if [a for a in added if a[0] or a[1]] != shown:
        bad.append(f"shared {shared.rows} vs {terr['shared']}")
    closing = [r for p, r in zip(purposes, res, strict=True) if p.startswith("at_closure")]
    then = at_closure(v["at_closure"]["as_of"])  # /value on the last day: at_closure is its figure
    if {k: then[k] for k in v["at_closure"]} != v["at_closure"]:
        bad.append(f"at_closure {v['at_closure']} vs /value on the last day")
    return bad + [f"at_closure: {b}" for b in check(item, then, closing)]


# ───────────────────────── every indicator ─────────────────────────
def test_every_indicator_sql_gives_the_answers_figures(audit: Audit) -> None:
    """The script of /sql, pasted as is into the database's shell, gives the figures /value answered: every
    indicator, at every point; and the data make every kind non-trivial somewhere."""
    assert {i["kind"] for i in audit.catalog} == KINDS
    wrong: list[str] = []
    seen: dict[str, list[dict[str, Any]]] = {}
    for item in audit.catalog:
        code, kind = item["code"], item["kind"]
        for unit, day in audit.points():
            v = audit.get(f"/indicators/{code}/value", org_unit=unit, as_of=day)
            shown = audit.get(f"/indicators/{code}/sql", org_unit=unit, as_of=day)
            assert (shown["dialect"], shown["as_of"]) == ({"sqlite": "sqlite", "postgres": "postgresql"}[audit.r.backend], day)
            assert "%%" not in shown["sql"] and not any("%%" in s["sql"] for s in shown["statements"])
            pasted = audit.raw.script(shown["sql"])
            each = [audit.raw.one(s["sql"]) for s in shown["statements"]]
            assert pasted == each, f"{code} {unit} {day}: the script and its statements differ"
            purposes = [s["purpose"] for s in shown["statements"]]
            bad = check_all(item, v, purposes, each, lambda on, code=code, unit=unit: audit.get(
                f"/indicators/{code}/value", org_unit=unit, as_of=on))
            wrong += [f"{code} {unit} {day}: {b}" for b in bad]
            seen.setdefault(kind, []).append(v)
    assert not wrong, "\n".join(wrong[:40])
    _non_trivial(seen)


def _non_trivial(seen: dict[str, list[dict[str, Any]]]) -> None:
    """Every kind was checked on figures that could have been wrong."""
    def some(kind: str, test: Any) -> bool:
        return any(test(v) for v in seen[kind])

    assert some("ratio", lambda v: 0 < v["numerator"] < v["denominator"])
    assert some("ratio", lambda v: len([t for t in v.get("by_tier", []) if t["denominator"]]) >= 2)
    assert some("ratio", lambda v: 0 < v.get("place_of_work", {}).get("persons_where_none_listed", 0) < v["denominator"])
    assert some("per_capita", lambda v: v["coverage"] == "statistic" and v["denominator"])
    assert some("per_capita", lambda v: v["coverage"] == "registry" and v["numerator"] and v["denominator"])
    assert some("coverage", lambda v: 0 < v["numerator"] < v["denominator"])
    assert some("flow_count", lambda v: v["numerator"] > 0)
    assert some("reported", lambda v: v.get("statistic") and v["statistic"]["period"] == "2025-01-01/2025-06-30")
    assert some("reported", lambda v: v.get("average") and v["average"]["years_reported"] >= 3 and v["average"]["years_missing"])
    assert some("reported", lambda v: v["value"] is None)
    assert some("qualitative", lambda v: v["value"] is None)


def test_psql_runs_the_script_as_pasted(audit: Audit) -> None:
    """psql itself, fed the script of a per-capita indicator and of a target set at every level."""
    if audit.r.backend != "postgres" or shutil.which("psql") is None:
        pytest.skip("psql: on PostgreSQL, with psql on the PATH")
    url = make_url(audit.r.url).set(drivername="postgresql").render_as_string(hide_password=False)
    for code in ("ST-2025-DOCTORS-PER-10K", _tiered(audit)):
        v = audit.get(f"/indicators/{code}/value", org_unit=audit.p, as_of="2025-12-31")
        sql = audit.get(f"/indicators/{code}/sql", org_unit=audit.p, as_of="2025-12-31")["sql"]
        out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url], input=sql, text=True,
                             capture_output=True, timeout=120, env={**os.environ, "PGCONNECT_TIMEOUT": "10"})
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        if code.endswith("PER-10K"):  # the registry count twice, then the rows of the population and of the doctors
            count, again = lines[0].split("|")
            assert count == again and v["coverage"] == "statistic", lines
            assert [line.split("|")[1:2] for line in lines[1:]] == [["population"], ["doctors"]], lines
            assert str(v["denominator"]) in lines[1].split("|") and str(v["numerator"]) in lines[2].split("|"), lines
        else:
            assert lines[0] == f"{v['numerator']}|{v['denominator']}"
            assert {f"{t['tier']}|{t['numerator']}|{t['denominator']}" for t in v["by_tier"]} <= set(lines)


def _tiered(audit: Audit) -> str:
    for item in audit.catalog:
        if item["kind"] == "ratio":
            v = audit.get(f"/indicators/{item['code']}/value", org_unit=audit.p, as_of="2025-12-31")
            if "by_tier" in v:
                return str(item["code"])
    raise AssertionError("no target set at every level in the catalog")


def test_each_statement_says_what_it_gives(audit: Audit) -> None:
    """The purposes name the figures; the script is the statements, each under its comment and ended by `;`."""
    p = audit.p
    per_capita = audit.get("/indicators/ST-2025-DOCTORS-PER-10K/sql", org_unit=p, as_of="2025-12-31")
    purposes = [s["purpose"] for s in per_capita["statements"]]
    assert len(purposes) == 3
    assert "registry count" in purposes[0] and "'population'" in purposes[1] and "'doctors'" in purposes[2]
    assert per_capita["sql"] == "\n\n".join(f"-- {s['purpose']}\n{s['sql']};" for s in per_capita["statements"]) + "\n"
    tiered = audit.get(f"/indicators/{_tiered(audit)}/sql", org_unit=p, as_of="2025-12-31")
    assert [s["purpose"].split(":")[0] for s in tiered["statements"]] == ["numerator, denominator", "by_tier"]
    jobs = audit.get("/indicators/ST-2025-JOBS-YEARLY/sql", org_unit=p, as_of="2025-12-31")
    assert "'2021-01-01'" in jobs["sql"] and "'2025-12-31'" in jobs["sql"]
    qualitative = next(i["code"] for i in audit.catalog if i["kind"] == "qualitative")
    none = audit.get(f"/indicators/{qualitative}/sql", org_unit=p, as_of="2025-12-31")
    assert none["statements"] == [] and none["sql"].startswith("-- qualitative target")
    assert audit.raw.script(none["sql"]) == []


# ───────────────────────── the route: callers, units, dates ─────────────────────────
def _sql(audit: Audit, code: str, token: str | None = None, **params: str) -> Any:
    headers = audit.r.headers(token) if token else audit.r.headers()
    return audit.r.client.get(f"/api/v1/indicators/{code}/sql", params=params, headers=headers)


ROLES = ("admin", "hr_officer", "auditor", "integration")


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_sql_of_its_own_units(audit: Audit, role: str) -> None:
    """indicators:read admits every role (app/api/deps.py); the unit must lie in the caller's org units (a commune
    closed with its district on 2025-06-30 lies under it: scope is the tree of each unit's last day)."""
    from app.api.deps import ACTIONS

    token = audit.r.token(role, [f"{audit.p}-H2"])
    mine = _sql(audit, "CT-2025-LEADER-U40-LANG4", token, org_unit=f"{audit.p}-H2-X1", as_of="2024-12-31")
    assert (mine.status_code == 200) == (role in ACTIONS["indicators:read"]), mine.text
    other = _sql(audit, "CT-2025-LEADER-U40-LANG4", token, org_unit=f"{audit.p}-H3", as_of="2024-12-31")
    assert other.status_code == 403 and other.json()["code"] == "out_of_scope", other.text
    above = _sql(audit, "CT-2025-LEADER-U40-LANG4", token, org_unit=audit.p, as_of="2024-12-31")
    assert above.status_code == 403 and above.json()["code"] == "out_of_scope", above.text


def test_an_aggregate_only_caller_gets_the_sql_of_the_date_it_is_answered_at(audit: Audit) -> None:
    """A protected indicator is answered at the last year-end to an auditor: /sql shows that date's statements."""
    token = audit.r.token("auditor", [audit.p])
    protected = "ST-2025-ETHNIC-STAFF-LANGUAGE"  # its population reads ethnicity
    resp = _sql(audit, protected, token, org_unit=audit.p, as_of="2025-08-15")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    answer = audit.get(f"/indicators/{protected}/value", token, org_unit=audit.p, as_of="2025-08-15")
    assert (body["as_of"], body["requested_as_of"]) == (answer["as_of"], answer["requested_as_of"]) == ("2024-12-31",
                                                                                                      "2025-08-15")
    assert "'2024-12-31'" in body["sql"] and "2025-08-15" not in body["sql"]
    admin = _sql(audit, protected, org_unit=audit.p, as_of="2025-08-15").json()
    assert admin["as_of"] == "2025-08-15" and "requested_as_of" not in admin


def test_unknown_indicator_or_unit_is_404_with_a_code(audit: Audit) -> None:
    missing = _sql(audit, "NO-SUCH-INDICATOR", org_unit=audit.p, as_of="2024-12-31")
    assert missing.status_code == 404 and missing.json()["code"] == "indicator_not_found", missing.text
    nowhere = _sql(audit, "CT-2025-LEADER-U40-LANG4", org_unit=uniq("NOPE"), as_of="2024-12-31")
    assert nowhere.status_code == 404 and nowhere.json()["code"] == "org_unit_not_found", nowhere.text
    assert _sql(audit, "CT-2025-LEADER-U40-LANG4", "not-a-token", org_unit=audit.p).status_code == 401


@pytest.mark.parametrize("as_of", ["2024-13-01", "2024-02-30", "yesterday", "31/12/2024", "2024-12-31T00:00:00",
                                   "", "２０２４-12-31", "2024-12-31'; DROP TABLE person; --"])
def test_a_bad_date_is_422(audit: Audit, as_of: str) -> None:
    resp = _sql(audit, "CT-2025-LEADER-U40-LANG4", org_unit=audit.p, as_of=as_of)
    assert resp.status_code == 422, resp.text


@pytest.mark.parametrize("as_of", ["0001-01-01", "1900-02-28", "2000-02-29", "9999-12-31"])
def test_a_far_date_answers_and_its_sql_runs(audit: Audit, as_of: str) -> None:
    """Dates far from the data (ages computed back to year 1, forward to 9999): never a 500."""
    for code in ("CT-2025-LEADER-U40-LANG4", "ST-2025-DOCTORS-PER-10K", "ST-2025-JOBS-YEARLY", "CT-2025-MASTERS-PHD-INFLOW"):
        resp = _sql(audit, code, org_unit=audit.p, as_of=as_of)
        assert resp.status_code == 200, resp.text
        v = audit.get(f"/indicators/{code}/value", org_unit=audit.p, as_of=as_of)
        item = next(i for i in audit.catalog if i["code"] == code)
        assert check(item, v, audit.raw.script(resp.json()["sql"])) == []


def test_the_unit_code_is_a_literal_never_sql(audit: Audit) -> None:
    """The unit is looked up first: a code that reads like SQL is an unknown unit, and no statement shows it."""
    resp = _sql(audit, "CT-2025-LEADER-U40-LANG4", org_unit="X' OR '1'='1", as_of="2024-12-31")
    assert resp.status_code == 404 and resp.json()["code"] == "org_unit_not_found"


def test_literals_of_every_type_render_and_run(audit: Audit) -> None:
    """Dates, lists, booleans and NULL tests as the statements inline them, run by the database as they are."""
    shown = _sql(audit, "ST-2025-PD-STAFF-POSTGRAD", org_unit=audit.p, as_of="2024-12-31").json()["sql"]
    assert "'2024-12-31'" in shown and " IN (" in shown and "IS NULL" in shown
    assert ("IS true" in shown) if audit.r.backend == "postgres" else ("IS 1" in shown)
    flow = _sql(audit, "CT-2025-MASTERS-PHD-INFLOW", org_unit=audit.p, as_of="2024-12-31").json()["sql"]
    assert "NOT IN ('doanh_nghiep', 'hop_dong')" in flow and "'2022-01-01'" in flow
    audit.raw.script(shown)
    audit.raw.script(flow)


def test_a_definition_with_awkward_literals(fresh_registry: Any) -> None:
    """A definition an administrator publishes: an empty list, a code with a percent sign and a quote, a
    negated boolean; its /sql runs as is and gives /value's figures."""
    r: Registry = fresh_registry()
    unit = uniq("LIT")
    assert r.import_lines("org-units", [json.dumps({
        "code": unit, "name": "Sở thử", "kind": "state_agency", "tier": "province", "sector": "state",
        "valid_from": "2000-01-01", "parents": []})])["created"] == 1
    people = [{"external_id": f"{unit}-{i}", "full_name": f"Lê Thị {i}", "birth_date": f"{1972 + 2 * i}-03-01",
               "gender": "female", "ethnicity": "01",
               "employments": [{"org_unit": unit, "category": "cong_chuc", "occupation": "specialist",
                                "primary": True, "start": "2010-01-01", "end": None}]} for i in range(4)]
    assert r.import_lines("persons", [json.dumps(p, ensure_ascii=False) for p in people])["created"] == 4
    code = uniq("AUD-LIT")
    definition = {
        "id": code, "names": {"vi": "Thử", "en": "Literals"}, "source": {"doc": "CT", "clause": "test"},
        "source_kind": "registry", "kind": "ratio",
        "population": {"anchors": [{"subject": "employment", "where": {"all": [
            {"field": "employment.category", "not_in": []},
            {"field": "employment.occupation", "ne": "50%' OR 1=1 --"}]}}],
                       "where": {"field": "person.general_education", "not_in": ["12/12 100%'; --"]}},
        "share": {"any": [{"not": {"field": "person.age", "lt": 50}}, {"field": "person.gender", "in": []}]},
        "target": {"band": [0.5, None]},
    }
    created = r.client.post("/api/v1/indicators", json=definition, headers=r.headers())
    assert created.status_code == 201, created.text
    raw = Raw(r)
    try:
        v = r.client.get(f"/api/v1/indicators/{code}/value", params={"org_unit": unit, "as_of": "2024-12-31"},
                         headers=r.headers()).json()
        shown = r.client.get(f"/api/v1/indicators/{code}/sql", params={"org_unit": unit, "as_of": "2024-12-31"},
                             headers=r.headers()).json()
        assert "'50%'' OR 1=1 --'" in shown["sql"]
        assert [res.rows for res in raw.script(shown["sql"])] == [[(v["numerator"], v["denominator"])]]
        assert (v["numerator"], v["denominator"]) == (2, 4)
    finally:
        raw.close()


def test_the_sql_of_an_answer_with_known_at_is_the_sql_that_answer_ran(registry: Registry) -> None:
    """`/value?known_at=K` answers as the registry was at K; `/sql?known_at=K` shows the statements it ran, which,
    pasted after later writes, still give K's figures (it ignored `known_at` before, and showed today's)."""
    import time
    from datetime import UTC, datetime

    from tests.api.factories import import_records, org_unit, person

    p = uniq("KA")
    body = f"{p}-B"
    assert import_records(registry, "org-units", [
        org_unit(p, tier="province"),
        org_unit(body, parent=p, kind="party_executive_committee", tier="province", sector="party")])["errors"] == []

    def member(ext: str, gender: str) -> dict[str, Any]:
        return person(ext, p, gender=gender, employments=[], national_id=None,
                      memberships=[{"body": body, "role": "member", "start": "2021-01-01", "end": None}])

    assert import_records(registry, "persons", [member(f"{p}-1", "female"), member(f"{p}-2", "male"),
                                                member(f"{p}-3", "male")])["errors"] == []
    time.sleep(0.05)
    known = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    assert import_records(registry, "persons", [member(f"{p}-4", "female")])["errors"] == []
    code, h = "CT-2030-WOMEN-PARTY-COMMITTEE", registry.headers()
    params = {"org_unit": p, "as_of": "2025-12-31"}
    then = registry.client.get(f"/api/v1/indicators/{code}/value", params=params | {"known_at": known}, headers=h).json()
    now = registry.client.get(f"/api/v1/indicators/{code}/value", params=params, headers=h).json()
    assert (then["numerator"], then["denominator"], now["numerator"], now["denominator"]) == (1, 3, 2, 4)
    raw = Raw(registry)
    try:
        for asked, answer in ((known, then), (None, now)):
            shown = registry.client.get(f"/api/v1/indicators/{code}/sql",
                                        params=params | ({"known_at": asked} if asked else {}), headers=h).json()
            assert (shown["known_at"] is None) == (asked is None), shown
            first = raw.one(shown["statements"][0]["sql"])
            assert first.rows == [(answer["numerator"], answer["denominator"])], (asked, first.rows)
            assert raw.script(shown["sql"])[0] == first
    finally:
        raw.close()
