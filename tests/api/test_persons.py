"""Persons over HTTP: ETags, partial updates, search, keyset paging, leaving, and one shape for every error."""

from collections.abc import Callable

import httpx
import pytest

from tests.api.factories import Record, SmallTree, create_person, get_person, org_unit, person
from tests.conftest import Registry, uniq


def new_commune(registry: Registry, tree: SmallTree) -> str:
    """A commune of its own under the tree's province, so a listing holds only this test's persons."""
    code = f"{tree.province}-{uniq('C')}"
    r = registry.client.post("/api/v1/org-units", json=org_unit(code, parent=tree.province), headers=registry.headers())
    assert r.status_code == 201, r.text
    return code


def path(record: Record) -> str:
    return f"/api/v1/persons/{record['external_id']}"


class TestETags:
    def test_get_answers_the_revision_as_etag(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, person(uniq("E"), tree.school_a))
        first = get_person(registry, record["external_id"])
        registry.client.patch(path(record), json={"full_name": "Lê Văn Lộc"}, headers=registry.headers())
        second = get_person(registry, record["external_id"])
        assert first.headers["ETag"] == '"1"' and second.headers["ETag"] == '"2"'
        assert first.json()["full_name"] != second.json()["full_name"]

    def test_put_with_a_stale_if_match_is_a_412_and_changes_nothing(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, person(uniq("E"), tree.school_a))
        stale = get_person(registry, record["external_id"]).headers["ETag"]
        registry.client.put(path(record), json=record | {"full_name": "Lê Văn Lộc"}, headers=registry.headers())
        r = registry.client.put(path(record), json=record | {"full_name": "Trần Văn Bình"},
                                headers=registry.headers() | {"If-Match": stale})
        assert (r.status_code, r.json()["code"]) == (412, "precondition_failed")
        assert get_person(registry, record["external_id"]).json()["full_name"] == "Lê Văn Lộc"

    @pytest.mark.parametrize("form", ['{}', 'W/{}'], ids=["strong", "weak"])
    def test_put_with_the_current_etag_succeeds_and_answers_the_next(self, registry: Registry, tree: SmallTree,
                                                                     form: str) -> None:
        record = create_person(registry, person(uniq("E"), tree.school_a))
        current = get_person(registry, record["external_id"]).headers["ETag"]
        r = registry.client.put(path(record), json=record | {"full_name": "Lê Văn Lộc"},
                                headers=registry.headers() | {"If-Match": form.format(current)})
        assert (r.status_code, r.headers["ETag"], r.json()["full_name"]) == (200, '"2"', "Lê Văn Lộc")

    def test_patch_and_close_with_a_stale_if_match_are_412(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, person(uniq("E"), tree.school_a))
        registry.client.patch(path(record), json={"full_name": "Lê Văn Lộc"}, headers=registry.headers())
        stale = registry.headers() | {"If-Match": '"1"'}
        patched = registry.client.patch(path(record), json={"gender": "male"}, headers=stale)
        closed = registry.client.post(f"{path(record)}/close", json={"on": "2024-12-31"}, headers=stale)
        assert [(r.status_code, r.json()["code"]) for r in (patched, closed)] == [(412, "precondition_failed")] * 2
        assert get_person(registry, record["external_id"]).json()["employments"][0]["end"] is None

    def test_if_match_on_a_person_not_yet_registered_is_a_412(self, registry: Registry, tree: SmallTree) -> None:
        record = person(uniq("E"), tree.school_a)
        r = registry.client.put(path(record), json=record, headers=registry.headers() | {"If-Match": '"1"'})
        assert (r.status_code, r.json()["code"]) == (412, "precondition_failed")
        assert get_person(registry, record["external_id"]).status_code == 404

    @pytest.mark.parametrize("value", ["abc", '"1.5"', "W/", '"-1"'])
    def test_malformed_if_match_is_a_422_naming_the_header(self, registry: Registry, tree: SmallTree, value: str) -> None:
        record = create_person(registry, person(uniq("E"), tree.school_a))
        r = registry.client.put(path(record), json=record | {"full_name": "Lê Văn Lộc"},
                                headers=registry.headers() | {"If-Match": value})
        assert (r.status_code, r.json()["code"]) == (422, "invalid_input")
        assert r.json()["errors"][0]["field"].lower().endswith("if-match")
        assert get_person(registry, record["external_id"]).json()["full_name"] == record["full_name"]


