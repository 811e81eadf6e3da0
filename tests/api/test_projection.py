"""GET /indicators/{code}/projection and /gap on a registry whose answer is known by hand (planning.md 'Projection',
'The gap and who closes it'; issue #14, acceptance 1).

The province P has an agency S (tier province), a party executive committee B and a commune K.  Every leader
holds an office_head post at S (a cong_chuc employed there since 2015, bachelor, political theory trung_cap, state
management chuyen_vien: the title standard of office_head) unless said otherwise:

  A  man   born 1987-05-10  English 4            turns 40 on 2027-05-10; seat in B
  B  woman born 1993-03-03  English 3            ENROLLED in the English level-4 course, expected 2026-09-15
  C  man   born 1991-07-07  English 2            WITHDREW from it; political theory so_cap only (below standard);
                                                 a PLANNED IT course (awards nothing) expected 2027-03-01
  D  man   born 1992-02-02  English 3            COMPLETED the level-4 course on 2025-06-01 (holds 4 since);
                                                 post ends 2028-03-31 (dated in the future); seat in B
  F  man   born 1966-05-20  no language          62 in May 2028: retires 2028-05-31 (Decree 135 Appendix I); seat in B
  G  woman born 1971-09-15  no language          no state management (below standard), ENROLLED in a state
                                                 management course expected 2025-12-20 (before D0: awards nothing);
                                                 58 in September 2029: retires 2029-09-30; seat in B
  H  man   born 1995-01-01  English 1            post starts 2027-07-01 (already decided); PLANNED in the level-4
                                                 course, expected 2029-06-30
  E  man   born 1975-01-01  at commune K, no post  FAILED the level-4 course
  W1, W2, W3  women never employed, members of the commune's party committee KB since 2021

Projections from D0 = 2026-01-01 to 2030-12-31 (points: D0, 2026-12-31 ... 2029-12-31, 2030-12-31):

CT-2030-LEADER-U40-LANG4 (leaders under 40 at province tier; share English >= 4; floor 35%)
  none      2/4  2/4  1/4  0/3  0/3  0/3     A leaves 2027-05-10, H enters 2027-07-01, D leaves 2028-04-01
  expected  2/4  3/4  2/4  1/3  2/3  2/3     + B from 2026-09-15, H from 2029-06-30
  completion_rate at P: the level-4 course's history among P's staff on D0 is D completed, C withdrew, E failed:
            rate 1/3, so B and H count 1/3:  2  7/3  4/3  1/3  2/3  2/3  over 4 4 4 3 3 3
  at S (E is not S's): rate 1/2:             2  5/2  3/2  1/2  1    1    over 4 4 4 3 3 3
CT-2025-LEADERS-MEET-STANDARDS (every leader; share: meets the title standard; floor 100%)
            4/6  4/6  5/7  3/5  3/4  3/4     H enters 2027-07-01, D leaves 2028-04-01, F retires (leaves
                                             2028-06-01), G retires (leaves 2029-10-01); training changes nothing
CT-2030-WOMEN-PARTY-COMMITTEE (members of B: A, D, F, G; share women; floor 20%, aimed 25%; "at every level")
  at B      1/4  1/4  1/4  1/3  0/2  0/2     retirement ends F's and G's seats too
  at P      4/7  4/7  4/7  4/6  3/5  3/5     with KB's 3/3: from 2029-12-31 the province tier (0/2) misses the floor,
                                             so the status is not_met although 3/5 is above the band
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from tests.api.factories import course, cursor, enrolment, import_records, org_unit, person
from tests.conftest import Registry, _bind, uniq

LANG4 = "CT-2030-LEADER-U40-LANG4"
LEADERS = "CT-2025-LEADERS-MEET-STANDARDS"
WOMEN = "CT-2030-WOMEN-PARTY-COMMITTEE"
D0, D1 = "2026-01-01", "2030-12-31"
POINTS = [D0, "2026-12-31", "2027-12-31", "2028-12-31", "2029-12-31", D1]
API = "/api/v1"


@dataclass(frozen=True)
class World:
    r: Registry
    p: str
    s: str
    b: str
    k: str
    ids: dict[str, str]  # letter -> external id
    l4: str  # the English level-4 course
    it: str  # the IT course (awards nothing)
    sm: str  # the state management course

    def get(self, path: str, token: str | None = None, **params: str) -> Any:
        return self.r.client.get(f"{API}{path}", params=params, headers=self.r.headers(token) if token else self.r.headers())

    def ok(self, path: str, token: str | None = None, **params: str) -> dict[str, Any]:
        resp = self.get(path, token, **params)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def projection(self, code: str, token: str | None = None, **params: str) -> dict[str, Any]:
        return self.ok(f"/indicators/{code}/projection", token, **({"org_unit": self.p, "from": D0, "to": D1} | params))

    def gap(self, code: str, token: str | None = None, **params: str) -> dict[str, Any]:
        return self.ok(f"/indicators/{code}/gap", token, **({"org_unit": self.p, "from": D0, "as_of": D1} | params))


def _leader(ext: str, unit: str, birth: str, gender: str, *, english: int | None, theory: str = "trung_cap",
            mgmt: str | None = "chuyen_vien", post_start: str = "2020-01-01", post_end: str | None = None,
            seats: tuple[str, ...] = ()) -> dict[str, Any]:
    return person(
        ext, unit, full_name=f"Cán bộ {ext}", birth_date=birth, gender=gender, national_id=None,
        employments=[{"org_unit": unit, "category": "cong_chuc", "occupation": "specialist", "primary": True,
                      "start": "2015-01-01", "end": None}],
        positions=[{"org_unit": unit, "title": "Trưởng phòng", "rank": "office_head", "key_leader": False,
                    "start": post_start, "end": post_end}],
        memberships=[{"body": b, "role": "member", "start": "2021-01-01", "end": None} for b in seats],
        degrees=[{"level": "bachelor", "field": "Luật", "institution": "Trường Đại học Cần Thơ", "country": "VN",
                  "awarded_on": "2012-06-30"}],
        languages=[{"language": "en", "kind": "foreign", "level": english, "certificate": "VSTEP",
                    "awarded_on": "2016-05-01"}] if english else [],
        political_theory=[{"level": theory, "awarded_on": "2017-11-20"}],
        state_management=[{"level": mgmt, "awarded_on": "2018-03-01"}] if mgmt else [])


@pytest.fixture(scope="module")
def world(backend_db: tuple[str, str]) -> World:
    backend, url = backend_db
    r = Registry(backend, url, _bind(url))
    p = uniq("PJ")
    s, b, k, kb = f"{p}-S", f"{p}-B", f"{p}-K", f"{p}-KB"
    units = [org_unit(p, kind="area", tier="province"), org_unit(s, parent=p, kind="state_agency", tier="province"),
             org_unit(b, parent=p, kind="party_executive_committee", tier="province", sector="party"),
             org_unit(k, parent=p, kind="area", tier="commune"),
             org_unit(kb, parent=k, kind="party_executive_committee", tier="commune", sector="party")]
    assert import_records(r, "org-units", units)["errors"] == []
    ids = {x: f"{p}-{x}" for x in ["A", "B", "C", "D", "E", "F", "G", "H", "W1", "W2", "W3"]}
    people = [
        _leader(ids["A"], s, "1987-05-10", "male", english=4, seats=(b,)),
        _leader(ids["B"], s, "1993-03-03", "female", english=3),
        _leader(ids["C"], s, "1991-07-07", "male", english=2, theory="so_cap"),
        _leader(ids["D"], s, "1992-02-02", "male", english=3, post_end="2028-03-31", seats=(b,)),
        _leader(ids["F"], s, "1966-05-20", "male", english=None, seats=(b,)),
        _leader(ids["G"], s, "1971-09-15", "female", english=None, mgmt=None, seats=(b,)),
        _leader(ids["H"], s, "1995-01-01", "male", english=1, post_start="2027-07-01"),
        _leader(ids["E"], k, "1975-01-01", "male", english=None) | {"positions": []},
    ]
    people += [person(ids[w], k, full_name=f"Cán bộ {ids[w]}", birth_date="1980-08-08", gender="female", national_id=None,
                      employments=[], memberships=[{"body": kb, "role": "member", "start": "2021-01-01", "end": None}])
               for w in ("W1", "W2", "W3")]
    report = import_records(r, "persons", people)
    assert (report["created"], report["errors"]) == (11, []), report
    l4, it, sm = uniq("L4"), uniq("IT"), uniq("SM")
    report = import_records(r, "courses", [
        course(l4, p, kind="foreign_language", name="Tiếng Anh bậc 4", start="2025-01-05", end="2029-12-31",
               awards={"languages": {"language": "en", "kind": "foreign", "level": 4}}),
        course(it, p, kind="it", name="Tin học", start="2026-02-01", end="2027-03-01", awards=None),
        course(sm, p, kind="state_management", name="Quản lý nhà nước ngạch chuyên viên", start="2025-03-01",
               end="2025-12-20", awards={"state_management": {"level": "chuyen_vien"}})])
    assert (report["created"], report["errors"]) == (3, []), report
    report = import_records(r, "enrolments", [
        enrolment(ids["B"], l4, "enrolled", start="2026-01-05", expected_completion="2026-09-15"),
        enrolment(ids["C"], l4, "withdrawn", start="2026-01-05", expected_completion="2026-06-30"),
        enrolment(ids["C"], it, "planned", start="2026-02-01", expected_completion="2027-03-01"),
        enrolment(ids["D"], l4, "completed", start="2025-01-10", expected_completion="2025-06-01",
                  completed_on="2025-06-01"),
        enrolment(ids["E"], l4, "failed", start="2025-01-10", expected_completion="2025-06-30"),
        enrolment(ids["G"], sm, "enrolled", start="2025-03-01", expected_completion="2025-12-20"),
        enrolment(ids["H"], l4, "planned", start="2029-01-05", expected_completion="2029-06-30")])
    assert (report["created"], report["errors"]) == (7, []), report
    return World(r, p, s, b, k, ids, l4, it, sm)


def _figures(points: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    return [(pt["numerator"], pt["denominator"]) for pt in points]


def _events(w: World, body: dict[str, Any]) -> list[tuple[str, str, str, str, Any, Any]]:
    """(point, date, kind, person letter, numerator, denominator), sorted."""
    letter = {ext: x for x, ext in w.ids.items()}
    return sorted((e["point"], e["date"], e["kind"], letter.get(e.get("person"), e.get("person")), e["numerator"],
                   e["denominator"]) for e in body["events"])


# ───────────────────────── the projections ─────────────────────────
def test_lang4_without_training_moves_on_the_40th_birthday_and_on_posts_dated_in_the_future(world: World) -> None:
    body = world.projection(LANG4, training="none")
    assert (body["indicator"], body["org_unit"], body["from"], body["to"], body["training"]) == (LANG4, world.p, D0, D1, "none")
    assert [pt["as_of"] for pt in body["points"]] == POINTS
    assert _figures(body["points"]) == [(2, 4), (2, 4), (1, 4), (0, 3), (0, 3), (0, 3)]
    assert [pt["value"] for pt in body["points"]] == [0.5, 0.5, 0.25, 0.0, 0.0, 0.0]
    assert [pt["status"] for pt in body["points"]] == ["met", "met", "not_met", "not_met", "not_met", "not_met"]
    assert [pt["band_position"] for pt in body["points"]][2:] == ["below"] * 4
    assert _events(world, body) == [
        ("2027-12-31", "2027-05-10", "age", "A", -1, -1),
        ("2027-12-31", "2027-07-01", "record_start", "H", 0, 1),
        ("2028-12-31", "2028-04-01", "record_end", "D", -1, -1),
    ]
    subjects = {e["kind"]: e.get("subject") for e in body["events"]}
    assert subjects["record_start"] == subjects["record_end"] == "position"


def test_lang4_with_expected_training_moves_on_each_expected_completion(world: World) -> None:
    body = world.projection(LANG4, training="expected")
    assert body["training"] == "expected"
    assert _figures(body["points"]) == [(2, 4), (3, 4), (2, 4), (1, 3), (2, 3), (2, 3)]
    assert [pt["status"] for pt in body["points"]] == ["met", "met", "met", "not_met", "met", "met"]
    assert _events(world, body) == [
        ("2026-12-31", "2026-09-15", "training", "B", 1, 0),
        ("2027-12-31", "2027-05-10", "age", "A", -1, -1),
        ("2027-12-31", "2027-07-01", "record_start", "H", 0, 1),
        ("2028-12-31", "2028-04-01", "record_end", "D", -1, -1),
        ("2029-12-31", "2029-06-30", "training", "H", 1, 0),
    ]
    assert {e["course"] for e in body["events"] if e["kind"] == "training"} == {world.l4}
    # expected is the default scenario
    default = world.ok(f"/indicators/{LANG4}/projection", org_unit=world.p, **{"from": D0}, to=D1)
    assert (default["training"], default["points"], default["events"]) == ("expected", body["points"], body["events"])


def test_lang4_with_completion_rates_weighs_each_pending_completion(world: World) -> None:
    """History of the level-4 course among the staff on D0: P's is 1 completed of 3 finished (D; C withdrew, E
    failed); S's is 1 of 2 (E works at the commune).  Pending ones (B, H) do not count in the rate."""
    third = world.projection(LANG4, training="completion_rate")
    assert third["training"] == "completion_rate"
    nums = [2, 7 / 3, 4 / 3, 1 / 3, 2 / 3, 2 / 3]
    dens = [4, 4, 4, 3, 3, 3]
    for pt, n, d in zip(third["points"], nums, dens, strict=True):
        assert pt["numerator"] == pytest.approx(n, abs=1e-9) and pt["denominator"] == pytest.approx(d, abs=1e-9), pt
        assert pt["value"] == pytest.approx(n / d, abs=1e-9), pt
    assert [pt["status"] for pt in third["points"]] == ["met", "met", "not_met", "not_met", "not_met", "not_met"]
    half = world.projection(LANG4, training="completion_rate", org_unit=world.s)
    for pt, n, d in zip(half["points"], [2, 2.5, 1.5, 0.5, 1, 1], dens, strict=True):
        assert (pt["numerator"], pt["denominator"], pt["value"]) == pytest.approx((n, d, n / d), abs=1e-9), pt
    assert [pt["status"] for pt in half["points"]] == ["met", "met", "met", "not_met", "not_met", "not_met"]


