"""A unit's years under a parent that is not the writer's: kept as they are by scoped writers.

The 2025 reform's shape: commune X (under district D) closes on 2025-06-30; its health station S moves to the merged
commune M from 2025-07-01. S is M's today, so M's writers write it, but S's years under X are X's (and D's) past:
erasing or shortening that link, or moving `valid_from` past those years, took S out of the figures of X and D for
those years (the attack: a commune-stations figure of D went from 3/3 to 2/2). Tried with every writing role scoped
to M, by PUT, PATCH, close and imports (real and dry run); after each refusal the database's parent links and
versions are read to show that nothing changed. What a full record carries unchanged is not a change."""

import json
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app.db import normalise_url
from tests.conftest import BOOT, Registry, uniq


def _unit(code: str, tier: str, parents: list[dict[str, Any]], valid_from: str = "2004-01-01",
          valid_to: str | None = None, kind: str = "area", successors: list[str] | None = None) -> dict[str, Any]:
    return {"code": code, "name": f"Đơn vị {code}", "kind": kind, "tier": tier, "sector": "state",
            "ethnic_contact": False, "valid_from": valid_from, "valid_to": valid_to, "parents": parents,
            "successors": successors or [], "local_languages": []}


class Reform:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        p, d, x, m, s, s2 = (uniq(k) for k in ("P", "D", "X", "M", "S", "T"))
        self.p, self.d, self.x, self.m, self.s, self.s2 = p, d, x, m, s, s2
        self.station = _unit(s, "commune", [{"code": x, "start": "2004-01-01", "end": "2025-06-30"},
                                            {"code": m, "start": "2025-07-01", "end": None}], kind="state_agency")
        lines = [_unit(p, "province", []),
                 _unit(d, "district", [{"code": p, "start": "2004-01-01", "end": "2025-06-30"}], valid_to="2025-06-30"),
                 _unit(m, "commune", [{"code": p, "start": "2025-07-01", "end": None}], valid_from="2025-07-01"),
                 _unit(x, "commune", [{"code": d, "start": "2004-01-01", "end": "2025-06-30"}], valid_to="2025-06-30",
                       successors=[m]),
                 self.station,
                 _unit(s2, "commune", [{"code": m, "start": "2025-07-01", "end": None}], valid_from="2025-07-01",
                       kind="state_agency")]
        report = registry.import_lines("org-units", [json.dumps(u, ensure_ascii=False) for u in lines])
        assert report["errors"] == [], report
        self.tokens = {role: registry.token(role, [m]) for role in ("admin", "integration")}

    def state(self) -> list[tuple[Any, ...]]:
        """Every version of every parent link and every version of the units of this test."""
        engine = create_engine(normalise_url(self.registry.url))
        codes = [self.p, self.d, self.x, self.m, self.s, self.s2]
        try:
            with engine.connect() as conn:
                links = conn.execute(text(
                    "SELECT c.code, p.code, l.start_date, l.end_date, l.sys_from, l.sys_to FROM org_unit_parent l "
                    "JOIN org_unit c ON c.id = l.org_unit_id JOIN org_unit p ON p.id = l.parent_id "
                    "ORDER BY c.code, l.start_date, l.sys_from")).all()
                versions = conn.execute(text(
                    "SELECT u.code, v.name, v.valid_from, v.valid_to, v.sys_from, v.sys_to FROM org_unit_version v "
                    "JOIN org_unit u ON u.id = v.org_unit_id ORDER BY u.code, v.sys_from")).all()
                units = conn.execute(text("SELECT code, rev FROM org_unit ORDER BY code")).all()
        finally:
            engine.dispose()
        mine = set(codes)
        return ([tuple(r) for r in links if r[0] in mine] + [tuple(r) for r in versions if r[0] in mine]
                + [tuple(r) for r in units if r[0] in mine])


@pytest.fixture
def reform(registry: Registry) -> Reform:
    return Reform(registry)


def _write(reform: Reform, route: str, record: dict[str, Any], token: str = BOOT) -> tuple[int, str, list[str]]:
    """(status, code, fields of the errors) of a write of `record` by `route`; an import's line answers with its
    error code (200: written)."""
    client, headers = reform.registry.client, reform.registry.headers(token)
    if route == "PUT":
        r = client.put(f"/api/v1/org-units/{record['code']}", json=record, headers=headers)
    elif route == "PATCH":
        r = client.patch(f"/api/v1/org-units/{record['code']}", json={k: v for k, v in record.items() if k != "code"},
                         headers=headers)
    else:
        report = reform.registry.import_lines("org-units", [json.dumps(record, ensure_ascii=False)], token=token,
                                              dry_run=route == "dry run")
        if not report["errors"]:
            return 200, "", []
        codes = {e["error"] for e in report["errors"]}
        assert {e["line"] for e in report["errors"]} == {1} and len(codes) == 1, report
        return 403 if codes == {"out_of_scope"} else 422, codes.pop(), [e["field"] for e in report["errors"]]
    body = r.json()
    if r.status_code < 400:
        return r.status_code, "", []
    return r.status_code, body["code"], [e["field"] for e in body.get("errors", [])]


