"""A token scoped to one commune neither reads nor writes persons (or units, figures) of another, on every endpoint."""

from dataclasses import dataclass

import pytest

from tests.api.factories import (
    Record,
    SmallTree,
    changes_after,
    create_person,
    cursor,
    export_records,
    get_person,
    import_records,
    org_unit,
    person,
)
from tests.conftest import Registry, _bind, uniq

SENSITIVE = ("ethnicity", "national_id", "party_member_since", "party_member_until")


@dataclass(frozen=True)
class Tokens:
    """Tokens scoped to commune A, one per role, and an auditor of the whole province."""

    hr: str
    integration: str
    auditor: str
    province_auditor: str

    def of(self, role: str) -> str:
        return {"hr_officer": self.hr, "integration": self.integration, "auditor": self.auditor}[role]


@pytest.fixture(scope="module")
def tokens(tree: SmallTree, backend_db: tuple[str, str]) -> Tokens:
    backend, url = backend_db
    registry = Registry(backend, url, _bind(url))
    a = [tree.commune_a]
    return Tokens(registry.token("hr_officer", a), registry.token("integration", a), registry.token("auditor", a),
                  registry.token("auditor", [tree.province]))


@dataclass(frozen=True)
class Pair:
    """A person in commune A (in scope) and one in commune B (out of scope), freshly created."""

    a: Record
    b: Record


@pytest.fixture
def pair(registry: Registry, tree: SmallTree) -> Pair:
    tag = uniq("S")
    a = person(f"{tree.province}-{tag}-A", tree.school_a, full_name=f"Nguyễn Văn {tag} Ân")
    b = person(f"{tree.province}-{tag}-B", tree.station_b, full_name=f"Trần Thị {tag} Bích",
               employments=[{"org_unit": tree.station_b, "category": "vien_chuc", "occupation": "nurse", "primary": True,
                             "start": "2010-03-01", "end": None}])
    return Pair(create_person(registry, a), create_person(registry, b))


def stored(registry: Registry, external_id: str) -> Record:
    r = get_person(registry, external_id)
    assert r.status_code == 200, r.text
    return dict(r.json())


def auth(registry: Registry, token: str) -> dict[str, str]:
    return registry.headers(token)


WRITERS = ["hr_officer", "integration"]
READERS = ["hr_officer", "integration", "auditor"]


class TestGetPerson:
    @pytest.mark.parametrize("role", READERS)
    def test_person_of_another_commune_is_a_404_without_data(self, registry: Registry, tokens: Tokens, pair: Pair,
                                                             role: str) -> None:
        r = get_person(registry, pair.b["external_id"], tokens.of(role))
        assert r.status_code == 404
        assert r.json()["code"] == "person_not_found"
        assert pair.b["full_name"] not in r.text

    def test_past_state_of_a_person_of_another_commune_is_a_404(self, registry: Registry, tokens: Tokens, pair: Pair) -> None:
        r = get_person(registry, pair.b["external_id"], tokens.hr, known_at="2099-01-01T00:00:00Z")
        assert (r.status_code, r.json()["code"]) == (404, "person_not_found")

    @pytest.mark.parametrize("role", READERS)
    def test_person_of_own_commune_is_read(self, registry: Registry, tokens: Tokens, pair: Pair, role: str) -> None:
        r = get_person(registry, pair.a["external_id"], tokens.of(role))
        assert r.status_code == 200
        assert r.json()["full_name"] == pair.a["full_name"]