def test_retirement_by_the_appendix_ends_posts_and_seats(world: World) -> None:
    for training in ("none", "expected", "completion_rate"):
        body = world.projection(LEADERS, training=training)
        assert _figures(body["points"]) == [(4, 6), (4, 6), (5, 7), (3, 5), (3, 4), (3, 4)], training
        assert all(pt["status"] == "not_met" for pt in body["points"])
    body = world.projection(LEADERS, training="none")
    assert _events(world, body) == [
        ("2027-12-31", "2027-07-01", "record_start", "H", 1, 1),
        ("2028-12-31", "2028-04-01", "record_end", "D", -1, -1),
        ("2028-12-31", "2028-06-01", "retirement", "F", -1, -1),
        ("2029-12-31", "2029-10-01", "retirement", "G", 0, -1),
    ]
    last_days = {e["person"]: e.get("last_day") for e in body["events"] if e["kind"] == "retirement"}
    assert last_days == {world.ids["F"]: "2028-05-31", world.ids["G"]: "2029-09-30"}
    women = world.projection(WOMEN, training="none", org_unit=world.b)
    assert _figures(women["points"]) == [(1, 4), (1, 4), (1, 4), (1, 3), (0, 2), (0, 2)]
    assert [pt["status"] for pt in women["points"]] == ["met", "met", "met", "met", "not_met", "not_met"]
    assert _events(world, women) == [
        ("2028-12-31", "2028-06-01", "retirement", "F", 0, -1),
        ("2029-12-31", "2029-10-01", "retirement", "G", -1, -1),
    ]


