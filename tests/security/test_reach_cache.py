"""A scoped caller's reach is cached per tree version, and moves with the tree on every server (issue #15).

The reach (the units under a token's org units) is kept per process, keyed by the last org-unit change:
a unit added under a province is readable by the province's officers at the next request, a unit moved
away is not, whichever server wrote the change and whichever answers the read.
"""

import json
import os
from datetime import date, timedelta

import httpx
import pytest

from app.services import tree
from tests.api.factories import org_unit, person
from tests.conftest import BOOT, Registry, uniq
from tests.live import serve


def _status(base: str, token: str, pid: str) -> int:
    return httpx.get(f"{base}/api/v1/persons/{pid}", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code


def _post_unit(base: str, record: dict) -> None:
    r = httpx.post(f"{base}/api/v1/org-units", json=record, headers={"Authorization": f"Bearer {BOOT}"}, timeout=30)
    assert r.status_code == 201, r.text


def _post_person(base: str, record: dict) -> None:
    r = httpx.post(f"{base}/api/v1/persons", json=record, headers={"Authorization": f"Bearer {BOOT}"}, timeout=30)
    assert r.status_code == 201, r.text


def _move(base: str, code: str, old: str, new: str) -> None:
    today = date.today()
    moved = org_unit(code, parent=old) | {"parents": [
        {"code": old, "start": "2004-01-01", "end": (today - timedelta(days=1)).isoformat()},
        {"code": new, "start": today.isoformat(), "end": None}]}
    r = httpx.put(f"{base}/api/v1/org-units/{code}", json=moved, headers={"Authorization": f"Bearer {BOOT}"}, timeout=30)
    assert r.status_code == 200, r.text


def _scenario(registry: Registry, write: str, read: str) -> None:
    """Units written through `write`, reads through `read` (one server, or two)."""
    p, q = uniq("RP"), uniq("RQ")
    c1, c2 = f"{p}-C1", f"{p}-C2"
    for code, parent, tier in ((p, None, "province"), (q, None, "province"), (c1, p, "commune")):
        _post_unit(write, org_unit(code, parent=parent, tier=tier))
    _post_person(write, person(f"{c1}-A", c1))
    officer, other = registry.token("hr_officer", [p]), registry.token("hr_officer", [q])
    assert _status(read, officer, f"{c1}-A") == 200  # the reach is computed and kept
    assert _status(read, other, f"{c1}-A") == 404

    _post_unit(write, org_unit(c2, parent=p))  # a new commune under the province
    _post_person(write, person(f"{c2}-B", c2))
    assert _status(read, officer, f"{c2}-B") == 200, "a unit added under the province is in reach at once"

    _move(write, c2, p, q)  # moved to the other province from today
    assert _status(read, officer, f"{c2}-B") == 404, "a unit moved away is out of reach at once"
    assert _status(read, other, f"{c2}-B") == 200
    assert _status(read, officer, f"{c1}-A") == 200


def test_a_scoped_reach_moves_with_the_tree_in_one_server(registry: Registry) -> None:
    with serve(registry.url, BOOT) as server:
        _scenario(registry, server.base, server.base)


def test_a_scoped_reach_moves_with_the_tree_across_two_servers(registry: Registry) -> None:
    if registry.backend != "postgres" or not os.environ.get("TEST_POSTGRES_URL"):
        pytest.skip("several app servers share PostgreSQL")
    with serve(registry.url, BOOT) as a, serve(registry.url, BOOT) as b:
        _scenario(registry, a.base, b.base)


def test_the_cache_answers_as_the_tree_does_and_never_shares_a_set(registry: Registry) -> None:
    """In process: the cached reach equals the one computed afresh, and each caller gets its own copy."""
    from app.db import get_session_factory
    from app.services.context import Actor

    unit = uniq("RC")
    registry.import_lines("org-units", [json.dumps(org_unit(unit, tier="province"), ensure_ascii=False),
                                        json.dumps(org_unit(f"{unit}-1", parent=unit), ensure_ascii=False)])
    with get_session_factory()() as session:
        def actor() -> Actor:
            return Actor(name="t", role="hr_officer", org_units=(unit,))

        first, second = tree.reach(session, actor()), tree.reach(session, actor())
        fresh = tree.Tree(session)
        expected = fresh.reach({fresh.by_code[unit]}, date.today())
        assert first == second == expected and len(expected) == 2
        assert first is not second
        first.clear()  # a caller that changes its copy changes nobody else's
        assert tree.reach(session, actor()) == expected