class TestPutPerson:
    @pytest.mark.parametrize("role", WRITERS)
    def test_replacing_a_person_of_another_commune_is_a_404_and_changes_nothing(
            self, registry: Registry, tokens: Tokens, pair: Pair, role: str) -> None:
        changed = pair.b | {"full_name": "Lê Văn Lộc"}
        r = registry.client.put(f"/api/v1/persons/{pair.b['external_id']}", json=changed, headers=auth(registry, tokens.of(role)))
        assert (r.status_code, r.json()["code"]) == (404, "person_not_found")
        assert stored(registry, pair.b["external_id"]) == pair.b

    def test_moving_a_person_of_another_commune_into_ones_own_is_a_404(self, registry: Registry, tree: SmallTree,
                                                                      tokens: Tokens, pair: Pair) -> None:
        hijack = pair.b | {"employments": pair.a["employments"]}
        r = registry.client.put(f"/api/v1/persons/{pair.b['external_id']}", json=hijack, headers=auth(registry, tokens.hr))
        assert (r.status_code, r.json()["code"]) == (404, "person_not_found")
        assert stored(registry, pair.b["external_id"]) == pair.b

    def test_creating_a_person_employed_in_another_commune_is_a_403(self, registry: Registry, tree: SmallTree,
                                                                    tokens: Tokens) -> None:
        record = person(f"{tree.province}-{uniq('S')}", tree.station_b)
        r = registry.client.put(f"/api/v1/persons/{record['external_id']}", json=record, headers=auth(registry, tokens.hr))
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope")
        assert get_person(registry, record["external_id"]).status_code == 404

    def test_moving_ones_own_person_wholly_to_another_commune_is_a_403(self, registry: Registry, tree: SmallTree,
                                                                       tokens: Tokens, pair: Pair) -> None:
        moved = pair.a | {"employments": pair.b["employments"]}
        r = registry.client.put(f"/api/v1/persons/{pair.a['external_id']}", json=moved, headers=auth(registry, tokens.hr))
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope")
        assert stored(registry, pair.a["external_id"]) == pair.a

    def test_replacing_ones_own_person_works(self, registry: Registry, tokens: Tokens, pair: Pair) -> None:
        changed = pair.a | {"full_name": "Nguyễn Văn Ân"}
        r = registry.client.put(f"/api/v1/persons/{pair.a['external_id']}", json=changed, headers=auth(registry, tokens.hr))
        assert r.status_code == 200
        assert stored(registry, pair.a["external_id"]) == changed


class TestPostPerson:
    @pytest.mark.parametrize("role", WRITERS)
    def test_registering_a_person_in_another_commune_is_a_403(self, registry: Registry, tree: SmallTree, tokens: Tokens,
                                                              role: str) -> None:
        record = person(f"{tree.province}-{uniq('S')}", tree.station_b)
        r = registry.client.post("/api/v1/persons", json=record, headers=auth(registry, tokens.of(role)))
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope")
        assert get_person(registry, record["external_id"]).status_code == 404

    def test_registering_an_existing_person_of_another_commune_reveals_nothing_and_changes_nothing(
            self, registry: Registry, tokens: Tokens, pair: Pair) -> None:
        r = registry.client.post("/api/v1/persons", json=pair.b | {"employments": pair.a["employments"]},
                                 headers=auth(registry, tokens.hr))
        assert r.status_code in (404, 409)
        assert pair.b["full_name"] not in r.text
        assert stored(registry, pair.b["external_id"]) == pair.b

    def test_registering_a_person_in_ones_own_commune_works(self, registry: Registry, tree: SmallTree,
                                                            tokens: Tokens) -> None:
        record = person(f"{tree.province}-{uniq('S')}", tree.school_a)
        r = registry.client.post("/api/v1/persons", json=record, headers=auth(registry, tokens.hr))
        assert r.status_code == 201
        assert stored(registry, record["external_id"]) == record


class TestPatchPerson:
    @pytest.mark.parametrize("role", WRITERS)
    def test_patching_a_person_of_another_commune_is_a_404_and_changes_nothing(
            self, registry: Registry, tokens: Tokens, pair: Pair, role: str) -> None:
        r = registry.client.patch(f"/api/v1/persons/{pair.b['external_id']}", json={"full_name": "Lê Văn Lộc"},
                                  headers=auth(registry, tokens.of(role)))
        assert (r.status_code, r.json()["code"]) == (404, "person_not_found")
        assert stored(registry, pair.b["external_id"]) == pair.b

    def test_patching_ones_own_person_out_of_the_commune_is_a_403(self, registry: Registry, tokens: Tokens,
                                                                 pair: Pair) -> None:
        r = registry.client.patch(f"/api/v1/persons/{pair.a['external_id']}", json={"employments": pair.b["employments"]},
                                  headers=auth(registry, tokens.hr))
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope")
        assert stored(registry, pair.a["external_id"]) == pair.a