def test_a_share_set_at_every_level_is_met_only_when_every_tier_is(world: World) -> None:
    """As GET /value judges it (spec revision 2, point 2): the province tier's 0/2 fails the share at P."""
    women = world.projection(WOMEN, training="none")
    assert _figures(women["points"]) == [(4, 7), (4, 7), (4, 7), (4, 6), (3, 5), (3, 5)]
    assert [pt["status"] for pt in women["points"]] == ["met", "met", "met", "met", "not_met", "not_met"]
    gap = world.gap(WOMEN, training="none")
    assert (gap["numerator"], gap["denominator"], gap["status"]) == (3, 5, "not_met")
    # 3/5 is above the band, but the province tier's 0/2 needs one more woman (1/2 >= 20%): `needed` was 0
    assert gap["needed"] == 1 and "province 1" in gap["needed_note"], gap


def test_the_lack_of_a_small_tier_is_withheld_where_value_suppresses_its_cell(world: World) -> None:
    """The province tier (2 members) is under the suppression threshold: `/value` suppresses its cell for an auditor,
    and its lack would tell its count. The administrator, who reads the persons, gets it."""
    auditor = world.r.token("auditor", [world.p])
    value = world.ok(f"/indicators/{WOMEN}/value", auditor, org_unit=world.p, as_of=D1)
    [province] = [t for t in value["by_tier"] if t["tier"] == "province"]
    assert province["suppressed"] is True and province.get("numerator") is None
    gap = world.gap(WOMEN, auditor, training="none")
    assert (gap["needed"], gap["suppressed"], gap["status"]) == (None, True, "not_met"), gap
    assert "withheld" in gap["needed_note"] and "1" not in gap["needed_note"]
    assert world.gap(WOMEN, training="none")["needed"] == 1


