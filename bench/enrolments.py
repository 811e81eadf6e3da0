"""The import of 100,000 enrolments (issue #13, point 5) against its floor, a bare COPY of the same rows.

    python -m bench.enrolments          (make bench runs it after bench.run; `make bench-enrolments` runs it alone)

Environment (all optional; BENCH_WORK, BENCH_OUT, BENCH_PG_ADMIN as for bench.run):
  BENCH_ENROL_PERSONS  persons of the registry the enrolments go into (default 100000; bulk-loaded by bench.load)
  BENCH_ENROL_LINES    enrolment lines imported (default 100000)
  BENCH_ENROL_COURSES  courses (default 300; imported through the API before, not timed)
  BENCH_ENROL_REPEATS  imports timed, each into a fresh copy of the loaded registry (default 3)
  BENCH_ENROL_ENGINES  engines (default "postgresql,sqlite")

Per engine: a registry is migrated, its org units and persons bulk-loaded (bench.load), analysed, and the
courses imported through `POST /imports/courses`; that database is the template. Each repeat takes a fresh
copy of it (PostgreSQL `CREATE DATABASE ... TEMPLATE`, SQLite a file copy) and measures on it, back to back:

* the floor: the enrolment rows and the qualification rows their completions award, written by a bare COPY
  (SQLite: one executemany per table) into the same tables with the same indexes and constraints, in one
  transaction that is then rolled back (the copy is left as it was);
* the import: the enrolments file streamed to `POST /api/v1/imports/enrolments` (JSON Lines) of a fresh
  `registry serve`, admin token; then the counts of enrolments and awarded qualifications are checked.

Written into docs/benchmarks.json (key "enrolments") and rendered into docs/benchmarks.md by bench.report.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.load import prepared, timed_copies
from bench.run import ROOT, Database, Server, api_import, bulk_registry, env_int, log, registry_data, save_section

TODAY = date(2026, 12, 5)  # enrolments in courses that end before it are finished (a fixed day: no clock)
YEARS = range(2021, 2028)
AWARDS: tuple[tuple[str, dict[str, Any] | None, int], ...] = (  # (course kind, awards, hours); None: awards nothing
    ("political_theory", {"political_theory": {"level": "cao_cap"}}, 1200),
    ("political_theory", {"political_theory": {"level": "trung_cap"}}, 720),
    ("state_management", {"state_management": {"level": "chuyen_vien_chinh"}}, 240),
    ("state_management", {"state_management": {"level": "chuyen_vien"}}, 160),
    ("foreign_language", {"languages": {"language": "en", "kind": "foreign", "level": 4}}, 400),
    ("foreign_language", {"languages": {"language": "fr", "kind": "foreign", "level": 3}}, 300),
    ("leadership_title", None, 120),
    ("knowledge_update", None, 48),
    ("specialist", None, 80),
    ("it", None, 60),
)


# ---------------------------------------------------------------- the data
def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _provinces(data: Path) -> list[str]:
    with (data / "org-units.jsonl").open(encoding="utf-8") as f:
        return [u["code"] for u in map(json.loads, f) if u.get("tier") == "province" and u["kind"] == "area"]


def generate(data: Path, persons: int, lines: int, n_courses: int, seed: int = 1) -> dict[str, Any]:
    """courses.jsonl and enrolments.jsonl under `data` (beside bench.generate's files): same arguments, same bytes."""
    rng = random.Random(seed * 104729 + 13)
    provinces = _provinces(data)
    courses = [_course(rng, i, provinces) for i in range(n_courses)]
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < min(lines, persons * n_courses):
        pairs.add((rng.randrange(persons), rng.randrange(n_courses)))
    enrolments = [_enrolment(rng, f"VN-{p + 1:07d}", courses[c]) for p, c in sorted(pairs)]
    with (data / "courses.jsonl").open("w", encoding="utf-8") as f:
        f.writelines(map(_dump, courses))
    with (data / "enrolments.jsonl").open("w", encoding="utf-8") as f:
        f.writelines(map(_dump, enrolments))
    by_status: dict[str, int] = {}
    for e in enrolments:
        by_status[e["status"]] = by_status.get(e["status"], 0) + 1
    awarding = {c["code"] for c in courses if c["awards"]}
    return {"persons": persons, "courses": len(courses), "awarding_courses": len(awarding), "enrolments": len(enrolments),
            "by_status": by_status, "awards": sum(e["status"] == "completed" and e["course"] in awarding for e in enrolments),
            "bytes": (data / "enrolments.jsonl").stat().st_size}


def _course(rng: random.Random, i: int, provinces: list[str]) -> dict[str, Any]:
    kind, awards, hours = AWARDS[i % len(AWARDS)]
    year = YEARS[(i // len(AWARDS)) % len(YEARS)]
    start = date(year, rng.choice((1, 3, 5, 9)), 1)
    end = start + timedelta(days=364 if hours >= 700 else hours // 4)
    return {"code": f"BK-{year}-{i:04d}", "name": f"Lớp bồi dưỡng số {i} năm {year}", "kind": kind,
            "provider": "Học viện Chính trị khu vực" if kind == "political_theory" else "Sở Nội vụ",
            "org_unit": provinces[i % len(provinces)], "start": _iso(start), "end": _iso(end), "hours": hours,
            "mode": rng.choice(("full_time", "part_time", "online")), "country": "VN",
            "cost_per_person": rng.choice((1_500_000, 4_000_000, 9_000_000, 18_000_000)),
            "funding": rng.choice(("state_budget", "state_budget", "unit")), "awards": awards}


def _enrolment(rng: random.Random, person: str, course: dict[str, Any]) -> dict[str, Any]:
    start, end = date.fromisoformat(course["start"]), date.fromisoformat(course["end"])
    if end < TODAY:
        status = rng.choices(("completed", "failed", "withdrawn"), weights=(60, 10, 30))[0]
    else:
        status = "enrolled" if start <= TODAY else "planned"
    return {"person": person, "course": course["code"], "status": status, "start": _iso(start),
            "expected_completion": _iso(end), "completed_on": _iso(end) if status == "completed" else None,
            "decision": f"{rng.randint(10, 999)}/QĐ-UBND", "cost": course["cost_per_person"] if rng.random() < 0.8 else None,
            "commitment_until": _iso(end.replace(year=end.year + 5)) if status == "completed" and rng.random() < 0.3
            else None}


# ---------------------------------------------------------------- the floor
def floor_rows(conn: Any, data: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The enrolment rows and the awarded qualification rows the import writes (without sys_from), by the app's rules."""
    from sqlalchemy import select

    from app.models import Person
    from app.schemas.interchange import CourseRecord, EnrolmentRecord
    from app.services import training
    from app.services.person_records import SPECS

    ids = dict(conn.execute(select(Person.external_id, Person.id)).all())
    with (data / "courses.jsonl").open(encoding="utf-8") as f:
        awards = {c["code"]: c["awards"] for c in (training.canonical_course(CourseRecord.model_validate_json(line))
                                                   for line in f)}
    enrolments, quals = [], []
    with (data / "enrolments.jsonl").open(encoding="utf-8") as f:
        for line in f:
            rec = EnrolmentRecord.model_validate_json(line)
            pid = ids[rec.person]
            enrolments.append({"person_id": pid, "course": rec.course, "status": rec.status, "start_date": rec.start,
                               "expected_completion": rec.expected_completion, "completed_on": rec.completed_on,
                               "decision": rec.decision, "cost": rec.cost, "commitment_until": rec.commitment_until})
            won = training.award_of(rec.status, rec.completed_on, rec.course, awards[rec.course])
            if won is not None:
                name, item = won
                spec = SPECS[name]
                cols = spec.to_columns({k: v for k, v in item.items() if k != training.PERSON_OWN_KEY}, {})
                quals.append({"person_id": pid, "kind": spec.qual_kind, "from_course": rec.course, **cols})
    return enrolments, quals


def measure_floor(db: Database, data: Path) -> dict[str, Any]:
    """Seconds of a bare COPY (SQLite: executemany) of the rows, in one transaction that is rolled back."""
    from sqlalchemy import insert

    from app.db import build_engine
    from app.models import Enrolment, Qualification, Txn

    eng = build_engine(db.url)
    try:
        with eng.connect() as conn:
            enrolments, quals = floor_rows(conn, data)
            conn.rollback()
            txn = conn.execute(insert(Txn).values(at=datetime.now(UTC), actor="bench-floor", source="import",
                                                  request_id=None, note="floor").returning(Txn.id)).scalar_one()
            ready = [(model, prepared(conn, model, [r | {"sys_from": txn} for r in rows]))
                     for model, rows in ((Enrolment, enrolments), (Qualification, quals))]
            seconds = timed_copies(conn, ready)  # the writes alone, the rows made ready before (as the person floor's)
    finally:
        eng.dispose()
    return {"enrolments": len(enrolments), "qualifications": len(quals), "seconds": round(seconds, 3),
            "per_second": round(len(enrolments) / seconds, 1)}


# ---------------------------------------------------------------- one engine
def _template(engine: str, persons: int, data: Path, work: Path) -> tuple[Database, dict[str, Any]]:
    """A registry with the org units, persons and courses: migrated, bulk-loaded, analysed."""

    db = Database(engine, work)
    try:
        return db, _fill(db, persons, data, work)
    except BaseException:
        db.drop()
        raise


def _fill(db: Database, persons: int, data: Path, work: Path) -> dict[str, Any]:
    info = bulk_registry(db, persons, data)
    server = Server(db.url, work / f"server-enrol-{db.engine}.log")
    try:
        server.start()
        info["courses_api"] = api_import(server, "courses", data / "courses.jsonl", 0, None)
    finally:
        server.stop()
    db.analyze()
    info["database_bytes"] = db.size_bytes()
    return info


def _copy_of(template: Database, work: Path) -> Database:
    db = Database.__new__(Database)
    db.engine = template.engine
    if template.engine == "sqlite":
        db.path = work / f"bench-copy-{os.getpid()}-{time.monotonic_ns()}.db"
        shutil.copyfile(template.path, db.path)
        db.url = f"sqlite:///{db.path}"
        return db
    db.admin, db.name = template.admin, f"{template.name}_c{time.monotonic_ns() % 10**8}"
    db._admin_exec(f'CREATE DATABASE "{db.name}" TEMPLATE "{template.name}"')
    db.dsn = f"{template.admin.rsplit('/', 1)[0]}/{db.name}"
    db.url = db.dsn.replace("postgresql://", "postgresql+psycopg://")
    return db


def _counts(db: Database) -> dict[str, int]:
    from sqlalchemy import func, select

    from app.db import build_engine
    from app.models import Change, Enrolment, Qualification

    eng = build_engine(db.url)
    try:
        with eng.connect() as conn:
            return {"enrolments": conn.scalar(select(func.count()).select_from(Enrolment)) or 0,
                    "awarded": conn.scalar(select(func.count()).where(Qualification.from_course.is_not(None),
                                                                      Qualification.sys_to.is_(None))) or 0,
                    "changes": conn.scalar(select(func.count()).select_from(Change)) or 0}
    finally:
        eng.dispose()


def repeat(template: Database, data: Path, work: Path, lines: int, i: int) -> dict[str, Any]:
    db = _copy_of(template, work)
    res: dict[str, Any] = {"loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    server = Server(db.url, work / f"server-enrol-{db.engine}-{i}.log")
    try:
        res["floor"] = measure_floor(db, data)
        before = _counts(db)
        server.start()
        res["import"] = api_import(server, "enrolments", data / "enrolments.jsonl", 0, lines)
        server.stop()
        after = _counts(db)
        res["written"] = {k: after[k] - before[k] for k in after}
        res["ratio_to_floor"] = round(res["floor"]["per_second"] / res["import"]["per_second"], 1)
    finally:
        res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        server.stop()
        db.drop()
    return res


def run_engine(engine: str, persons: int, data: Path, work: Path, lines: int, repeats: int) -> dict[str, Any]:
    res: dict[str, Any] = {"engine": engine, "persons": persons, "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    template, res["registry"] = _template(engine, persons, data, work)
    log(engine, "registry ready", res["registry"])
    try:
        res["repeats"] = []
        for i in range(repeats):
            res["repeats"].append(repeat(template, data, work, lines, i))
            log(engine, "repeat", i, res["repeats"][-1])
    finally:
        template.drop()
    rates = [r["import"]["per_second"] for r in res["repeats"]]
    floors = [r["floor"]["per_second"] for r in res["repeats"]]
    res["median_per_second"] = statistics.median(rates)
    res["median_floor_per_second"] = statistics.median(floors)
    res["ratio_to_floor"] = round(res["median_floor_per_second"] / res["median_per_second"], 1)
    res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return res


# ---------------------------------------------------------------- the run
def main() -> None:

    persons = env_int("BENCH_ENROL_PERSONS", 100000)
    lines = env_int("BENCH_ENROL_LINES", 100000)
    engines = [e.strip() for e in os.environ.get("BENCH_ENROL_ENGINES", "postgresql,sqlite").split(",") if e.strip()]
    out_dir = Path(os.environ.get("BENCH_OUT", ROOT / "docs"))
    work_env = os.environ.get("BENCH_WORK")
    work = Path(work_env) if work_env else Path(tempfile.mkdtemp(prefix="registry-bench-enrol-"))
    results: dict[str, Any] = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "runs": []}
    try:
        data = registry_data(work, persons)
        results["data"] = generate(data, persons, lines, env_int("BENCH_ENROL_COURSES", 300))
        log("generated", results["data"])
        for engine in engines:
            try:
                results["runs"].append(run_engine(engine, persons, data, work, lines, env_int("BENCH_ENROL_REPEATS", 3)))
            except Exception as exc:  # noqa: BLE001 - record and go on with the other engine
                log("FAILED", engine, repr(exc))
                results["runs"].append({"engine": engine, "persons": persons, "error": repr(exc)[:1000]})
    finally:
        results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        write(results, out_dir)
        if not work_env:
            shutil.rmtree(work, ignore_errors=True)


def write(results: dict[str, Any], out_dir: Path) -> None:
    """Into docs/benchmarks.json beside the main run's figures, and docs/benchmarks.md rendered again."""
    save_section(out_dir, "enrolments", results)


if __name__ == "__main__":
    main()
