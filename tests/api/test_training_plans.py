"""Annual training plans: record with history, read with actuals and need, scope, hostile input, the XLSX."""

import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app import db
from app.models import Change, Course, Enrolment, Person, TrainingPlan
from app.services import history, training_needs
from app.services.context import SYSTEM
from tests.api.factories import SmallTree, cursor, import_records, org_unit, person, small_tree
from tests.conftest import Registry, uniq

URL = "/api/v1/training-plans"
PT_CC = {"political_theory": {"level": "cao_cap"}}
PLAN_2025: list[dict[str, Any]] = [
    {"kind": "political_theory", "awards": PT_CC, "seats": 20, "budget": 360_000_000},
    {"kind": "political_theory", "awards": None, "seats": 5, "budget": 25_000_000},
    {"kind": "state_management", "awards": {"state_management": {"level": "chuyen_vien_chinh"}}, "seats": 3,
     "budget": 30_000_000},
    {"kind": "degree", "awards": {"degrees": {"level": "master"}}, "seats": 1, "budget": 50_000_000},
    {"kind": "foreign_language", "awards": {"languages": {"level": 4}}, "seats": 2, "budget": 4_000_000},
]


@dataclass
class World:
    registry: Registry
    tree: SmallTree

    def put(self, unit: str, year: int, lines: list[dict[str, Any]], token: str | None = None) -> Any:
        return self.registry.client.put(f"{URL}/{unit}/{year}", json={"lines": lines}, headers=self._h(token))

    def get(self, unit: str, year: int, token: str | None = None, **params: str) -> Any:
        return self.registry.client.get(f"{URL}/{unit}/{year}", params=params, headers=self._h(token))

    def _h(self, token: str | None) -> dict[str, str]:
        return self.registry.headers(token) if token else self.registry.headers()


@pytest.fixture
def world(registry: Registry) -> World:
    return World(registry, small_tree(registry))


def counts() -> tuple[int, int]:
    """(training_plan rows, change rows): what a refused write must leave as it was."""
    with db.get_session_factory()() as s:
        return (s.scalar(select(func.count()).select_from(TrainingPlan)) or 0,
                s.scalar(select(func.count()).select_from(Change)) or 0)