# (indicator, training, the day before, the day, figure on the day before, figure on the day)
MOVES = [
    (LANG4, "none", "2027-05-09", "2027-05-10", (2, 4), (1, 3)),  # A turns 40
    (LANG4, "none", "2027-06-30", "2027-07-01", (1, 3), (1, 4)),  # H's post starts
    (LANG4, "none", "2028-03-31", "2028-04-01", (1, 4), (0, 3)),  # D's post ended on 2028-03-31
    (LANG4, "expected", "2026-09-14", "2026-09-15", (2, 4), (3, 4)),  # B's course
    (LANG4, "expected", "2029-06-29", "2029-06-30", (1, 3), (2, 3)),  # H's course
    (LANG4, "none", "2029-06-29", "2029-06-30", (0, 3), (0, 3)),  # ... not without training
    (LEADERS, "none", "2028-05-31", "2028-06-01", (4, 6), (3, 5)),  # F retires at the end of 2028-05-31
    (LEADERS, "none", "2029-09-30", "2029-10-01", (3, 5), (3, 4)),  # G retires at the end of 2029-09-30
    (WOMEN, "none", "2028-05-31", "2028-06-01", (1, 4), (1, 3)),
    (WOMEN, "none", "2029-09-30", "2029-10-01", (1, 3), (0, 2)),
]


@pytest.mark.parametrize(("code", "training", "before", "day", "was", "becomes"), MOVES,
                         ids=[f"{m[0][8:]}-{m[1]}-{m[3]}" for m in MOVES])