class TestClosePerson:
    @pytest.mark.parametrize("role", WRITERS)
    def test_closing_a_person_of_another_commune_is_a_404_and_changes_nothing(
            self, registry: Registry, tokens: Tokens, pair: Pair, role: str) -> None:
        r = registry.client.post(f"/api/v1/persons/{pair.b['external_id']}/close", json={"on": "2024-12-31"},
                                 headers=auth(registry, tokens.of(role)))
        assert (r.status_code, r.json()["code"]) == (404, "person_not_found")
        assert stored(registry, pair.b["external_id"]) == pair.b


def in_commune_a(record: Record, tree: SmallTree) -> bool:
    return any(e["org_unit"].startswith(tree.commune_a) for e in record["employments"])


class TestListPersons:
    @pytest.mark.parametrize("role", READERS)
    def test_list_holds_only_persons_of_ones_own_commune(self, registry: Registry, tree: SmallTree, tokens: Tokens,
                                                         pair: Pair, role: str) -> None:
        items, after = [], None
        while True:
            r = registry.client.get("/api/v1/persons", params={"limit": 500} | ({"after": after} if after else {}),
                                    headers=auth(registry, tokens.of(role)))
            assert r.status_code == 200
            items += r.json()["items"]
            if (after := r.json()["next"]) is None:
                break
        ids = {p["external_id"] for p in items}
        assert pair.a["external_id"] in ids and pair.b["external_id"] not in ids
        assert all(in_commune_a(p, tree) for p in items)

    def test_filtering_by_another_commune_lists_nobody(self, registry: Registry, tree: SmallTree, tokens: Tokens,
                                                       pair: Pair) -> None:
        r = registry.client.get("/api/v1/persons", params={"org_unit": tree.commune_b}, headers=auth(registry, tokens.hr))
        assert r.status_code == 200
        assert r.json() == {"items": [], "next": None}

    def test_searching_a_name_of_another_commune_finds_nobody(self, registry: Registry, tokens: Tokens, pair: Pair) -> None:
        r = registry.client.get("/api/v1/persons", params={"q": pair.b["full_name"]}, headers=auth(registry, tokens.hr))
        assert r.status_code == 200
        assert r.json()["items"] == []


class TestExportPersons:
    @pytest.mark.parametrize("role", READERS)
    def test_export_holds_only_persons_of_ones_own_commune(self, registry: Registry, tree: SmallTree, tokens: Tokens,
                                                           pair: Pair, role: str) -> None:
        records = export_records(registry, "persons", tokens.of(role))
        ids = {p["external_id"] for p in records}
        assert pair.a["external_id"] in ids and pair.b["external_id"] not in ids
        assert all(in_commune_a(p, tree) for p in records)

    def test_unit_and_statistic_exports_hold_only_ones_own_commune(self, registry: Registry, tree: SmallTree,
                                                                   tokens: Tokens) -> None:
        import_records(registry, "statistics", [{"code": "population", "org_unit": code, "period": "2024", "value": 16_000}
                                                for code in (tree.commune_a, tree.commune_b)])
        units = {u["code"] for u in export_records(registry, "org-units", tokens.integration)}
        figures = {s["org_unit"] for s in export_records(registry, "statistics", tokens.integration)}
        assert {tree.commune_a, tree.school_a} <= units and all(c.startswith(tree.commune_a) for c in units)
        assert figures == {tree.commune_a}