class TestRecord:
    def test_creates_replaces_and_keeps_unchanged(self, world: World) -> None:
        unit = world.tree.commune_a
        r = world.put(unit, 2026, PLAN_2025[:1])
        assert r.status_code == 200, r.text
        assert r.json() | {"recorded_at": None} == {"org_unit": unit, "year": 2026, "lines": PLAN_2025[:1],
                                                    "status": "created", "recorded_at": None}
        r = world.put(unit, 2026, PLAN_2025[:1])
        assert (r.json()["status"], r.json()["recorded_at"]) == ("unchanged", None)
        r = world.put(unit, 2026, PLAN_2025)
        assert (r.json()["status"], r.json()["lines"]) == ("updated", PLAN_2025)

    def test_the_record_as_read_can_be_put_back(self, world: World) -> None:
        unit = world.tree.commune_b
        world.put(unit, 2026, PLAN_2025)
        read = world.get(unit, 2026).json()
        again = {"org_unit": unit, "year": 2026, "lines": [
            {k: ln[k] for k in ("kind", "awards", "seats", "budget")} for ln in read["lines"]]}
        r = world.registry.client.put(f"{URL}/{unit}/2026", json=again, headers=world.registry.headers())
        assert r.json()["status"] == "unchanged"

    def test_known_at_before_a_replacement_gives_the_old_plan(self, world: World) -> None:
        unit = world.tree.commune_a
        first = world.put(unit, 2025, PLAN_2025[:2]).json()["recorded_at"]
        second = world.put(unit, 2025, PLAN_2025[2:]).json()["recorded_at"]
        old = world.get(unit, 2025, known_at=first).json()
        assert [ln["kind"] for ln in old["lines"]] == ["political_theory", "political_theory"]
        assert old["recorded_at"] == first
        assert [ln["kind"] for ln in world.get(unit, 2025).json()["lines"]] == ["state_management", "degree",
                                                                              "foreign_language"]
        assert world.get(unit, 2025, known_at="2000-01-01T00:00:00Z").json()["code"] == "training_plan_not_found"
        listed = world.registry.client.get(URL, params={"org_unit": unit, "known_at": first},
                                           headers=world.registry.headers()).json()
        assert [p["lines"] for p in listed["items"]] == [PLAN_2025[:2]]
        assert second > first

    def test_lands_in_the_change_feed(self, world: World) -> None:
        unit = world.tree.commune_a
        after = cursor(world.registry)
        world.put(unit, 2027, PLAN_2025[:1])
        world.put(unit, 2027, PLAN_2025[:2])
        r = world.registry.client.get("/api/v1/changes", params={"after": after}, headers=world.registry.headers())
        mine = [c for c in r.json()["changes"] if c["entity"] == "training_plan" and c["key"] == f"{unit}|2027"]
        assert [c["op"] for c in mine] == ["create", "update"]
        assert mine[1]["record"] == {"org_unit": unit, "year": 2027, "lines": PLAN_2025[:2]}

    def test_lists_by_unit_and_year(self, world: World) -> None:
        t = world.tree
        for unit, year in ((t.commune_a, 2025), (t.commune_a, 2026), (t.commune_b, 2026)):
            world.put(unit, year, PLAN_2025[:1])
        r = world.registry.client.get(URL, params={"org_unit": t.commune_a, "year": 2026}, headers=world.registry.headers())
        assert [(p["org_unit"], p["year"]) for p in r.json()["items"]] == [(t.commune_a, 2026)]
        r = world.registry.client.get(URL, params={"year": 2026, "limit": 1}, headers=world.registry.headers())
        assert len(r.json()["items"]) == 1 and r.json()["next"] is not None


def _employed(unit: str, start: str, end: str | None = None) -> list[dict[str, Any]]:
    return [{"org_unit": unit, "category": "cong_chuc", "occupation": None, "primary": True, "start": start, "end": end}]


def _population(world: World) -> dict[str, str]:
    """PA1 in commune A, PA2 in its school, PA3 who left A in 2024, PB1 in commune B."""
    t, p = world.tree, uniq("TP")
    ids = {"PA1": f"{p}-A1", "PA2": f"{p}-A2", "PA3": f"{p}-A3", "PB1": f"{p}-B1"}
    records = [person(ids["PA1"], t.commune_a, employments=_employed(t.commune_a, "2010-01-01")),
               person(ids["PA2"], t.school_a, employments=_employed(t.school_a, "2012-01-01")),
               person(ids["PA3"], t.commune_a, employments=_employed(t.commune_a, "2010-01-01", "2024-06-30")),
               person(ids["PB1"], t.commune_b, employments=_employed(t.commune_b, "2010-01-01"))]
    assert import_records(world.registry, "persons", records)["errors"] == []
    return ids


