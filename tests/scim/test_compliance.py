"""scim2-tester, the python-scim compliance checker, against a live server on a fresh database of each backend."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, BOOT, _create_database, _migrate
from tests.scim import live as L

UNITS = [
    {"code": "SCIM-P", "name": "Tỉnh Thử", "kind": "area", "tier": "province", "sector": "state",
     "valid_from": "2000-01-01", "parents": []},
    {"code": "SCIM-SYT", "name": "Sở Y tế tỉnh Thử", "kind": "state_agency", "tier": "province", "sector": "health",
     "valid_from": "2000-01-01", "parents": [{"code": "SCIM-P", "start": "2000-01-01", "end": None}]},
]
RECORD = {"ethnicity": "05", "party_member_since": "2012-05-19",
          "employments": [{"org_unit": "SCIM-SYT", "category": "cong_chuc", "occupation": "specialist", "primary": True,
                           "start": "2011-09-01", "end": None}],
          "degrees": [{"level": "master", "field": "Quản lý công", "institution": None, "country": "VN",
                       "awarded_on": "2016-12-20"}],
          "languages": [{"language": "en", "kind": "foreign", "level": 4, "certificate": "VSTEP", "awarded_on": "2019-06-01"}]}
BORN = "1987-03-09"


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


def _example_record(live: L.Live, bearer: str) -> str:
    """The `record` text of a User the server created: what scim2-tester writes into every User it makes."""
    body = {"schemas": L.USER_SCHEMAS, "userName": "SCIM-SEED", "name": {"familyName": "Thạch", "middleName": "Thị",
                                                                         "givenName": "Sa"},
            "active": True, L.PERSON: {"birthDate": BORN, "gender": "female", "record": json.dumps(RECORD)}}
    with live.client(bearer) as c:
        r = c.post("/scim/v2/Users", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()[L.PERSON]["record"])


def test_scim2_tester_finds_no_error(server: L.Live, tmp_path: Path) -> None:
    bearer = L.token(server, "integration", ["SCIM-P"])
    results = L.run_tester(server, bearer, L.filled_person(BORN, _example_record(server, bearer)))
    counts = L.tally(results)
    print(f"scim2-tester: {dict(counts)}")  # noqa: T201 - the counts are the point of this test
    failed = [f"{r.title}: {r.reason}" for r in results if r.status.name in ("ERROR", "CRITICAL")]
    assert failed == []
    assert counts["SUCCESS"] >= 35
