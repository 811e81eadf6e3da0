"""SCIM Users over the registry: mapping, round trips, filters, sorting, paging, PATCH, ETags, DELETE, errors, scope."""

import json
from datetime import date
from typing import Any

import pytest

from tests.conftest import Registry, uniq

PERSON = "urn:vn:gov:registry:scim:schemas:extension:person:1.0:User"
SUMMARY = "urn:vn:gov:registry:scim:schemas:extension:summary:1.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
TODAY = date.today().isoformat()


# Lists the person extension splits in two: (the key that splits them, the attribute for each of its values)
SPLIT = {"employments": ("primary", {True: "primaryEmployments", False: "concurrentEmployments"}),
         "languages": ("kind", {"foreign": "foreignLanguages", "ethnic_minority": "ethnicMinorityLanguages"})}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def extension(record: dict[str, Any]) -> dict[str, Any]:
    """The person extension a record is written as, attribute by attribute (README, SCIM), written here
    independently of the server's mapping: camelCase names, party membership as one complex attribute,
    employments and languages split in two, no attribute for what has no value."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key in ("external_id", "full_name", "redacted") or value in (None, []):
            continue
        if key.startswith("party_member_"):
            out.setdefault("partyMembership", {})[key.removeprefix("party_member_")] = value
        elif key in SPLIT:
            flag, names = SPLIT[key]
            for item in value:
                out.setdefault(names[item[flag]], []).append({camel(k): v for k, v in item.items()
                                                              if k != flag and v is not None})
        elif isinstance(value, list):
            defaults = {"equivalent": False} if key == "political_theory" else {}
            out[camel(key)] = [defaults | {camel(k): v for k, v in i.items() if v is not None} for i in value]
        else:
            out[camel(key)] = value
    return out


class World:
    """Two sibling agencies under one province, and an admin's headers."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.province, self.a, self.b = uniq("SP"), uniq("SA"), uniq("SB")
        lines = [json.dumps({"code": self.province, "name": "Tỉnh Thử", "kind": "area", "tier": "province",
                             "sector": "state", "valid_from": "2000-01-01", "parents": []})]
        for code, name in ((self.a, "Sở Y tế"), (self.b, "Sở Giáo dục")):
            lines.append(json.dumps({"code": code, "name": name, "kind": "state_agency", "tier": "province",
                                     "sector": "health", "valid_from": "2000-01-01",
                                     "parents": [{"code": self.province, "start": "2000-01-01", "end": None}]}))
        assert registry.import_lines("org-units", lines)["errors"] == []
        self.admin = registry.headers()

    def body(self, user_name: str, *, unit: str | None = None, family: str = "Nguyễn", middle: str | None = "Thị",
             given: str = "Đào", active: bool = True, **record: Any) -> dict[str, Any]:
        rec = {"employments": [{"org_unit": unit or self.a, "category": "cong_chuc", "occupation": "specialist",
                                "primary": True, "start": "2011-09-01", "end": None}]} | record
        name = {"familyName": family, "givenName": given} | ({"middleName": middle} if middle else {})
        return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", PERSON], "userName": user_name,
                "name": name, "active": active, PERSON: extension({"birth_date": "1987-03-09", "gender": "female"} | rec)}

    def create(self, user_name: str, headers: dict[str, str] | None = None, **kw: Any) -> dict[str, Any]:
        r = self.registry.client.post("/scim/v2/Users", json=self.body(user_name, **kw), headers=headers or self.admin)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        return self.registry.client.get(f"/scim/v2{path}", params=params, headers=headers or self.admin)

    def patch(self, user_id: str, *ops: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        return self.registry.client.patch(f"/scim/v2/Users/{user_id}", json={"schemas": [PATCH], "Operations": list(ops)},
                                          headers=headers or self.admin)


@pytest.fixture
def world(registry: Registry) -> World:
    return World(registry)


def assert_error(r: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/scim+json")
    body = dict(r.json())
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"]
    assert body.get("scimType") == scim_type
    return body


class TestCreateAndRead:
    def test_maps_the_person_to_a_user_with_both_extensions(self, world: World) -> None:
        uid = uniq("U")
        created = world.create(uid, degrees=[{"level": "master", "field": None, "institution": None, "country": "VN",
                                              "awarded_on": "2016-12-20"}], party_member_since="2012-05-19",
                               political_theory=[{"level": "cu_nhan", "awarded_on": "2015-01-01"}])
        r = world.get(f"/Users/{uid}")
        assert r.status_code == 200 and r.headers["etag"] == 'W/"1"'
        assert r.headers["content-type"].startswith("application/scim+json")
        user = r.json()
        assert user == created
        assert (user["id"], user["userName"], user["externalId"]) == (uid, uid, uid)
        assert user["name"] == {"familyName": "Nguyễn", "middleName": "Thị", "givenName": "Đào"}
        assert user["displayName"] == "Nguyễn Thị Đào" and user["active"] is True
        assert user["meta"]["version"] == 'W/"1"' and user["meta"]["location"].endswith(f"/scim/v2/Users/{uid}")
        unchanged = world.get(f"/Users/{uid}", headers=world.admin | {"If-None-Match": 'W/"1"'})
        assert unchanged.status_code == 304
        assert user[ENTERPRISE] == {"employeeNumber": uid, "organization": "Tỉnh Thử", "department": "Sở Y tế"}
        assert user[SUMMARY] == {"highestDegree": "master", "politicalTheory": "cu_nhan", "partyMember": True,
                                 "primaryUnit": world.a, "category": "cong_chuc", "occupation": "specialist"}

    def test_the_person_extension_is_the_interchange_record_attribute_by_attribute(self, world: World) -> None:
        uid = uniq("U")
        employments = [{"org_unit": world.a, "category": "cong_chuc", "occupation": "specialist", "primary": True,
                        "start": "2011-09-01", "end": "2015-12-31"},
                       {"org_unit": world.a, "category": "vien_chuc", "occupation": None, "primary": True,
                        "start": "2016-01-01", "end": None},
                       {"org_unit": world.b, "category": "cong_chuc", "occupation": None, "primary": False,
                        "start": "2018-01-01", "end": None}]
        languages = [{"language": "en", "kind": "foreign", "level": 4, "certificate": "VSTEP", "awarded_on": "2019-06-01"},
                     {"language": "km", "kind": "ethnic_minority", "fluent": True, "awarded_on": "2019-06-01"}]
        body = uniq("HD")
        assert world.registry.import_lines("org-units", [json.dumps(
            {"code": body, "name": "Hội đồng nhân dân", "kind": "peoples_council", "tier": "province", "sector": "state",
             "valid_from": "2000-01-01", "parents": [{"code": world.province, "start": "2000-01-01", "end": None}]})])[
            "errors"] == []
        user = world.create(uid, employments=employments, languages=languages, ethnicity="05", national_id="001087000123",
                            party_member_since="2012-05-19", party_member_until="2023-12-31", general_education="12/12",
                            positions=[{"org_unit": world.a, "title": "Phó Giám đốc", "rank": "department_deputy",
                                        "key_leader": True, "start": "2020-01-01", "end": None}],
                            memberships=[{"body": body, "role": "member", "start": "2021-07-01", "end": None}],
                            degrees=[{"level": "master", "field": "Y tế công cộng", "institution": None, "country": "VN",
                                      "awarded_on": "2016-12-20"}],
                            political_theory=[{"level": "cu_nhan", "awarded_on": "2015-01-01", "equivalent": True},
                                              {"level": "trung_cap", "awarded_on": "2013-01-01"}],
                            state_management=[{"level": "chuyen_vien_chinh", "awarded_on": "2018-03-01"}],
                            specialties=[{"level": "ck1", "field": "Nội khoa", "awarded_on": "2014-10-01"}],
                            academic_titles=[{"title": "pgs", "field": "Y học", "awarded_on": "2022-11-01"}],
                            it_skills=[{"level": "basic", "certificate": "Chứng chỉ CNTT", "awarded_on": "2012-04-01"}],
                            trainings=[{"course": "Quản lý nhà nước", "hours": 120, "completed_on": "2021-05-01"}],
                            separations=[{"on": "2099-12-31", "reason": "retirement"}],
                            disciplines=[{"form": "khien_trach", "start": "2019-01-01", "end": "2019-12-31"}])
        rest = world.registry.client.get(f"/api/v1/persons/{uid}", headers=world.admin).json()
        assert user[PERSON] == extension(rest)
        assert [e["category"] for e in user[PERSON]["primaryEmployments"]] == ["cong_chuc", "vien_chuc"]
        assert user[PERSON]["concurrentEmployments"] == [{"orgUnit": world.b, "category": "cong_chuc",
                                                         "start": "2018-01-01", "end": "2099-12-31"}]  # the retirement
        assert user[PERSON]["partyMembership"] == {"since": "2012-05-19", "until": "2023-12-31"}
        assert [p["equivalent"] for p in user[PERSON]["politicalTheory"]] == [False, True]
        assert {camel(name) for name in rest if rest[name] not in (None, [])} - {"externalId", "fullName"} - {
            "employments", "languages", "partyMemberSince", "partyMemberUntil"} <= set(user[PERSON])
        assert user[PERSON]["foreignLanguages"][0]["level"] == 4 and user[PERSON]["ethnicMinorityLanguages"][0]["fluent"]
        assert (rest["full_name"], rest["birth_date"], rest["gender"]) == ("Nguyễn Thị Đào", "1987-03-09", "female")
        put = world.registry.client.put(f"/scim/v2/Users/{uid}", json=user, headers=world.admin)
        assert put.status_code == 200 and put.json() == user, put.text  # every attribute read back as written
        assert world.registry.client.get(f"/api/v1/persons/{uid}", headers=world.admin).json() == rest

    def test_put_of_what_get_gave_changes_nothing(self, world: World) -> None:
        uid = uniq("U")
        user = world.create(uid)
        r = world.registry.client.put(f"/scim/v2/Users/{uid}", json=user, headers=world.admin)
        assert r.status_code == 200, r.text
        assert r.json() == user and r.headers["etag"] == 'W/"1"'

    def test_attributes_and_excluded_attributes_shape_the_answer(self, world: World) -> None:
        uid = uniq("U")
        world.create(uid)
        only = world.get(f"/Users/{uid}", attributes="userName").json()
        assert set(only) == {"schemas", "id", "userName"}
        without = world.get(f"/Users/{uid}", excludedAttributes=PERSON).json()
        assert PERSON not in without and "name" in without


class TestSearch:
    def test_filters_on_user_name_external_id_name_and_presence(self, world: World) -> None:
        prefix = uniq("F")
        world.create(f"{prefix}-1", family="Trần", given="An", middle=None)
        world.create(f"{prefix}-2", family="Lê", given="Bình")

        def ids(flt: str, **params: Any) -> list[str]:
            r = world.get("/Users", filter=flt, **params)
            assert r.status_code == 200, r.text
            return [u["id"] for u in r.json().get("Resources", [])]

        assert ids(f'userName eq "{prefix}-1"') == [f"{prefix}-1"]
        assert ids(f'externalId eq "{prefix}-2"') == [f"{prefix}-2"]
        assert ids(f'userName sw "{prefix}" and name.familyName co "tRầ"') == [f"{prefix}-1"]
        assert ids(f'userName eq "{prefix}-1" or userName eq "{prefix}-2"', sortBy="userName") == [f"{prefix}-1", f"{prefix}-2"]
        assert ids(f'userName sw "{prefix}" and name.givenName pr', sortBy="userName") == [f"{prefix}-1", f"{prefix}-2"]
        assert ids(f'userName sw "{prefix}" and not (name.middleName pr)', sortBy="userName") == [f"{prefix}-1"]
        assert ids(f'userName sw "{prefix}" and active eq false') == []

    def test_sorts_and_pages(self, world: World) -> None:
        prefix = uniq("P")
        for i, given in enumerate(("An", "Cúc", "Bình")):
            world.create(f"{prefix}-{i}", given=given, middle=None)
        r = world.get("/Users", filter=f'userName sw "{prefix}"', sortBy="name.givenName", sortOrder="descending",
                      startIndex=2, count=1)
        body = r.json()
        assert r.status_code == 200, r.text
        assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (3, 2, 1)
        assert [u["name"]["givenName"] for u in body["Resources"]] == ["Bình"]
        r = world.get("/Users", filter=f'userName sw "{prefix}"', sortBy="userName", sortOrder="descending")
        assert [u["id"] for u in r.json()["Resources"]] == [f"{prefix}-2", f"{prefix}-1", f"{prefix}-0"]

    def test_post_search_answers_like_get(self, world: World) -> None:
        uid = uniq("S")
        world.create(uid)
        r = world.registry.client.post("/scim/v2/Users/.search", headers=world.admin, json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": f'userName eq "{uid}"',
            "attributes": ["userName"]})
        assert r.status_code == 200, r.text
        assert r.json()["Resources"] == [{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": uid,
                                          "userName": uid}]

    def test_a_bad_filter_is_invalid_filter(self, world: World) -> None:
        assert_error(world.get("/Users", filter="userName eq"), 400, "invalidFilter")
        assert_error(world.get("/Users", filter='emails pr'), 400, "invalidFilter")


class TestPatch:
    def test_replaces_name_parts_and_keeps_the_others(self, world: World) -> None:
        uid = uniq("N")
        world.create(uid)
        r = world.patch(uid, {"op": "replace", "path": "name.givenName", "value": "Mai"})
        assert r.status_code == 200, r.text
        assert r.json()["displayName"] == "Nguyễn Thị Mai" and r.headers["etag"] == 'W/"2"'
        assert world.registry.client.get(f"/api/v1/persons/{uid}", headers=world.admin).json()["full_name"] == "Nguyễn Thị Mai"

    def test_active_false_closes_today_and_true_reopens(self, world: World) -> None:
        uid = uniq("A")
        world.create(uid)
        off = world.patch(uid, {"op": "replace", "path": "active", "value": False}).json()
        assert off["active"] is False
        assert off[PERSON]["primaryEmployments"][0]["end"] == TODAY
        on = world.patch(uid, {"op": "replace", "value": {"active": True}}).json()
        assert on["active"] is True and "end" not in on[PERSON]["primaryEmployments"][0]

    def test_active_true_on_a_separated_person_is_refused_not_answered_inactive(self, world: World) -> None:
        uid = uniq("S")
        retired = [{"on": "2024-03-31", "reason": "retirement"}]
        r = world.registry.client.post("/scim/v2/Users", json=world.body(uid, active=True, separations=retired),
                                       headers=world.admin)
        assert_error(r, 400, "mutability")
        assert "separations" in r.json()["detail"]
        user = world.create(uid, active=False, separations=retired)
        assert user["active"] is False and user[PERSON]["primaryEmployments"][0]["end"] == "2024-03-31"
        assert_error(world.patch(uid, {"op": "replace", "path": "active", "value": True}), 400, "mutability")
        assert world.get(f"/Users/{uid}").json()["active"] is False

    def test_adds_to_a_list_of_the_record(self, world: World) -> None:
        uid = uniq("R")
        world.create(uid, degrees=[{"level": "master", "field": None, "institution": None, "country": "VN",
                                    "awarded_on": "2016-12-20"}])
        doctor = {"level": "doctor", "field": "Y học", "country": "FR", "awardedOn": "2020-01-01"}
        r = world.patch(uid, {"op": "add", "path": f"{PERSON}:degrees", "value": [doctor]})
        assert r.status_code == 200, r.text
        assert r.json()[SUMMARY]["highestDegree"] == "doctor"
        assert [d["level"] for d in r.json()[PERSON]["degrees"]] == ["master", "doctor"]
        levels = [d["level"] for d in world.registry.client.get(f"/api/v1/persons/{uid}", headers=world.admin).json()["degrees"]]
        assert levels == ["master", "doctor"]

    def test_replaces_a_sub_attribute_of_the_party_membership(self, world: World) -> None:
        uid = uniq("R")
        world.create(uid, party_member_since="2012-05-19")
        r = world.patch(uid, {"op": "add", "path": f"{PERSON}:partyMembership.until", "value": "2024-01-31"})
        assert r.status_code == 200, r.text
        assert r.json()[PERSON]["partyMembership"] == {"since": "2012-05-19", "until": "2024-01-31"}
        assert r.json()[SUMMARY]["partyMember"] is False

    def test_cannot_remove_what_the_registry_requires_nor_touch_read_only(self, world: World) -> None:
        uid = uniq("X")
        world.create(uid)
        assert_error(world.patch(uid, {"op": "remove", "path": "name"}), 400, "mutability")
        assert_error(world.patch(uid, {"op": "replace", "path": "displayName", "value": "x"}), 400, "mutability")
        assert_error(world.patch(uid, {"op": "replace", "path": "userName", "value": "other"}), 400, "mutability")

    def test_a_stale_if_match_is_412(self, world: World) -> None:
        uid = uniq("E")
        world.create(uid)
        op = {"op": "replace", "path": "name.familyName", "value": "Phạm"}
        stale = world.registry.client.patch(f"/scim/v2/Users/{uid}", json={"schemas": [PATCH], "Operations": [op]},
                                            headers=world.admin | {"If-Match": 'W/"7"'})
        assert_error(stale, 412)
        fresh = world.registry.client.patch(f"/scim/v2/Users/{uid}", json={"schemas": [PATCH], "Operations": [op]},
                                            headers=world.admin | {"If-Match": 'W/"1"'})
        assert fresh.status_code == 200 and fresh.headers["etag"] == 'W/"2"'


class TestDelete:
    def test_closes_today_then_answers_404_and_keeps_the_history(self, world: World) -> None:
        uid = uniq("D")
        world.create(uid)
        assert world.registry.client.delete(f"/scim/v2/Users/{uid}", headers=world.admin).status_code == 204
        assert_error(world.get(f"/Users/{uid}"), 404)
        assert world.get("/Users", filter=f'userName eq "{uid}"').json()["totalResults"] == 0
        assert_error(world.patch(uid, {"op": "replace", "path": "active", "value": True}), 404)
        rest = world.registry.client.get(f"/api/v1/persons/{uid}", headers=world.admin).json()
        assert rest["employments"][0]["end"] == TODAY

    def test_deleting_an_inactive_user_and_provisioning_it_again(self, world: World) -> None:
        uid = uniq("D")
        world.create(uid, active=False)
        assert world.registry.client.delete(f"/scim/v2/Users/{uid}", headers=world.admin).status_code == 204
        assert_error(world.get(f"/Users/{uid}"), 404)
        again = world.registry.client.post("/scim/v2/Users", json=world.body(uid, active=False), headers=world.admin)
        assert again.status_code == 201, again.text
        assert world.get(f"/Users/{uid}").status_code == 200


class TestErrors:
    def test_registry_validation_is_invalid_value_naming_the_attribute(self, world: World) -> None:
        body = world.body(uniq("V"), unit="NO-SUCH-UNIT")
        r = world.registry.client.post("/scim/v2/Users", json=body, headers=world.admin)
        detail = assert_error(r, 422, "invalidValue")["detail"]  # 422, as the REST API answers a record it refuses
        assert f"{PERSON}:primaryEmployments[0].orgUnit" in detail and "NO-SUCH-UNIT" in detail

    def test_a_refused_item_of_a_split_list_is_named_by_its_attribute_and_index(self, world: World) -> None:
        languages = [{"language": "en", "kind": "foreign", "level": 4, "certificate": None, "awarded_on": "2019-06-01"},
                     {"language": "km", "kind": "ethnic_minority", "fluent": True, "awarded_on": "1900-01-01"}]
        employments = [{"org_unit": world.a, "category": "cong_chuc", "primary": True, "start": "2011-09-01", "end": None},
                       {"org_unit": world.b, "category": "no_such_category", "primary": False, "start": "2012-01-01",
                        "end": None}]
        r = world.registry.client.post("/scim/v2/Users", json=world.body(uniq("V"), languages=languages,
                                                                          employments=employments), headers=world.admin)
        detail = assert_error(r, 422, "invalidValue")["detail"]
        assert f"{PERSON}:ethnicMinorityLanguages[0].awardedOn: 1900-01-01 is before the birth date" in detail
        assert f"{PERSON}:concurrentEmployments[0].category: unknown employment_category code" in detail

    def test_a_missing_birth_date_is_refused(self, world: World) -> None:
        body = world.body(uniq("V"))
        del body[PERSON]["birthDate"]
        assert world.registry.client.post("/scim/v2/Users", json=body, headers=world.admin).status_code == 400

    def test_a_taken_user_name_is_409_uniqueness(self, world: World) -> None:
        uid = uniq("V")
        world.create(uid)
        assert_error(world.registry.client.post("/scim/v2/Users", json=world.body(uid), headers=world.admin), 409, "uniqueness")

    def test_malformed_json_is_invalid_syntax(self, world: World) -> None:
        r = world.registry.client.post("/scim/v2/Users", content=b"{not json", headers=world.admin |
                                       {"Content-Type": "application/scim+json"})
        assert_error(r, 400, "invalidSyntax")

    def test_unknown_paths_and_methods(self, world: World) -> None:
        assert_error(world.get("/Nothing"), 404)
        r = world.registry.client.delete("/scim/v2/Schemas", headers=world.admin)
        assert_error(r, 405)
        assert r.headers["allow"] == "GET"


class TestAccess:
    def test_needs_a_token(self, world: World) -> None:
        r = world.registry.client.get("/scim/v2/Users")
        assert_error(r, 401)
        assert r.headers["www-authenticate"] == "Bearer"

    @pytest.mark.parametrize("role", ["hr_officer", "auditor"])
    def test_other_roles_are_403(self, world: World, role: str) -> None:
        token = world.registry.token(role, [world.province])
        assert_error(world.get("/Users", headers=world.registry.headers(token)), 403)

    def test_an_integration_token_sees_and_writes_its_units_only(self, world: World) -> None:
        inside, outside = uniq("IN"), uniq("OUT")
        world.create(inside)
        world.create(outside, unit=world.b)
        scoped = world.registry.headers(world.registry.token("integration", [world.a]))
        assert world.get(f"/Users/{inside}", headers=scoped).status_code == 200
        assert_error(world.get(f"/Users/{outside}", headers=scoped), 404)
        listed = world.get("/Users", headers=scoped, filter=f'userName eq "{inside}" or userName eq "{outside}"')
        assert [u["id"] for u in listed.json()["Resources"]] == [inside]
        r = world.registry.client.post("/scim/v2/Users", json=world.body(uniq("OUT"), unit=world.b), headers=scoped)
        assert_error(r, 403)


class TestDiscovery:
    def test_publishes_config_resource_types_and_schemas(self, world: World) -> None:
        config = world.get("/ServiceProviderConfig").json()
        assert config["patch"]["supported"] and config["etag"]["supported"] and config["sort"]["supported"]
        assert not config["bulk"]["supported"]
        types = world.get("/ResourceTypes").json()["Resources"]
        assert [(t["name"], t["endpoint"]) for t in types] == [("User", "/Users")]
        ids = {s["id"] for s in world.get("/Schemas").json()["Resources"]}
        assert {PERSON, SUMMARY, ENTERPRISE, "urn:ietf:params:scim:schemas:core:2.0:User"} <= ids
        assert world.get(f"/Schemas/{PERSON}").json()["attributes"][0]["name"] == "birthDate"
        assert_error(world.get("/Schemas/urn:nothing"), 404)

    def test_the_person_schema_declares_the_record_attribute_by_attribute(self, world: World) -> None:
        attrs = {a["name"]: a for a in world.get(f"/Schemas/{PERSON}").json()["attributes"]}
        lists = {camel(n) for n in ("positions", "memberships", "degrees", "political_theory", "state_management",
                                    "specialties", "academic_titles", "it_skills", "trainings", "separations",
                                    "disciplines")}
        split = {name for _key, names in SPLIT.values() for name in names.values()}
        assert set(attrs) == {"birthDate", "gender", "ethnicity", "nationalId", "partyMembership", "generalEducation"
                              } | lists | split  # no JSON text: every datum has its own typed attribute
        for attr in attrs.values():
            assert attr["multiValued"] == (attr["name"] in lists | split)
            for sub in attr.get("subAttributes") or []:  # RFC 7643 §2.3.8: no sub-attribute has sub-attributes
                assert sub["type"] in ("string", "integer", "boolean") and "subAttributes" not in sub
        assert attrs["primaryEmployments"]["required"] and not attrs["concurrentEmployments"]["required"]
        category = next(s for s in attrs["primaryEmployments"]["subAttributes"] if s["name"] == "category")
        assert {"can_bo", "cong_chuc", "vien_chuc"} <= set(category["canonicalValues"])
        assert attrs["ethnicity"]["canonicalValues"][:2] == ["01", "02"] and "canonicalValues" not in attrs["birthDate"]
