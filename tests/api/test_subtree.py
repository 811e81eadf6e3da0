"""The persons list's unit filter: the recursive subtree query is the tree walk of `Tree.ancestors_on`, on every date."""

import json
from datetime import date

import pytest

from app.db import get_session_factory
from app.services import tree
from tests.conftest import Registry, uniq
from tests.fixtures.province import build_province

DAYS = [date(2004, 1, 1), date(2020, 1, 1), date(2025, 6, 30), date(2025, 7, 1), date(2026, 1, 1)]


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_subtree_query_equals_the_tree_walk_through_the_reform(registry: Registry, day: date) -> None:
    prefix = uniq("ST")
    units = build_province(seed=3, persons=0, prefix=prefix)["org_units"]
    assert registry.import_lines("org-units", [json.dumps(u, ensure_ascii=False) for u in units])["errors"] == []
    with get_session_factory()() as session:
        walk = tree.Tree(session)
        mine = [walk.by_code[u["code"]] for u in units]
        nonempty = 0
        for root in mine:
            expected = {u for u in walk.units if root in walk.ancestors_on(u, day)}
            got = set(session.scalars(tree.subtree(root, day)))
            assert got == expected, (root, day)
            nonempty += len(got) > 1
    if day >= date(2020, 1, 1):
        assert nonempty > 5  # the check compared real subtrees, not only leaves