class TestPatch:
    def test_patch_keeps_the_lists_it_does_not_name(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, person(uniq("P"), tree.school_a, it_skills=[
            {"level": "basic", "certificate": "Chứng chỉ ứng dụng CNTT cơ bản", "awarded_on": "2016-05-05"}]))
        extra_degree = {"level": "master", "field": "Quản lý giáo dục", "institution": "University of Leeds", "country": "GB",
                        "awarded_on": "2019-12-20"}
        r = registry.client.patch(path(record), json={"degrees": [*record["degrees"], extra_degree]},
                                  headers=registry.headers())
        assert r.status_code == 200
        after = get_person(registry, record["external_id"]).json()
        assert after == record | {"degrees": [*record["degrees"], extra_degree]}

    def test_patch_of_a_field_keeps_every_list(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, person(uniq("P"), tree.school_a))
        registry.client.patch(path(record), json={"national_id": "094185999999"}, headers=registry.headers())
        assert get_person(registry, record["external_id"]).json() == record | {"national_id": "094185999999"}

    def test_patch_with_an_empty_list_clears_that_list(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, person(uniq("P"), tree.school_a))
        registry.client.patch(path(record), json={"languages": []}, headers=registry.headers())
        assert get_person(registry, record["external_id"]).json() == record | {"languages": []}

    def test_put_without_a_list_means_none(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, person(uniq("P"), tree.school_a))
        registry.client.put(path(record), json={k: v for k, v in record.items() if k != "degrees"}, headers=registry.headers())
        assert get_person(registry, record["external_id"]).json()["degrees"] == []

    def test_patch_of_an_unknown_person_is_a_404(self, registry: Registry) -> None:
        r = registry.client.patch(f"/api/v1/persons/{uniq('P')}", json={"full_name": "Lê Văn Lộc"}, headers=registry.headers())
        assert (r.status_code, r.json()["code"]) == (404, "person_not_found")


class TestSearch:
    @pytest.fixture
    def commune(self, registry: Registry, tree: SmallTree) -> str:
        code = new_commune(registry, tree)
        for name in ("Nguyễn Thị Đào", "Lê Văn Nguyên", "Trần Văn Bình", "Thạch Sa Rây"):
            create_person(registry, person(uniq("Q"), code, full_name=name))
        return code

    @pytest.mark.parametrize(("q", "names"), [
        ("nguyen", ["Lê Văn Nguyên", "Nguyễn Thị Đào"]),
        ("NGUYỄN THỊ", ["Nguyễn Thị Đào"]),
        ("dao", ["Nguyễn Thị Đào"]),
        ("thach sa ray", ["Thạch Sa Rây"]),
        ("van", ["Lê Văn Nguyên", "Trần Văn Bình"]),
        ("%", []),
    ])
    def test_search_ignores_case_and_diacritics(self, registry: Registry, commune: str, q: str, names: list[str]) -> None:
        r = registry.client.get("/api/v1/persons", params={"q": q, "org_unit": commune}, headers=registry.headers())
        assert r.status_code == 200
        assert sorted(p["full_name"] for p in r.json()["items"]) == names


