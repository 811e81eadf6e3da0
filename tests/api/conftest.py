"""Fixtures of the API tests: a small org-unit tree per test module and backend."""

import pytest

from tests.api.factories import SmallTree, small_tree
from tests.conftest import Registry, _bind


@pytest.fixture(scope="module")
def tree(backend_db: tuple[str, str]) -> SmallTree:
    """A SmallTree in the shared registry, made once per module and backend; tests add their own codes under it."""
    backend, url = backend_db
    return small_tree(Registry(backend, url, _bind(url)))
