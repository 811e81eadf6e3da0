"""GET /persons/{id} reads a person in one statement (person_records.read_one, bench/findings.md F23): it must give
what the nine statements of `build` give, for every kind of item, now and at a past moment, and the scope check
it feeds from the same statement must be `in_scope`'s, for in scope, out of scope and formerly in scope."""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from app.db import get_session_factory
from app.models import Person
from app.services import history
from app.services.context import Actor
from app.services.person_records import PERSON_LISTS, build, read_one
from app.services.persons import in_scope
from app.services.tree import version as tree_version
from tests.api.factories import get_person, moved_person, org_unit, person, small_tree
from tests.conftest import Registry, uniq


def _demo(registry: Registry) -> None:
    result = CliRunner().invoke(app, ["demo", "--url", "http://127.0.0.1:8123", "--persons", "120"])
    assert result.exit_code == 0, result.output


def _all_the_same(cut: int | None) -> list[dict[str, Any]]:
    """Every person's record by read_one against build, at `cut`; the records compared."""
    with get_session_factory()() as session:
        people = session.execute(select(Person.id, Person.external_id).order_by(Person.id)).all()
        built = build(session, {p.id: p.external_id for p in people}, cut)
        compared = []
        for p in people:
            one = read_one(session, p.external_id, cut)
            assert one is not None and (one.id, one.rev) == (p.id, session.get(Person, p.id).rev)  # type: ignore[union-attr]
            assert _strict(one.record) == _strict(built.get(p.id)), p.external_id  # 1 is not true, "1" not 1
            assert one.tree_version == tree_version(session)  # read in the same statement, for the scope check
            if one.record is not None:
                compared.append(one.record)
        assert read_one(session, uniq("NOBODY"), cut) is None
    return compared


def _strict(record: dict[str, Any] | None) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


def _items(records: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, item) for r in records for name in PERSON_LISTS for item in r[name]]


def test_one_statement_reads_what_the_lists_build_now_and_at_a_past_moment(fresh_registry: Callable[[], Registry]) -> None:
    registry = fresh_registry()
    _demo(registry)
    h = registry.headers()
    extra = uniq("RO")
    unit = registry.client.get("/api/v1/persons", params={"limit": 1}, headers=h).json()["items"][0]["employments"][0]["org_unit"]
    rare = person(extra, unit, ethnicity=None, national_id=None, party_member_since=None, general_education=None,
                  positions=[{"org_unit": unit, "title": "Hiệu trưởng", "rank": "office_head", "key_leader": True,
                              "start": "2019-01-01", "end": None}],
                  languages=[{"language": "km", "kind": "ethnic_minority", "fluent": True, "awarded_on": "2001-01-01"},
                             {"language": "en", "kind": "foreign", "level": 4, "certificate": "IELTS", "score": "6.5",
                              "awarded_on": "2020-01-01"}],
                  political_theory=[{"level": "trung_cap", "awarded_on": "2015-05-05", "equivalent": True}],
                  disciplines=[{"form": "khien_trach", "start": "2021-03-01", "end": "2021-09-01"}],
                  separations=[{"on": "2026-01-31", "reason": "transfer_out"}])
    put = registry.client.put(f"/api/v1/persons/{extra}", json=rare, headers=h)
    assert put.status_code in (200, 201), put.text
    now = _all_the_same(None)
    with get_session_factory()() as session:
        cut = history.txn_cut(session, datetime.fromisoformat(put.headers["Recorded-At"].replace("Z", "+00:00")))
    assert cut
    changed = dict(rare, disciplines=[], separations=[], languages=rare["languages"][:1],
                   employments=[dict(rare["employments"][0], end="2025-06-30")])
    assert registry.client.put(f"/api/v1/persons/{extra}", json=changed, headers=h).status_code == 200
    assert _all_the_same(cut) == now
    assert _all_the_same(None) != now  # the change is seen now, not at the cut
    # the comparison held every kind of value the statement decodes: awarded items, booleans both ways, no dates
    items = _items(now)
    assert any("from_enrolment" in i for _n, i in items), "the demo's completed courses award qualifications"
    assert {i["primary"] for n, i in items if n == "employments"} == {True, False}
    assert any(n == "positions" and i["key_leader"] for n, i in items)
    assert any(n == "languages" and i.get("fluent") is True for n, i in items)
    assert any(n == "political_theory" and i.get("equivalent") for n, i in items)
    assert {i["end"] is None for n, i in items if n == "employments"} == {True, False}
    assert {n for n, _i in items} >= {"employments", "positions", "memberships", "degrees", "languages",
                                      "political_theory", "separations", "disciplines"}


