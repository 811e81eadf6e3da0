"""Statistics that re-identify: an auditor's differencing attacks on figures touching ethnicity.

The tree: a province P with communes A (1 ethnic-minority person among 6) and B (7 among 14); on
2024-06-01 an ethnic-minority person J joins B. An auditor (aggregate-only for ethnicity) must learn
from no route that the person in A, or J, belongs to an ethnic minority; an administrator sees every
figure exact; a drill-down that names persons behind an ethnicity condition is logged per person.
"""

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.db import normalise_url
from app.services.context import Actor
from app.services.indicators import service
from app.services.indicators.disclosure import Cell, Rule, plan, reference_date, settle
from tests.api.factories import import_records, org_unit, person
from tests.conftest import BOOT, Registry, uniq

D1, D2 = "2023-12-31", "2024-12-31"
K = 5
ETHNIC_LANGUAGE = "ST-2025-ETHNIC-STAFF-LANGUAGE"  # population: ethnic-minority staff (catalog)
API = "/api/v1"


@dataclass(frozen=True)
class World:
    r: Registry
    p: str
    a: str
    b: str
    doc: str
    share: str  # a share of ethnic-minority persons (the sensitive field in the share)
    plain: str  # a share of persons with general education 12/12 (nothing sensitive)
    a_minority: str
    joiner: str
    auditor: str

    def get(self, path: str, token: str | None = None, **params: Any) -> Any:
        r = self.r.client.get(f"{API}{path}", params=params, headers=self.r.headers(token) if token else self.r.headers())
        assert r.status_code == 200, r.text
        return r.json()


def _staff(pid: str, unit: str, *, minority: bool, gender: str = "female", born: str = "1985-04-12",
           start: str = "2019-01-01") -> dict[str, Any]:
    jobs = [{"org_unit": unit, "category": "vien_chuc", "occupation": "teacher_primary", "primary": True,
             "start": start, "end": None}]
    langs = [{"language": "km", "kind": "ethnic_minority", "fluent": True, "awarded_on": "2010-01-01"}] if minority else []
    return person(pid, unit, ethnicity="05" if minority else "01", gender=gender, birth_date=born, employments=jobs,
                  languages=langs)


def _indicator(r: Registry, doc: str, share: dict[str, Any]) -> str:
    code = uniq("DISC")
    spec = {"id": code, "names": {"vi": "Chỉ tiêu thử", "en": "test share"}, "source": {"doc": doc, "clause": "1"},
            "source_kind": "registry", "kind": "ratio", "population": {"anchors": [{"subject": "employment"}]},
            "share": share, "target": {"band": [0.3, None]}, "deadline": "2025-12-31"}
    resp = r.client.post(f"{API}/indicators", json=spec, headers=r.headers())
    assert resp.status_code == 201, resp.text
    return code


@pytest.fixture
def world(registry: Registry) -> World:
    p = uniq("DP")
    a, b = f"{p}-A", f"{p}-B"
    units = [org_unit(p, tier="province", kind="area"), org_unit(a, parent=p), org_unit(b, parent=p)]
    assert import_records(registry, "org-units", units)["errors"] == []
    people = [_staff(f"{a}-M", a, minority=True, gender="male", born="1990-01-01")]
    people += [_staff(f"{a}-K{i}", a, minority=False, born=f"19{70 + i}-02-02") for i in range(5)]
    people += [_staff(f"{b}-M{i}", b, minority=True, gender="male" if i < 3 else "female", born=f"19{75 + i}-03-03")
               for i in range(7)]
    people += [_staff(f"{b}-K{i}", b, minority=False, born=f"19{80 + i}-04-04") for i in range(7)]
    joiner = _staff(f"{b}-J", b, minority=True, gender="male", born="1995-05-05", start="2024-06-01")
    report = import_records(registry, "persons", [*people, joiner])
    assert report["errors"] == [] and report["created"] == 21, report
    doc = uniq("DOC")
    share = _indicator(registry, doc, {"field": "person.ethnic_minority", "is": True})
    plain = _indicator(registry, doc, {"field": "person.general_education", "eq": "12/12"})
    return World(registry, p, a, b, doc, share, plain, f"{a}-M", f"{b}-J", registry.token("auditor", [p]))


def _figure(item: dict[str, Any]) -> tuple[Any, Any]:
    return item["numerator"], item["denominator"]


def _hidden(item: dict[str, Any]) -> bool:
    return bool(item.get("suppressed")) and item["numerator"] is None and item["denominator"] is None \
        and item["value"] is None and item["status"] == "no_data" and item["suppression"] in ("primary", "complementary")