class TestImportPersons:
    @pytest.mark.parametrize("role", WRITERS)
    def test_lines_for_persons_of_another_commune_are_errors_and_not_written(
            self, registry: Registry, tree: SmallTree, tokens: Tokens, pair: Pair, role: str) -> None:
        newcomer_a = person(f"{tree.province}-{uniq('S')}", tree.school_a)
        newcomer_b = person(f"{tree.province}-{uniq('S')}", tree.station_b)
        lines = [pair.a | {"full_name": "Nguyễn Văn Ân"}, pair.b | {"full_name": "Lê Văn Lộc"},
                 newcomer_b, pair.b | {"employments": pair.a["employments"]}, newcomer_a]
        report = import_records(registry, "persons", lines, token=tokens.of(role))
        assert (report["updated"], report["created"], report["failed"]) == (1, 1, 3)
        assert [(e["line"], e["external_id"], e["error"]) for e in report["errors"]] == [
            (2, pair.b["external_id"], "person_not_found"), (3, newcomer_b["external_id"], "out_of_scope"),
            (4, pair.b["external_id"], "person_not_found")]
        assert stored(registry, pair.b["external_id"]) == pair.b
        assert get_person(registry, newcomer_b["external_id"]).status_code == 404
        assert stored(registry, pair.a["external_id"])["full_name"] == "Nguyễn Văn Ân"

    def test_dry_run_reports_out_of_scope_lines_too(self, registry: Registry, tokens: Tokens, pair: Pair) -> None:
        report = import_records(registry, "persons", [pair.b], token=tokens.hr, dry_run=True)
        assert [(e["line"], e["error"]) for e in report["errors"]] == [(1, "person_not_found")]


class TestChangeFeed:
    def test_integration_token_sees_only_changes_of_its_commune(self, registry: Registry, tree: SmallTree, tokens: Tokens,
                                                               pair: Pair) -> None:
        mark = cursor(registry)
        headers = registry.headers()
        registry.client.patch(f"/api/v1/persons/{pair.a['external_id']}", json={"full_name": "Nguyễn Văn Ân"}, headers=headers)
        registry.client.patch(f"/api/v1/persons/{pair.b['external_id']}", json={"full_name": "Lê Văn Lộc"}, headers=headers)
        code = uniq("population_")
        for unit in (tree.commune_a, tree.commune_b):
            registry.client.put("/api/v1/statistics", json={"code": code, "org_unit": unit, "period": "2024", "value": 1},
                                headers=headers)
        new_b = f"{tree.commune_b}-{uniq('U')}"
        registry.client.post("/api/v1/org-units", json=org_unit(new_b, parent=tree.commune_b), headers=headers)
        seen = changes_after(registry, mark, tokens.integration)
        everything = changes_after(registry, mark)
        assert [c["key"] for c in seen] == [pair.a["external_id"], f"{code}|{tree.commune_a}|2024"]
        assert len(everything) == 5
        assert pair.b["full_name"] not in str(seen) and "Lê Văn Lộc" not in str(seen)

    def test_a_seat_in_a_body_of_the_commune_does_not_show_a_person_employed_elsewhere(
            self, registry: Registry, tree: SmallTree, tokens: Tokens, pair: Pair) -> None:
        body = f"{tree.commune_a}-{uniq('BCH')}"
        registry.client.post("/api/v1/org-units", json=org_unit(body, parent=tree.commune_a, kind="party_executive_committee",
                                                                sector="party"), headers=registry.headers())
        mark = cursor(registry)
        seat = {"body": body, "role": "member", "start": "2020-10-15", "end": None}
        r = registry.client.patch(f"/api/v1/persons/{pair.b['external_id']}", json={"memberships": [seat]},
                                  headers=registry.headers())
        assert r.status_code == 200, r.text
        assert get_person(registry, pair.b["external_id"], tokens.integration).status_code == 404
        assert changes_after(registry, mark, tokens.integration) == []

    @pytest.mark.parametrize("role", ["hr_officer", "auditor"])
    def test_feed_is_forbidden_to_roles_other_than_admin_and_integration(self, registry: Registry, tokens: Tokens,
                                                                         role: str) -> None:
        r = registry.client.get("/api/v1/changes", headers=auth(registry, tokens.of(role)))
        assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")


