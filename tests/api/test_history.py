"""Reading the registry as it stood at a past moment (?known_at), after later updates."""

from typing import Any

from tests.api.factories import (
    Record,
    SmallTree,
    changes_after,
    create_person,
    cursor,
    export_records,
    get_person,
    org_unit,
    person,
)
from tests.conftest import Registry, uniq


def moment_of_last_write(registry: Registry, mark: int, key: str) -> str:
    """The transaction time of the last change to `key` after cursor `mark` (ISO 8601, UTC)."""
    times = [c["at"] for c in changes_after(registry, mark) if c["key"] == key]
    assert times, f"no change to {key} after {mark}"
    return str(times[-1])


def written(registry: Registry, record: Record, write: Any) -> str:
    """Perform `write` and return the moment it was recorded at."""
    mark = cursor(registry)
    write()
    return moment_of_last_write(registry, mark, record.get("external_id") or record["code"])


class TestPersonKnownAt:
    def test_earlier_state_is_read_back_after_put_and_patch(self, registry: Registry, tree: SmallTree) -> None:
        first = person(f"{tree.province}-{uniq('H')}", tree.school_a)
        path, headers = f"/api/v1/persons/{first['external_id']}", registry.headers()
        created_at = written(registry, first, lambda: create_person(registry, first))
        second = first | {"full_name": "Nguyễn Thị Đào Hoa", "degrees": [*first["degrees"], {
            "level": "master", "field": "Quản lý giáo dục", "institution": "Trường Đại học Cần Thơ", "country": "VN",
            "awarded_on": "2019-12-20"}]}
        replaced_at = written(registry, first, lambda: registry.client.put(path, json=second, headers=headers))
        patched_at = written(registry, first, lambda: registry.client.patch(
            path, json={"full_name": "Nguyễn Thị Đào Hạnh"}, headers=headers))

        now = get_person(registry, first["external_id"]).json()
        at_creation = get_person(registry, first["external_id"], known_at=created_at).json()
        at_replace = get_person(registry, first["external_id"], known_at=replaced_at).json()
        at_patch = get_person(registry, first["external_id"], known_at=patched_at).json()
        assert now["full_name"] == at_patch["full_name"] == "Nguyễn Thị Đào Hạnh"
        assert (at_replace["full_name"], len(at_replace["degrees"])) == ("Nguyễn Thị Đào Hoa", 2)
        assert at_creation == first

    def test_moment_before_the_person_was_recorded_is_a_404(self, registry: Registry, tree: SmallTree) -> None:
        record = person(f"{tree.province}-{uniq('H')}", tree.school_a)
        mark = cursor(registry)
        create_person(registry, record)
        r = get_person(registry, record["external_id"], known_at="2000-01-01T00:00:00Z")
        assert (r.status_code, r.json()["code"]) == (404, "person_not_found")
        assert changes_after(registry, mark)[0]["key"] == record["external_id"]

    def test_closing_keeps_the_open_employment_readable_before_the_close(self, registry: Registry, tree: SmallTree) -> None:
        record = person(f"{tree.province}-{uniq('H')}", tree.school_a)
        before = written(registry, record, lambda: create_person(registry, record))
        r = registry.client.post(f"/api/v1/persons/{record['external_id']}/close", json={"on": "2024-12-31"},
                                 headers=registry.headers())
        assert r.status_code == 200, r.text
        assert get_person(registry, record["external_id"], known_at=before).json()["employments"][0]["end"] is None
        assert get_person(registry, record["external_id"]).json()["employments"][0]["end"] == "2024-12-31"

    def test_malformed_known_at_is_a_422(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, person(f"{tree.province}-{uniq('H')}", tree.school_a))
        r = get_person(registry, record["external_id"], known_at="yesterday")
        assert (r.status_code, r.json()["code"]) == (422, "invalid_input")
        assert r.json()["errors"][0]["field"] == "query.known_at"