class TestAdministratorsSeeExactFigures:
    def test_value_values_breakdown_and_trend_are_exact(self, world: World) -> None:
        assert _figure(world.get(f"/indicators/{world.share}/value", org_unit=world.a, as_of=D1)) == (1, 6)
        assert _figure(world.get(f"/indicators/{world.share}/value", org_unit=world.p, as_of=D2)) == (9, 21)
        assert _figure(world.get(f"/indicators/{world.share}/value", org_unit=world.p, as_of="2024-06-30")) == (9, 21)
        items = {i["org_unit"]: _figure(i) for i in world.get(f"/indicators/{world.share}/values", under=world.p,
                                                                 as_of=D1)["items"]}
        assert items == {world.p: (8, 20), world.a: (1, 6), world.b: (7, 14)}
        cells = world.get(f"/indicators/{world.share}/breakdown", org_unit=world.p, as_of=D1, by="child_units")["cells"]
        assert {c["key"]: _figure(c) for c in cells} == {world.a: (1, 6), world.b: (7, 14)}
        points = world.get(f"/indicators/{world.share}/trend", org_unit=world.p, start_year=2023, end_year=2024)["points"]
        assert [_figure(pt) for pt in points] == [(8, 20), (9, 21)]
        assert all("suppressed" not in pt for pt in points)