class TestStatisticsWrite:
    def test_recording_a_figure_of_another_commune_is_a_403(self, registry: Registry, tree: SmallTree,
                                                            tokens: Tokens) -> None:
        figure = {"code": uniq("population_"), "org_unit": tree.commune_b, "period": "2024", "value": 15_000}
        r = registry.client.put("/api/v1/statistics", json=figure, headers=auth(registry, tokens.integration))
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope")
        assert registry.client.get("/api/v1/statistics", params={"code": figure["code"]},
                                   headers=registry.headers()).json()["items"] == []

    def test_withdrawing_a_figure_of_another_commune_is_a_403(self, registry: Registry, tree: SmallTree,
                                                              tokens: Tokens) -> None:
        figure = {"code": uniq("population_"), "org_unit": tree.commune_b, "period": "2024", "value": 15_000}
        registry.client.put("/api/v1/statistics", json=figure, headers=registry.headers())
        r = registry.client.delete("/api/v1/statistics", params={k: figure[k] for k in ("code", "org_unit", "period")},
                                   headers=auth(registry, tokens.integration))
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope")
        kept = registry.client.get("/api/v1/statistics", params={"code": figure["code"]}, headers=registry.headers())
        assert kept.json()["items"] == [figure | {"source": None}]

    def test_importing_a_figure_of_another_commune_is_an_error_line(self, registry: Registry, tree: SmallTree,
                                                                    tokens: Tokens) -> None:
        code = uniq("population_")
        report = import_records(registry, "statistics", [
            {"code": code, "org_unit": unit, "period": "2024", "value": 1} for unit in (tree.commune_a, tree.commune_b)],
            token=tokens.integration)
        assert (report["created"], [(e["line"], e["error"]) for e in report["errors"]]) == (1, [(2, "out_of_scope")])

    def test_figures_of_another_commune_are_not_listed(self, registry: Registry, tree: SmallTree, tokens: Tokens) -> None:
        code = uniq("population_")
        import_records(registry, "statistics", [{"code": code, "org_unit": tree.commune_b, "period": "2024", "value": 1}])
        r = registry.client.get("/api/v1/statistics", params={"code": code}, headers=auth(registry, tokens.auditor))
        assert (r.status_code, r.json()["items"]) == (200, [])


