"""Write scope is not read scope: a scoped writer changes only what its own units manage.

The attacks of issue 16, each tried with every writing role scoped to commune A (an HR officer, an
integration, a scoped administrator) on persons in the commune, outside it, formerly in it and
employed in two places, through PUT, PATCH, close and imports (real and dry run). After every
refused write the change feed (which records every write) shows that nothing was written, and the
persons read back as they were.
"""

import json
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.api.factories import (
    Record,
    SmallTree,
    changes_after,
    create_person,
    cursor,
    get_person,
    import_records,
    org_unit,
    person,
    small_tree,
)
from tests.conftest import BOOT, Registry, uniq

WRITERS = ("hr_officer", "integration", "admin")


def job(unit: str, start: str, end: str | None = None, primary: bool = True, **extra: Any) -> Record:
    return {"org_unit": unit, "category": "cong_chuc", "occupation": "specialist", "primary": primary,
            "start": start, "end": end} | extra


@dataclass
class World:
    """Commune A's view: persons in it, outside it, formerly in it, and employed in two places."""

    tree: SmallTree
    other_province: str
    other_agency: str
    own: Record  # primary employment in commune A
    outside: Record  # employed only in commune B
    former: Record  # in commune A until 2015, in commune B since
    dual_here: Record  # primary in commune A, a second job in another province
    dual_there: Record  # primary in commune B, a second job in commune A
    tokens: dict[str, str]

    @property
    def persons(self) -> list[Record]:
        return [self.own, self.outside, self.former, self.dual_here, self.dual_there]


@pytest.fixture
def world(registry: Registry) -> World:
    tree = small_tree(registry)
    q = uniq("Q")
    report = import_records(registry, "org-units", [
        org_unit(q, kind="area", tier="province", name="Thành phố Cần Thơ"),
        org_unit(f"{q}-SYT", parent=q, kind="state_agency", tier="province", sector="health", name="Sở Y tế"),
    ])
    assert report["created"] == 2, report
    a, b, x = tree.school_a, tree.station_b, f"{q}-SYT"
    tag = uniq("W")
    own = create_person(registry, person(f"{tag}-OWN", a))
    outside = create_person(registry, person(f"{tag}-OUT", b, full_name="Trần Thị Bích",
                                             employments=[job(b, "2010-03-01")]))
    former = create_person(registry, person(f"{tag}-FORMER", b, full_name="Lâm Văn Phúc", employments=[
        job(a, "2005-09-01", "2015-12-31"), job(b, "2016-01-01")]))
    dual_here = create_person(registry, person(f"{tag}-DUALA", a, full_name="Thạch Thị Sa Rây", employments=[
        job(a, "2008-09-01"), job(x, "2018-01-01", primary=False)]))
    dual_there = create_person(registry, person(f"{tag}-DUALB", b, full_name="Kim Văn Sơn", employments=[
        job(b, "2009-01-01"), job(a, "2019-01-01", primary=False)]))
    tokens = {role: registry.token(role, [tree.commune_a]) for role in (*WRITERS, "auditor")}
    return World(tree, q, x, own, outside, former, dual_here, dual_there, tokens)


def as_(registry: Registry, world: World, role: str) -> dict[str, str]:
    return registry.headers(world.tokens[role])


def stored(registry: Registry, record: Record) -> Record:
    r = get_person(registry, record["external_id"])
    assert r.status_code == 200, r.text
    return dict(r.json())


def assert_untouched(registry: Registry, world: World, since: int) -> None:
    """No write at all since `since` (the feed records every write), and every person reads as before."""
    assert changes_after(registry, since) == []
    for p in world.persons:
        assert stored(registry, p) == p


def refused(r: Any, status: int, code: str) -> list[dict[str, Any]]:
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    return list(r.json().get("errors") or [])