def _courses_and_enrolments(world: World, ids: dict[str, str]) -> None:
    """The courses and enrolments the expected figures below are counted from, by hand."""
    c = uniq("C")
    courses: list[tuple[str, str, Any, int, date]] = [  # code, kind, awards, cost per person, start
        (f"{c}-PTCC", "political_theory", PT_CC, 18_000_000, date(2025, 3, 1)),
        (f"{c}-PTTC", "political_theory", {"political_theory": {"level": "trung_cap"}}, 5_000_000, date(2025, 5, 1)),
        (f"{c}-SM", "state_management", {"state_management": {"level": "chuyen_vien_chinh"}}, 10_000_000,
         date(2024, 9, 1)),
        (f"{c}-IT", "it", None, 1_000_000, date(2025, 4, 1)),
        (f"{c}-EN", "foreign_language", {"languages": {"language": "en", "kind": "foreign", "level": 4}}, 2_000_000,
         date(2025, 6, 1)),
    ]
    enrolments: list[tuple[str, str, str, date | None, date | None, int | None]] = [
        # person, course, status, start, completed_on, cost
        ("PA1", "PTCC", "completed", date(2025, 3, 1), date(2025, 11, 30), None),  # line 0: 1 enrolled, 1 completed, 18M
        ("PA2", "PTCC", "enrolled", date(2025, 3, 1), None, 20_000_000),  # line 0: 1 enrolled, 20M
        ("PB1", "PTCC", "enrolled", date(2025, 3, 1), None, None),  # commune B: not under A
        ("PA3", "PTCC", "enrolled", date(2025, 3, 1), None, None),  # left A in 2024
        ("PA1", "PTTC", "withdrawn", date(2025, 5, 1), None, None),  # line 1 (any level): 1 enrolled, 5M
        ("PA2", "SM", "planned", date(2025, 9, 1), None, None),  # planned: not counted
        ("PA1", "SM", "completed", date(2024, 9, 1), date(2025, 2, 1), 9_000_000),  # line 2: completed only
        ("PA2", "IT", "enrolled", None, None, None),  # no line plans it: unmatched, starts with its course, 1M
        ("PA2", "EN", "enrolled", date(2025, 6, 1), None, 0),  # line 4: 1 enrolled, spent 0
        ("PA1", "EN", "failed", date(2026, 1, 10), None, None),  # another year
    ]
    with db.get_session_factory().begin() as s:
        txn = history.current_txn(s, SYSTEM)
        found = s.execute(select(Person.external_id, Person.id).where(Person.external_id.in_(ids.values())))
        pid = dict(found.all())
        for code, kind, awards, cost, start in courses:
            s.add(Course(code=code, name=f"Lớp {code}", kind=kind, org_unit_id=_unit_id(s, world.tree.province),
                         start_date=start, cost_per_person=cost, awards=awards, sys_from=txn.id))
        for who, course, status, began, done, paid in enrolments:
            s.add(Enrolment(person_id=pid[ids[who]], course=f"{c}-{course}", status=status, start_date=began,
                            completed_on=done, cost=paid, sys_from=txn.id))


def _unit_id(s: Any, code: str) -> int:
    from app.services import tree

    return tree.unit_id(s, code)


@pytest.fixture
def needs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, date]]:
    """`training_needs.missing_counts` replaced by a fixed answer (the actuals are what these tests count; the need
    itself is checked against the training needs in tests/api/test_training.py); records calls."""
    calls: list[tuple[int, date]] = []

    def missing_counts(session: Any, unit_id: int, on: date) -> dict[tuple[str, str], int]:
        calls.append((unit_id, on))
        return {("political_theory", "cao_cap"): 7, ("languages", "4"): 3, ("it_skills", "basic"): 11}

    monkeypatch.setattr(training_needs, "missing_counts", missing_counts)
    return calls