def test_each_figure_moves_exactly_on_its_day(world: World, code: str, training: str, before: str, day: str,
                                              was: tuple[int, int], becomes: tuple[int, int]) -> None:
    unit = world.b if code == WOMEN else world.p
    for to, want in ((before, was), (day, becomes)):
        body = world.projection(code, training=training, to=to, org_unit=unit)
        assert body["points"][-1]["as_of"] == to
        assert _figures(body["points"][-1:]) == [want], (to, body["points"][-1])
        # and the registry as it stands on a date already passed is unchanged by nothing projected: D0's figure
        assert body["points"][0]["as_of"] == D0


def test_the_first_point_is_the_indicators_value_on_d0(world: World) -> None:
    for code, unit in ((LANG4, world.p), (LEADERS, world.p), (WOMEN, world.b)):
        value = world.ok(f"/indicators/{code}/value", org_unit=unit, as_of=D0)
        for training in ("none", "expected", "completion_rate"):
            first = world.projection(code, training=training, org_unit=unit)["points"][0]
            assert (first["numerator"], first["denominator"], first["status"]) == (
                value["numerator"], value["denominator"], value["status"]), (code, training)


def test_defaults_from_today_to_the_deadline(world: World) -> None:
    today = date.today()
    if today >= date(2030, 12, 31):
        pytest.skip("the deadline has passed")
    body = world.ok(f"/indicators/{LANG4}/projection", org_unit=world.p)
    assert (body["from"], body["to"], body["training"]) == (today.isoformat(), D1, "expected")
    assert body["points"][0]["as_of"] == today.isoformat() and body["points"][-1]["as_of"] == D1
    assert [pt["as_of"] for pt in body["points"][1:-1]] == [f"{y}-12-31" for y in range(today.year, 2030)
                                                            if date(y, 12, 31) > today]


# ───────────────────────── the gap ─────────────────────────
def _lack(c: dict[str, Any]) -> tuple[Any, ...]:
    [lack] = c["lacks"]
    cov = lack["covered_by"]
    return (lack["held"], lack["required"], lack["short_by"],
            None if cov is None else (cov["course"], cov["expected_completion"], cov["status"]))


def test_the_gap_without_training_ranks_the_enrolled_first_then_the_closest(world: World) -> None:
    gap = world.gap(LANG4, training="none")
    assert (gap["indicator"], gap["org_unit"], gap["from"], gap["as_of"], gap["training"]) == (LANG4, world.p, D0, D1, "none")
    assert (gap["numerator"], gap["denominator"], gap["value"], gap["status"]) == (0, 3, 0.0, "not_met")
    assert (gap["needed"], gap["closable_by_training"], gap["beyond_training"]) == (2, True, 0)  # 1/3 < 35% <= 2/3
    ids = world.ids
    assert [(c["rank"], c["external_id"], c["enrolled"]) for c in gap["candidates"]] == [
        (1, ids["B"], True), (2, ids["H"], True), (3, ids["C"], False)]
    by = {c["external_id"]: c for c in gap["candidates"]}
    assert by[ids["B"]]["full_name"] == f"Cán bộ {ids['B']}"
    assert _lack(by[ids["B"]]) == (3, 4, 1, (world.l4, "2026-09-15", "enrolled"))
    assert _lack(by[ids["H"]]) == (1, 4, 3, (world.l4, "2029-06-30", "planned"))
    assert _lack(by[ids["C"]]) == (2, 4, 2, None)  # withdrawn covers nothing; the IT course awards nothing
    assert all("language" in c["lacks"][0]["field"] for c in gap["candidates"])


def test_the_gap_on_an_earlier_date_covers_only_what_completes_by_then(world: World) -> None:
    gap = world.gap(LANG4, training="none", as_of="2028-12-31")
    assert (gap["numerator"], gap["denominator"], gap["needed"]) == (0, 3, 2)
    ids = world.ids
    assert [(c["rank"], c["external_id"], c["enrolled"]) for c in gap["candidates"]] == [
        (1, ids["B"], True), (2, ids["C"], False), (3, ids["H"], False)]  # H's course ends 2029-06-30
    assert _lack(gap["candidates"][2]) == (1, 4, 3, None)


def test_the_gap_with_expected_training_leaves_those_not_covered(world: World) -> None:
    gap = world.gap(LANG4, training="expected")
    assert (gap["numerator"], gap["denominator"], gap["status"], gap["needed"]) == (2, 3, "met", 0)
    assert [(c["rank"], c["external_id"], c["enrolled"]) for c in gap["candidates"]] == [(1, world.ids["C"], False)]
    assert gap["beyond_training"] == 0