class TestRefused:
    @pytest.mark.parametrize("role", WRITERS)
    def test_ending_a_job_in_another_province_is_refused(self, registry: Registry, world: World, role: str) -> None:
        since = cursor(registry)
        ended = [e | {"end": "2024-12-31"} if e["org_unit"] == world.other_agency else e for e in world.dual_here["employments"]]
        r = registry.client.put(f"/api/v1/persons/{world.dual_here['external_id']}",
                                json=world.dual_here | {"employments": ended}, headers=as_(registry, world, role))
        errors = refused(r, 403, "out_of_scope")
        assert {e["field"] for e in errors} == {"employments", "employments[1].org_unit"}
        assert all(world.other_agency in e["message"] for e in errors)
        assert_untouched(registry, world, since)

    @pytest.mark.parametrize("role", WRITERS)
    def test_rewriting_the_national_id_of_a_person_managed_elsewhere_is_refused(
            self, registry: Registry, world: World, role: str) -> None:
        since = cursor(registry)
        r = registry.client.patch(f"/api/v1/persons/{world.dual_there['external_id']}", json={"national_id": "000000000001"},
                                  headers=as_(registry, world, role))
        assert [e["field"] for e in refused(r, 403, "out_of_scope")] == ["national_id"]
        assert_untouched(registry, world, since)

    @pytest.mark.parametrize("role", WRITERS)
    def test_renaming_or_closing_a_person_who_left_in_2015_is_refused(self, registry: Registry, world: World, role: str) -> None:
        since = cursor(registry)
        url = f"/api/v1/persons/{world.former['external_id']}"
        r = registry.client.patch(url, json={"full_name": "Tên Giả Mạo"}, headers=as_(registry, world, role))
        assert [e["field"] for e in refused(r, 403, "out_of_scope")] == ["full_name"]
        r = registry.client.put(url, json=world.former | {"full_name": "Tên Giả Mạo", "degrees": []},
                                headers=as_(registry, world, role))
        assert {e["field"] for e in refused(r, 403, "out_of_scope")} == {"full_name", "degrees"}
        r = registry.client.post(f"{url}/close", json={"on": "2024-12-31"}, headers=as_(registry, world, role))
        refused(r, 409, "nothing_to_close")
        assert_untouched(registry, world, since)

    @pytest.mark.parametrize("role", WRITERS)
    def test_seating_a_person_on_the_province_party_committee_is_refused(
            self, registry: Registry, world: World, role: str) -> None:
        since = cursor(registry)
        seat = {"body": world.tree.body, "role": "secretary", "start": "2020-10-01", "end": None}
        r = registry.client.patch(f"/api/v1/persons/{world.own['external_id']}", json={"memberships": [seat]},
                                  headers=as_(registry, world, role))
        assert [e["field"] for e in refused(r, 403, "out_of_scope")] == ["memberships[0].body"]
        assert_untouched(registry, world, since)

    @pytest.mark.parametrize("role", WRITERS)
    def test_a_post_at_a_provincial_department_or_a_job_in_another_province_is_refused(
            self, registry: Registry, world: World, role: str) -> None:
        since = cursor(registry)
        url = f"/api/v1/persons/{world.own['external_id']}"
        post = {"org_unit": world.tree.agency, "title": "Giám đốc Sở", "rank": "department_head", "key_leader": True,
                "start": "2022-01-01", "end": None}
        r = registry.client.patch(url, json={"positions": [post]}, headers=as_(registry, world, role))
        assert [e["field"] for e in refused(r, 403, "out_of_scope")] == ["positions[0].org_unit"]
        jobs = world.own["employments"] + [job(world.other_agency, "2023-01-01", primary=False)]
        r = registry.client.patch(url, json={"employments": jobs}, headers=as_(registry, world, role))
        assert [e["field"] for e in refused(r, 403, "out_of_scope")] == ["employments[1].org_unit"]
        assert_untouched(registry, world, since)

    @pytest.mark.parametrize("role", WRITERS)
    def test_a_new_person_with_a_seat_above_the_commune_is_refused(self, registry: Registry, world: World, role: str) -> None:
        since = cursor(registry)
        record = person(f"{world.tree.province}-{uniq('N')}", world.tree.school_a,
                        memberships=[{"body": world.tree.body, "role": "member", "start": "2020-10-01", "end": None}])
        r = registry.client.post("/api/v1/persons", json=record, headers=as_(registry, world, role))
        assert [e["field"] for e in refused(r, 403, "out_of_scope")] == ["memberships[0].body"]
        assert get_person(registry, record["external_id"]).status_code == 404
        assert_untouched(registry, world, since)

    @pytest.mark.parametrize("role", WRITERS)
    def test_a_person_outside_is_a_404_on_every_write(self, registry: Registry, world: World, role: str) -> None:
        since = cursor(registry)
        url = f"/api/v1/persons/{world.outside['external_id']}"
        hijack = world.outside | {"employments": world.own["employments"]}
        for r in (registry.client.put(url, json=hijack, headers=as_(registry, world, role)),
                  registry.client.patch(url, json={"full_name": "X"}, headers=as_(registry, world, role)),
                  registry.client.post(f"{url}/close", json={"on": "2024-12-31"}, headers=as_(registry, world, role)),
                  registry.client.post("/api/v1/persons", json=hijack, headers=as_(registry, world, role))):
            refused(r, 404, "person_not_found")
            assert world.outside["full_name"] not in r.text
        assert_untouched(registry, world, since)

    def test_the_auditor_writes_nothing(self, registry: Registry, world: World) -> None:
        since = cursor(registry)
        url = f"/api/v1/persons/{world.own['external_id']}"
        headers = as_(registry, world, "auditor")
        for r in (registry.client.put(url, json=world.own | {"full_name": "X"}, headers=headers),
                  registry.client.patch(url, json={"full_name": "X"}, headers=headers),
                  registry.client.post(f"{url}/close", json={"on": "2024-12-31"}, headers=headers),
                  registry.client.post("/api/v1/persons", json=person(uniq("N"), world.tree.school_a), headers=headers)):
            refused(r, 403, "role_forbidden")
        assert_untouched(registry, world, since)