ROUTES = ("PUT", "PATCH", "import", "dry run")


def _erasing(reform: Reform) -> dict[str, dict[str, Any]]:
    s, x, m = reform.station, reform.x, reform.m
    under_m = {"code": m, "start": "2025-07-01", "end": None}
    return {
        "the link to the former parent removed": s | {"parents": [under_m]},
        "and valid_from moved past its years": s | {"parents": [under_m], "valid_from": "2025-07-01"},
        "the link shortened": s | {"parents": [{"code": x, "start": "2004-01-01", "end": "2015-12-31"}, under_m]},
        "the link started later": s | {"parents": [{"code": x, "start": "2019-01-01", "end": "2025-06-30"}, under_m]},
        "the years handed to the writer's unit": s | {"parents": [{"code": m, "start": "2004-01-01", "end": None}]},
        "valid_from moved into its years": s | {"valid_from": "2010-01-01",
                                                "parents": [{"code": x, "start": "2010-01-01", "end": "2025-06-30"},
                                                            under_m]},
    }


@pytest.mark.parametrize("role", ["admin", "integration"])
@pytest.mark.parametrize("route", ROUTES)
def test_a_scoped_writer_cannot_rewrite_a_units_years_under_a_parent_not_its_own(reform: Reform, role: str,
                                                                                 route: str) -> None:
    before = reform.state()
    for what, record in _erasing(reform).items():
        status, code, _fields = _write(reform, route, record, reform.tokens[role])
        assert (status, code) == (403, "out_of_scope"), (what, status, code)
        assert reform.state() == before, what


def test_the_refusal_names_the_link(reform: Reform) -> None:
    record = _erasing(reform)["the link to the former parent removed"]
    r = reform.registry.client.put(f"/api/v1/org-units/{reform.s}", json=record,
                                   headers=reform.registry.headers(reform.tokens["integration"]))
    body = r.json()
    assert (r.status_code, body["code"]) == (403, "out_of_scope"), r.text
    assert body["errors"][0]["field"] == "parents" and repr(reform.x) in body["errors"][0]["message"]


@pytest.mark.parametrize("route", ROUTES)
def test_what_a_full_record_carries_unchanged_does_not_count(reform: Reform, route: str) -> None:
    """The station's current manager sends back its record as exported, its years under X included (refused before:
    every parent a record named had to be the writer's, so M could not even send back what it exported)."""
    before = reform.state()
    status, code, _ = _write(reform, route, reform.station, reform.tokens["integration"])
    assert (status, code) == (200, ""), code
    assert reform.state() == before  # unchanged


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("change", [{"name": "Trạm Y tế xã Mới"}, {"kind": "area", "tier": "province"},
                                    {"ethnic_contact": True}, {"sector": "health"}, {"local_languages": ["km"]}])
def test_an_attribute_of_all_the_units_years_is_not_changed_past_the_writers_units(
        reform: Reform, route: str, change: dict[str, Any]) -> None:
    """The review: a name, kind, tier, sector or language holds for every year of the unit, those under X too (the
    commune-stations figure of D counts S by its kind); and M's own tier, kind or name count in P's figures. Neither
    is the writer's alone. A unit whose every year lies under the writer's units (S2) is theirs to change."""
    before = reform.state()
    for record in (reform.station | change, reform.registry.client.get(
            f"/api/v1/org-units/{reform.m}", headers=reform.registry.headers()).json() | change):
        record = {k: v for k, v in record.items() if k in reform.station}
        status, code, fields = _write(reform, route, record, reform.tokens["admin"])
        assert (status, code) == (403, "out_of_scope"), (record["code"], status, code)
        assert reform.state() == before, record["code"]
    own = {k: v for k, v in reform.registry.client.get(f"/api/v1/org-units/{reform.s2}",
                                                        headers=reform.registry.headers()).json().items()
           if k in reform.station}
    status, code, _ = _write(reform, "PUT", own | change, reform.tokens["admin"])
    assert (status, code) == (200, ""), code


def test_a_move_within_the_writers_units_is_written(reform: Reform) -> None:
    """Links under the writer's units: added, ended, changed."""
    moved = reform.station | {"parents": [reform.station["parents"][0],
                                          {"code": reform.m, "start": "2025-07-01", "end": "2025-12-31"},
                                          {"code": reform.s2, "start": "2026-01-01", "end": None}]}
    status, code, _ = _write(reform, "PUT", moved, reform.tokens["admin"])
    assert (status, code) == (200, ""), code


def test_the_whole_tree_administrator_may_correct_the_years(reform: Reform) -> None:
    record = _erasing(reform)["the link shortened"]
    status, code, _ = _write(reform, "PUT", record)
    assert (status, code) == (200, ""), code


def test_closing_before_the_writers_years_is_refused(reform: Reform) -> None:
    """A close on a day under X would end the X link early and drop the M link."""
    before = reform.state()
    r = reform.registry.client.post(f"/api/v1/org-units/{reform.s}/close", json={"on": "2020-12-31"},
                                    headers=reform.registry.headers(reform.tokens["integration"]))
    assert (r.status_code, r.json()["code"]) == (403, "out_of_scope"), r.text
    assert reform.state() == before