class TestActuals:
    def test_figures_beside_each_line_as_counted_by_hand(self, world: World, needs: list[tuple[int, date]]) -> None:
        _courses_and_enrolments(world, _population(world))
        assert world.put(world.tree.commune_a, 2025, PLAN_2025).status_code == 200
        body = world.get(world.tree.commune_a, 2025).json()
        got = [(ln["enrolled"], ln["completed"], ln["spent"], ln["need"]) for ln in body["lines"]]
        assert got == [(2, 1, 38_000_000, 7), (1, 0, 5_000_000, None), (0, 1, 0, 0), (0, 0, 0, 0), (1, 0, 0, 3)]
        assert body["totals"] == {"seats": 31, "budget": 469_000_000, "enrolled": 4, "completed": 2, "spent": 43_000_000}
        assert body["unmatched"] == {"seats": 0, "budget": 0, "enrolled": 1, "completed": 0, "spent": 1_000_000}
        assert body["need_on"] == "2025-12-31"
        assert [on for _uid, on in needs] == [date(2025, 12, 31)]

    def test_a_line_without_courses_shows_zeros(self, world: World, needs: list[tuple[int, date]]) -> None:
        world.put(world.tree.commune_b, 2030, [{"kind": "it", "awards": {"it_skills": {"level": "basic"}}, "seats": 4,
                                                "budget": 0}])
        line = world.get(world.tree.commune_b, 2030).json()["lines"][0]
        assert (line["enrolled"], line["completed"], line["spent"], line["need"]) == (0, 0, 0, 11)

    def test_need_is_counted_today_in_the_current_year(self, world: World, needs: list[tuple[int, date]]) -> None:
        year = date.today().year
        world.put(world.tree.commune_b, year, PLAN_2025[:1])
        assert world.get(world.tree.commune_b, year).json()["need_on"] == date.today().isoformat()

    def test_the_province_counts_its_whole_subtree(self, world: World, needs: list[tuple[int, date]]) -> None:
        _courses_and_enrolments(world, _population(world))
        world.put(world.tree.province, 2025, PLAN_2025[:1])
        line = world.get(world.tree.province, 2025).json()["lines"][0]
        assert (line["enrolled"], line["completed"]) == (3, 1)  # PA1, PA2 and PB1 (PA3 left in 2024)


class TestScope:
    def test_a_commune_officer_writes_only_under_the_commune(self, world: World) -> None:
        t, reg = world.tree, world.registry
        hr = reg.token("hr_officer", [t.commune_a])
        assert world.put(t.commune_a, 2026, PLAN_2025[:1], hr).json()["status"] == "created"
        assert world.put(t.school_a, 2026, PLAN_2025[:1], hr).json()["status"] == "created"
        before = counts()
        for unit in (t.commune_b, t.province, t.station_b):
            r = world.put(unit, 2026, PLAN_2025[:1], hr)
            assert (r.status_code, r.json()["code"]) == (403, "out_of_scope")
        assert counts() == before

    @pytest.mark.parametrize("role", ["auditor", "integration"])
    def test_roles_that_may_not_write(self, world: World, role: str) -> None:
        token = world.registry.token(role, [world.tree.commune_a])
        before = counts()
        r = world.put(world.tree.commune_a, 2026, PLAN_2025[:1], token)
        assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
        assert counts() == before
        assert world.get(world.tree.commune_a, 2026, token).status_code == 404  # may read; there is none

    @pytest.mark.parametrize("role", ["admin", "hr_officer", "auditor", "integration"])
    def test_reads_stop_at_the_scope(self, world: World, role: str, needs: list[tuple[int, date]]) -> None:
        t = world.tree
        world.put(t.commune_a, 2026, PLAN_2025[:1])
        world.put(t.commune_b, 2026, PLAN_2025[:2])
        token = world.registry.token(role, [t.commune_b])
        assert world.get(t.commune_b, 2026, token).status_code == 200
        r = world.get(t.commune_a, 2026, token)
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope")
        r = world.registry.client.get(f"{URL}/{t.commune_a}/2026.xlsx", headers=world.registry.headers(token))
        assert r.status_code == 403
        listed = world.registry.client.get(URL, params={"year": 2026}, headers=world.registry.headers(token)).json()
        assert {p["org_unit"] for p in listed["items"]} == {t.commune_b}

    def test_a_unit_moved_away_leaves_the_former_officers_scope(self, world: World, needs: list[tuple[int, date]]) -> None:
        t, reg = world.tree, world.registry
        hr_a, hr_b = reg.token("hr_officer", [t.commune_a]), reg.token("hr_officer", [t.commune_b])
        assert world.put(t.school_a, 2025, PLAN_2025[:1], hr_a).status_code == 200
        moved = org_unit(t.school_a, kind="school_primary", sector="education", name="Trường Tiểu học Tham Đôn")
        moved["parents"] = [{"code": t.commune_a, "start": "2004-01-01", "end": "2025-06-30"},
                            {"code": t.commune_b, "start": "2025-07-01", "end": None}]
        assert import_records(reg, "org-units", [moved])["errors"] == []
        before = counts()
        r = world.put(t.school_a, 2026, PLAN_2025[:1], hr_a)
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope")
        assert counts() == before
        assert world.get(t.school_a, 2025, hr_a).status_code == 403
        assert world.get(t.school_a, 2025, hr_b).json()["lines"][0]["seats"] == 20
        assert world.put(t.school_a, 2026, PLAN_2025[:1], hr_b).json()["status"] == "created"