class TestOrgUnitsWrite:
    def test_replacing_a_unit_of_another_commune_is_a_403(self, registry: Registry, tree: SmallTree, tokens: Tokens) -> None:
        before = registry.client.get(f"/api/v1/org-units/{tree.station_b}", headers=registry.headers()).json()
        r = registry.client.put(f"/api/v1/org-units/{tree.station_b}", json=before | {"name": "Trạm Y tế đã đổi tên"},
                                headers=auth(registry, tokens.integration))
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope")
        assert registry.client.get(f"/api/v1/org-units/{tree.station_b}", headers=registry.headers()).json() == before

    def test_patching_or_closing_a_unit_of_another_commune_is_a_403(self, registry: Registry, tree: SmallTree,
                                                                    tokens: Tokens) -> None:
        headers = auth(registry, tokens.integration)
        patched = registry.client.patch(f"/api/v1/org-units/{tree.commune_b}", json={"name": "Xã khác"}, headers=headers)
        closed = registry.client.post(f"/api/v1/org-units/{tree.commune_b}/close", json={"on": "2025-06-30"},
                                      headers=headers)
        assert [(r.status_code, r.json()["code"]) for r in (patched, closed)] == [(403, "out_of_scope")] * 2
        assert registry.client.get(f"/api/v1/org-units/{tree.commune_b}", headers=registry.headers()).json()["valid_to"] is None

    def test_creating_a_unit_under_another_commune_is_a_403(self, registry: Registry, tree: SmallTree,
                                                            tokens: Tokens) -> None:
        code = f"{tree.commune_b}-{uniq('U')}"
        r = registry.client.post("/api/v1/org-units", json=org_unit(code, parent=tree.commune_b),
                                 headers=auth(registry, tokens.integration))
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope")
        assert registry.client.get(f"/api/v1/org-units/{code}", headers=registry.headers()).status_code == 404

    def test_creating_a_unit_under_ones_own_commune_works(self, registry: Registry, tree: SmallTree, tokens: Tokens) -> None:
        code = f"{tree.commune_a}-{uniq('U')}"
        r = registry.client.post("/api/v1/org-units", json=org_unit(code, parent=tree.commune_a),
                                 headers=auth(registry, tokens.integration))
        assert r.status_code == 201, r.text

    def test_importing_nested_new_units_under_ones_own_commune_works(self, registry: Registry, tree: SmallTree,
                                                                      tokens: Tokens) -> None:
        school = f"{tree.commune_a}-{uniq('U')}"
        report = import_records(registry, "org-units", [
            org_unit(f"{school}-DEPT", parent=school, kind="public_service_other", sector="education"),
            org_unit(school, parent=tree.commune_a, kind="school_lower_secondary", sector="education")],
            token=tokens.integration)
        assert (report["created"], report["errors"]) == (2, [])

    def test_importing_a_unit_under_another_commune_is_an_error_line(self, registry: Registry, tree: SmallTree,
                                                                     tokens: Tokens) -> None:
        mine, theirs = f"{tree.commune_a}-{uniq('U')}", f"{tree.commune_b}-{uniq('U')}"
        report = import_records(registry, "org-units", [org_unit(mine, parent=tree.commune_a),
                                                        org_unit(theirs, parent=tree.commune_b)], token=tokens.integration)
        assert (report["created"], [(e["line"], e["error"]) for e in report["errors"]]) == (1, [(2, "out_of_scope")])

    def test_hr_officers_may_not_write_units(self, registry: Registry, tree: SmallTree, tokens: Tokens) -> None:
        r = registry.client.post("/api/v1/org-units", json=org_unit(f"{tree.commune_a}-{uniq('U')}", parent=tree.commune_a),
                                 headers=auth(registry, tokens.hr))
        assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")


class TestTokens:
    @pytest.mark.parametrize("role", READERS)
    def test_issuing_tokens_is_forbidden_to_non_admins(self, registry: Registry, tree: SmallTree, tokens: Tokens,
                                                       role: str) -> None:
        r = registry.client.post("/api/v1/tokens", json={"name": "x", "role": "admin", "org_units": []},
                                 headers=auth(registry, tokens.of(role)))
        assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
        assert "token" not in r.json()

    @pytest.mark.parametrize("role", READERS)
    def test_revoking_tokens_is_forbidden_to_non_admins(self, registry: Registry, tree: SmallTree, tokens: Tokens,
                                                        role: str) -> None:
        victim = registry.client.post("/api/v1/tokens", json={"name": uniq("t"), "role": "auditor",
                                                              "org_units": [tree.commune_a]}, headers=registry.headers())
        r = registry.client.delete(f"/api/v1/tokens/{victim.json()['id']}", headers=auth(registry, tokens.of(role)))
        assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
        still = registry.client.get("/api/v1/persons", headers=auth(registry, victim.json()["token"]))
        assert still.status_code == 200

    def test_scoped_admin_cannot_issue_a_token_beyond_its_units(self, registry: Registry, tree: SmallTree) -> None:
        admin = registry.token("admin", [tree.commune_a])
        r = registry.client.post("/api/v1/tokens", json={"name": "x", "role": "hr_officer", "org_units": [tree.commune_b]},
                                 headers=auth(registry, admin))
        assert (r.status_code, r.json()["code"]) == (422, "invalid_input")