class TestAuditorsCannotDifference:
    def test_a_small_cell_is_suppressed_on_every_route(self, world: World) -> None:
        tok = world.auditor
        value = world.get(f"/indicators/{world.share}/value", tok, org_unit=world.a, as_of=D1)
        assert _hidden(value) and value["suppression"] == "primary"
        items = world.get(f"/indicators/{world.share}/values", tok, under=world.p, as_of=D1)["items"]
        assert _hidden(next(i for i in items if i["org_unit"] == world.a))
        cells = world.get(f"/indicators/{world.share}/breakdown", tok, org_unit=world.p, as_of=D1, by="child_units")["cells"]
        assert _hidden(next(c for c in cells if c["key"] == world.a))
        points = world.get(f"/indicators/{world.share}/trend", tok, org_unit=world.a, start_year=2021, end_year=2025)["points"]
        assert all(_hidden(pt) for pt in points)

    def test_the_parent_minus_the_siblings_gives_nothing(self, world: World) -> None:
        tok = world.auditor
        parent = world.get(f"/indicators/{world.share}/value", tok, org_unit=world.p, as_of=D1)
        assert _figure(parent) == (8, 20) and parent["suppressed"] is False
        sibling = world.get(f"/indicators/{world.share}/value", tok, org_unit=world.b, as_of=D1)
        assert _hidden(sibling) and sibling["suppression"] == "complementary"
        items = world.get(f"/indicators/{world.share}/values", tok, under=world.p, as_of=D1)["items"]
        assert {i["org_unit"] for i in items if not i["suppressed"]} == {world.p}

    def test_two_dates_do_not_isolate_the_person_who_joined(self, world: World) -> None:
        tok = world.auditor
        seen = []
        for day in ("2021-12-31", "2022-12-31", D1, "2024-06-30", D2, "2025-12-31", "2026-11-30"):
            for unit in (world.p, world.a, world.b):
                v = world.get(f"/indicators/{world.share}/value", tok, org_unit=unit, as_of=day)
                assert v["as_of"].endswith("-12-31") and v["requested_as_of"] == day
                if not v["suppressed"]:
                    seen.append((unit, v["numerator"], v["denominator"]))
        assert seen, "the parent's figure of 2021-2023 is safe to publish"
        for unit, num, den in seen:
            for other, num2, den2 in seen:
                if unit == other:
                    moved = (num2 - num, (den2 - num2) - (den - num))
                    assert moved == (0, 0) or min(abs(moved[0]), abs(moved[1])) >= K, (unit, num, den, num2, den2)
        after = world.get(f"/indicators/{world.share}/value", tok, org_unit=world.p, as_of=D2)
        assert _hidden(after)

    def test_the_trend_is_the_values_at_year_ends(self, world: World) -> None:
        points = world.get(f"/indicators/{world.share}/trend", world.auditor, org_unit=world.p, start_year=2021,
                           end_year=2026)["points"]
        assert [(pt["as_of"][:4], pt["numerator"]) for pt in points] == [
            ("2021", 8), ("2022", 8), ("2023", 8), ("2024", None), ("2025", None), ("2026", None)]
        assert all(_hidden(pt) for pt in points[3:])

    @pytest.mark.parametrize("by", ["gender", "age_band", "tier"])
    def test_demographic_splits_never_show_a_small_or_moving_group(self, world: World, by: str) -> None:
        for day in (D1, D2):
            answer = world.get(f"/indicators/{world.share}/breakdown", world.auditor, org_unit=world.p, as_of=day, by=by)
            exact = world.get(f"/indicators/{world.share}/breakdown", org_unit=world.p, as_of=day, by=by)
            truth = {c["key"]: _figure(c) for c in exact["cells"]}
            for cell in answer["cells"]:
                if cell["suppressed"]:
                    assert _hidden(cell)
                    continue
                num, den = _figure(cell)
                assert (num, den) == truth[cell["key"]]
                assert num >= K and den - num >= K
            hidden = [c for c in answer["cells"] if c["suppressed"]]
            assert len(hidden) != 1 or day == D2, "one hidden group is the total minus the others"

    def test_a_resolution_report_and_a_run_published_by_the_auditor_are_suppressed(self, world: World) -> None:
        report = world.get(f"/reports/{world.doc}", world.auditor, org_unit=world.a, as_of=D2)
        assert _hidden(next(i for i in report["items"] if i["indicator"] == world.share))
        r = world.r.client.post(f"{API}/indicator-runs", json={"doc": world.doc, "org_unit": world.a, "as_of": D2},
                                headers=world.r.headers(world.auditor))
        assert r.status_code == 201, r.text
        frozen = next(i for i in r.json()["results"] if i["indicator"] == world.share)
        assert (frozen["numerator"], frozen["denominator"], frozen["value"], frozen["status"]) == (None, None, None,
                                                                                                 "no_data")

    def test_a_run_frozen_by_an_administrator_is_withheld_from_the_auditor(self, world: World) -> None:
        r = world.r.client.post(f"{API}/indicator-runs", json={"doc": world.doc, "org_unit": world.a, "as_of": D1},
                                headers=world.r.headers())
        assert r.status_code == 201, r.text
        results = r.json()["results"]
        engine = create_engine(normalise_url(world.r.url))
        try:
            with Session(engine) as session:
                auditor = Actor(name="token:auditor", role="auditor", org_units=(world.p,))
                seen = {i["indicator"]: i for i in service.frozen_results(session, auditor, results)}
                exact = service.frozen_results(session, Actor(name="token:hr", role="hr_officer"), results)
        finally:
            engine.dispose()
        assert _figure(next(i for i in results if i["indicator"] == world.share)) == (1, 6)
        assert _hidden(seen[world.share]) and _figure(seen[world.plain]) == (6, 6)
        assert exact == results

    def test_an_indicator_on_nothing_sensitive_is_not_suppressed(self, world: World) -> None:
        v = world.get(f"/indicators/{world.plain}/value", world.auditor, org_unit=world.a, as_of="2024-06-30")
        assert _figure(v) == (6, 6) and "suppressed" not in v and v["as_of"] == "2024-06-30"
        items = world.get(f"/indicators/{world.plain}/values", world.auditor, under=world.p, as_of=D2)["items"]
        assert {i["org_unit"]: _figure(i) for i in items} == {world.p: (21, 21), world.a: (6, 6), world.b: (15, 15)}

    def test_the_catalog_indicator_on_ethnic_minority_staff_is_protected(self, world: World) -> None:
        exact = world.get(f"/indicators/{ETHNIC_LANGUAGE}/value", org_unit=world.a, as_of=D1)
        assert _figure(exact) == (1, 1)
        for unit in (world.p, world.a, world.b):
            v = world.get(f"/indicators/{ETHNIC_LANGUAGE}/value", world.auditor, org_unit=unit, as_of=D1)
            assert _hidden(v), v  # every group splits with fewer than 5 on one side (all minority staff are fluent)