def test_the_scope_from_the_statement_is_in_scopes(registry: Registry) -> None:
    tree = small_tree(registry)
    h = registry.headers()
    stays, former, leaves = uniq("SC"), uniq("SC"), uniq("SC")
    recorded = {}
    for ext in (stays, former, leaves):
        r = registry.client.put(f"/api/v1/persons/{ext}", json=person(ext, tree.school_a), headers=h)
        assert r.status_code in (200, 201), r.text
        recorded[ext] = r.headers["Recorded-At"]
    # `former` moved to commune B (commune A keeps the ended employment: a former employee it still reads);
    # `leaves` is recorded anew with no employment in commune A at all (A's officer reads it no more)
    assert registry.client.put(f"/api/v1/persons/{former}", json=moved_person(former, tree), headers=h).status_code == 200
    elsewhere = person(leaves, tree.station_b)
    assert registry.client.put(f"/api/v1/persons/{leaves}", json=elsewhere, headers=h).status_code == 200
    officer = Actor(name="officer", role="hr_officer", org_units=(tree.commune_a,))
    with get_session_factory()() as session:
        reach = _reach(session, officer)
        seen = {}
        for ext in (stays, former, leaves):
            one = read_one(session, ext)
            assert one is not None and one.units is not None
            seen[ext] = bool(one.units & reach)
            assert seen[ext] == in_scope(session, officer, one.id)
            assert read_one(session, ext, 1).units is None  # type: ignore[union-attr]  # at a cut, in_scope decides
    assert seen == {stays: True, former: True, leaves: False}
    token = registry.token("hr_officer", [tree.commune_a])
    assert get_person(registry, stays, token).json()["external_id"] == stays
    assert get_person(registry, former, token).json()["external_id"] == former
    for params in ({}, {"known_at": recorded[leaves]}):  # the scope is the present's, whatever moment is read
        gone = registry.client.get(f"/api/v1/persons/{leaves}", params=params, headers=registry.headers(token))
        assert gone.status_code == 404 and gone.json()["code"] == "person_not_found", gone.text
    assert get_person(registry, leaves, known_at=recorded[leaves]).json()["employments"][0]["org_unit"] == tree.school_a
    other = org_unit(uniq("OU"))
    assert registry.client.post("/api/v1/org-units", json=other, headers=h).status_code == 201
    outside = registry.token("hr_officer", [other["code"]])
    for ext in (stays, former):
        assert registry.client.get(f"/api/v1/persons/{ext}", headers=registry.headers(outside)).status_code == 404


def _reach(session: Any, actor: Actor) -> set[int]:
    from app.services import tree

    allowed = tree.reach(session, actor)
    assert allowed is not None
    return set(allowed)


def _counts() -> tuple[int, ...]:
    from sqlalchemy import func

    from app.models import AccessLog, Change, PersonVersion, Txn

    with get_session_factory()() as session:
        return tuple(int(session.scalar(select(func.count()).select_from(m)) or 0)
                     for m in (Person, PersonVersion, Change, Txn, AccessLog))


def test_every_role_reads_in_scope_and_nothing_out_of_it_and_hostile_ids_change_nothing(registry: Registry) -> None:
    """The one-statement read through the route: every role in scope (sensitive fields and an access-log entry for
    the roles that manage persons, withheld for the others), none out of scope, hostile ids answered 404 or 422; the
    reads write nothing but their access-log entries."""
    tree = small_tree(registry)
    ext = uniq("RR")
    assert registry.client.put(f"/api/v1/persons/{ext}", json=person(ext, tree.school_a),
                               headers=registry.headers()).status_code in (200, 201)
    roles = ("admin", "hr_officer", "auditor", "integration")
    made = {role: (registry.token(role, [tree.commune_a]), registry.token(role, [tree.commune_b])) for role in roles}
    before = _counts()
    logged = 0
    for role, (inside, outside) in made.items():
        r = registry.client.get(f"/api/v1/persons/{ext}", headers=registry.headers(inside))
        assert r.status_code == 200, (role, r.text)
        sensitive = role != "auditor"
        assert ("national_id" in r.json()) is sensitive and ("redacted" in r.json()) is not sensitive, role
        logged += sensitive
        gone = registry.client.get(f"/api/v1/persons/{ext}", headers=registry.headers(outside))
        assert (gone.status_code, gone.json()["code"]) == (404, "person_not_found"), role
    for hostile in ("%(cut)s", "?", "' OR '1'='1", "x%", "\u0000", "A" * 5000, "VN\u202e1", "[]", "{\"a\":1}", ext + "\n"):
        r = registry.client.get(f"/api/v1/persons/{quote(hostile, safe='')}", headers=registry.headers())
        assert r.status_code in (400, 404, 422), (hostile[:20], r.status_code, r.text[:200])
        assert "national_id" not in r.text
    after = _counts()
    assert after[:4] == before[:4] and after[4] == before[4] + logged  # nothing written but one entry per sensitive read