def _line(**overrides: Any) -> dict[str, Any]:
    return {"kind": "political_theory", "awards": PT_CC, "seats": 1, "budget": 1} | overrides


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"level": "cao_cap"}
    for _ in range(depth):
        value = {"level": value}
    return {"political_theory": value}


HOSTILE = {
    "control_character": ({"lines": [_line(kind="political\u0000theory")]}, "lines[0].kind"),
    "control_in_level": ({"lines": [_line(awards={"political_theory": {"level": "cao\u202e\u0007"}})]},
                         "lines[0].awards.political_theory"),  # the object holding the text is named
    "huge_seats": ({"lines": [_line(seats=10**30)]}, "lines[0].seats"),
    "huge_budget": ({"lines": [_line(budget=10**400)]}, "lines[0].budget"),
    "negative_budget": ({"lines": [_line(budget=-1)]}, "lines[0].budget"),
    "float_seats": ({"lines": [_line(seats=1.5)]}, "lines[0].seats"),
    "bool_seats": ({"lines": [_line(seats=True)]}, "lines[0].seats"),
    "string_budget": ({"lines": [_line(budget="1000")]}, "lines[0].budget"),
    "nested_award": ({"lines": [_line(awards=_nested(50))]}, "lines[0].awards.political_theory.level"),
    "two_awards": ({"lines": [_line(awards=PT_CC | {"degrees": {"level": "master"}})]}, "lines[0].awards"),
    "unknown_award_list": ({"lines": [_line(awards={"academic_titles": {"level": "gs"}})]},
                           "lines[0].awards.academic_titles"),
    "extra_award_field": ({"lines": [_line(awards={"political_theory": {"level": "cao_cap", "x": 1}})]},
                          "lines[0].awards.political_theory.x"),
    "unknown_kind": ({"lines": [_line(kind="astrology")]}, "lines[0].kind"),
    "unknown_level": ({"lines": [_line(awards={"political_theory": {"level": "supreme"}})]},
                      "lines[0].awards.political_theory.level"),
    "language_level_7": ({"lines": [_line(kind="foreign_language", awards={"languages": {"level": 7}})]},
                         "lines[0].awards.languages.level"),
    "repeated_line": ({"lines": [_line(), _line(seats=5)]}, "lines[1]"),
    "extra_field": ({"lines": [], "owner": "x"}, "owner"),
    "lines_not_a_list": ({"lines": {"0": _line()}}, "lines"),
    "too_many_lines": ({"lines": [_line(seats=i) for i in range(201)]}, "lines"),
    "other_unit_in_body": ({"org_unit": "ELSEWHERE", "lines": []}, "org_unit"),
    "other_year_in_body": ({"year": 2031, "lines": []}, "year"),
}


