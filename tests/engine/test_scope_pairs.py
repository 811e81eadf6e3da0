"""The scope pairs of a date, read once and shared by the passes over every unit (app/services/indicators/scopes.py,
bench F19): the roll-up's arithmetic, and that what is shared follows every write, the date and the moment known."""

import json
import time
from datetime import UTC, datetime

import pytest

from app import config
from app.services.indicators import scopes
from app.services.indicators.scopes import ScopePairs
from tests.engine.test_engine import Province, job, leaders, person, prov, unit  # noqa: F401 - the fixture

LANG = "CT-2025-LEADER-U40-LANG4"


def test_the_roll_up_counts_per_unit_rows_at_every_unit_above_and_several_unit_persons_once() -> None:
    # 1 > 2 > 3, 1 > 4; 9 is a closed unit whose territory holds 3
    pairs = ScopePairs([(1, 1, 0), (2, 2, 0), (3, 3, 0), (4, 4, 0), (1, 2, 0), (1, 3, 0), (2, 3, 0), (1, 4, 0),
                        (9, 3, 1)])
    rows = [
        (3, None, 2, 5),  # five persons with rows at 3 only, two in the numerator
        (4, None, 0, 1),
        (3, 77, 0, 1),  # person 77: rows at 3 and 4, in the numerator at 4 only
        (4, 77, 1, 1),
        (2, 78, 1, 1),  # person 78: two rows at 2 and one at 3 (the same person, counted once anywhere)
        (2, 78, 0, 1),
        (3, 78, 0, 1),
        (5, None, 7, 7),  # a unit with no pairs (not valid on the date) adds nothing
    ]
    assert pairs.roll_up(rows) == {
        1: [2 + 0 + 1 + 1, 5 + 1 + 1 + 1],
        2: [2 + 0 + 1, 5 + 1 + 1],
        3: [2 + 0 + 0, 5 + 1 + 1],
        4: [0 + 1, 1 + 1],
        9: [2 + 0 + 0, 5 + 1 + 1],
    }


def test_the_roll_up_keeps_each_key_apart_and_a_several_unit_person_once_per_key() -> None:
    pairs = ScopePairs([(1, 1, 0), (2, 2, 0), (3, 3, 0), (1, 2, 0), (1, 3, 0)])
    rows = [
        (2, None, "province", 1, 2),
        (3, None, "commune", 0, 3),
        (2, 5, "province", 1, 1),  # person 5: a seat at 2 (province tier) and one at 3 (commune tier)
        (3, 5, "commune", 0, 1),
        (3, 6, "commune", 1, 1),  # person 6: two seats at commune tier, at 3 and under it again at 3
        (3, 6, "commune", 0, 1),
    ]
    assert pairs.roll_up(rows, keys=1) == {
        (1, "province"): [2, 3], (2, "province"): [2, 3],
        (1, "commune"): [1, 5], (3, "commune"): [1, 5],
    }


def test_an_inflow_counts_each_person_once_at_each_unit_and_at_the_closed_units_whose_territory_holds_it() -> None:
    # 9 and 8 are closed units; 9's territory holds 3 and 4, 8's holds 4; 1 > 3 live (the events already name 1)
    pairs = ScopePairs([(1, 1, 0), (3, 3, 0), (4, 4, 0), (1, 3, 0), (9, 3, 1), (9, 4, 1), (8, 4, 1)])
    rows = [(3, 100), (1, 100), (4, 100), (4, 101), (1, 101), (6, 102)]  # 6: a unit of an event's day, gone by D
    assert pairs.persons_per_unit(rows) == {1: 2, 3: 1, 4: 2, 9: 2, 8: 2, 6: 1}


def _values(prov: Province, as_of: str, **params: str) -> dict[str, tuple[int, int]]:  # noqa: F811
    r = prov.r.client.get(f"/api/v1/indicators/{LANG}/values", params={"as_of": as_of, "under": prov.P, **params},
                          headers=prov.r.headers())
    assert r.status_code == 200, r.text
    return {i["org_unit"]: (i["numerator"], i["denominator"]) for i in r.json()["items"]}


@pytest.fixture
def uncached(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Every answer computed (INDICATOR_ANSWER_CACHE=0), so that each request reads the shared scope pairs."""
    monkeypatch.setenv("INDICATOR_ANSWER_CACHE", "0")
    config.get_settings.cache_clear()
    yield
    monkeypatch.undo()
    config.get_settings.cache_clear()


def test_the_pairs_are_shared_until_a_write_and_follow_the_date_and_the_moment_known(
        prov: Province, uncached: None) -> None:  # noqa: F811
    prov.persons(leaders(prov))
    first = _values(prov, "2024-12-31")
    assert first[prov.P] == (1, 2) and first[prov.D] == (1, 2)
    hits = scopes._PAIRS.hits
    assert _values(prov, "2024-12-31") == first
    assert scopes._PAIRS.hits == hits + 1  # the second pass on the same state and date read no pairs
    before = datetime.now(UTC).isoformat()
    time.sleep(0.01)

    # a new office under P and a leader under 40 with level 4 there: the next pass sees both at once
    office = f"{prov.P}-NEW"
    report = prov.r.import_lines("org-units", [json.dumps(
        unit(office, "state_agency", "province", "state", [(prov.P, "2000-01-01", None)]), ensure_ascii=False)])
    assert report["errors"] == [] and report["created"] == 1
    prov.persons([person(f"{prov.P}-L9", "1992-02-02", "female", employments=[job(office, "2020-01-01")],
                         positions=[{"org_unit": office, "title": "Phó Trưởng phòng", "rank": "office_deputy",
                                     "key_leader": False, "start": "2020-01-01", "end": None}],
                         languages=[{"language": "en", "kind": "foreign", "level": 4, "certificate": "VSTEP",
                                     "awarded_on": "2019-01-01"}])])
    after = _values(prov, "2024-12-31")
    assert after[prov.P] == (2, 3) and after[office] == (1, 1) and after[prov.D] == (1, 2)
    # as known before the write: neither the office nor its leader
    past = _values(prov, "2024-12-31", known_at=before)
    assert past[prov.P] == (1, 2) and office not in past
    # another date, its own pairs: after the reform the district is a closed unit with its territory (the commune)
    later = _values(prov, "2025-12-31")
    assert later[prov.P] == (1, 1) and later[office] == (1, 1) and later[prov.D] == (0, 0)