class TestKeysetPaging:
    @pytest.fixture
    def listing(self, registry: Registry, tree: SmallTree) -> tuple[str, list[str]]:
        code = new_commune(registry, tree)
        ids = [f"{code}-{n:02d}" for n in (5, 1, 7, 3, 2, 6, 4)]
        for external_id in ids:
            create_person(registry, person(external_id, code))
        return code, sorted(ids)

    def pages(self, registry: Registry, code: str, limit: int,
              between: Callable[[], None] = lambda: None) -> list[list[str]]:
        out, after = [], None
        while True:
            params = {"org_unit": code, "limit": str(limit)} | ({"after": after} if after else {})
            r = registry.client.get("/api/v1/persons", params=params, headers=registry.headers())
            assert r.status_code == 200
            out.append([p["external_id"] for p in r.json()["items"]])
            if (after := r.json()["next"]) is None:
                return out
            between()

    def test_pages_visit_every_person_once_in_external_id_order(self, registry: Registry,
                                                                 listing: tuple[str, list[str]]) -> None:
        code, ids = listing
        pages = self.pages(registry, code, 3)
        assert [len(p) for p in pages] == [3, 3, 1]
        assert [i for page in pages for i in page] == ids

    def test_paging_twice_gives_the_same_pages(self, registry: Registry, listing: tuple[str, list[str]]) -> None:
        code, _ids = listing
        assert self.pages(registry, code, 2) == self.pages(registry, code, 2)

    def test_exact_multiple_of_the_limit_ends_without_an_empty_page(self, registry: Registry,
                                                                    listing: tuple[str, list[str]]) -> None:
        code, ids = listing
        assert self.pages(registry, code, 7) == [ids]

    def test_a_person_added_behind_the_cursor_does_not_shift_later_pages(self, registry: Registry,
                                                                         listing: tuple[str, list[str]]) -> None:
        code, ids = listing
        late = f"{code}-00"
        pages = self.pages(registry, code, 3, between=lambda: create_person(registry, person(late, code)))
        assert [i for page in pages for i in page] == ids

    @pytest.mark.parametrize("limit", ["0", "501", "x"])
    def test_limit_out_of_range_is_a_422(self, registry: Registry, limit: str) -> None:
        r = registry.client.get("/api/v1/persons", params={"limit": limit}, headers=registry.headers())
        assert (r.status_code, r.json()["code"]) == (422, "invalid_input")


class TestClose:
    def test_close_ends_employments_positions_and_memberships_on_that_day(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, person(
            uniq("L"), tree.school_a,
            employments=[
                {"org_unit": tree.school_a, "category": "vien_chuc", "occupation": "teacher_primary", "primary": True,
                 "start": "2008-09-01", "end": None},
                {"org_unit": tree.agency, "category": "cong_chuc", "occupation": "specialist", "primary": False,
                 "start": "2010-01-01", "end": "2015-12-31"},
                {"org_unit": tree.agency, "category": "hop_dong", "occupation": "other", "primary": False,
                 "start": "2020-01-01", "end": "2030-12-31"}],
            positions=[{"org_unit": tree.school_a, "title": "Hiệu trưởng", "rank": "office_head", "key_leader": False,
                        "start": "2015-09-01", "end": None}],
            memberships=[{"body": tree.body, "role": "member", "start": "2020-10-15", "end": None}]))
        r = registry.client.post(f"{path(record)}/close", json={"on": "2024-12-31"}, headers=registry.headers())
        assert r.status_code == 200, r.text
        closed = get_person(registry, record["external_id"]).json()
        assert r.json() == closed
        assert [e["end"] for e in closed["employments"]] == ["2024-12-31", "2015-12-31", "2024-12-31"]
        assert [p["end"] for p in closed["positions"]] == ["2024-12-31"]
        assert [m["end"] for m in closed["memberships"]] == ["2024-12-31"]
        assert {k: v for k, v in closed.items() if k not in ("employments", "positions", "memberships")} == {
            k: v for k, v in record.items() if k not in ("employments", "positions", "memberships")}

    def test_close_before_a_post_begins_is_a_409_and_changes_nothing(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, person(uniq("L"), tree.school_a))
        r = registry.client.post(f"{path(record)}/close", json={"on": "2005-01-01"}, headers=registry.headers())
        assert (r.status_code, r.json()["code"]) == (409, "starts_after_close")
        assert get_person(registry, record["external_id"]).json() == record

    @pytest.mark.parametrize("body", [{"on": "2024-02-30"}, {}, {"on": "2024-12-31", "reason": "x"}])
    def test_close_with_a_bad_body_is_a_422(self, registry: Registry, tree: SmallTree, body: Record) -> None:
        record = create_person(registry, person(uniq("L"), tree.school_a))
        r = registry.client.post(f"{path(record)}/close", json=body, headers=registry.headers())
        assert (r.status_code, r.json()["code"]) == (422, "invalid_input")