class TestAllowed:
    @pytest.mark.parametrize("role", WRITERS)
    def test_what_the_commune_manages_it_writes(self, registry: Registry, world: World, role: str) -> None:
        headers = as_(registry, world, role)
        # the national id of a person whose primary employment is in the commune
        r = registry.client.patch(f"/api/v1/persons/{world.dual_here['external_id']}", json={"national_id": "094185999999"},
                                  headers=headers)
        assert r.status_code == 200, r.text
        # ending the commune's own second job of a person managed elsewhere
        jobs = [e | {"end": "2024-06-30"} if e["org_unit"] == world.tree.school_a else e for e in world.dual_there["employments"]]
        r = registry.client.patch(f"/api/v1/persons/{world.dual_there['external_id']}", json={"employments": jobs},
                                  headers=headers)
        assert r.status_code == 200, r.text
        # correcting the commune's own past employment of a person who left
        jobs = [e | {"end": "2015-11-30"} if e["org_unit"] == world.tree.school_a else e for e in world.former["employments"]]
        r = registry.client.patch(f"/api/v1/persons/{world.former['external_id']}", json={"employments": jobs},
                                  headers=headers)
        assert r.status_code == 200, r.text
        # a post at the commune's school
        post = {"org_unit": world.tree.school_a, "title": "Hiệu trưởng", "rank": "office_head", "key_leader": False,
                "start": "2021-01-01", "end": None}
        r = registry.client.patch(f"/api/v1/persons/{world.own['external_id']}", json={"positions": [post]}, headers=headers)
        assert r.status_code == 200, r.text
        assert stored(registry, world.dual_here)["national_id"] == "094185999999"
        assert stored(registry, world.dual_there)["employments"][1]["end"] == "2024-06-30"
        assert stored(registry, world.former)["employments"][0]["end"] == "2015-11-30"
        assert stored(registry, world.own)["positions"] == [post]
        assert stored(registry, world.outside) == world.outside

    @pytest.mark.parametrize("role", WRITERS)
    def test_closing_ends_only_the_communes_own_assignments(self, registry: Registry, world: World, role: str) -> None:
        r = registry.client.post(f"/api/v1/persons/{world.dual_here['external_id']}/close", json={"on": "2024-12-31"},
                                 headers=as_(registry, world, role))
        assert r.status_code == 200, r.text
        ends = {e["org_unit"]: e["end"] for e in stored(registry, world.dual_here)["employments"]}
        assert ends == {world.tree.school_a: "2024-12-31", world.other_agency: None}


