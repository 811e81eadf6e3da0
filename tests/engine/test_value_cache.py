"""Answers kept per process are never served after a write: each write makes the next answer fresh."""

import json
import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from app import config
from app.services.indicators import service
from app.services.indicators.cache import LRU
from tests.engine.test_engine import Province, leaders, prov  # noqa: F401 - the fixture

LANG = "CT-2025-LEADER-U40-LANG4"


def test_a_write_between_two_identical_requests_changes_the_answer(prov: Province) -> None:  # noqa: F811
    people = leaders(prov)
    prov.persons(people)
    first = prov.value(LANG, prov.D, "2024-12-31")
    again = prov.value(LANG, prov.D, "2024-12-31")
    assert (first["numerator"], first["denominator"]) == (1, 2)
    assert again == first
    before_write = datetime.now(UTC).isoformat()
    time.sleep(0.01)

    l2 = next(p for p in people if p["external_id"].endswith("-L2"))
    l2["languages"] = [{"language": "en", "kind": "foreign", "level": 4, "certificate": "VSTEP", "awarded_on": "2019-06-01"}]
    prov.persons([l2])
    after = prov.value(LANG, prov.D, "2024-12-31")
    assert (after["numerator"], after["denominator"]) == (2, 2)
    assert after["data_version"] > first["data_version"]
    # the past as it was recorded does not move, whether answered from the cache or not
    for _ in range(2):
        past = prov.value(LANG, prov.D, "2024-12-31", known_at=before_write)
        assert (past["numerator"], past["denominator"]) == (1, 2)

    l2["languages"] = []
    prov.persons([l2])
    assert (prov.value(LANG, prov.D, "2024-12-31")["numerator"]) == 1


def test_two_moments_with_no_write_between_share_one_answer_each_echoing_its_own(prov: Province) -> None:  # noqa: F811
    """The dashboard asks for the present as a moment of its own, new each millisecond: the answer is kept under the
    transaction the moment names, so the next page at another moment of the same data is answered from the cache."""
    people = leaders(prov)
    prov.persons(people)
    moments = []
    for _ in range(3):
        time.sleep(0.01)
        moments.append(datetime.now(UTC).isoformat())
    first = prov.value(LANG, prov.D, "2024-12-31", known_at=moments[0])
    hits = service._RESULTS.hits
    second = prov.value(LANG, prov.D, "2024-12-31", known_at=moments[1])
    assert service._RESULTS.hits == hits + 1
    assert datetime.fromisoformat(first["known_at"]) == datetime.fromisoformat(moments[0])
    assert datetime.fromisoformat(second["known_at"]) == datetime.fromisoformat(moments[1])
    assert list(second) == list(first)  # the same fields in the same order, the moment echoed in its place
    assert second | {"known_at": None} == first | {"known_at": None}
    assert (first["numerator"], first["denominator"]) == (1, 2)

    l2 = next(p for p in people if p["external_id"].endswith("-L2"))
    l2["languages"] = [{"language": "en", "kind": "foreign", "level": 4, "certificate": "VSTEP", "awarded_on": "2019-06-01"}]
    prov.persons([l2])
    # a moment before the write names the old data, one after it the new
    before = prov.value(LANG, prov.D, "2024-12-31", known_at=moments[2])
    after = prov.value(LANG, prov.D, "2024-12-31", known_at=datetime.now(UTC).isoformat())
    present = prov.value(LANG, prov.D, "2024-12-31")
    assert (before["numerator"], before["data_version"]) == (1, first["data_version"])
    assert (after["numerator"], present["numerator"]) == (2, 2)
    assert after["data_version"] == present["data_version"] > first["data_version"]
    assert present["known_at"] is None


def test_a_new_statistic_or_definition_changes_the_answer(prov: Province) -> None:  # noqa: F811
    stat = {"code": "population", "org_unit": prov.P, "period": "2024", "value": 20000, "source": "GSO"}
    prov.r.import_lines("statistics", [json.dumps(stat)])
    assert prov.value("ST-2025-DOCTORS-PER-10K", prov.P, "2024-06-30")["denominator"] == 20000
    assert prov.value("ST-2025-DOCTORS-PER-10K", prov.P, "2024-06-30")["denominator"] == 20000
    prov.r.import_lines("statistics", [json.dumps(stat | {"value": 40000})])
    assert prov.value("ST-2025-DOCTORS-PER-10K", prov.P, "2024-06-30")["denominator"] == 40000

    prov.persons(leaders(prov))
    h = prov.r.headers()
    current = prov.r.client.get(f"/api/v1/indicators/{LANG}", headers=h).json()
    first = prov.value(LANG, prov.P, "2024-12-31")
    assert prov.value(LANG, prov.P, "2024-12-31") == first
    assert (first["value"], first["definition"]["version"]) == (0.5, current["version"])
    changed = current["definition"] | {"target": {"band": [first["value"] + 0.1, None], "strict": False}}
    r = prov.r.client.put(f"/api/v1/indicators/{LANG}", json=changed, headers=h)
    try:
        assert r.status_code == 200, r.text
        after = prov.value(LANG, prov.P, "2024-12-31")
        assert (after["definition"]["version"], after["status"]) == (current["version"] + 1, "not_met")
    finally:
        prov.r.client.put(f"/api/v1/indicators/{LANG}", json=current["definition"], headers=h)
    assert prov.value(LANG, prov.P, "2024-12-31")["definition"]["version"] == current["version"] + 2


def test_a_cached_answer_still_checks_the_callers_scope(prov: Province) -> None:  # noqa: F811
    prov.persons(leaders(prov))
    assert prov.value(LANG, prov.D, "2024-12-31")["denominator"] == 2
    outsider = prov.r.token("hr_officer", [prov.A])
    r = prov.r.client.get(f"/api/v1/indicators/{LANG}/value", params={"org_unit": prov.D, "as_of": "2024-12-31"},
                          headers=prov.r.headers(outsider))
    assert r.status_code == 403, r.text


def test_the_caches_are_bounded() -> None:
    lru: LRU[int] = LRU(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1
    lru.put("c", 3)
    assert (lru.get("a"), lru.get("b"), lru.get("c"), len(lru)) == (1, None, 3, 2)


def test_with_no_answer_cache_every_answer_is_computed_and_the_same(prov: Province,  # noqa: F811
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """INDICATOR_ANSWER_CACHE=0 (the benchmark's uncached figures): the cache is neither read nor filled."""
    prov.persons(leaders(prov))
    first = prov.value(LANG, prov.D, "2024-12-31")
    hits = service._RESULTS.hits
    assert prov.value(LANG, prov.D, "2024-12-31") == first
    assert service._RESULTS.hits == hits + 1  # kept by default
    monkeypatch.setenv("INDICATOR_ANSWER_CACHE", "0")
    config.get_settings.cache_clear()
    try:
        before = (service._RESULTS.hits, service._RESULTS.misses, len(service._RESULTS))
        for _ in range(2):
            again = prov.value(LANG, prov.D, "2024-12-31", known_at=datetime.now(UTC).isoformat())
            assert (again["numerator"], again["denominator"]) == (first["numerator"], first["denominator"])
            assert prov.value(LANG, prov.D, "2024-12-31") == first
        assert (service._RESULTS.hits, service._RESULTS.misses, len(service._RESULTS)) == before
        monkeypatch.setenv("INDICATOR_ANSWER_CACHE", "-1")
        config.get_settings.cache_clear()
        with pytest.raises(ValidationError, match="indicator_answer_cache"):
            config.get_settings()
    finally:
        monkeypatch.undo()
        config.get_settings.cache_clear()