def writes(registry: Registry, tree: SmallTree, pair: Pair) -> dict[str, tuple[str, str, Record]]:
    """One valid write of each kind on commune A: method, path and body."""
    unit = registry.client.get(f"/api/v1/org-units/{tree.commune_a}", headers=registry.headers()).json()
    a = f"/api/v1/persons/{pair.a['external_id']}"
    return {
        "put_person": ("PUT", a, pair.a | {"full_name": "Lê Văn Lộc"}),
        "post_person": ("POST", "/api/v1/persons", person(f"{tree.province}-{uniq('S')}", tree.school_a)),
        "patch_person": ("PATCH", a, {"full_name": "Lê Văn Lộc"}),
        "close_person": ("POST", f"{a}/close", {"on": "2024-12-31"}),
        "put_statistic": ("PUT", "/api/v1/statistics", {"code": "population", "org_unit": tree.commune_a, "period": "2024",
                                                        "value": 1}),
        "put_unit": ("PUT", f"/api/v1/org-units/{tree.commune_a}", unit | {"name": "Xã khác"}),
        "close_unit": ("POST", f"/api/v1/org-units/{tree.commune_a}/close", {"on": "2025-06-30"}),
    }


class TestAuditor:
    @pytest.mark.parametrize("attempt", ["put_person", "post_person", "patch_person", "close_person", "put_statistic",
                                         "put_unit", "close_unit"])
    def test_auditor_cannot_write(self, registry: Registry, tree: SmallTree, tokens: Tokens, pair: Pair,
                                  attempt: str) -> None:
        method, path, payload = writes(registry, tree, pair)[attempt]
        mark = cursor(registry)
        r = registry.client.request(method, path, json=payload, headers=auth(registry, tokens.auditor))
        assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
        assert changes_after(registry, mark) == []

    @pytest.mark.parametrize("kind", ["persons", "org-units", "statistics"])
    def test_auditor_cannot_import(self, registry: Registry, tree: SmallTree, tokens: Tokens, pair: Pair, kind: str) -> None:
        r = registry.client.post(f"/api/v1/imports/{kind}", content=b"{}\n",
                                 headers=auth(registry, tokens.auditor) | {"Content-Type": "application/x-ndjson"})
        assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")

    def test_auditor_reads_a_person_without_sensitive_fields(self, registry: Registry, tokens: Tokens, pair: Pair) -> None:
        record = get_person(registry, pair.a["external_id"], tokens.auditor).json()
        assert record["redacted"] == [*SENSITIVE, "disciplines.party"]
        assert not set(SENSITIVE) & set(record)
        assert {k: v for k, v in record.items() if k != "redacted"} == {
            k: v for k, v in pair.a.items() if k not in SENSITIVE}

    def test_auditor_lists_and_exports_persons_without_sensitive_fields(self, registry: Registry, tokens: Tokens,
                                                                        pair: Pair) -> None:
        listed = registry.client.get("/api/v1/persons", headers=auth(registry, tokens.auditor)).json()["items"]
        exported = export_records(registry, "persons", tokens.auditor)
        for records in (listed, exported):
            assert records and all("redacted" in p and not set(SENSITIVE) & set(p) for p in records)

    def test_province_auditor_reads_both_communes_redacted(self, registry: Registry, tokens: Tokens, pair: Pair) -> None:
        for external_id in (pair.a["external_id"], pair.b["external_id"]):
            r = get_person(registry, external_id, tokens.province_auditor)
            assert r.status_code == 200
            assert "national_id" not in r.json() and "redacted" in r.json()

    def test_hr_officer_reads_sensitive_fields(self, registry: Registry, tokens: Tokens, pair: Pair) -> None:
        record = get_person(registry, pair.a["external_id"], tokens.hr).json()
        assert "redacted" not in record
        assert {k: record[k] for k in SENSITIVE} == {k: pair.a[k] for k in SENSITIVE}