class TestImports:
    def lines(self, world: World) -> list[Record]:
        seat = {"body": world.tree.body, "role": "secretary", "start": "2020-10-01", "end": None}
        ended = [e | {"end": "2024-12-31"} for e in world.dual_here["employments"]]
        return [
            world.dual_here | {"employments": ended},  # ends a job in another province
            world.dual_there | {"national_id": "000000000001"},  # managed elsewhere
            world.former | {"full_name": "Tên Giả Mạo"},  # left in 2015
            world.own | {"memberships": [seat]},  # a seat on the province's committee
            world.outside | {"full_name": "X"},  # outside
            world.own | {"full_name": "Nguyễn Thị Đào Mới"},  # allowed
            world.former,  # unchanged: carries the other unit's items as they are
        ]

    EXPECTED = [(1, "out_of_scope"), (2, "out_of_scope"), (3, "out_of_scope"), (4, "out_of_scope"), (5, "person_not_found")]

    @pytest.mark.parametrize("role", WRITERS)
    def test_every_line_is_checked_and_only_the_allowed_one_is_written(
            self, registry: Registry, world: World, role: str) -> None:
        since = cursor(registry)
        report = import_records(registry, "persons", self.lines(world), token=world.tokens[role])
        assert (report["updated"], report["unchanged"], report["failed"]) == (1, 1, 5), report
        assert sorted({(e["line"], e["error"]) for e in report["errors"]}) == self.EXPECTED
        fields = {(e["line"], e["field"]) for e in report["errors"]}
        assert {(1, "employments[1].org_unit"), (2, "national_id"), (3, "full_name"), (4, "memberships[0].body")} <= fields
        assert [c["key"] for c in changes_after(registry, since)] == [world.own["external_id"]]
        for p in world.persons:
            if p is not world.own:
                assert stored(registry, p) == p

    @pytest.mark.parametrize("role", WRITERS)
    def test_a_dry_run_gives_the_same_errors_and_writes_nothing(self, registry: Registry, world: World, role: str) -> None:
        since = cursor(registry)
        report = import_records(registry, "persons", self.lines(world), token=world.tokens[role], dry_run=True)
        assert sorted({(e["line"], e["error"]) for e in report["errors"]}) == self.EXPECTED
        assert_untouched(registry, world, since)

    def test_one_by_one_fallback_applies_the_same_rule(self, registry: Registry, world: World) -> None:
        """A person twice in one batch takes the record-by-record path: the same rule holds there."""
        since = cursor(registry)
        lines = [world.dual_there | {"national_id": "000000000001"}, world.dual_there | {"national_id": "000000000002"}]
        report = import_records(registry, "persons", lines, token=world.tokens["hr_officer"])
        assert [(e["line"], e["error"], e["field"]) for e in report["errors"]] == [
            (1, "out_of_scope", "national_id"), (2, "out_of_scope", "national_id")]
        assert_untouched(registry, world, since)