def test_the_gap_of_the_title_standard_names_the_row_missed(world: World) -> None:
    gap = world.gap(LEADERS, training="none")  # its deadline (2025) has passed: asked for 2030
    assert (gap["numerator"], gap["denominator"], gap["needed"], gap["beyond_training"]) == (3, 4, 1, 0)
    [c] = gap["candidates"]
    assert (c["external_id"], c["rank"], c["enrolled"]) == (world.ids["C"], 1, False)
    assert _lack(c) == ("so_cap", "trung_cap", 1, None)  # the row missed, level by level
    earlier = world.gap(LEADERS, training="none", as_of="2028-12-31")  # G is still there, F has retired
    assert (earlier["numerator"], earlier["denominator"], earlier["needed"]) == (3, 5, 2)
    # both short by 1; G first: still enrolled in the state-management course due 2025-12-20 (overdue, it covers)
    assert [c["external_id"] for c in earlier["candidates"]] == [world.ids["G"], world.ids["C"]]
    assert _lack(earlier["candidates"][0]) == (None, "chuyen_vien", 1, (world.sm, "2025-12-20", "enrolled"))
    assert earlier["candidates"][0]["lacks"][0]["covered_by"]["overdue"] is True


def _title_world(registry: Registry) -> tuple[str, str, str, str, str]:
    """X misses political theory trung_cap and is enrolled in a trung_cap course due 2027-06-30; Y misses state
    management chuyen_vien and is still enrolled in a course that was due 2025-12-20 (before D0)."""
    q = uniq("PQ")
    s = f"{q}-S"
    assert import_records(registry, "org-units", [org_unit(q, kind="area", tier="province"),
                                                  org_unit(s, parent=q, kind="state_agency", tier="province")])["errors"] == []
    x, y = f"{q}-X", f"{q}-Y"
    report = import_records(registry, "persons", [_leader(x, s, "1980-01-01", "male", english=None, theory="so_cap"),
                                                  _leader(y, s, "1981-01-01", "male", english=None, mgmt=None)])
    assert report["errors"] == [], report
    tc, sm = uniq("TC"), uniq("SM")
    report = import_records(registry, "courses", [
        course(tc, q, kind="political_theory", start="2026-01-05", end="2027-06-30",
               awards={"political_theory": {"level": "trung_cap"}}),
        course(sm, q, kind="state_management", start="2025-03-01", end="2025-12-20",
               awards={"state_management": {"level": "chuyen_vien"}})])
    assert report["errors"] == [], report
    report = import_records(registry, "enrolments", [
        enrolment(x, tc, "enrolled", start="2026-01-05", expected_completion="2027-06-30"),
        enrolment(y, sm, "enrolled", start="2025-03-01", expected_completion="2025-12-20")])
    assert report["errors"] == [], report
    return q, x, y, tc, sm


def _title_gap(registry: Registry, q: str, training: str) -> dict[str, Any]:
    resp = registry.client.get(f"{API}/indicators/{LEADERS}/gap", headers=registry.headers(),
                               params={"org_unit": q, "from": D0, "as_of": D1, "training": training})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_an_enrolment_due_by_the_date_covers_a_missing_row_of_the_title_standard(registry: Registry) -> None:
    q, x, y, tc, _sm = _title_world(registry)
    gap = _title_gap(registry, q, "none")
    assert (gap["numerator"], gap["denominator"], gap["needed"]) == (0, 2, 2), gap
    assert [c["external_id"] for c in gap["candidates"]] == [x, y]
    assert (gap["candidates"][0]["enrolled"], _lack(gap["candidates"][0])[3]) == (True, (tc, "2027-06-30", "enrolled"))
    expected = _title_gap(registry, q, "expected")  # X meets the standard from 2027-06-30; Y's overdue course gives nothing
    assert (expected["numerator"], expected["denominator"], expected["needed"]) == (1, 2, 1), expected
    assert [c["external_id"] for c in expected["candidates"]] == [y]


def test_an_enrolment_under_way_whose_expected_completion_has_passed_still_covers(registry: Registry) -> None:
    """The contract: covered_by is a planned/enrolled enrolment with expected_completion ON OR BEFORE the date whose
    course awards enough -- no lower bound: Y, still enrolled in a course due 2025-12-20, is covered (and ranked with
    the enrolled), although the projection gives nothing from it (its expected completion is not after D0)."""
    q, x, y, _tc, sm = _title_world(registry)
    gap = _title_gap(registry, q, "none")
    assert [(c["rank"], c["external_id"], c["enrolled"]) for c in gap["candidates"]] == [(1, x, True), (2, y, True)]
    assert _lack(gap["candidates"][1])[3] == (sm, "2025-12-20", "enrolled")


def test_a_gender_share_is_not_closed_by_training(world: World) -> None:
    gap = world.gap(WOMEN, training="none", org_unit=world.b)
    assert (gap["numerator"], gap["denominator"], gap["status"], gap["needed"]) == (0, 2, "not_met", 1)
    assert gap["closable_by_training"] is False and gap["candidates"] == []
    assert gap.get("closed_by"), gap  # the answer says what closes it instead (appointments, planning pools)


# ───────────────────────── roles ─────────────────────────
def _no_identifiers(w: World, text: str) -> None:
    for ext in w.ids.values():
        assert ext not in text
        assert f"Cán bộ {ext}" not in text


