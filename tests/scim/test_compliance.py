"""scim2-tester, the python-scim compliance checker, against a live server on a fresh database of each backend."""

from collections.abc import Iterator

import pytest

from tests.conftest import BACKENDS, BOOT, _create_database, _migrate
from tests.scim import live as L

UNITS = [
    {"code": "SCIM-P", "name": "Tỉnh Thử", "kind": "area", "tier": "province", "sector": "state",
     "valid_from": "2000-01-01", "parents": []},
    {"code": "SCIM-SYT", "name": "Sở Y tế tỉnh Thử", "kind": "state_agency", "tier": "province", "sector": "health",
     "valid_from": "2000-01-01", "parents": [{"code": "SCIM-P", "start": "2000-01-01", "end": None}]},
    {"code": "SCIM-HDND", "name": "Hội đồng nhân dân tỉnh Thử", "kind": "peoples_council", "tier": "province",
     "sector": "state", "valid_from": "2000-01-01", "parents": [{"code": "SCIM-P", "start": "2000-01-01", "end": None}]},
]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[L.Live]:
    url, drop = _create_database(request.param, tmp_path_factory)
    try:
        _migrate(url)
        with L.serve(url, BOOT, tmp_path_factory.mktemp("uvicorn") / "server.log") as live:
            L.seed(live, UNITS)
            yield live
    finally:
        drop()


def test_scim2_tester_finds_no_error(server: L.Live) -> None:
    """scim2-tester fills every attribute the server publishes (code lists from its canonical values, what no
    schema can say from tests.scim.live.LENT), creates, reads, searches, replaces, patches and deletes Users."""
    results = L.run_tester(server, L.token(server, "integration", ["SCIM-P"]))
    counts = L.tally(results)
    print(f"scim2-tester: {dict(counts)}")  # noqa: T201 - the counts are the point of this test
    failed = [f"{r.title}: {r.reason}" for r in results if r.status.name in ("ERROR", "CRITICAL")]
    assert failed == []
    ran = {r.title for r in results if r.status.name == "SUCCESS"}
    assert {"object_creation", "object_query", "object_replacement", "object_deletion", "check_add_attribute",
            "check_remove_attribute", "check_replace_attribute"} <= ran  # PATCH add and remove ran, on every attribute
    assert counts["SUCCESS"] >= 90