class TestDrillDown:
    def test_auditors_are_refused_the_persons_behind_an_ethnicity_condition(self, world: World) -> None:
        for code in (world.share, ETHNIC_LANGUAGE):
            r = world.r.client.get(f"{API}/indicators/{code}/persons", params={"org_unit": world.a, "as_of": D1},
                                   headers=world.r.headers(world.auditor))
            assert r.status_code == 403 and r.json()["code"] == "sensitive_population", r.text

    def test_every_person_named_is_logged(self, world: World) -> None:
        hr = world.r.token("hr_officer", [world.p])
        answer = world.get(f"/indicators/{ETHNIC_LANGUAGE}/persons", hr, org_unit=world.p, as_of=D2)
        named = {i["external_id"] for i in answer["persons"]}
        assert named == {world.a_minority, world.joiner} | {f"{world.b}-M{i}" for i in range(7)}
        answer = world.get(f"/indicators/{world.share}/persons", hr, org_unit=world.a, as_of=D1)
        assert len(answer["persons"]) == 6
        rows = _access_rows(world.r, world.p)
        logged = {(pid, fields, action) for pid, fields, action, _detail in rows}
        assert {(pid, "ethnicity", "indicator_persons") for pid in named} <= logged
        assert {pid for pid, *_ in rows if pid.startswith(world.a)} == {world.a_minority} | {f"{world.a}-K{i}" for i in range(5)}
        assert any(detail == f"{ETHNIC_LANGUAGE} {world.p} {D2}" for *_, detail in rows)

    def test_a_drill_down_on_nothing_sensitive_logs_nothing(self, world: World) -> None:
        world.get(f"/indicators/{world.plain}/persons", org_unit=world.a, as_of=D1)
        assert _access_rows(world.r, world.p) == []


def _access_rows(r: Registry, prefix: str) -> list[tuple[str, str, str, str]]:
    """The access_log rows about persons of the world (read from the table itself)."""
    engine = create_engine(normalise_url(r.url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT p.external_id, a.fields, a.action, a.detail FROM access_log a JOIN person p ON p.id = a.person_id"
                     " WHERE p.external_id LIKE :prefix ORDER BY a.id"),
                {"prefix": f"{prefix}-%"},
            ).all()
    finally:
        engine.dispose()
    return [(str(a), str(b), str(c), str(d)) for a, b, c, d in rows]


class TestAgeIndicatorsAtAncientDates:
    @pytest.mark.parametrize("day", ["0099-12-31", "0001-01-01", "0040-06-30"])
    def test_an_age_indicator_answers_before_year_100(self, world: World, day: str) -> None:
        for path, params in (("value", {"org_unit": world.p}), ("values", {"under": world.p}),
                             ("breakdown", {"org_unit": world.p, "by": "age_band"})):
            r = world.r.client.get(f"{API}/indicators/CT-2025-LEADER-U40-LANG4/{path}", params={**params, "as_of": day},
                                   headers=world.r.headers())
            assert r.status_code == 200, (path, r.text)
        v = world.get("/indicators/CT-2025-LEADER-U40-LANG4/value", org_unit=world.p, as_of=day)
        assert (v["numerator"], v["denominator"], v["value"]) == (0, 0, None)


