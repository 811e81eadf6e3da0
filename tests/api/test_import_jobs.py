"""Import jobs: 202 and a job to poll, the same report as a synchronous import, progress, resume after a crash.

Also the batch write path of person imports (app.services.person_batch): updates, the change feed,
history, and its fallback to record-by-record writes when the database refuses a batch.
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.api.factories import Record, SmallTree, changes_after, cursor, get_person, ndjson, person, small_tree
from tests.api.test_imports import BAD_PERSONS, ids, leader
from tests.conftest import BOOT, Registry, uniq
from tests.live import serve

NDJSON = {"Content-Type": "application/x-ndjson"}


def _mixed_file(tree: SmallTree) -> tuple[str, int]:
    """Good records, every kind of bad record, a line that is not JSON and blank lines, interleaved."""
    goods = [leader(i, tree) for i in ids(tree, *(f"G{n}" for n in range(6)))]
    bads = []
    for external_id, bad in zip(ids(tree, *(b.name for b in BAD_PERSONS)), BAD_PERSONS, strict=True):
        record = leader(external_id, tree)
        bad.spoil(record, tree)
        bads.append(record)
    lines = [json.dumps(r, ensure_ascii=False) for r in [*goods[:3], *bads, *goods[3:]]]
    lines.insert(5, '{"external_id": "not json",')
    lines.insert(9, "")
    return "\n".join(lines) + "\n", len(goods)


def _post_job(registry: Registry, kind: str, body: str, **params: Any) -> dict[str, Any]:
    r = registry.client.post(f"/api/v1/imports/{kind}", params=params, content=body.encode(),
                             headers=registry.headers() | NDJSON | {"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    assert r.headers["Location"] == f"/api/v1/imports/{r.json()['id']}"
    assert r.headers["Preference-Applied"] == "respond-async"
    assert r.json()["status"] in ("queued", "running", "done")
    return dict(r.json())


def _wait(get: Any, job_id: int, timeout: float = 120) -> tuple[dict[str, Any], list[int]]:
    """Poll the job until it ends; its final view and every `done` seen on the way."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = get(job_id)
        seen.append(view["done"])
        if view["status"] in ("done", "failed"):
            return view, seen
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s: {view}")


def _getter(registry: Registry) -> Any:
    def get(job_id: int) -> dict[str, Any]:
        r = registry.client.get(f"/api/v1/imports/{job_id}", headers=registry.headers())
        assert r.status_code == 200, r.text
        return dict(r.json())

    return get


def _canon(item: Any) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


REPORT_KEYS = ("kind", "dry_run", "lines", "created", "updated", "unchanged", "failed", "errors")