class TestCreate:
    def test_post_registers_and_answers_201_with_an_etag(self, registry: Registry, tree: SmallTree) -> None:
        record = person(uniq("N"), tree.school_a)
        r = registry.client.post("/api/v1/persons", json=record, headers=registry.headers())
        assert (r.status_code, r.headers["ETag"], r.json()) == (201, '"1"', record)

    def test_post_of_an_existing_external_id_is_a_409(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, person(uniq("N"), tree.school_a))
        r = registry.client.post("/api/v1/persons", json=record | {"full_name": "Lê Văn Lộc"}, headers=registry.headers())
        assert (r.status_code, r.json()["code"]) == (409, "duplicate_external_id")
        assert get_person(registry, record["external_id"]).json() == record

    def test_put_with_an_external_id_other_than_the_url_is_a_422(self, registry: Registry, tree: SmallTree) -> None:
        record = person(uniq("N"), tree.school_a)
        r = registry.client.put(f"/api/v1/persons/{uniq('N')}", json=record, headers=registry.headers())
        assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "external_id")

    def test_put_of_the_same_record_again_changes_nothing(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, person(uniq("N"), tree.school_a))
        r = registry.client.put(path(record), json=record, headers=registry.headers())
        assert (r.status_code, r.headers["ETag"]) == (200, '"1"')


def _errors(registry: Registry, tree: SmallTree) -> dict[str, tuple[int, Callable[[], httpx.Response]]]:
    c, h = registry.client, registry.headers()
    record = person(uniq("X"), tree.school_a)
    return {
        "unauthenticated": (401, lambda: c.get("/api/v1/persons")),
        "unknown_token": (401, lambda: c.get("/api/v1/persons", headers=registry.headers("nope"))),
        "role_forbidden": (403, lambda: c.post("/api/v1/tokens", json={"name": "x", "role": "admin"},
                                               headers=registry.headers(registry.token("auditor", [tree.commune_a])))),
        "person_not_found": (404, lambda: c.get(f"/api/v1/persons/{uniq('X')}", headers=h)),
        "org_unit_not_found": (404, lambda: c.get(f"/api/v1/org-units/{uniq('X')}", headers=h)),
        "not_found": (404, lambda: c.get("/api/v1/no-such-thing", headers=h)),
        "method_not_allowed": (405, lambda: c.delete("/api/v1/persons", headers=h)),
        "duplicate_external_id": (409, lambda: [c.put(path(record), json=record, headers=h),
                                                c.post("/api/v1/persons", json=record, headers=h)][1]),
        "precondition_failed": (412, lambda: c.put(path(record), json=record, headers=h | {"If-Match": '"99"'})),
        "payload_too_large": (413, lambda: c.put(path(record), content=b" " * (3 * 1024 * 1024),
                                                 headers=h | {"Content-Type": "application/json"})),
        "unsupported_media_type": (415, lambda: c.post("/api/v1/imports/persons", content=b"{}",
                                                       headers=h | {"Content-Type": "application/xml"})),
        "invalid_input": (422, lambda: c.put(path(record), json=record | {"ethnicity": "77"}, headers=h)),
    }


ERROR_CODES = ["unauthenticated", "unknown_token", "role_forbidden", "person_not_found", "org_unit_not_found",
               "not_found", "method_not_allowed", "duplicate_external_id", "precondition_failed", "payload_too_large",
               "unsupported_media_type", "invalid_input"]


class TestProblemDetails:
    @pytest.mark.parametrize("case", ERROR_CODES)
    def test_every_error_is_problem_json_with_a_stable_code(self, registry: Registry, tree: SmallTree, case: str) -> None:
        status, call = _errors(registry, tree)[case]
        code = "unauthenticated" if case == "unknown_token" else case
        r = call()
        assert r.status_code == status
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert (body["status"], body["code"], body["type"]) == (status, code, f"urn:registry:error:{code}")
        assert body["title"] and body["detail"] and body["instance"].startswith("/api/v1/")
