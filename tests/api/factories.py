"""Plain builders of interchange records and small org-unit trees, with keyword overrides."""

import copy
from dataclasses import dataclass
from typing import Any

from tests.conftest import Registry, uniq

Record = dict[str, Any]


def org_unit(code: str, *, parent: str | None = None, kind: str = "area", tier: str = "commune", sector: str = "state",
             name: str | None = None, valid_from: str = "2004-01-01", valid_to: str | None = None,
             ethnic_contact: bool = False) -> Record:
    """An org-unit record, under `parent` since `valid_from` (a root when no parent), every key given as a read gives it."""
    parents = [] if parent is None else [{"code": parent, "start": valid_from, "end": valid_to}]
    return {"code": code, "name": name or f"Đơn vị {code}", "kind": kind, "tier": tier, "sector": sector,
            "ethnic_contact": ethnic_contact, "valid_from": valid_from, "valid_to": valid_to, "parents": parents,
            "successors": [], "local_languages": []}


def person(external_id: str, unit: str, **overrides: Any) -> Record:
    """A complete, valid person record employed (primary, open-ended) in `unit`; overrides replace keys."""
    record: Record = {
        "external_id": external_id, "full_name": "Nguyễn Thị Đào", "birth_date": "1985-04-12", "gender": "female",
        "ethnicity": "01", "national_id": "094185000123", "party_member_since": "2010-05-19", "party_member_until": None,
        "general_education": "12/12",
        "employments": [{"org_unit": unit, "category": "vien_chuc", "occupation": "teacher_primary", "primary": True,
                         "start": "2008-09-01", "end": None}],
        "positions": [], "memberships": [],
        "degrees": [{"level": "bachelor", "field": "Giáo dục Tiểu học", "institution": "Trường Đại học Cần Thơ",
                     "country": "VN", "awarded_on": "2007-06-30"}],
        "languages": [{"language": "en", "kind": "foreign", "level": 3, "certificate": "VSTEP", "awarded_on": "2012-05-01"}],
        "political_theory": [{"level": "so_cap", "awarded_on": "2013-11-20"}],
        "state_management": [], "specialties": [], "academic_titles": [], "it_skills": [], "trainings": [],
        "separations": [], "disciplines": [],
    }
    record.update(copy.deepcopy(overrides))
    return record


def leader(external_id: str, unit: str, birth: str, gender: str = "male", **overrides: Any) -> Record:
    """A department head (cong_chuc) of `unit` meeting every row of the title standard of the post but political
    theory cao cấp (holds trung cấp; state management chuyên viên chính); overrides replace keys."""
    return person(external_id, unit, birth_date=birth, gender=gender,
                  employments=[{"org_unit": unit, "category": "cong_chuc", "occupation": "specialist",
                                "primary": True, "start": "2010-01-01", "end": None}],
                  positions=[{"org_unit": unit, "title": "Giám đốc Sở", "rank": "department_head", "key_leader": True,
                              "start": "2020-01-01", "end": None}],
                  political_theory=[{"level": "trung_cap", "awarded_on": "2015-07-01"}],
                  state_management=[{"level": "chuyen_vien_chinh", "awarded_on": "2016-01-01"}]) | overrides


@dataclass(frozen=True)
class SmallTree:
    """A province with an agency and a body, and two communes: A (with a school) and B (with a health station)."""

    province: str
    agency: str
    body: str
    commune_a: str
    school_a: str
    commune_b: str
    station_b: str

    def records(self) -> list[Record]:
        p = self.province
        return [
            org_unit(p, kind="area", tier="province", name="Tỉnh Sóc Trăng"),
            org_unit(self.agency, parent=p, kind="state_agency", tier="province", name="Sở Nội vụ"),
            org_unit(self.body, parent=p, kind="party_executive_committee", tier="province", sector="party",
                     name="Ban Chấp hành Đảng bộ tỉnh"),
            org_unit(self.commune_a, parent=p, name="Xã Tham Đôn"),
            org_unit(self.school_a, parent=self.commune_a, kind="school_primary", sector="education",
                     name="Trường Tiểu học Tham Đôn"),
            org_unit(self.commune_b, parent=p, name="Xã Đại Tâm"),
            org_unit(self.station_b, parent=self.commune_b, kind="commune_health_station", sector="health",
                     name="Trạm Y tế xã Đại Tâm"),
        ]


def small_tree(registry: Registry) -> SmallTree:
    """Create a SmallTree of fresh codes in the registry."""
    p = uniq("P")
    tree = SmallTree(p, f"{p}-SNV", f"{p}-BCH", f"{p}-A", f"{p}-A-TH", f"{p}-B", f"{p}-B-TYT")
    report = import_records(registry, "org-units", tree.records())
    assert report["errors"] == [] and report["created"] == 7, report
    return tree


def ndjson(records: list[Record]) -> str:
    from tests.fixtures.province import ndjson as dump

    return dump(records)


