"""SCIM under attack: out-of-range paging, control characters in filters, filters on sensitive data, existence leaks.

Each of these answered 503 or leaked before: a `startIndex` beyond bigint and a NUL in a filter
reached the database; a filter on the ethnicity with `count=0` told whether a person has one
without an access-log row; a userName taken outside the caller's units answered 409.
"""

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from app.config import get_settings
from app.db import get_session_factory
from app.models import AccessLog, Person
from tests.conftest import Registry, uniq
from tests.scim.test_users import ERROR, PERSON, World, assert_error

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ETHNICITY = f"{PERSON}:ethnicity"


@pytest.fixture
def world(registry: Registry) -> World:
    return World(registry)


def _search(world: World, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return world.registry.client.post("/scim/v2/Users/.search", json={"schemas": [SEARCH]} | body,
                                      headers=headers or world.admin)


class TestPagingAndFilters:
    def test_a_start_index_beyond_bigint_is_invalid_value(self, world: World) -> None:
        world.create(uniq("PG"))
        for start in ("99999999999999999999", str(2**63)):
            assert_error(world.get("/Users", startIndex=start), 400, "invalidValue")
        assert_error(_search(world, {"startIndex": 99999999999999999999}), 400, "invalidValue")
        last = world.get("/Users", startIndex=str(2**63 - 1), count="1")  # the last one the database can take
        assert last.status_code == 200 and last.json().get("Resources", []) == [], last.text

    @pytest.mark.parametrize("char", ["\\u0000", "\\u0001", "\\u001f", "\\u007f", "\\u0085"])
    def test_a_control_character_in_a_filter_value_is_invalid_filter(self, world: World, char: str) -> None:
        value = f'userName eq "A{char}B"'  # JSON-escaped in the filter text: the parser decodes it
        body = assert_error(world.get("/Users", filter=value), 400, "invalidFilter")
        assert "control character" in body["detail"]
        assert_error(_search(world, {"filter": value}), 400, "invalidFilter")
        assert_error(world.get("/Users", filter=f'name.familyName co "x{char}"'), 400, "invalidFilter")

    def test_a_raw_nul_in_a_filter_is_invalid_filter(self, world: World) -> None:
        # In a URL, a raw control character is refused (400) before routing, by app.main, in its own body
        assert world.get("/Users", filter='userName eq "A\x00B"').status_code == 400
        assert_error(_search(world, {"filter": 'userName eq "A\x00B"'}), 400, "invalidFilter")


def _logged(person_ids: set[int], action: str = "scim_filter") -> set[int]:
    with get_session_factory()() as session:
        return {pid for pid in session.scalars(select(AccessLog.person_id).where(
            AccessLog.person_id.in_(sorted(person_ids)), AccessLog.action == action)) if pid is not None}


def _ids(*external_ids: str) -> dict[str, int]:
    with get_session_factory()() as session:
        rows = session.execute(select(Person.external_id, Person.id).where(Person.external_id.in_(external_ids)))
        return {str(external_id): int(person_id) for external_id, person_id in rows.all()}


class TestSensitiveFilters:
    def test_a_filter_on_the_ethnicity_logs_a_read_of_every_person_it_was_decided_on_even_with_count_0(
            self, world: World) -> None:
        prefix = uniq("ETH")
        minority, kinh, elsewhere = f"{prefix}-1", f"{prefix}-2", f"{prefix}-3"
        world.create(minority, ethnicity="05")
        world.create(kinh, ethnicity="01")
        world.create(elsewhere, ethnicity="05", unit=world.b)
        ids = _ids(minority, kinh, elsewhere)
        scoped = world.registry.headers(world.registry.token("integration", [world.a]))
        query = f'userName sw "{prefix}" and {ETHNICITY} eq "05"'
        r = world.get("/Users", headers=scoped, filter=query, count="0")
        assert r.status_code == 200, r.text
        assert r.json()["totalResults"] == 1 and "Resources" not in r.json()  # the answer an attacker reads
        assert _logged(set(ids.values())) == {ids[minority], ids[kinh]}  # both disclosed; outside scope: not read
        with get_session_factory()() as session:
            entry = session.scalars(select(AccessLog).where(AccessLog.person_id == ids[minority],
                                                            AccessLog.action == "scim_filter")).one()
            assert "ethnicity" in entry.fields and entry.actor.startswith("token:") and "1 of 2" in (entry.detail or "")

    def test_a_filter_on_party_membership_is_logged_through_post_search_too(self, world: World) -> None:
        prefix = uniq("PM")
        member = f"{prefix}-1"
        world.create(member, party_member_since="2012-05-19")
        query = f'userName eq "{member}" and urn:vn:gov:registry:scim:schemas:extension:summary:1.0:User:partyMember eq true'
        r = _search(world, {"filter": query, "count": 0})
        assert r.status_code == 200 and r.json()["totalResults"] == 1, r.text
        assert _logged(set(_ids(member).values())) == set(_ids(member).values())

    @pytest.mark.parametrize("condition", [f'{PERSON}:nationalId eq "001087000123"',
                                           f'{PERSON}:partyMembership.since eq "2012-05-19"',
                                           f"{PERSON}:partyMembership pr",
                                           f'{PERSON}:disciplines[form eq "canh_cao"]'])
    def test_a_filter_on_any_sensitive_attribute_is_logged(self, world: World, condition: str) -> None:
        uid = uniq("SA")
        world.create(uid, national_id="001087000123", party_member_since="2012-05-19",
                     disciplines=[{"form": "canh_cao", "start": "2019-01-01", "end": "2019-12-31"}])
        r = world.get("/Users", filter=f'userName eq "{uid}" and {condition}', count="0")
        assert r.status_code == 200 and r.json()["totalResults"] == 1, r.text
        assert _logged(set(_ids(uid).values())) == set(_ids(uid).values())

    def test_a_sort_on_the_ethnicity_is_logged(self, world: World) -> None:
        uid = uniq("SO")
        world.create(uid, ethnicity="05")
        r = world.get("/Users", filter=f'userName eq "{uid}"', sortBy=ETHNICITY, count="0")
        assert r.status_code == 200 and r.json()["totalResults"] == 1, r.text
        assert _logged(set(_ids(uid).values())) == set(_ids(uid).values())

    def test_a_filter_on_plain_attributes_logs_no_filter_read(self, world: World) -> None:
        uid = uniq("PL")
        world.create(uid)
        assert world.get("/Users", filter=f'userName eq "{uid}" and name.familyName eq "Nguyễn"', count="0").json()[
            "totalResults"] == 1
        assert _logged(set(_ids(uid).values())) == set()


def _root_search(world: World, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return world.registry.client.post("/scim/v2/.search", json={"schemas": [SEARCH]} | body,
                                      headers=headers or world.admin)


class TestRootSearch:
    """POST /scim/v2/.search (RFC 7644 §3.4.3) searches every resource type served, here the Users alone."""

    def test_answers_what_users_search_answers_filtered_sorted_and_paged(self, world: World) -> None:
        prefix = uniq("RS")
        for i in range(3):
            world.create(f"{prefix}-{i}")
        body = {"filter": f'userName sw "{prefix}"', "sortBy": "userName", "sortOrder": "descending",
                "startIndex": 2, "count": 1, "attributes": ["userName"]}
        root = _root_search(world, body)
        assert root.status_code == 200 and root.headers["content-type"].startswith("application/scim+json"), root.text
        assert root.json() == _search(world, body).json()
        assert (root.json()["totalResults"], root.json()["startIndex"], root.json()["itemsPerPage"]) == (3, 2, 1)
        assert root.json()["Resources"] == [{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                             "id": f"{prefix}-1", "userName": f"{prefix}-1"}]

    def test_answers_only_the_users_of_the_callers_units(self, world: World) -> None:
        inside, outside = uniq("IN"), uniq("OUT")
        world.create(inside)
        world.create(outside, unit=world.b)
        scoped = world.registry.headers(world.registry.token("integration", [world.a]))
        r = _root_search(world, {"filter": f'userName eq "{inside}" or userName eq "{outside}"'}, headers=scoped)
        assert r.status_code == 200 and [u["id"] for u in r.json()["Resources"]] == [inside], r.text

    def test_a_filter_on_sensitive_data_logs_every_person_it_was_decided_on(self, world: World) -> None:
        prefix = uniq("RE")
        minority, kinh = f"{prefix}-1", f"{prefix}-2"
        world.create(minority, ethnicity="05")
        world.create(kinh, ethnicity="01")
        r = _root_search(world, {"filter": f'userName sw "{prefix}" and {ETHNICITY} eq "05"', "count": 0})
        assert r.status_code == 200 and r.json()["totalResults"] == 1 and "Resources" not in r.json(), r.text
        assert _logged(set(_ids(minority, kinh).values())) == set(_ids(minority, kinh).values())

    def test_refuses_what_users_search_refuses(self, world: World) -> None:
        assert_error(_root_search(world, {"filter": "userName eq"}), 400, "invalidFilter")
        assert_error(_root_search(world, {"filter": 'userName eq "A\x00B"'}), 400, "invalidFilter")
        assert_error(_root_search(world, {"startIndex": 99999999999999999999}), 400, "invalidValue")
        assert_error(world.registry.client.post("/scim/v2/.search", json={"schemas": [SEARCH]}), 401)
        auditor = world.registry.headers(world.registry.token("auditor", [world.province]))
        assert_error(_root_search(world, {}, headers=auditor), 403)
        r = world.registry.client.get("/scim/v2/.search", headers=world.admin)
        assert_error(r, 405)
        assert r.headers["allow"] == "POST"


def _not_writable(external_id: str) -> str:
    return (f"external_id {external_id} cannot be written with your token: it is outside your org units "
            "or not yours to write")


class TestNoExistenceLeak:
    def test_a_user_name_taken_outside_the_scope_answers_as_any_write_outside_it(self, world: World) -> None:
        taken, free = uniq("TK"), uniq("FR")
        world.create(taken, unit=world.b)
        scoped = world.registry.headers(world.registry.token("integration", [world.a]))
        existing = world.registry.client.post("/scim/v2/Users", json=world.body(taken), headers=scoped)
        assert assert_error(existing, 403)["detail"] == _not_writable(taken)
        new_outside = world.registry.client.post("/scim/v2/Users", json=world.body(free, unit=world.b), headers=scoped)
        assert assert_error(new_outside, 403)["detail"] == _not_writable(free)
        assert existing.json() | {"detail": ""} == new_outside.json() | {"detail": ""}
        assert world.get(f"/Users/{free}").status_code == 404  # nothing was written
        inside = uniq("IN")
        world.create(inside)
        again = world.registry.client.post("/scim/v2/Users", json=world.body(inside), headers=scoped)
        assert_error(again, 409, "uniqueness")  # a person the caller sees: uniqueness tells it nothing new


class TestRateLimit:
    def test_a_caller_over_its_rate_gets_429_with_retry_after(self, world: World,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
        from app.services.ratelimit import limiter

        token = world.registry.headers(world.registry.token("integration", [world.a]))
        monkeypatch.setattr(get_settings(), "rate_limit_per_minute", 2)
        limiter._hits.clear()
        codes = [world.get("/ServiceProviderConfig", headers=token).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        r = world.get("/ServiceProviderConfig", headers=token)
        assert_error(r, 429)
        assert int(r.headers["Retry-After"]) >= 1 and r.json()["schemas"] == [ERROR]


class TestDatabaseRefusals:
    def test_a_refusal_by_the_database_is_a_conflict_in_our_words(self, world: World,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
        from app.services import persons
        from tests.security.test_error_bodies import assert_clean

        monkeypatch.setattr(persons, "_primary_overlaps", lambda _employments: [])  # let the database's guard refuse
        uid = uniq("OV")
        body = world.body(uid)
        employments = body[PERSON]["primaryEmployments"]
        employments.append(employments[0] | {"orgUnit": world.b, "start": "2015-01-01"})
        r = world.registry.client.post("/scim/v2/Users", json=body, headers=world.admin)
        detail = assert_error(r, 409)["detail"]  # 409, as the REST API answers what the database refuses
        assert_clean(r.text)
        assert "overlap" in detail
        assert_error(world.get(f"/Users/{uid}"), 404)  # rolled back: a SCIM error used to commit the partial write


class TestDeleteInScope:
    def test_a_scoped_caller_deletes_an_inactive_user_it_manages(self, world: World) -> None:
        scoped = world.registry.headers(world.registry.token("integration", [world.a]))
        uid = uniq("IA")
        world.create(uid, headers=scoped, active=False)  # every employment ends today: nothing runs past it
        r = world.registry.client.delete(f"/scim/v2/Users/{uid}", headers=scoped)
        assert r.status_code == 204, r.text
        assert_error(world.get(f"/Users/{uid}"), 404)

    def test_a_scoped_caller_cannot_delete_a_user_who_moved_on_to_other_units(self, world: World) -> None:
        uid = uniq("MV")
        employments = [{"org_unit": world.a, "category": "cong_chuc", "occupation": "specialist", "primary": True,
                        "start": "2011-09-01", "end": "2015-12-31"},
                       {"org_unit": world.b, "category": "cong_chuc", "occupation": "specialist", "primary": True,
                        "start": "2016-01-01", "end": None}]
        world.create(uid, employments=employments)
        scoped = world.registry.headers(world.registry.token("integration", [world.a]))
        assert world.get(f"/Users/{uid}", headers=scoped).status_code == 200  # its former unit still reads it
        assert_error(world.registry.client.delete(f"/scim/v2/Users/{uid}", headers=scoped), 409)
        assert world.get(f"/Users/{uid}").status_code == 200  # not hidden from its current unit

    def test_the_managing_unit_deletes_its_part_while_another_unit_still_employs_the_person(self, world: World) -> None:
        """The review: the managing unit's DELETE hid the person from every caller, the unit still employing them
        included. Its part ends; the person stays a User while the other employment runs, and is deleted by the
        managing unit's DELETE once nothing runs on."""
        uid = uniq("CM")
        world.create(uid, employments=[
            {"org_unit": world.b, "category": "cong_chuc", "occupation": "specialist", "primary": True,
             "start": "2011-09-01", "end": None},
            {"org_unit": world.a, "category": "cong_chuc", "occupation": None, "primary": False,
             "start": "2018-01-01", "end": None}])
        managing = world.registry.headers(world.registry.token("integration", [world.b]))
        concurrent = world.registry.headers(world.registry.token("integration", [world.a]))
        assert world.registry.client.delete(f"/scim/v2/Users/{uid}", headers=managing).status_code == 204
        for headers in (concurrent, world.admin, managing):
            assert world.get(f"/Users/{uid}", headers=headers).status_code == 200
        record = world.registry.client.get(f"/api/v1/persons/{uid}", headers=world.admin).json()
        ends = {e["org_unit"]: e["end"] for e in record["employments"]}
        assert ends == {world.b: date.today().isoformat(), world.a: None}, ends
        assert world.registry.client.delete(f"/scim/v2/Users/{uid}", headers=concurrent).status_code == 204
        assert world.registry.client.delete(f"/scim/v2/Users/{uid}", headers=managing).status_code == 204
        for headers in (concurrent, world.admin, managing):
            assert_error(world.get(f"/Users/{uid}", headers=headers), 404)

    def test_a_concurrent_employer_deletes_only_its_part_and_the_user_stays_for_everyone(self, world: World) -> None:
        """A unit holding a concurrent employment ends it with DELETE (the person leaves it); the person, managed
        elsewhere, stays a User for the managing unit, the whole tree and the caller (before: 404 for everyone)."""
        from sqlalchemy import create_engine, text

        from app.db import normalise_url

        uid = uniq("CC")
        employments = [{"org_unit": world.b, "category": "cong_chuc", "occupation": "specialist", "primary": True,
                        "start": "2011-09-01", "end": None},
                       {"org_unit": world.a, "category": "cong_chuc", "occupation": None, "primary": False,
                        "start": "2018-01-01", "end": None}]
        world.create(uid, employments=employments)
        concurrent = world.registry.headers(world.registry.token("integration", [world.a]))
        managing = world.registry.headers(world.registry.token("integration", [world.b]))
        engine = create_engine(normalise_url(world.registry.url))

        def rows() -> list[tuple[object, ...]]:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(
                    "SELECT o.code, e.is_primary, e.start_date, e.end_date FROM employment e JOIN org_unit o "
                    "ON o.id = e.org_unit_id JOIN person p ON p.id = e.person_id WHERE p.external_id = :x "
                    "AND e.sys_to IS NULL ORDER BY o.code"), {"x": uid})]

        try:
            before = rows()
            r = world.registry.client.delete(f"/scim/v2/Users/{uid}", headers=concurrent)
            assert r.status_code == 204, r.text
            after = rows()
            assert [row for row in after if row[0] == world.b] == [row for row in before if row[0] == world.b]
            ended = next(row for row in after if row[0] == world.a)
            assert str(ended[3]) == date.today().isoformat()  # its own part ends today; the managing one runs on
            for headers in (managing, world.admin, concurrent):
                user = world.get(f"/Users/{uid}", headers=headers)
                assert user.status_code == 200 and user.json()["active"] is True, user.text
            listed = world.get("/Users", headers=managing, filter=f'userName eq "{uid}"').json()
            assert listed["totalResults"] == 1
            # the managing unit's DELETE is a deletion: gone for everyone
            assert world.registry.client.delete(f"/scim/v2/Users/{uid}", headers=managing).status_code == 204
            for headers in (managing, world.admin, concurrent):
                assert_error(world.get(f"/Users/{uid}", headers=headers), 404)
        finally:
            engine.dispose()
