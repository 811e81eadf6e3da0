"""The change feed carries whole person records, sensitive fields included: each named person's read is logged."""

from tests.api.factories import changes_after, create_person, cursor, person, small_tree
from tests.conftest import Registry, uniq


def reads(registry: Registry, external_id: str) -> list[dict]:
    r = registry.client.get("/api/v1/audit", params={"person": external_id}, headers=registry.headers())
    assert r.status_code == 200, r.text
    return [e for e in r.json()["reads"] if e["action"] == "changes"]


def test_reading_the_feed_logs_every_person_it_names(registry: Registry) -> None:
    tree = small_tree(registry)
    since = cursor(registry)
    ids = [f"{tree.province}-{uniq('FEED')}" for _ in range(3)]
    for external_id in ids:
        create_person(registry, person(external_id, tree.school_a, ethnicity="05"))
    integration = registry.token("integration", [tree.commune_a])
    seen = changes_after(registry, since, token=integration)
    assert {c["key"] for c in seen} == set(ids)
    assert all(c["record"]["ethnicity"] == "05" for c in seen)
    for external_id in ids:
        logged = reads(registry, external_id)
        assert len(logged) == 1, logged
        assert "ethnicity" in logged[0]["fields"]


def test_a_feed_page_without_person_changes_logs_nothing(registry: Registry) -> None:
    tree = small_tree(registry)
    since = cursor(registry)
    assert changes_after(registry, since) == []
    lone = f"{tree.province}-{uniq('FEED')}"
    create_person(registry, person(lone, tree.school_a))
    assert reads(registry, lone) == []
