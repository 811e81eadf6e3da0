"""The projection's moves in the engine (app/services/indicators/moves.py): retirement ends records, expected
completions award, on both engines; the points, events and gap of a small registry counted by hand."""

from typing import Any

from app.schemas.indicator import IndicatorProjections
from tests.api.factories import course, enrolment, import_records, leader, person, small_tree
from tests.conftest import Registry, uniq

STANDARD = "CT-2025-LEADERS-MEET-STANDARDS"


def _leader(external_id: str, unit: str, birth: str, gender: str = "male") -> dict[str, Any]:
    return leader(external_id, unit, birth, gender)


def _get(registry: Registry, route: str, **params: str) -> dict[str, Any]:
    r = registry.client.get(f"/api/v1/indicators/{STANDARD}/{route}", headers=registry.headers(), params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_retirement_and_expected_completion_move_the_leaders_standard(registry: Registry) -> None:
    tree = small_tree(registry)
    ext = {k: uniq(k) for k in ("retiring", "enrolled", "plain")}
    # born April 1966: 62 years in April 2028 (Decree 135/2020, Appendix I), last day in service 2028-04-30
    records = [_leader(ext["retiring"], tree.agency, "1966-04-10"), _leader(ext["enrolled"], tree.agency, "1980-05-01"),
               _leader(ext["plain"], tree.agency, "1982-01-01", "female")]
    assert import_records(registry, "persons", records)["created"] == 3
    code = uniq("CC")
    assert import_records(registry, "courses", [course(code, tree.province)])["errors"] == []
    assert import_records(registry, "enrolments", [
        enrolment(ext["enrolled"], code, "enrolled", expected_completion="2027-06-30")])["errors"] == []
    params = {"org_unit": tree.agency, "from": "2026-01-01", "to": "2030-12-31"}
    none = _get(registry, "projection", **params, training="none")
    assert [(p["as_of"], p["numerator"], p["denominator"]) for p in none["points"]] == [
        ("2026-01-01", 0, 3), ("2026-12-31", 0, 3), ("2027-12-31", 0, 3), ("2028-12-31", 0, 2), ("2029-12-31", 0, 2),
        ("2030-12-31", 0, 2)]
    expected = _get(registry, "projection", **params)
    assert [(p["numerator"], p["denominator"]) for p in expected["points"]] == [(0, 3), (0, 3), (1, 3), (1, 2), (1, 2), (1, 2)]
    events = [(e["point"], e["date"], e["kind"], e["person"], e["numerator"], e["denominator"]) for e in expected["events"]]
    assert events == [("2027-12-31", "2027-06-30", "training", ext["enrolled"], 1, 0),
                      ("2028-12-31", "2028-05-01", "retirement", ext["retiring"], 0, -1)]
    # the day before and the day of each event
    for day, num, den in (("2027-06-29", 0, 3), ("2027-06-30", 1, 3), ("2028-04-30", 1, 3), ("2028-05-01", 1, 2)):
        last = _get(registry, "projection", **params | {"to": day})["points"][-1]
        assert (last["as_of"], last["numerator"], last["denominator"]) == (day, num, den)
    gap = _get(registry, "gap", org_unit=tree.agency, **{"from": "2026-01-01"}, as_of="2030-12-31")
    assert (gap["numerator"], gap["denominator"], gap["training"]) == (0, 2, "none")
    assert gap["closable_by_training"] is True
    ranked = [(c["rank"], c["external_id"], c["enrolled"]) for c in gap["candidates"]]
    assert ranked == [(1, ext["enrolled"], True), (2, ext["plain"], False)]
    assert gap["candidates"][0]["lacks"] == [{  # the title standard's row the person misses, level by level
        "field": "person.highest_political_theory", "for": "person.meets_standard.positions", "held": "trung_cap",
        "required": "cao_cap", "short_by": 1, "rows": [{"subject": "rank", "code": "department_head"}],
        "covered_by": {"course": code, "expected_completion": "2027-06-30", "status": "enrolled"}}]
    assert gap["candidates"][1]["lacks"][0]["covered_by"] is None
    assert (gap["needed"], gap["beyond_training"]) == (2, 0)  # a floor of 100%: both must meet it


def test_every_unit_at_once_gives_each_units_own_projection(registry: Registry) -> None:
    tree = small_tree(registry)
    ext = [uniq("L") for _ in range(3)]
    records = [_leader(ext[0], tree.agency, "1966-04-10"), _leader(ext[1], tree.agency, "1980-05-01"),
               _leader(ext[2], tree.commune_a, "1990-01-01", "female")]
    assert import_records(registry, "persons", records)["created"] == 3
    code = uniq("CC")
    assert import_records(registry, "courses", [course(code, tree.province)])["errors"] == []
    assert import_records(registry, "enrolments", [
        enrolment(ext[1], code, "planned", expected_completion="2029-01-15")])["errors"] == []
    for training in ("none", "expected"):
        every = _get(registry, "projections", under=tree.province, **{"from": "2026-03-01"}, to="2030-12-31",
                     training=training)
        IndicatorProjections.model_validate(every)  # the route sends the service's answer unchecked: checked here
        keys = ("numerator", "denominator", "value", "status", "band_position")
        units = {u["org_unit"]: [dict(zip(["as_of", *keys], point, strict=True))
                                 for point in zip(every["dates"], *[u[k] for k in keys], strict=True)]
                 for u in every["units"]}
        assert set(units) >= {tree.province, tree.agency, tree.commune_a}
        for unit in (tree.province, tree.agency, tree.commune_a, tree.commune_b):
            one = _get(registry, "projection", org_unit=unit, **{"from": "2026-03-01"}, to="2030-12-31",
                       training=training)
            assert units[unit] == one["points"], (unit, training)
    province = {p["as_of"]: (p["numerator"], p["denominator"]) for p in units[tree.province]}
    assert (province["2026-03-01"], province["2028-12-31"], province["2029-12-31"]) == ((0, 3), (0, 2), (1, 2))
    r = registry.client.get(f"/api/v1/indicators/{STANDARD}/projections", headers=registry.headers(),
                            params={"training": "completion_rate"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_training"


def test_the_sql_shown_for_a_point_is_the_sql_that_ran(registry: Registry) -> None:
    """The statements of /projection/sql, run as they are, give the point's numerator and denominator."""
    from sqlalchemy import create_engine, text

    from app.db import normalise_url

    tree = small_tree(registry)
    ext = [uniq("L") for _ in range(3)]
    records = [_leader(ext[0], tree.agency, "1966-04-10"), _leader(ext[1], tree.agency, "1980-05-01"),
               _leader(ext[2], tree.agency, "1990-01-01", "female")]
    assert import_records(registry, "persons", records)["created"] == 3
    code = uniq("CC")
    assert import_records(registry, "courses", [course(code, tree.province)])["errors"] == []
    assert import_records(registry, "enrolments", [
        enrolment(ext[1], code, "enrolled", expected_completion="2027-06-30")])["errors"] == []
    engine = create_engine(normalise_url(registry.url))
    try:
        for training in ("none", "expected"):
            points = _get(registry, "projection", org_unit=tree.agency, **{"from": "2026-01-01"}, to="2030-12-31",
                          training=training)["points"]
            for point in points:
                shown = _get(registry, "projection/sql", org_unit=tree.agency, **{"from": "2026-01-01"},
                             as_of=point["as_of"], training=training)
                assert len(shown["statements"]) == 1
                with engine.connect() as conn:
                    ran = tuple(conn.execute(text(shown["statements"][0]["sql"])).one())
                assert (int(ran[0]), int(ran[1])) == (point["numerator"], point["denominator"]), (training, point)
    finally:
        engine.dispose()


def test_every_units_dates_run_in_parallel_on_one_snapshot(registry: Registry) -> None:
    """On PostgreSQL the dates of /projections run in parallel sessions that read the request's own snapshot."""
    from datetime import date

    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from app.db import normalise_url
    from app.services.projection import in_parallel

    engine = create_engine(normalise_url(registry.url))
    days = [date(2027, 12, 31), date(2028, 12, 31), date(2029, 12, 31)]
    try:
        with Session(engine) as session:
            if engine.dialect.name != "postgresql":
                assert in_parallel(session, days, lambda s, d: (s is session, d)) == [(True, d) for d in days]
                return
            mine = session.execute(text("SELECT pg_current_snapshot()::text")).scalar_one()
            seen = in_parallel(session, days, lambda s, d: (
                s is session, s.execute(text("SELECT current_setting('transaction_isolation'), "
                                             "current_setting('transaction_read_only'), "
                                             "pg_current_snapshot()::text")).one()))
            assert [s for s, _ in seen] == [False] * len(days)  # other sessions ...
            assert {tuple(row) for _, row in seen} == {("repeatable read", "on", mine)}  # ... on the request's snapshot
    finally:
        engine.dispose()


def test_needed_is_the_smallest_whole_number_of_persons_more() -> None:
    """`needed` in exact fractions: a floor reached at equality, a strict floor one more; per-capita figures per
    `per` inhabitants (194 doctors of 1,207,650 inhabitants to 11 per 10,000: 1,329 doctors, 1,135 more); no floor
    to reach for a cap or an empty population."""
    from types import SimpleNamespace

    from app.services.indicators.spec import Target
    from app.services.projection import needed

    def spec(band: tuple[float | None, float | None], strict: bool = False, direction: str = "at_least",
             kind: str = "ratio", per: int | None = None) -> Any:
        return SimpleNamespace(target=Target(band=band, strict=strict, direction=direction), kind=kind, per=per)

    assert needed(7, 20, spec((0.35, None))) == 0  # 35% exactly
    assert needed(7, 20, spec((0.35, None), strict=True)) == 1  # more than 35%
    assert needed(6, 20, spec((0.35, None))) == 1
    assert needed(0, 3, spec((1.0, None))) == 3
    assert needed(1, 3, spec((0.25, 0.3))) == 0  # above the level aimed for is not a ceiling
    assert needed(194, 1207650, spec((11, None), kind="per_capita", per=10000)) == 1135
    assert needed(1329, 1207650, spec((11, None), kind="per_capita", per=10000)) == 0
    assert needed(2, 3, spec((None, 0.5), direction="at_most")) is None
    assert needed(0, 0, spec((0.35, None))) is None


def test_a_level_above_an_exact_condition_is_beyond_training(registry: Registry) -> None:
    """ST-2030-DOCTORS-CK1 counts doctors whose highest specialist level is exactly CK1: a CK2 doctor is outside it
    for good (beyond training), one without a specialist level is a candidate one level short."""
    tree = small_tree(registry)
    doctors = {k: uniq(k) for k in ("ck1", "ck2", "none")}

    def doctor(ext: str, specialties: list[dict[str, Any]]) -> dict[str, Any]:
        return person(ext, tree.station_b, employments=[
            {"org_unit": tree.station_b, "category": "vien_chuc", "occupation": "doctor", "primary": True,
             "start": "2015-01-01", "end": None}], specialties=specialties)

    records = [doctor(doctors["ck1"], [{"level": "ck1", "field": "Nội", "awarded_on": "2020-01-01"}]),
               doctor(doctors["ck2"], [{"level": "ck2", "field": "Ngoại", "awarded_on": "2021-01-01"}]),
               doctor(doctors["none"], [])]
    assert import_records(registry, "persons", records)["created"] == 3
    r = registry.client.get("/api/v1/indicators/ST-2030-DOCTORS-CK1/gap", headers=registry.headers(),
                            params={"org_unit": tree.commune_b, "from": "2026-01-01", "as_of": "2030-12-31"})
    assert r.status_code == 200, r.text
    gap = r.json()
    assert (gap["numerator"], gap["denominator"], gap["needed"], gap["beyond_training"]) == (1, 3, 1, 1)
    assert [(c["external_id"], c["lacks"][0]["short_by"]) for c in gap["candidates"]] == [(doctors["none"], 1)]


def test_dates_run_one_after_the_other_when_the_pool_has_no_connection_free(registry: Registry) -> None:
    """A request that holds its connection would wait for the parallel sessions' (for the pool's timeout, every
    connection so held): with too few free it computes the dates in its own session, one after the other."""
    from datetime import date

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from app.db import normalise_url
    from app.services.projection import in_parallel

    days = [date(2027, 12, 31), date(2028, 12, 31)]
    if registry.backend != "postgres":  # one session, one date after the other, whatever the pool
        engine = create_engine(normalise_url(registry.url))
        with Session(engine) as session:
            assert in_parallel(session, days, lambda s, d: s is session) == [True, True]
        engine.dispose()
        return
    for size, parallel in ((2, False), (3, True)):  # the request's own connection and one per date
        engine = create_engine(normalise_url(registry.url), pool_size=size, max_overflow=0, pool_timeout=2)
        try:
            with Session(engine) as session:
                session.connection()
                seen = in_parallel(session, days, lambda s, d: s is session)
                assert seen == [not parallel] * len(days), (size, seen)
        finally:
            engine.dispose()
