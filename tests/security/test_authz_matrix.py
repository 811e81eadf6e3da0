"""The authorisation matrix, tested from the route table itself.

Every route under /api/v1 must name an action of `ACTIONS` (app/api/deps.py) through its
dependencies; the test then calls every route with every role: roles the matrix does not list get
403 `role_forbidden`, listed roles get past authorisation, and a token scoped to another unit never
sees the other unit's person. A new route without a rule, or a rule deleted, fails here.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from app.api.deps import ACTIONS
from app.main import create_app
from tests.conftest import Registry, uniq

ROLES = ("admin", "hr_officer", "auditor", "integration")
PUBLIC = {("GET", "/healthz")}


@dataclass(frozen=True)
class RouteRule:
    method: str
    path: str
    action: str | None


def _action(dependant: Any) -> str | None:
    call = getattr(dependant, "call", None)
    if call is not None and getattr(call, "action", None):
        return str(call.action)
    if call is not None and getattr(call, "__name__", "") == "import_actor":
        return "imports:{kind}"
    for sub in getattr(dependant, "dependencies", []):
        found = _action(sub)
        if found:
            return found
    return None


def _routes() -> Iterator[RouteRule]:
    app = create_app()
    for route in app.router.routes:
        contexts = list(route.effective_route_contexts()) if hasattr(route, "effective_route_contexts") else [route]
        for ctx in contexts:
            path = getattr(ctx, "path", None) or getattr(ctx, "path_format", "")
            dependant = getattr(ctx, "dependant", None)
            for method in sorted(getattr(ctx, "methods", None) or []):
                if method == "HEAD" or dependant is None:
                    continue
                yield RouteRule(method, path, _action(dependant))


ROUTES = [r for r in _routes() if r.path.startswith("/api/v1")]


def test_every_route_names_an_action_of_the_matrix() -> None:
    assert ROUTES, "no routes found: the route walker is broken"
    missing = [f"{r.method} {r.path}" for r in ROUTES if r.action is None]
    assert missing == [], f"routes without an authorisation rule: {missing}"
    unknown = [r.action for r in ROUTES if r.action and r.action != "imports:{kind}" and r.action not in ACTIONS]
    assert unknown == []


def test_the_walker_finds_the_contract_routes() -> None:
    found = {(r.method, r.path) for r in ROUTES}
    for expected in [
        ("POST", "/api/v1/imports/{kind}"),
        ("GET", "/api/v1/exports/{kind}"),
        ("GET", "/api/v1/indicators"),
        ("GET", "/api/v1/indicators/{code}/value"),
        ("POST", "/api/v1/tokens"),
        ("GET", "/api/v1/changes"),
        ("GET", "/api/v1/planning-pools/{code}/check"),
    ]:
        assert expected in found


@dataclass
class World:
    registry: Registry
    inside: str
    outside: str
    person_in: str
    person_out: str
    tokens: dict[str, str]
    other_tokens: dict[str, str]


@pytest.fixture
def world(registry: Registry) -> World:
    root = uniq("Z")
    inside, outside = f"{root}-A", f"{root}-B"
    units = [
        {
            "code": root,
            "name": "Tỉnh Z",
            "kind": "area",
            "tier": "province",
            "sector": "state",
            "valid_from": "2000-01-01",
            "parents": [],
        }
    ]
    units += [
        {
            "code": c,
            "name": f"Xã {c}",
            "kind": "area",
            "tier": "commune",
            "sector": "state",
            "valid_from": "2000-01-01",
            "parents": [{"code": root, "start": "2000-01-01", "end": None}],
        }
        for c in (inside, outside)
    ]
    assert registry.import_lines("org-units", [json.dumps(u, ensure_ascii=False) for u in units])["errors"] == []
    people = []
    for pid, unit in ((f"{root}-P1", inside), (f"{root}-P2", outside)):
        people.append(
            {
                "external_id": pid,
                "full_name": "Lê Thị Hoa",
                "birth_date": "1990-01-01",
                "gender": "female",
                "ethnicity": "05",
                "employments": [{"org_unit": unit, "category": "cong_chuc", "primary": True, "start": "2015-01-01"}],
            }
        )
    assert registry.import_lines("persons", [json.dumps(p, ensure_ascii=False) for p in people])["errors"] == []
    tokens = {role: registry.token(role, [inside]) for role in ROLES}
    others = {role: registry.token(role, [outside]) for role in ROLES}
    return World(registry, inside, outside, f"{root}-P1", f"{root}-P2", tokens, others)


def _call(world: World, rule: RouteRule, token: str, *, person: str, unit: str) -> Any:
    values = {
        "code": "CT-2025-LEADER-U40-LANG4" if "/indicators" in rule.path else unit,
        "external_id": person,
        "kind": "persons",
        "name": "ethnicity",
        "job_id": "1",
        "run_id": "1",
        "token_id": "999999",
        "first": "1",
        "second": "1",
        "doc": "CT",
        "org_unit": unit,
        "year": "2026",
    }
    path = rule.path.replace(":int}", "}")
    for key, value in values.items():
        path = path.replace("{" + key + "}", value)
    params = {"org_unit": unit, "as_of": "2024-12-31", "code": "population", "period": "2024"}
    body: Any = _body(world, rule, person, unit)
    headers = {"Authorization": f"Bearer {token}"}
    client = world.registry.client
    if rule.path.startswith("/api/v1/imports/") and rule.method == "POST":
        return client.post(
            path,
            content=json.dumps(body, ensure_ascii=False).encode() + b"\n",
            params={"dry_run": "true"},
            headers=headers | {"Content-Type": "application/x-ndjson"},
        )
    return client.request(rule.method, path, params=params, json=body, headers=headers)


def _body(world: World, rule: RouteRule, person: str, unit: str) -> Any:
    if rule.method not in ("POST", "PUT", "PATCH"):
        return None
    if "/persons" in rule.path or "/imports/" in rule.path:
        if rule.path.endswith("/close"):
            return {"on": "2026-01-01"}
        return {
            "external_id": person,
            "full_name": "Lê Thị Hoa",
            "birth_date": "1990-01-01",
            "gender": "female",
            "employments": [{"org_unit": unit, "category": "cong_chuc", "primary": True, "start": "2015-01-01"}],
        }
    if "/org-units" in rule.path:
        return (
            {"on": "2099-01-01"}
            if rule.path.endswith("/close")
            else {
                "code": uniq("U"),
                "name": "x",
                "kind": "area",
                "tier": "commune",
                "sector": "state",
                "valid_from": "2000-01-01",
                "parents": [{"code": unit, "start": "2000-01-01"}],
            }
        )
    if "/statistics" in rule.path:
        return {"code": "population", "org_unit": unit, "period": "2024", "value": 1000}
    if "/training-plans" in rule.path:
        return {"lines": [{"kind": "political_theory", "awards": {"political_theory": {"level": "cao_cap"}}, "seats": 2,
                           "budget": 36000000}]}
    if "/tokens" in rule.path:
        return {"name": "x", "role": "auditor", "org_units": [unit]}
    if "/indicator-runs" in rule.path:
        return {"doc": "CT", "org_unit": unit, "as_of": "2024-12-31"}
    return {"id": uniq("IND")}


@pytest.mark.parametrize("rule", ROUTES, ids=[f"{r.method} {r.path}" for r in ROUTES])
def test_roles_the_matrix_does_not_list_are_refused(world: World, rule: RouteRule) -> None:
    action = rule.action.replace("{kind}", "persons") if rule.action else None
    assert action is not None
    for role in ROLES:
        r = _call(world, rule, world.tokens[role], person=world.person_in, unit=world.inside)
        assert r.status_code < 500, f"{role}: {r.status_code} {r.text[:300]}"
        body = r.json() if "json" in r.headers.get("content-type", "") else {}
        if role in ACTIONS[action]:
            assert r.status_code not in (401,) and body.get("code") != "role_forbidden", f"{role}: {r.text[:300]}"
        else:
            assert r.status_code == 403, f"{role} should be refused {rule.method} {rule.path}: {r.status_code}"
            assert r.json()["code"] == "role_forbidden"


@pytest.mark.parametrize("rule", ROUTES, ids=[f"{r.method} {r.path}" for r in ROUTES])
def test_a_token_of_another_unit_never_sees_this_units_person(world: World, rule: RouteRule) -> None:
    for role in ROLES:
        if role == "admin":
            continue  # admin tokens scoped to a unit behave like the others; the whole tree is admin-only
        r = _call(world, rule, world.other_tokens[role], person=world.person_in, unit=world.inside)
        assert r.status_code < 500, f"{role}: {r.status_code} {r.text[:300]}"
        if r.status_code < 300 and rule.method == "GET":
            assert world.person_in not in r.text, f"{role} read {world.person_in} through {rule.method} {rule.path}"
        if rule.method in ("PUT", "PATCH", "POST") and ("/persons" in rule.path):
            # 409 on create: external ids are unique registry-wide, so their existence cannot be hidden; no data leaks
            assert r.status_code in (403, 404, 409, 422), f"{role} wrote through {rule.method} {rule.path}: {r.status_code}"
            assert "Lê Thị Hoa" not in r.text
    after = world.registry.client.get(f"/api/v1/persons/{world.person_in}", headers=world.registry.headers()).json()
    assert (after["ethnicity"], after["employments"][0]["end"]) == ("05", None), "an out-of-scope call changed the person"


def test_no_token_is_401_everywhere(registry: Registry) -> None:
    for rule in ROUTES:
        path = rule.path.replace(":int}", "}")
        for key in ("code", "external_id", "kind", "name", "job_id", "run_id", "token_id", "first", "second", "doc",
                    "org_unit", "year"):
            path = path.replace("{" + key + "}", {"kind": "persons", "year": "2026"}.get(key, "1"))
        r = registry.client.request(rule.method, path)
        assert r.status_code == 401, f"{rule.method} {path}: {r.status_code}"
        r = registry.client.request(rule.method, path, headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401, f"{rule.method} {path} with a bad token: {r.status_code}"
