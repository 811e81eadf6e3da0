"""The planning-pool pages, in-process (no browser): the list of pools within reach and one pool's check, in
Vietnamese first and English on request, names for the roles that see persons only, scope."""

from typing import Any

from fastapi.testclient import TestClient

from tests.api.test_planning_pools import AFTER, World, world  # noqa: F401 - the pytest fixture
from tests.web.signin import signed_in


def _get(client: TestClient, path: str, **params: Any) -> Any:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text[:500]
    return r


def test_the_pool_check_page_shows_rules_sources_and_violations(world: World) -> None:  # noqa: F811
    client = signed_in(world.registry, world.registry.token("hr_officer", [world.p]))
    listed = _get(client, "/dashboard/planning-pools").text
    assert "Quy hoạch cán bộ" in listed and f'data-pool="{world.code("QH1")}"' in listed
    vi = _get(client, f"/dashboard/planning-pools/{world.code('QH1')}", as_of=AFTER).text
    assert "Rà soát quy hoạch" in vi and "Vi phạm quy định" in vi and "Quy định 377-QĐ/TW" in vi
    for rule in ("max_candidates_per_title", "max_pools_per_level", "sixty_months_before_retirement", "no_discipline"):
        assert f'data-rule="{rule}"' in vi, rule
    assert world.code("C3") in vi and "Mỗi chức danh quy hoạch không quá 3 cán bộ" in vi
    en = _get(client, f"/dashboard/planning-pools/{world.code('QH5')}", as_of=AFTER, lang="en").text
    assert "Planning pool check" in en and 'data-testid="no-violations"' in en


def test_an_aggregate_role_sees_no_names_and_out_of_scope_is_refused(world: World) -> None:  # noqa: F811
    client = signed_in(world.registry, world.registry.token("integration", [world.p]))
    page = _get(client, f"/dashboard/planning-pools/{world.code('QH1')}", as_of=AFTER).text
    assert 'data-rule="no_discipline"' in page and world.code("C3") not in page and "Phạm Văn Ba" not in page
    outsider = signed_in(world.registry, world.registry.token("auditor", [world.code("X")]))
    r = outsider.get(f"/dashboard/planning-pools/{world.code('QH1')}", params={"as_of": AFTER})
    assert r.status_code == 403 and world.code("C3") not in r.text
    assert world.code("QH1") not in _get(outsider, "/dashboard/planning-pools").text
    assert outsider.get("/dashboard/planning-pools/%01", params={"as_of": "2027-13-45"}).status_code in (400, 404)