def import_records(registry: Registry, kind: str, records: list[Record], token: str | None = None,
                   dry_run: bool = False) -> Record:
    """Import records as JSON Lines and return the report."""
    kwargs: dict[str, Any] = {"dry_run": dry_run} | ({"token": token} if token else {})
    return registry.import_lines(kind, ndjson(records), **kwargs)


def create_person(registry: Registry, record: Record) -> Record:
    """PUT a person as the bootstrap admin; returns the stored record."""
    r = registry.client.put(f"/api/v1/persons/{record['external_id']}", json=record, headers=registry.headers())
    assert r.status_code == 200, r.text
    return dict(r.json())


def get_person(registry: Registry, external_id: str, token: str | None = None, **params: str) -> Any:
    """GET a person (the raw response)."""
    headers = registry.headers(token) if token else registry.headers()
    return registry.client.get(f"/api/v1/persons/{external_id}", headers=headers, params=params)


_cursors: dict[str, int] = {}


def cursor(registry: Registry) -> int:
    """The change feed's position now (as the bootstrap admin sees it)."""
    after = _cursors.get(registry.url, 0)
    while True:
        r = registry.client.get("/api/v1/changes", params={"after": after, "limit": 5000}, headers=registry.headers())
        assert r.status_code == 200, r.text
        body = r.json()
        if not body["changes"]:
            _cursors[registry.url] = int(body["next"])
            return int(body["next"])
        after = body["next"]


def changes_after(registry: Registry, after: int, token: str | None = None) -> list[Record]:
    """Every change after cursor `after` visible to the token."""
    headers = registry.headers(token) if token else registry.headers()
    r = registry.client.get("/api/v1/changes", params={"after": after, "limit": 5000}, headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["changes"])


def export_records(registry: Registry, kind: str, token: str | None = None, **params: str) -> list[Record]:
    """An export parsed into records."""
    import json

    headers = registry.headers(token) if token else registry.headers()
    r = registry.client.get(f"/api/v1/exports/{kind}", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return [json.loads(line) for line in r.text.splitlines()]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def person_exports(registry: Registry) -> dict[str, tuple[bytes, str]]:
    """The persons' export as JSON Lines and as CSV and XLSX with English and Vietnamese headers: name -> (body, type)."""
    bodies = {"jsonl": (registry.export("persons").encode(), "application/x-ndjson")}
    for fmt, ctype in (("csv", "text/csv"), ("xlsx", XLSX)):
        for lang in ("en", "vi"):
            r = registry.client.get("/api/v1/exports/persons", params={"format": fmt, "lang": lang},
                                    headers=registry.headers())
            assert r.status_code == 200, r.text
            bodies[f"{fmt}-{lang}"] = (r.content, ctype)
    return bodies


def assert_round_trips(fresh_registry: Any, units: list[Record], bodies: dict[str, tuple[bytes, str]], created: int) -> None:
    """Each export imported into an empty registry (with `units`) creates every person and exports the JSON Lines again."""
    expected = bodies["jsonl"][0].decode()
    for name, (body, ctype) in bodies.items():
        empty = fresh_registry()
        assert import_records(empty, "org-units", units)["errors"] == []
        r = empty.client.post("/api/v1/imports/persons", content=body, headers=empty.headers() | {"Content-Type": ctype})
        assert r.status_code == 200 and r.json()["errors"] == [] and r.json()["created"] == created, (name, r.text)
        assert empty.export("persons") == expected, name


def course(code: str, unit: str, **overrides: Any) -> Record:
    """A complete course record of `unit` that awards political theory cao cấp (the interchange example's shape)."""
    return {"code": code, "name": "Lớp Cao cấp lý luận chính trị hệ không tập trung 2026", "kind": "political_theory",
            "provider": "Học viện Chính trị khu vực IV", "org_unit": unit, "start": "2026-01-05", "end": "2026-06-30",
            "hours": 1200, "mode": "part_time", "country": "VN", "cost_per_person": 18000000, "funding": "state_budget",
            "awards": {"political_theory": {"level": "cao_cap"}}} | overrides


def enrolment(external_id: str, course_code: str, status: str, **overrides: Any) -> Record:
    """A complete enrolment record (every key, as an export gives it)."""
    return {"person": external_id, "course": course_code, "status": status, "start": "2026-01-05",
            "expected_completion": "2026-06-30", "completed_on": None, "decision": "125/QĐ-BTCTU", "cost": 18000000,
            "commitment_until": None} | overrides


def moved_person(external_id: str, tree: SmallTree) -> Record:
    """A person who taught at commune A's school until 2024-08-31 and is a nurse at commune B's station since
    (read by commune A as a former employee; managed by commune B)."""
    return person(external_id, tree.school_a, employments=[
        {"org_unit": tree.school_a, "category": "vien_chuc", "occupation": "teacher_primary", "primary": True,
         "start": "2008-09-01", "end": "2024-08-31"},
        {"org_unit": tree.station_b, "category": "vien_chuc", "occupation": "nurse", "primary": True,
         "start": "2024-09-01", "end": None}])
