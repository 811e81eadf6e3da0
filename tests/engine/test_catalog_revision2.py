"""Spec revision 2 in the catalog: what the answers say about their sources, and how a registry follows a revision.

The figures themselves are compared with the oracle (tests/indicators: the hand-made cases of points 6, 7, 9,
10, 12 and 13 run against the service there); these tests read what else an auditor is told.
"""

from typing import Any

import yaml
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from app.models import IndicatorDefinition, Txn
from app.services.indicators import catalog
from app.services.seed import SEED_ACTOR, reference_data
from tests.api.factories import import_records, org_unit, person
from tests.conftest import Registry, uniq


def _value(registry: Registry, code: str, unit: str, on: str) -> dict[str, Any]:
    r = registry.client.get(f"/api/v1/indicators/{code}/value", params={"org_unit": unit, "as_of": on},
                            headers=registry.headers())
    assert r.status_code == 200, r.text
    return dict(r.json())


def _items(registry: Registry, code: str, on: str, under: str) -> dict[str, dict[str, Any]]:
    r = registry.client.get(f"/api/v1/indicators/{code}/values", params={"as_of": on, "under": under},
                            headers=registry.headers())
    assert r.status_code == 200, r.text
    return {i["org_unit"]: i for i in r.json()["items"]}


def _stat(code: str, unit: str, period: str, value: float) -> dict[str, Any]:
    return {"code": code, "org_unit": unit, "period": period, "value": value, "source": "Sở Y tế"}


def test_the_catalog_is_the_spec_s(registry: Registry) -> None:
    """The packaged targets.yaml is revision 2's, entry for entry, and every entry is published."""
    from pathlib import Path

    spec = Path(__file__).resolve().parents[3] / "shared" / "spec" / "targets.yaml"
    ours = Path(catalog.DATA / "targets.yaml")
    if spec.exists():
        assert yaml.safe_load(ours.read_text("utf-8")) == yaml.safe_load(spec.read_text("utf-8"))
    ids = {t["id"] for t in yaml.safe_load(ours.read_text("utf-8"))["targets"]}
    assert len(ids) == 71
    listed = registry.client.get("/api/v1/indicators", headers=registry.headers()).json()["items"]
    assert ids <= {i["code"] for i in listed}
    jobs = next(i for i in listed if i["code"] == "ST-2025-JOBS-YEARLY")
    assert (jobs["aggregate"], jobs["period"]) == ("period_average", ["2021-01-01", "2025-12-31"])


def test_doctors_per_10k_says_whose_count_it_is(registry: Registry) -> None:
    area, station = uniq("DOC"), uniq("DOC-TYT")
    assert import_records(registry, "org-units", [
        org_unit(area, tier="province"),
        org_unit(station, parent=area, kind="commune_health_station", tier="commune", sector="health"),
    ])["created"] == 2
    docs = [person(f"{station}-{i}", station, employments=[{
        "org_unit": station, "category": "vien_chuc", "occupation": "doctor", "primary": True, "start": "2010-01-01",
        "end": None}]) for i in range(2)]
    assert import_records(registry, "persons", docs)["created"] == 2
    assert import_records(registry, "statistics", [_stat("population", area, "2024", 4000),
                                                   _stat("doctors", area, "2025", 7)])["created"] == 2
    before = _value(registry, "ST-2025-DOCTORS-PER-10K", area, "2024-12-31")
    assert (before["numerator"], before["denominator"], before["value"], before["coverage"]) == (2, 4000, 5.0, "registry")
    assert "numerator_statistic" not in before and "public sector only" in before["note"]
    after = _value(registry, "ST-2025-DOCTORS-PER-10K", area, "2025-12-31")
    assert (after["numerator"], after["value"], after["coverage"]) == (7, 17.5, "statistic")
    assert after["numerator_statistic"] == {"code": "doctors", "period": "2025", "value": 7, "source": "Sở Y tế"}
    assert after["status"] == "met" and "note" not in after
    items = _items(registry, "ST-2025-DOCTORS-PER-10K", "2025-12-31", area)
    assert (items[area]["numerator"], items[area]["value"], items[area]["coverage"]) == (7, 17.5, "statistic")
    assert (items[station]["numerator"], items[station]["coverage"]) == (2, "registry")