class TestOrgUnitKnownAt:
    def test_earlier_state_is_read_back_after_put_and_patch(self, registry: Registry, tree: SmallTree) -> None:
        code = f"{tree.commune_a}-{uniq('U')}"
        first = org_unit(code, parent=tree.commune_a, kind="school_preschool", sector="education", name="Trường Mầm non Hoa Sen")
        path, headers = f"/api/v1/org-units/{code}", registry.headers()
        created_at = written(registry, first, lambda: registry.client.post("/api/v1/org-units", json=first, headers=headers))
        moved = first | {"name": "Trường Mầm non Hoa Sen (mới)",
                         "parents": [{"code": tree.commune_a, "start": "2004-01-01", "end": "2025-06-30"},
                                     {"code": tree.commune_b, "start": "2025-07-01", "end": None}]}
        moved_at = written(registry, first, lambda: registry.client.put(path, json=moved, headers=headers))
        registry.client.patch(path, json={"ethnic_contact": True}, headers=headers)

        def at(moment: str) -> Record:
            r = registry.client.get(path, params={"known_at": moment}, headers=headers)
            assert r.status_code == 200, r.text
            return dict(r.json())

        assert at(created_at) == first
        assert at(moved_at) == moved
        now = registry.client.get(path, headers=headers).json()
        assert now == moved | {"ethnic_contact": True}

    def test_moment_before_the_unit_was_recorded_is_a_404(self, registry: Registry, tree: SmallTree) -> None:
        r = registry.client.get(f"/api/v1/org-units/{tree.commune_a}", params={"known_at": "2000-01-01T00:00:00+07:00"},
                                headers=registry.headers())
        assert (r.status_code, r.json()["code"]) == (404, "org_unit_not_found")


class TestExportKnownAt:
    def test_person_export_at_a_past_moment_has_the_earlier_record(self, registry: Registry, tree: SmallTree) -> None:
        record = person(f"{tree.province}-{uniq('H')}", tree.school_a)
        created_at = written(registry, record, lambda: create_person(registry, record))
        registry.client.patch(f"/api/v1/persons/{record['external_id']}", json={"full_name": "Lê Văn Lộc", "gender": "male"},
                              headers=registry.headers())
        token = registry.token("integration", [tree.school_a])

        def exported(**params: str) -> Record:
            found = [p for p in export_records(registry, "persons", token, **params)
                     if p["external_id"] == record["external_id"]]
            assert len(found) == 1
            return found[0]

        assert exported(known_at=created_at) == record
        assert (exported()["full_name"], exported()["gender"]) == ("Lê Văn Lộc", "male")

    def test_org_unit_and_statistic_exports_at_a_past_moment(self, registry: Registry, tree: SmallTree) -> None:
        code, statistic = f"{tree.commune_a}-{uniq('U')}", uniq("population_")
        unit = org_unit(code, parent=tree.commune_a, kind="school_primary", sector="education", name="Trường Tiểu học A")
        figure = {"code": statistic, "org_unit": tree.commune_a, "period": "2024", "value": 16_500, "source": "Cục Thống kê"}
        headers = registry.headers()
        created_at = written(registry, unit, lambda: registry.client.post("/api/v1/org-units", json=unit, headers=headers))
        mark = cursor(registry)
        assert registry.client.put("/api/v1/statistics", json=figure, headers=headers).status_code == 200
        figured_at = str(changes_after(registry, mark)[-1]["at"])
        registry.client.patch(f"/api/v1/org-units/{code}", json={"name": "Trường Tiểu học B"}, headers=headers)
        registry.client.put("/api/v1/statistics", json=figure | {"value": 16_900}, headers=headers)

        token = registry.token("integration", [tree.commune_a])
        units_then = {u["code"]: u for u in export_records(registry, "org-units", token, known_at=created_at)}
        stats_then = [s for s in export_records(registry, "statistics", token, known_at=figured_at) if s["code"] == statistic]
        stats_now = [s for s in export_records(registry, "statistics", token) if s["code"] == statistic]
        assert units_then[code]["name"] == "Trường Tiểu học A"
        assert (stats_then, stats_now) == ([figure], [figure | {"value": 16_900}])