class TestCreation:
    def test_posting_an_existing_person_of_the_commune_is_a_409(self, registry: Registry, world: World) -> None:
        r = registry.client.post("/api/v1/persons", json=world.own, headers=as_(registry, world, "hr_officer"))
        refused(r, 409, "duplicate_external_id")

    def test_concurrent_creations_of_one_id_have_exactly_one_winner(self, registry: Registry, world: World) -> None:
        external_id = f"{world.tree.province}-{uniq('RACE')}"
        since = cursor(registry)
        answers: list[tuple[int, str]] = []

        def post(n: int) -> None:
            client = TestClient(create_app())
            record = person(external_id, world.tree.school_a, full_name=f"Người Thứ {n}")
            r = client.post("/api/v1/persons", json=record, headers={"Authorization": f"Bearer {BOOT}"})
            answers.append((r.status_code, record["full_name"]))

        threads = [threading.Thread(target=post, args=(n,)) for n in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert sorted(s for s, _n in answers) == [201] + [409] * 11, answers
        winner = next(n for s, n in answers if s == 201)
        got = get_person(registry, external_id).json()
        assert got["full_name"] == winner
        assert [(c["key"], c["op"]) for c in changes_after(registry, since)] == [(external_id, "create")]


class TestReorganisations:
    def plan(self, close: str, successor: str) -> dict[str, Any]:
        return {"name": "Sắp xếp thử", "effective": "2025-07-01",
                "close": [{"code": close, "successor": successor}]}

    def test_a_scoped_admin_cannot_preview_a_plan_of_another_commune(self, registry: Registry, world: World) -> None:
        since = cursor(registry)
        for plan in (self.plan(world.tree.station_b, world.tree.school_a),
                     self.plan(world.tree.school_a, world.other_agency)):
            r = registry.client.post("/api/v1/reorganisations", json=plan, params={"dry_run": "true"},
                                     headers=as_(registry, world, "admin"))
            errors = refused(r, 403, "out_of_scope")
            assert errors and all("outside your org units" in e["message"] for e in errors)
            for p in world.persons:
                assert p["external_id"] not in r.text
        assert_untouched(registry, world, since)

    def test_a_scoped_admin_previews_a_plan_of_its_own(self, registry: Registry, world: World) -> None:
        new = f"{world.tree.commune_a}-{uniq('M')}"
        plan = self.plan(world.tree.school_a, new) | {"create": [org_unit(new, parent=world.tree.commune_a,
                                                                          kind="school_primary", sector="education",
                                                                          valid_from="2025-07-01")]}
        r = registry.client.post("/api/v1/reorganisations", json=plan, params={"dry_run": "true"},
                                 headers=as_(registry, world, "admin"))
        assert r.status_code == 200, r.text
        moved = {m["external_id"] for m in r.json()["moves"]}
        assert moved == {world.own["external_id"], world.dual_here["external_id"], world.dual_there["external_id"]}



SCIM_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def rename(registry: Registry, route: str, record: Record, headers: dict[str, str]) -> Any:
    """One attempt to change a person's own name through `route`."""
    url = f"/api/v1/persons/{record['external_id']}"
    changed = record | {"full_name": "Tên Đã Đổi"}
    if route == "PUT":
        return registry.client.put(url, json=changed, headers=headers)
    if route == "PATCH":
        return registry.client.patch(url, json={"full_name": changed["full_name"]}, headers=headers)
    if route == "import":
        return registry.client.post("/api/v1/imports/persons", content=json.dumps(changed, ensure_ascii=False).encode(),
                                    headers=headers | {"Content-Type": "application/x-ndjson"})
    op = {"op": "replace", "path": "name.givenName", "value": "Đổi"}
    return registry.client.patch(f"/scim/v2/Users/{record['external_id']}",
                                 json={"schemas": [SCIM_PATCH], "Operations": [op]}, headers=headers)


def outcome(r: Any, route: str) -> tuple[int, str | None]:
    """(status, code) of a write; an import's single line answers with its error code (200: written)."""
    if route == "import" and r.status_code == 200:
        errors = r.json()["errors"]
        return (200, None) if not errors else (0, errors[0]["error"])
    if r.status_code < 300:
        return r.status_code, None
    body = r.json()
    return r.status_code, body.get("code") or body.get("scimType")


class TestMatrix:
    """Every write route x every role scoped to commune A x a person in, out, formerly in and managed elsewhere."""

    EXPECTED = {"own": (200, None), "outside": (404, "person_not_found"),
                "former": (403, "out_of_scope"), "dual_there": (403, "out_of_scope")}
    ROUTES = ("PUT", "PATCH", "import", "SCIM")

    @pytest.mark.parametrize("route", ROUTES)
    @pytest.mark.parametrize("role", (*WRITERS, "auditor"))
    def test_rename(self, registry: Registry, world: World, role: str, route: str) -> None:
        for who, expected in self.EXPECTED.items():
            since = cursor(registry)
            record: Record = getattr(world, who)
            got = outcome(rename(registry, route, record, as_(registry, world, role)), route)
            if role == "auditor" or (route == "SCIM" and role == "hr_officer"):
                assert got[0] == 403, (who, got)
            elif route == "import":
                assert got == ((200, None) if expected[0] == 200 else (0, expected[1])), (who, got)
            elif route == "SCIM":
                assert got[0] == expected[0], (who, got)
            else:
                assert got == expected, (who, got)
            written = changes_after(registry, since)
            if got[0] == 200:
                assert [c["key"] for c in written] == [record["external_id"]]
                create_person(registry, record)  # as it was, for the next route
            else:
                assert written == [], (who, got)
                assert stored(registry, record) == record


class TestScopedAdmin:
    """An administrator scoped to commune A is scoped in every route that is not confined to units by nature."""

    DEFINITION = {"id": "XX-2030-WS-TEST", "names": {"vi": "Tỷ lệ nữ lãnh đạo cấp phòng", "en": "Women among office leaders"},
                  "source": {"doc": "XX", "clause": "II.1"}, "source_kind": "registry", "kind": "ratio",
                  "population": {"anchors": [{"subject": "position", "where": {"field": "position.rank",
                                                                                 "in": ["office_deputy", "office_head"]}}]},
                  "share": {"field": "person.gender", "eq": "female"}, "target": {"band": [0.3, None]},
                  "deadline": "2030-12-31"}

    def test_a_scoped_admin_may_not_change_the_catalog(self, registry: Registry, world: World) -> None:
        since = cursor(registry)
        definition = self.DEFINITION | {"id": f"XX-2030-{uniq('WS')}"}
        r = registry.client.post("/api/v1/indicators", json=definition, headers=as_(registry, world, "admin"))
        refused(r, 403, "whole_tree_only")
        r = registry.client.put("/api/v1/indicators/CT-2025-LEADER-U40-LANG4", json=definition,
                                headers=as_(registry, world, "admin"))
        refused(r, 403, "whole_tree_only")
        assert registry.client.get(f"/api/v1/indicators/{definition['id']}", headers=registry.headers()).status_code == 404
        assert_untouched(registry, world, since)

    def test_runs_of_another_commune_are_neither_published_nor_read(self, registry: Registry, world: World) -> None:
        body = {"doc": "ST", "org_unit": world.tree.commune_b, "as_of": "2024-12-31"}
        r = registry.client.post("/api/v1/indicator-runs", json=body, headers=as_(registry, world, "admin"))
        refused(r, 403, "out_of_scope")
        theirs = registry.client.post("/api/v1/indicator-runs", json=body, headers=registry.headers())
        assert theirs.status_code == 201, theirs.text
        mine = registry.client.post("/api/v1/indicator-runs", json=body | {"org_unit": world.tree.commune_a},
                                    headers=as_(registry, world, "admin"))
        assert mine.status_code == 201, mine.text
        run_id, own_id = theirs.json()["id"], mine.json()["id"]
        refused(registry.client.get(f"/api/v1/indicator-runs/{run_id}", headers=as_(registry, world, "admin")),
                404, "run_not_found")
        refused(registry.client.get(f"/api/v1/indicator-runs/{own_id}/diff/{run_id}", headers=as_(registry, world, "admin")),
                404, "run_not_found")

    def test_the_feed_of_a_scoped_admin_holds_only_its_units(self, registry: Registry, world: World) -> None:
        since = cursor(registry)
        registry.client.patch(f"/api/v1/persons/{world.outside['external_id']}", json={"full_name": "Trần Thị Bích Mới"},
                              headers=registry.headers())
        registry.client.patch(f"/api/v1/persons/{world.own['external_id']}", json={"full_name": "Nguyễn Thị Đào Mới"},
                              headers=registry.headers())
        assert [c["key"] for c in changes_after(registry, since, token=world.tokens["admin"])] == [world.own["external_id"]]
        assert len(changes_after(registry, since)) == 2