def test_jobs_answer_with_the_years_they_average(registry: Registry) -> None:
    area = uniq("JOBS")
    assert import_records(registry, "org-units", [org_unit(area, tier="province")])["created"] == 1
    code = "ST-2025-JOBS-YEARLY"
    stats = [_stat(code, area, "2021", 26000), _stat(code, area, "2022", 30000), _stat(code, area, "2024", 31000),
             _stat(code, area, "2024-07-01/2025-06-30", 5)]
    assert import_records(registry, "statistics", stats)["created"] == 4
    got = _value(registry, code, area, "2025-12-31")
    assert (got["value"], got["status"], got["band_position"]) == (29000, "met", "within")
    assert got["average"]["years_missing"] == [2023, 2025]
    assert [y["year"] for y in got["average"]["years"]] == [2021, 2022, 2024]
    assert got["average"]["total"] == 87000
    assert "3 of 5 years reported" in got["note"]
    assert _items(registry, code, "2025-12-31", area)[area]["value"] == 29000
    sql = registry.client.get(f"/api/v1/indicators/{code}/sql", params={"org_unit": area, "as_of": "2025-12-31"},
                              headers=registry.headers())
    assert sql.status_code == 200, sql.text
    text = sql.json()["sql"]
    assert "'2021-01-01'" in text and "'2025-12-31'" in text  # the period's bounds, as run
    early = _value(registry, code, area, "2020-12-31")
    assert early["status"] == "no_data" and "2021-2025" in early["note"]


def test_a_revision_of_the_catalog_reaches_a_registry_that_has_the_old_one(fresh_registry: Any) -> None:
    """An entry as seeded by revision 1 gets a new version (the old one stays for known_at); an entry an
    administrator changed is left as the administrator left it."""
    r: Registry = fresh_registry()
    engine = create_engine(r.url)
    old_sha = "0" * 64
    with Session(engine) as session, session.begin():
        session.execute(update(IndicatorDefinition).where(IndicatorDefinition.code == "ST-2025-COMMUNE-STAFF-STANDARD")
                        .values(sha256=old_sha))
        session.execute(update(IndicatorDefinition).where(IndicatorDefinition.code == "ST-2025-PD-STAFF-POSTGRAD")
                        .values(sha256=old_sha, published_by="admin:someone"))
    with Session(engine) as session, session.begin():
        txns = session.scalar(select(Txn.id).order_by(Txn.id.desc()).limit(1))
        added = reference_data(session)
    assert added["indicators"] == 1
    with Session(engine) as session:
        rows = {(d.code, d.version): d for d in session.scalars(select(IndicatorDefinition))}
        assert rows[("ST-2025-COMMUNE-STAFF-STANDARD", 1)].sys_to is not None
        assert rows[("ST-2025-COMMUNE-STAFF-STANDARD", 2)].published_by == SEED_ACTOR.name
        assert ("ST-2025-PD-STAFF-POSTGRAD", 2) not in rows
        assert session.scalar(select(Txn.note).where(Txn.id > (txns or 0))) == "indicator catalog: a revision of the spec"
    with Session(engine) as session, session.begin():
        assert reference_data(session)["indicators"] == 0  # idempotent
    engine.dispose()


def test_the_language_of_the_place_of_work_and_what_the_answer_says(registry: Registry) -> None:
    """Spec revision 2, point 8: a Khmer official fluent only in Tày does not count in a province that lists
    Khmer; where nothing is listed any minority language counts, and the answer says for how many persons."""
    top, office, elsewhere = uniq("LANG"), uniq("LANG-S"), uniq("LANG-N")
    assert import_records(registry, "org-units", [
        org_unit(top, tier="province") | {"local_languages": ["km"]},
        org_unit(office, parent=top, kind="state_agency", tier="province"),
        org_unit(elsewhere, tier="province"),
    ])["created"] == 3

    def khmer(pid: str, unit: str, language: str) -> dict[str, Any]:
        return person(pid, unit, ethnicity="05", employments=[{
            "org_unit": unit, "category": "cong_chuc", "occupation": "specialist", "primary": True,
            "start": "2010-01-01", "end": None}], languages=[
            {"language": language, "kind": "ethnic_minority", "fluent": True, "awarded_on": "2005-01-01"}])

    people = [khmer(f"{office}-1", office, "tyz"), khmer(f"{office}-2", office, "km"), khmer(f"{elsewhere}-1", elsewhere, "tyz")]
    assert import_records(registry, "persons", people)["created"] == 3
    here = _value(registry, "ST-2025-ETHNIC-STAFF-LANGUAGE", top, "2024-12-31")
    assert (here["numerator"], here["denominator"]) == (1, 2)
    assert here["place_of_work"] == {"rule": "local_languages", "persons_where_none_listed": 0}
    there = _value(registry, "ST-2025-ETHNIC-STAFF-LANGUAGE", elsewhere, "2024-12-31")
    assert (there["numerator"], there["denominator"]) == (1, 1)
    assert there["place_of_work"]["persons_where_none_listed"] == 1 and "any ethnic-minority language" in there["note"]
    persons = registry.client.get("/api/v1/indicators/ST-2025-ETHNIC-STAFF-LANGUAGE/persons",
                                  params={"org_unit": top, "as_of": "2024-12-31"}, headers=registry.headers()).json()
    assert {p["external_id"]: p["why"]["person.ethnic_language_local"] for p in persons["persons"]} == {
        f"{office}-1": False, f"{office}-2": True}
    auditor = registry.token("auditor", [top])
    seen = registry.client.get("/api/v1/indicators/ST-2025-ETHNIC-STAFF-LANGUAGE/value",
                               params={"org_unit": top, "as_of": "2024-12-31"}, headers=registry.headers(auditor)).json()
    assert seen["place_of_work"] == {"rule": "local_languages"}  # no count of persons beside a protected figure