class TestJobs:
    def test_a_job_gives_the_same_report_as_a_synchronous_import_and_writes_the_same(
            self, registry: Registry, tree: SmallTree) -> None:
        body, goods = _mixed_file(tree)
        sync_dry = registry.client.post("/api/v1/imports/persons", params={"dry_run": "true"}, content=body.encode(),
                                        headers=registry.headers() | NDJSON).json()
        mark = cursor(registry)
        job = _post_job(registry, "persons", body)
        final, seen = _wait(_getter(registry), job["id"])
        assert final["status"] == "done" and final["finished_at"] is not None
        assert {k: final[k] for k in REPORT_KEYS} == {k: sync_dry[k] for k in REPORT_KEYS} | {"dry_run": False}
        assert final["created"] == goods and final["failed"] == len(BAD_PERSONS) + 1
        assert any(e["error"] == "invalid_json" and e["line"] == 6 for e in final["errors"])
        assert final["done"] == final["total"] == final["lines"] == goods + len(BAD_PERSONS) + 1
        assert seen == sorted(seen)  # progress only moves forward
        written = {c["key"] for c in changes_after(registry, mark)}
        assert len(written) == goods and all(k.split("-")[-1].startswith("G") for k in written)

    def test_a_dry_run_job_reports_and_writes_nothing(self, registry: Registry, tree: SmallTree) -> None:
        body, goods = _mixed_file(tree)
        mark = cursor(registry)
        final, _seen = _wait(_getter(registry), _post_job(registry, "persons", body, dry_run="true")["id"])
        assert (final["status"], final["dry_run"], final["created"], final["failed"]) == (
            "done", True, goods, len(BAD_PERSONS) + 1)
        assert changes_after(registry, mark) == []

    def test_progress_is_committed_batch_by_batch(self, registry: Registry, tree: SmallTree,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
        from app.config import Settings
        from app.services import import_run

        monkeypatch.setattr(import_run, "get_settings", lambda: Settings(import_batch_size=7))
        records = [leader(i, tree) for i in ids(tree, *(f"P{n}" for n in range(40)))]
        final, seen = _wait(_getter(registry), _post_job(registry, "persons", ndjson(records))["id"])
        assert (final["status"], final["created"], final["total"]) == ("done", 40, 40)
        assert seen == sorted(seen) and set(seen) <= {0, 7, 14, 21, 28, 35, 40}

    def test_the_synchronous_import_reads_ahead_and_reports_as_a_job_does(
            self, registry: Registry, tree: SmallTree, monkeypatch: pytest.MonkeyPatch) -> None:
        """POST /imports parses each batch while the one before is written (bench F24). Batches of three here, so
        that the mixed file's good and bad lines fall in several: the report is the job's (which reads and writes
        each batch in turn), line for line; a person named again in a later batch ends as that later line says."""
        from app.api import bulk
        from app.config import Settings
        from app.services import import_run, imports

        small = Settings(import_batch_size=3)
        monkeypatch.setattr(bulk, "get_settings", lambda: small)
        monkeypatch.setattr(import_run, "get_settings", lambda: small)
        ahead: list[list[int]] = []
        real = imports.parse_batch

        def parse_batch(session: Any, kind: str, lines: list[Any], max_bytes: int) -> Any:
            ahead.append([line.number for line in lines])
            return real(session, kind, lines, max_bytes)

        monkeypatch.setattr(imports, "parse_batch", parse_batch)
        body, goods = _mixed_file(tree)
        sync_dry = registry.client.post("/api/v1/imports/persons", params={"dry_run": "true"}, content=body.encode(),
                                        headers=registry.headers() | NDJSON).json()
        assert len(ahead) == -(-sync_dry["lines"] // 3) and ahead[0] == [1, 2, 3], ahead  # every batch read ahead
        final, _seen = _wait(_getter(registry), _post_job(registry, "persons", body, dry_run="true")["id"])
        assert {k: final[k] for k in REPORT_KEYS} == {k: sync_dry[k] for k in REPORT_KEYS}
        assert sync_dry["created"] == goods and sync_dry["failed"] == len(BAD_PERSONS) + 1
        assert [e["line"] for e in sync_dry["errors"]] == sorted(e["line"] for e in sync_dry["errors"])

        first = leader(ids(tree, "TWICE")[0], tree)
        later = first | {"full_name": "Trần Thị Hai Lần"}
        fillers = [leader(i, tree) for i in ids(tree, "F1", "F2", "F3")]
        report = registry.import_lines("persons", ndjson([first, *fillers, later]).splitlines())
        assert (report["created"], report["updated"], report["errors"]) == (4, 1, []), report
        assert get_person(registry, first["external_id"]).json()["full_name"] == "Trần Thị Hai Lần"

    def test_a_batch_that_cannot_be_read_ahead_is_read_as_it_is_written(
            self, registry: Registry, tree: SmallTree, monkeypatch: pytest.MonkeyPatch) -> None:
        """Reading ahead fails (the database gone for a moment): the batch is read again by its writer, and the
        report is the one a run without reading ahead gives."""
        from app.api import bulk
        from app.config import Settings
        from app.services import import_run, imports

        small = Settings(import_batch_size=3)
        monkeypatch.setattr(bulk, "get_settings", lambda: small)
        monkeypatch.setattr(import_run, "get_settings", lambda: small)
        body, goods = _mixed_file(tree)
        before = registry.client.post("/api/v1/imports/persons", params={"dry_run": "true"}, content=body.encode(),
                                      headers=registry.headers() | NDJSON).json()
        refused: list[int] = []
        real = imports.parse_batch

        def parse_batch(session: Any, kind: str, lines: list[Any], max_bytes: int) -> Any:
            if sys._getframe(1).f_code.co_name == "parse":  # read ahead (ImportRun.parse), not by the writer
                refused.append(lines[0].number)
                session.execute(text("SELECT no_such_column FROM person"))  # fails as a database error would
            return real(session, kind, lines, max_bytes)

        monkeypatch.setattr(imports, "parse_batch", parse_batch)
        r = registry.client.post("/api/v1/imports/persons", params={"dry_run": "true"}, content=body.encode(),
                                 headers=registry.headers() | NDJSON)
        assert r.status_code == 200, r.text
        assert refused[:3] == [1, 4, 7] and len(refused) == -(-before["lines"] // 3)  # every batch, refused
        assert {k: r.json()[k] for k in REPORT_KEYS} == {k: before[k] for k in REPORT_KEYS}
        assert r.json()["created"] == goods

    def test_org_units_and_statistics_run_as_jobs_too(self, registry: Registry, tree: SmallTree) -> None:
        code = uniq("JU")
        units = [{"code": code, "name": "Xã Mới", "kind": "area", "tier": "commune", "sector": "state",
                  "ethnic_contact": False, "valid_from": "2025-07-01", "valid_to": None,
                  "parents": [{"code": tree.province, "start": "2025-07-01", "end": None}]}]
        final, _ = _wait(_getter(registry), _post_job(registry, "org-units", ndjson(units))["id"])
        assert (final["status"], final["created"], final["errors"]) == ("done", 1, [])
        stats = [{"code": "population", "org_unit": code, "period": "2025", "value": 1234, "source": "test"}]
        final, _ = _wait(_getter(registry), _post_job(registry, "statistics", ndjson(stats))["id"])
        assert (final["status"], final["created"], final["errors"]) == ("done", 1, [])

    def test_a_job_is_seen_by_its_owner_and_admins_only(self, registry: Registry, tree: SmallTree) -> None:
        job = _post_job(registry, "persons", ndjson([leader(ids(tree, "OWN")[0], tree)]))
        _wait(_getter(registry), job["id"])
        other = registry.token("integration", [tree.province])
        r = registry.client.get(f"/api/v1/imports/{job['id']}", headers=registry.headers(other))
        assert (r.status_code, r.json()["code"]) == (404, "import_not_found")

    def test_an_oversized_synchronous_body_may_still_go_as_a_job(self, registry: Registry, tree: SmallTree,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
        from app.api import bulk
        from app.config import Settings

        monkeypatch.setattr(bulk, "get_settings", lambda: Settings(max_body_bytes=1000, import_async_bytes=1500))
        records = [leader(i, tree) for i in ids(tree, "B1", "B2", "B3")]
        body = ndjson(records).encode()
        assert len(body) > 1500
        r = registry.client.post("/api/v1/imports/persons", content=body, headers=registry.headers() | NDJSON)
        assert r.status_code == 202, r.text  # over IMPORT_ASYNC_BYTES: a job, without asking
        final, _ = _wait(_getter(registry), r.json()["id"])
        assert final["created"] == 3


class TestBatchPath:
    def test_a_batch_of_creates_updates_and_unchanged_writes_what_one_by_one_would(
            self, registry: Registry, tree: SmallTree) -> None:
        first = [leader(i, tree) for i in ids(tree, *(f"U{n}" for n in range(12)))]
        assert registry.import_lines("persons", [json.dumps(r, ensure_ascii=False) for r in first])["created"] == 12
        before = {r["external_id"]: get_person(registry, r["external_id"]).json() for r in first}
        moment = datetime.now(UTC).isoformat()
        time.sleep(0.01)
        changed = []
        for n, r in enumerate(first[:6]):
            r = json.loads(json.dumps(r))
            if n % 3 == 0:
                r["full_name"] = "Lê Thị Hồng"  # a version change only
            elif n % 3 == 1:
                r["degrees"] = []  # a nested row retired
                r["languages"].append({"language": "fr", "kind": "foreign", "level": 2, "certificate": None,
                                       "awarded_on": "2019-01-01"})
            else:
                r["positions"][0]["end"] = "2024-12-31"  # a nested row replaced
            changed.append(r)
        new = [leader(i, tree) for i in ids(tree, "N1", "N2")]
        mark = cursor(registry)
        report = registry.import_lines("persons", [json.dumps(r, ensure_ascii=False) for r in [*changed, *first[6:], *new]])
        assert (report["created"], report["updated"], report["unchanged"], report["errors"]) == (2, 6, 6, [])
        for r in [*changed, *new]:
            got = get_person(registry, r["external_id"]).json()
            for k, v in r.items():
                if isinstance(v, list):
                    assert sorted(got[k], key=_canon) == sorted(v, key=_canon), (r["external_id"], k)
                else:
                    assert got[k] == v, (r["external_id"], k)
        for r in changed:
            then = registry.client.get(f"/api/v1/persons/{r['external_id']}", params={"known_at": moment},
                                       headers=registry.headers())
            assert then.json() == before[r["external_id"]]
            assert get_person(registry, r["external_id"]).headers["ETag"] == '"2"'
        feed = changes_after(registry, mark)
        assert [(c["key"], c["op"]) for c in feed] == [(r["external_id"], "update") for r in changed] + [
            (r["external_id"], "create") for r in new]
        verify = registry.client.get("/api/v1/audit/verify", headers=registry.headers()).json()
        assert verify == {"intact": True, "findings": [], "unsealed": 0}

    def test_a_batch_the_database_refuses_is_written_record_by_record(
            self, registry: Registry, tree: SmallTree, monkeypatch: pytest.MonkeyPatch) -> None:
        from app.services import person_batch

        real = person_batch._apply
        calls = {"n": 0}

        def refusing(*args: Any, **kwargs: Any) -> None:
            calls["n"] += 1
            real(*args, **kwargs)  # the rows are written, then the database refuses: all of them must go
            raise IntegrityError("INSERT ...", {}, Exception("simulated refusal"))

        monkeypatch.setattr(person_batch, "_apply", refusing)
        records = [leader(i, tree) for i in ids(tree, *(f"R{n}" for n in range(5)))]
        mark = cursor(registry)
        report = registry.import_lines("persons", [json.dumps(r, ensure_ascii=False) for r in records])
        assert calls["n"] == 1
        assert (report["created"], report["errors"]) == (5, [])
        feed = changes_after(registry, mark)
        assert sorted(c["key"] for c in feed) == sorted(r["external_id"] for r in records)  # once each
        for r in records:
            assert len(get_person(registry, r["external_id"]).json()["degrees"]) == 1

    def test_a_person_twice_in_one_batch_is_written_in_line_order(self, registry: Registry, tree: SmallTree) -> None:
        external_id = ids(tree, "TWICE")[0]
        first, second = leader(external_id, tree), leader(external_id, tree) | {"full_name": "Võ Văn Kiệt"}
        report = registry.import_lines("persons", [json.dumps(first), json.dumps(second)])
        assert (report["created"], report["updated"]) == (1, 1)
        assert get_person(registry, external_id).json()["full_name"] == "Võ Văn Kiệt"


class TestAnalyzeAsItGrows:
    """A long import analyzes the tables it made stale as it goes, after 1,000 lines, 2,000, 4,000... (bench F22).

    Scaled down here: batches of 5 lines, the first analysis after 10. The real `imports.analyze` runs (on
    PostgreSQL it analyzes the stale tables; on SQLite none is ever stale); the test records when.
    """

    def _run(self, fresh_registry: Any, monkeypatch: pytest.MonkeyPatch, n: int,
             dry_run: bool = False) -> list[tuple[int, bool]]:
        from app.config import get_settings
        from app.services import import_run, imports

        registry = fresh_registry()  # a new registry: its first persons make its tables stale
        tree = small_tree(registry)

        monkeypatch.setattr(get_settings(), "import_batch_size", 5)
        monkeypatch.setattr(import_run, "ANALYZE_AFTER", 10)
        calls: list[tuple[int, bool]] = []
        real = imports.analyze
        stale: list[tuple[str, ...]] = []

        def analyze(session: Any, kind: str, *, only_stale: bool = False) -> None:
            calls.append((done[0], only_stale))
            stale.append(imports.stale_tables(session, imports.ANALYZED[kind]))
            real(session, kind, only_stale=only_stale)
            if stale[-1]:  # analyzed now: each has statistics (its counts of changes reach pg_stat a moment later)
                never = session.execute(text("SELECT relname FROM pg_class WHERE relname = ANY(:t) AND reltuples < 0"),
                                        {"t": list(stale[-1])}).scalars().all()
                assert never == [], never

        done = [0]  # lines written when the analysis runs
        real_write = import_run.ImportRun._in_session

        def write(self: Any, *args: Any) -> None:
            real_write(self, *args)
            done[0] = self.report.lines

        monkeypatch.setattr(imports, "analyze", analyze)
        monkeypatch.setattr(import_run.ImportRun, "_in_session", write)
        records = [leader(i, tree) for i in ids(tree, *(f"A{k}" for k in range(n)))]
        report = registry.import_lines("persons", ndjson(records).splitlines(), dry_run=dry_run)
        assert (report["created"], report["errors"]) == (n, []), report
        if registry.backend == "postgres" and not dry_run:
            assert "person" in stale[0] and "qualification" in stale[0], stale  # the first 10 persons made them stale
        return calls

    def test_analyses_after_10_20_40_lines_then_at_the_end(self, fresh_registry: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
        # batches end at 5, 10, ... 45: the first at or past 10, 20, 40 analyze; the end analyzes every table
        assert self._run(fresh_registry, monkeypatch, 45) == [(10, True), (20, True), (40, True), (45, False)]

    def test_the_end_analyzes_every_table_only_after_a_tenth_of_the_table(self, fresh_registry: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
        """Every table is analyzed at the end of an import that wrote at least a tenth as many persons as the registry
        held before it; after a smaller one only the stale tables are (bench F24)."""
        from app.config import get_settings
        from app.db import get_session_factory
        from app.services import import_run, imports

        registry = fresh_registry()
        tree = small_tree(registry)
        monkeypatch.setattr(get_settings(), "import_batch_size", 5)
        monkeypatch.setattr(import_run, "ANALYZE_AFTER", 5)
        calls: list[bool] = []
        real = imports.analyze

        def analyze(session: Any, kind: str, *, only_stale: bool = False) -> None:
            calls.append(only_stale)
            real(session, kind, only_stale=only_stale)

        monkeypatch.setattr(imports, "analyze", analyze)

        def at_the_end(tag: str, n: int) -> bool:
            calls.clear()
            records = [leader(i, tree) for i in ids(tree, *(f"{tag}{k}" for k in range(n)))]
            report = registry.import_lines("persons", ndjson(records).splitlines())
            assert (report["created"], report["errors"]) == (n, []), report
            return calls[-1]

        def persons() -> float:
            with get_session_factory()() as session:
                return imports.table_rows(session, "person")

        held = persons()
        assert held < 10
        assert at_the_end("B", 100) is False  # into a registry of `held` persons: every table
        assert at_the_end("C", 9) is True  # 9 into 100 + held: the stale ones
        assert at_the_end("D", 12) is False  # 12 into 109 + held: every table
        assert persons() == 121 + held  # PostgreSQL's estimate, after D analyzed every table of 121 persons: exact

    def test_a_dry_run_analyzes_nothing(self, fresh_registry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        assert self._run(fresh_registry, monkeypatch, 25, dry_run=True) == []

    def test_an_analysis_refused_midway_loses_nothing(self, registry: Registry, tree: SmallTree,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
        """A lock timeout (another ANALYZE, a VACUUM) in the middle: the run goes on, every line written and reported."""
        from sqlalchemy.exc import OperationalError

        from app.config import get_settings
        from app.services import import_run, imports

        monkeypatch.setattr(get_settings(), "import_batch_size", 5)
        monkeypatch.setattr(import_run, "ANALYZE_AFTER", 10)
        refused: list[bool] = []
        real = imports.analyze

        def analyze(session: Any, kind: str, *, only_stale: bool = False) -> None:
            if only_stale and not refused:
                refused.append(True)
                raise OperationalError("ANALYZE", {}, Exception("canceling statement due to lock timeout"))
            real(session, kind, only_stale=only_stale)

        monkeypatch.setattr(imports, "analyze", analyze)
        records = [leader(i, tree) for i in ids(tree, *(f"R{k}" for k in range(25)))]
        report = registry.import_lines("persons", ndjson(records).splitlines())
        assert refused == [True]
        assert (report["created"], report["errors"]) == (25, []), report
        assert {get_person(registry, r["external_id"]).status_code for r in records} == {200}


def _many(tree: SmallTree, n: int) -> tuple[str, list[str]]:
    tag = uniq("K")
    records: list[Record] = [person(f"{tree.province}-{tag}-{i:05d}", tree.school_a,
                                    full_name=f"Phạm Văn {i}", national_id=None) for i in range(n)]
    return ndjson(records), [r["external_id"] for r in records]


HANG_AFTER = """
import os, time
from app.services import import_run
_real, _calls = import_run.ImportRun.batch, {"n": 0}
def _hanging(self, *args, **kwargs):
    _calls["n"] += 1
    if _calls["n"] > int(os.environ["HANG_AFTER_BATCHES"]):
        # stuck between batches (outside any transaction, so SQLite readers are not held up): killed here.
        # A kill inside a batch's open transaction is tests/security/test_faults.py's.
        time.sleep(3600)
    return _real(self, *args, **kwargs)
import_run.ImportRun.batch = _hanging
"""


def test_a_job_killed_midway_resumes_from_its_last_batch_in_a_new_server(
        registry: Registry, tree: SmallTree, tmp_path: Path) -> None:
    """kill -9 the server while a job runs; a new server resumes it: every person once, counts exact."""
    body, keys = _many(tree, 2000)
    mark = cursor(registry)
    spool, hook = tmp_path / "spool", tmp_path / "hook"
    spool.mkdir()
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HANG_AFTER, encoding="utf-8")  # fault injection into the first server only
    env = {"IMPORT_BATCH_SIZE": "50", "IMPORT_JOB_LEASE_SECONDS": "2", "IMPORT_JOB_POLL_SECONDS": "0.5",
           "IMPORT_SPOOL_DIR": str(spool), "RATE_LIMIT_PER_MINUTE": "0"}
    headers = {"Authorization": f"Bearer {BOOT}"}
    with serve(registry.url, BOOT, **env, HANG_AFTER_BATCHES="10",
               PYTHONPATH=os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")])) as live:
        assert live.proc is not None
        r = httpx.post(f"{live.base}/api/v1/imports/persons", content=body.encode(), timeout=60,
                       headers=headers | NDJSON | {"Prefer": "respond-async"})
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            view = httpx.get(f"{live.base}/api/v1/imports/{job_id}", headers=headers).json()
            if view["done"] >= 500:
                break
            time.sleep(0.05)
        time.sleep(0.5)  # the runner is stuck before its 11th batch
        os.kill(live.proc.pid, signal.SIGKILL)
        live.proc.wait(timeout=10)
    mid = registry.client.get(f"/api/v1/imports/{job_id}", headers=registry.headers()).json()
    assert (mid["status"], mid["done"], mid["total"], mid["created"]) == ("running", 500, 2000, 500), mid
    assert list(spool.iterdir()), "the spooled input is kept for the resume"
    with serve(registry.url, BOOT, **env) as live:
        final, _seen = _wait(lambda j: httpx.get(f"{live.base}/api/v1/imports/{j}", headers=headers).json(), job_id)
    assert final["status"] == "done", final
    assert (final["created"], final["updated"], final["unchanged"], final["failed"]) == (2000, 0, 0, 0)
    assert final["done"] == final["total"] == 2000
    assert not list(spool.iterdir()), "the spooled input is removed once the job is done"
    exported = [json.loads(line) for line in registry.export("persons").splitlines()]
    mine = [p["external_id"] for p in exported if p["external_id"] in set(keys)]
    assert sorted(mine) == sorted(keys)  # every person once
    feed = [(c["key"], c["op"]) for c in changes_after(registry, mark) if c["entity"] == "person"]
    assert sorted(feed) == sorted((k, "create") for k in keys)  # one change per person: the lost batch left none


def test_registry_jobs_resume_runs_a_stale_job_from_the_command_line(registry: Registry, tree: SmallTree,
                                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.db import get_session_factory
    from app.models import ImportJob
    from app.services import jobs
    from app.services.context import Actor

    # this test process runs a server whose reaper resumes stale jobs too: kept from this one, so that the command
    # line is what resumes it (under load the reaper could win the race, and the command would find nothing)
    monkeypatch.setattr(jobs, "stale", lambda session: [])

    body, keys = _many(tree, 120)
    source = tmp_path / "stale.jsonl"
    source.write_text(body, encoding="utf-8")
    with get_session_factory().begin() as session:
        job = jobs.create(session, Actor(name="hr", role="admin"), "persons", False, "jsonl", source, 120)
        job.heartbeat_at = datetime.now(UTC) - timedelta(hours=1)  # its runner died an hour ago
        session.flush()
        job_id = job.id
    done = subprocess.run([sys.executable, "-m", "app.cli", "jobs", "resume"], capture_output=True, timeout=300,
                          env=os.environ | {"DATABASE_URL": registry.url}, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert {"job": job_id, "resumed": True} in [json.loads(x) for x in done.stdout.decode().splitlines()]
    with get_session_factory()() as session:
        finished = session.get(ImportJob, job_id)
        assert finished is not None
        assert (finished.status, finished.counts["created"], finished.source_path) == ("done", 120, None)
    assert get_person(registry, keys[-1]).status_code == 200
    assert not source.exists()


@pytest.mark.parametrize(("content_type", "body", "code"), [
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04 not a workbook", "invalid_xlsx"),
    ("text/csv", "\ufeffexternal_id,full_name\n".encode("utf-16"), "invalid_encoding"),
])
def test_a_job_whose_spreadsheet_cannot_be_read_fails_with_the_reason(registry: Registry, content_type: str, body: bytes,
                                                                      code: str) -> None:
    since = cursor(registry)
    r = registry.client.post("/api/v1/imports/persons", content=body,
                             headers=registry.headers() | {"Content-Type": content_type, "Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    view, _seen = _wait(lambda i: registry.client.get(f"/api/v1/imports/{i}", headers=registry.headers()).json(),
                        r.json()["id"])
    assert (view["status"], view["code"]) == ("failed", code), view
    assert view["message"] and "unexpected" not in view["message"]
    assert changes_after(registry, since) == []