class TestHostileInput:
    @pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
    def test_refused_with_the_field_and_nothing_written(self, world: World, case: str) -> None:
        body, field = HOSTILE[case]
        before = counts()
        r = world.registry.client.put(f"{URL}/{world.tree.commune_a}/2026", json=body, headers=world.registry.headers())
        assert r.status_code == 422, r.text
        assert field in [e["field"] for e in r.json()["errors"]], r.json()["errors"]
        assert counts() == before

    def test_a_million_lines_are_refused_unread(self, world: World) -> None:
        before = counts()
        body = '{"lines": [' + ",".join(['{"kind":"it","awards":null,"seats":1,"budget":1}'] * 1_000_000) + "]}"
        r = world.registry.client.put(f"{URL}/{world.tree.commune_a}/2026", content=body.encode(),
                                      headers=world.registry.headers() | {"Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
        assert counts() == before

    @pytest.mark.parametrize("year", ["1999", "2101", "0"])
    def test_years_outside_the_range(self, world: World, year: str) -> None:
        r = world.registry.client.put(f"{URL}/X/{year}", json={"lines": []}, headers=world.registry.headers())
        assert r.status_code == 422 and "path.year" in [e["field"] for e in r.json()["errors"]]

    @pytest.mark.parametrize("year", ["abc", "2026.xlsx", "-1"])
    def test_a_year_is_digits(self, world: World, year: str) -> None:
        r = world.registry.client.put(f"{URL}/{world.tree.commune_a}/{year}", json={"lines": []},
                                      headers=world.registry.headers())
        assert r.status_code == (405 if year.endswith(".xlsx") else 404)

    def test_an_unknown_unit(self, world: World) -> None:
        before = counts()
        r = world.registry.client.put(f"{URL}/NO-SUCH-UNIT/2026", json={"lines": []}, headers=world.registry.headers())
        assert r.status_code == 422 and r.json()["errors"] == [{"field": "org_unit",
                                                                "message": "unknown org unit 'NO-SUCH-UNIT'"}]
        assert counts() == before
        assert world.get("NO-SUCH-UNIT", 2026).json()["code"] == "org_unit_not_found"


class TestWorkbook:
    def test_holds_the_plan_with_its_figures(self, world: World, needs: list[tuple[int, date]]) -> None:
        _courses_and_enrolments(world, _population(world))
        world.put(world.tree.commune_a, 2025, PLAN_2025)
        r = world.registry.client.get(f"{URL}/{world.tree.commune_a}/2025.xlsx", headers=world.registry.headers())
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
        ws = load_workbook(io.BytesIO(r.content)).active
        rows = [list(row) for row in ws.iter_rows(values_only=True)]
        assert "Kế hoạch đào tạo, bồi dưỡng năm 2025" in rows[0][0] and "Xã Tham Đôn" in rows[0][0]
        assert rows[3][:5] == ["STT", "Loại đào tạo, bồi dưỡng", "Mã loại", "Trình độ, chứng chỉ đạt được",
                               "Chỉ tiêu (người)"]
        assert rows[4][4] == "Planned seats"
        assert rows[5] == [1, "Lý luận chính trị", "political_theory", "Lý luận chính trị: Cao cấp", 20, 360_000_000,
                           2, 1, 38_000_000, 7]
        assert rows[6][3:] == ["Bất kỳ (any)", 5, 25_000_000, 1, 0, 5_000_000, None]
        assert rows[10][1:9] == ["Tổng cộng (total)", None, None, 31, 469_000_000, 4, 2, 43_000_000]
        assert rows[11][1] == "Ngoài kế hoạch (not planned)" and rows[11][6] == 1
        texts = [v for row in rows for v in row if isinstance(v, str)]
        assert not [v for v in texts if v.startswith(("=", "+", "-", "@"))]

    def test_text_a_spreadsheet_would_evaluate_is_quoted(self, world: World, needs: list[tuple[int, date]]) -> None:
        from app.services.training_plan_xlsx import put

        ws = load_workbook(io.BytesIO(_empty_book())).active
        put(ws, 1, 1, "=HYPERLINK(\"http://x\")")
        assert ws.cell(1, 1).value == "'=HYPERLINK(\"http://x\")" and ws.cell(1, 1).data_type == "s"


def _empty_book() -> bytes:
    from openpyxl import Workbook

    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


def test_unknown_json_is_not_a_plan(world: World) -> None:
    r = world.registry.client.put(f"{URL}/{world.tree.commune_a}/2026", content=json.dumps([1, 2]).encode(),
                                  headers=world.registry.headers() | {"Content-Type": "application/json"})
    assert r.status_code == 422