def test_the_place_of_work_s_languages_come_from_above_the_unit_asked_and_from_outside_it(registry: Registry) -> None:
    """A unit's figure looks its staff's local languages up the tree past the unit asked about; a post in scope
    whose holder works elsewhere reads the languages of that place of work (the statements of one unit walk up from
    its scope's units, fields.local_languages); and contact is inherited from above the unit asked about too."""
    top, office, desk, elsewhere = uniq("LUP"), uniq("LUP-S"), uniq("LUP-S-P"), uniq("LUP-N")
    assert import_records(registry, "org-units", [
        org_unit(top, tier="province", ethnic_contact=True) | {"local_languages": ["km"]},
        org_unit(office, parent=top, kind="state_agency", tier="province"),
        org_unit(desk, parent=office, kind="state_agency", tier="province"),
        org_unit(elsewhere, tier="province") | {"local_languages": ["tyz"]},
    ])["created"] == 4

    def fluent(pid: str, unit: str, language: str, **more: Any) -> dict[str, Any]:
        return person(pid, unit, ethnicity="05", employments=[{
            "org_unit": unit, "category": "cong_chuc", "occupation": "specialist", "primary": True,
            "start": "2010-01-01", "end": None}], languages=[
            {"language": language, "kind": "ethnic_minority", "fluent": True, "awarded_on": "2005-01-01"}], **more)

    head = {"org_unit": office, "title": "Trưởng phòng", "rank": "office_head", "key_leader": False,
            "start": "2020-01-01", "end": None}
    assert import_records(registry, "persons", [
        fluent(f"{desk}-1", desk, "km"), fluent(f"{desk}-2", desk, "tyz"),
        fluent(f"{elsewhere}-1", elsewhere, "km", positions=[head]),  # heads the office, works where tyz is spoken
    ])["created"] == 3
    for code in ("ST-2025-ETHNIC-STAFF-LANGUAGE", "ST-2025-CONTACT-STAFF-LANGUAGE"):
        for unit in (office, desk):
            got = _value(registry, code, unit, "2024-12-31")
            assert (got["numerator"], got["denominator"]) == (1, 2), (code, unit, got)
            assert got["place_of_work"] == {"rule": "local_languages", "persons_where_none_listed": 0}
            every = _items(registry, code, "2024-12-31", top)[unit]
            assert (every["numerator"], every["denominator"]) == (1, 2), (code, unit, every)
    custom = f"XX-2030-{uniq('LUP')}"
    spec = {"id": custom, "names": {"vi": "Lãnh đạo cấp phòng thạo tiếng dân tộc nơi làm việc",
                                    "en": "Office heads fluent in a local language of their place of work"},
            "source": {"doc": "XX", "clause": "II.1"}, "source_kind": "registry", "kind": "ratio",
            "population": {"anchors": [{"subject": "position", "where": {"field": "position.rank", "in": ["office_head"]}}]},
            "share": {"field": "person.ethnic_language_local", "is": True}, "target": {"band": [0.5, None]},
            "deadline": "2030-12-31"}
    r = registry.client.post("/api/v1/indicators", json=spec, headers=registry.headers())
    assert r.status_code == 201, r.text
    got = _value(registry, custom, office, "2024-12-31")
    # km is the office's language, not that of the head's place of work, which lists tyz
    assert (got["numerator"], got["denominator"]) == (0, 1), got
    assert got["place_of_work"] == {"rule": "local_languages", "persons_where_none_listed": 0}
    every = _items(registry, custom, "2024-12-31", top)[office]
    assert (every["numerator"], every["denominator"]) == (0, 1), every


def test_the_method_of_a_yearly_average_says_it_is_an_average(registry: Registry) -> None:
    """Point 10: 'bình quân hằng năm' is the average of the yearly figures; the method's words say so."""
    body = registry.client.get("/api/v1/indicators/ST-2025-JOBS-YEARLY", headers=registry.headers()).json()
    assert "Bình quân" in body["method"]["vi"] and "average" in body["method"]["en"]
    assert "starting latest" not in body["method"]["en"]