def test_a_province_officer_sees_what_the_administrator_sees(world: World) -> None:
    officer = world.r.token("hr_officer", [world.p])
    for code, training in ((LANG4, "expected"), (LEADERS, "none")):
        assert world.projection(code, officer, training=training) == world.projection(code, training=training)
    assert world.gap(LANG4, officer, training="none") == world.gap(LANG4, training="none")


def test_a_commune_officer_is_refused_the_province(world: World) -> None:
    officer = world.r.token("hr_officer", [world.k])
    value = world.get(f"/indicators/{LANG4}/value", officer, org_unit=world.p, as_of=D0)
    for path, params in ((f"/indicators/{LANG4}/projection", {"from": D0, "to": D1}),
                         (f"/indicators/{LANG4}/gap", {"from": D0, "as_of": D1})):
        resp = world.get(path, officer, org_unit=world.p, **params)
        assert (resp.status_code, resp.json()["code"]) == (403, "out_of_scope"), resp.text
        assert (resp.status_code, resp.json()["code"]) == (value.status_code, value.json()["code"])
        _no_identifiers(world, resp.text)
    own = world.ok(f"/indicators/{LANG4}/projection", officer, org_unit=world.k, **{"from": D0}, to=D1)
    assert _figures(own["points"]) == [(0, 0)] * 6 and own["events"] == []


def test_an_integration_gets_counts_and_no_person(world: World) -> None:
    integration = world.r.token("integration", [world.p])
    for code, training in ((LANG4, "none"), (LANG4, "expected"), (LEADERS, "none")):
        admin = world.projection(code, training=training)
        resp = world.get(f"/indicators/{code}/projection", integration, org_unit=world.p, **{"from": D0}, to=D1,
                         training=training)
        assert resp.status_code == 200, resp.text
        _no_identifiers(world, resp.text)
        body = resp.json()
        assert body["points"] == admin["points"]
        assert all(e.get("person") is None for e in body["events"])
        # per point and kind, the persons counted (or withheld: every cell here is small)
        cells = {(e["point"], e["kind"]) for e in admin["events"]}
        assert {(e["point"], e["kind"]) for e in body["events"]} == cells
        for e in body["events"]:
            mine = [a for a in admin["events"] if (a["point"], a["kind"]) == (e["point"], e["kind"])]
            assert e["persons"] in (len(mine), None)
    resp = world.get(f"/indicators/{LANG4}/gap", integration, org_unit=world.p, **{"from": D0}, as_of=D1, training="none")
    assert resp.status_code == 200, resp.text
    _no_identifiers(world, resp.text)
    gap = resp.json()
    assert gap["candidates"] is None and gap["candidates_count"] in (3, None)
    assert (gap["numerator"], gap["denominator"], gap["needed"]) == (0, 3, 2)


# ───────────────────────── hostile input ─────────────────────────
def test_figures_that_cannot_be_projected_say_so(world: World) -> None:
    for code in ("CT-2025-MASTERS-PHD-INFLOW", "CT-2025-LABOUR-TRAINED", "CT-2025-TEACHING-STAFF"):  # flow, reported, qualitative
        for path in ("projection", "gap"):
            resp = world.get(f"/indicators/{code}/{path}", org_unit=world.p, **{"from": D0}, to=D1, as_of=D1)
            assert (resp.status_code, resp.json()["code"]) == (422, "no_projection"), (code, path, resp.text)


BAD = [
    ({"from": "2030-01-01", "to": "2029-01-01"}, "from after to", "invalid_range"),
    ({"from": "2026-02-30"}, "no such day", "invalid_input"),
    ({"to": "31/12/2030"}, "not ISO", "invalid_input"),
    ({"from": "abc"}, "not a date", "invalid_input"),
    ({"from": "2026-01-01T00:00:00"}, "a moment, not a day", "invalid_input"),
    ({"to": "99999-12-31"}, "year out of range", "invalid_input"),
    ({"training": "maybe"}, "unknown scenario", "invalid_training"),
    ({"training": ""}, "empty scenario", "invalid_training"),
]


@pytest.mark.parametrize(("params", "why", "code"), BAD, ids=[b[1] for b in BAD])
def test_hostile_projection_parameters_are_refused_with_a_stable_code(world: World, params: dict[str, str], why: str,
                                                                      code: str) -> None:
    base = {"org_unit": world.p, "from": D0, "to": D1, "training": "none"}
    resp = world.get(f"/indicators/{LANG4}/projection", **(base | params))
    assert (resp.status_code, resp.json().get("code")) == (422, code), (why, resp.text)
    _no_identifiers(world, resp.text)