class TestDashboard:
    """The pages and reports take their figures from the service: suppressed ones stay suppressed."""

    @staticmethod
    def _signed_in(world: World, token: str) -> TestClient:
        client = TestClient(world.r.client.app)
        form = client.get("/dashboard/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf
        r = client.post("/dashboard/login", data={"token": token, "csrf_token": csrf.group(1)}, follow_redirects=False)
        assert r.status_code == 303 and "error=" not in r.headers["location"]
        return client

    @staticmethod
    def _page(client: TestClient, world: World, unit: str) -> str:
        r = client.get(f"/dashboard/indicators/{world.share}", params={"doc": world.doc, "org_unit": unit, "as_of": D1})
        assert r.status_code == 200, r.text
        return r.text

    def test_the_indicator_page_shows_no_suppressed_figure(self, world: World) -> None:
        auditor = self._signed_in(world, world.auditor)
        text_p = self._page(auditor, world, world.p)
        rows = dict(re.findall(r'<tr data-unit="([^"]+)" data-value="([^"]*)"', text_p))
        assert rows == {world.a: "", world.b: ""}
        assert text_p.count('data-suppressed="') >= 2
        assert re.search(r'class="indicator"[^>]*data-value="0\.4"', text_p)
        text_a = self._page(auditor, world, world.a)
        assert re.search(r'class="indicator"[^>]*data-value=""', text_a) and 'data-protected="suppressed"' in text_a
        admin = self._signed_in(world, BOOT)
        exact = dict(re.findall(r'<tr data-unit="([^"]+)" data-value="([^"]*)"', self._page(admin, world, world.p)))
        assert float(exact[world.a]) == pytest.approx(1 / 6) and float(exact[world.b]) == 0.5

    def test_the_overview_and_the_reports_render_for_the_auditor(self, world: World) -> None:
        auditor = self._signed_in(world, world.auditor)
        r = auditor.get("/dashboard", params={"doc": world.doc, "org_unit": world.p, "as_of": D1})
        assert r.status_code == 200, r.text
        row = re.search(rf'<tr id="row-{re.escape(world.share)}"[^>]*>', r.text)
        assert row and 'data-numerator="8"' in row.group(0)
        assert "16,7" not in r.text and "data-numerator=\"1\"" not in r.text  # A's share, 1/6
        admin = self._signed_in(world, BOOT).get("/dashboard", params={"doc": world.doc, "org_unit": world.p, "as_of": D1})
        assert "16,7" in admin.text
        for kind in ("xlsx", "pdf"):
            got = world.r.client.get(f"{API}/reports/{world.doc}.{kind}", params={"org_unit": world.a, "as_of": D2},
                                     headers=world.r.headers(world.auditor))
            assert got.status_code == 200 and got.content, (kind, got.text[:200])



class TestRules:
    """The rules of app/services/indicators/disclosure.py on hand-made cells (no database)."""

    SHARE = Rule(frozenset({"share"}), K)
    POPULATION = Rule(frozenset({"population"}), K)

    @pytest.mark.parametrize(("cell", "fails"), [
        (Cell(1, 6), True), (Cell(7, 14), False), (Cell(0, 10), True), (Cell(10, 10), True), (Cell(0, 0), False),
        (Cell(5, 10), False), (Cell(5, 9), True),
    ])
    def test_primary_on_a_sensitive_share(self, cell: Cell, fails: bool) -> None:
        assert self.SHARE.fails(cell) is fails

    def test_primary_on_a_sensitive_population_splits_each_countable_group(self) -> None:
        assert not self.POPULATION.fails(Cell(num=5, den=10, base=20, base_num=10))
        assert self.POPULATION.fails(Cell(num=1, den=1, base=6, base_num=1))  # the one fluent person is a minority
        assert self.POPULATION.fails(Cell(num=7, den=7, base=14, base_num=7))  # every fluent person is, no one else
        assert not self.POPULATION.fails(Cell(0, 0, 0, 0))

    def test_a_change_of_fewer_than_k_of_either_kind_moves(self) -> None:
        assert self.SHARE.moved(Cell(9, 21), Cell(8, 20))  # one minority person joined
        assert self.SHARE.moved(Cell(8, 21), Cell(8, 20))  # one other person joined: suppressed all the same
        assert self.SHARE.moved(Cell(13, 25), Cell(8, 20))  # five joined, all minority
        assert not self.SHARE.moved(Cell(13, 30), Cell(8, 20))  # five of each
        assert not self.SHARE.moved(Cell(8, 20), Cell(8, 20))

    def test_one_hidden_sibling_takes_the_smallest_other_with_it(self) -> None:
        members = {"A": Cell(1, 6), "B": Cell(7, 14), "C": Cell(7, 15)}
        hidden = {"A": "primary"}
        settle(self.SHARE, {"P": (Cell(15, 35), members)}, hidden)
        assert hidden == {"A": "primary", "B": "complementary"}

    def test_the_persons_of_the_parent_itself_are_a_hidden_cell_too(self) -> None:
        hidden: dict[Any, str] = {}
        settle(self.SHARE, {"P": (Cell(15, 30), {"A": Cell(7, 14), "B": Cell(7, 14)})}, hidden)  # own: 1 of 2
        assert hidden == {"A": "complementary"}

    def test_a_hidden_total_with_every_member_shown_hides_one(self) -> None:
        hidden = {"P": "complementary"}
        settle(self.SHARE, {"P": (Cell(14, 28), {"A": Cell(7, 14), "B": Cell(7, 14)})}, hidden)
        assert hidden == {"P": "complementary", "A": "complementary"}

    def test_a_cell_hidden_at_one_date_is_hidden_where_it_has_a_twin(self) -> None:
        d1, d2 = date(2022, 12, 31), date(2023, 12, 31)
        series = {d1: {"P": Cell(8, 20), "A": Cell(1, 6), "B": Cell(7, 14)}, d2: {"B": Cell(7, 14)}}
        found = plan(self.SHARE, series, {d1: ["P", "A", "B"], d2: ["B"]}, {d1: {"P": ["A", "B"]}})
        assert found[d1] == {"A": "primary", "B": "complementary"}
        assert found[d2] == {"B": "complementary"}  # else P(d1) - B(d2) = A(d1)

    def test_the_reference_dates_are_year_ends(self) -> None:
        assert reference_date(date(2024, 6, 30)) == date(2023, 12, 31)
        assert reference_date(date(2024, 12, 31)) == date(2024, 12, 31)
        assert reference_date(date(1, 5, 5)) == date(1, 5, 5)