def test_hostile_gap_parameters_are_refused_with_a_stable_code(world: World) -> None:
    base = {"org_unit": world.p, "from": D0, "as_of": D1, "training": "none"}
    for params, code in (({"from": "2031-01-01"}, "invalid_range"), ({"as_of": "2026-02-30"}, "invalid_input"),
                         ({"training": "maybe"}, "invalid_training"), ({"from": "x"}, "invalid_input")):
        resp = world.get(f"/indicators/{LANG4}/gap", **(base | params))
        assert (resp.status_code, resp.json().get("code")) == (422, code), (params, resp.text)
    # a deadline already passed is before today's `from`: the default as_of of such a target is refused, not guessed
    resp = world.get(f"/indicators/{LEADERS}/gap", org_unit=world.p)
    if date.today() > date(2025, 12, 31):
        assert (resp.status_code, resp.json().get("code")) == (422, "invalid_range"), resp.text


def test_unknown_codes_and_units_are_refused_as_value_refuses_them(world: World) -> None:
    for code, unit in (("NO-SUCH-INDICATOR", world.p), (LANG4, "NO-SUCH-UNIT"), (LANG4, "' OR 1=1 --"), (LANG4, ""),
                       ("X" * 3000, world.p), (LANG4, "Z" * 3000)):
        value = world.get(f"/indicators/{code}/value", org_unit=unit, as_of=D0)
        assert 400 <= value.status_code < 500, value.text
        for path, params in (("projection", {"from": D0, "to": D1}), ("gap", {"from": D0, "as_of": D1})):
            resp = world.get(f"/indicators/{code}/{path}", org_unit=unit, **params)
            assert 400 <= resp.status_code < 500, (code[:20], unit[:20], path, resp.text[:300])
            assert (resp.status_code, resp.json().get("code")) == (value.status_code, value.json().get("code")), (
                code[:20], unit[:20], path)


def test_a_long_window_is_answered_or_refused_never_an_error(world: World) -> None:
    resp = world.get(f"/indicators/{LANG4}/projection", org_unit=world.p, **{"from": "1900-01-01"}, to="2100-12-31",
                     training="none")
    assert resp.status_code < 500, resp.text[:300]
    if resp.status_code == 200:
        assert resp.json()["points"][-1]["as_of"] == "2100-12-31"
    same = world.get(f"/indicators/{LANG4}/projection", org_unit=world.p, **{"from": D0}, to=D0, training="none")
    assert same.status_code < 500, same.text[:300]
    if same.status_code == 200:
        assert {pt["as_of"] for pt in same.json()["points"]} == {D0} and same.json()["events"] == []


def test_asking_changes_nothing(world: World) -> None:
    kinds = ("org-units", "persons", "courses", "enrolments")
    before = {k: world.r.export(k) for k in kinds}
    position = cursor(world.r)
    for training in ("none", "expected", "completion_rate"):
        for code in (LANG4, LEADERS):
            world.projection(code, training=training)
            world.gap(code, training=training)
    world.ok(f"/indicators/{LANG4}/projection", org_unit=world.p)
    assert {k: world.r.export(k) for k in kinds} == before
    assert cursor(world.r) == position
    persons = [json.loads(x) for x in before["persons"].splitlines()]
    held = {p["external_id"]: [lang["level"] for lang in p["languages"]]
            for p in persons if p["external_id"] in world.ids.values()}
    assert held[world.ids["B"]] == [3] and held[world.ids["H"]] == [1]  # nothing projected was written
    assert sorted(held[world.ids["D"]]) == [3, 4]  # the completed course's award


def test_points_fall_on_every_31_december_between(world: World) -> None:
    body = world.projection(LANG4, training="none", **{"from": "2026-12-31"}, to="2028-06-30")
    assert [pt["as_of"] for pt in body["points"]] == ["2026-12-31", "2027-12-31", "2028-06-30"]
    body = world.projection(LANG4, training="none", **{"from": "2027-05-10"}, to="2027-12-31")
    assert [pt["as_of"] for pt in body["points"]] == ["2027-05-10", "2027-12-31"]
    assert _figures(body["points"]) == [(1, 3), (1, 4)]
    assert [e["kind"] for e in body["events"]] == ["record_start"]  # A's birthday is D0 itself: no event


@pytest.mark.parametrize("path", ["projection", "projection/sql", "gap"])
def test_known_at_sent_to_a_projection_is_refused_not_ignored(world: World, path: str) -> None:
    """planning.md: a projection is as known now. A `known_at` was taken silently and the answer drifted after later
    writes while looking dated (the figures review)."""
    r = world.get(f"/indicators/{LANG4}/{path}", org_unit=world.p, **{"from": D0, "known_at": "2026-01-01T00:00:00Z"})
    assert (r.status_code, r.json()["code"]) == (422, "known_at_not_taken"), r.text
    assert r.json()["errors"][0]["field"] == "known_at"
    r = world.get(f"/indicators/{LANG4}/projections", **{"from": D0, "known_at": "2026-01-01T00:00:00Z"})
    assert (r.status_code, r.json()["code"]) == (422, "known_at_not_taken"), r.text
