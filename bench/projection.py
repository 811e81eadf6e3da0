"""The projection of one indicator for every unit to 2030, and the gap for one province (issue #14, point 5).

    python -m bench.projection          (make bench runs it after bench.enrolments; `make bench-projection` alone)

Environment (all optional; BENCH_WORK, BENCH_OUT, BENCH_PG_ADMIN as for bench.run):
  BENCH_PROJ_SIZES     registry sizes in persons (default "100000"; the issue's figure is at 1000000)
  BENCH_PROJ_ENGINES   engines (default "postgresql")
  BENCH_PROJ_REPEATS   timed requests of each kind (default 3; the median is reported, the first request is
                       reported apart: it builds the statements)
  BENCH_PROJ_CODE      the indicator (default CT-2030-LEADER-U40-LANG4)
  BENCH_PROJ_URL       a database this bench loaded before, at the one size of BENCH_PROJ_SIZES: measured as it is
                       and kept (a 1M registry takes minutes to load)

Per engine and size: the national registry of bench.generate is bulk-loaded (bench.load), its courses and
one enrolment per ten persons (at most 100,000; bench.enrolments' generator: 2027's courses are planned or
under way, so they complete after D0) are imported through the API; then, against a fresh `registry serve`:

* `GET /indicators/{code}/projections` (every unit, training=expected) from D0 = 2026-12-05 to 2030-12-31:
  six dates (D0, 2026..2029-12-31, 2030-12-31);
* its floor: the engine's own one-date pass over every unit, `GET /indicators/{code}/values`, at the same six
  dates, summed (the projection adds the moves to the same statements);
* `GET /indicators/{code}/projection` for the province with the most units directly under it (with its events), and
* `GET /indicators/{code}/gap` for that province on 2030-12-31 (training=none: candidates ranked).

Written into docs/benchmarks.json (key "projection") and rendered into docs/benchmarks.md by bench.report.
The goals (issue #14): every unit under 10 s at 1M persons; the gap under 1 s.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.enrolments import _fill, generate
from bench.run import ROOT, Database, Server, api_import, env_int, log, registry_data, save_section

D0 = date(2026, 12, 5)
D1 = date(2030, 12, 31)
POINTS = [D0, date(2026, 12, 31), date(2027, 12, 31), date(2028, 12, 31), date(2029, 12, 31), D1]


def _timed(client: Any, path: str, params: dict[str, str]) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    r = client.get(path, params=params)
    seconds = time.perf_counter() - t0
    if r.status_code != 200:
        raise RuntimeError(f"{path} {params}: {r.status_code} {r.text[:500]}")
    return seconds, r.json()


def _series(client: Any, repeats: int, path: str, params: dict[str, str]) -> dict[str, Any]:
    first, body = _timed(client, path, params)
    times = [_timed(client, path, params)[0] for _ in range(repeats)]
    return {"first_seconds": round(first, 3), "seconds": [round(t, 3) for t in times],
            "median_seconds": round(statistics.median(times), 3), "body": body}


def _floor(client: Any, repeats: int, code: str) -> dict[str, Any]:
    """The one-date all-units pass at the projection's six dates, summed (first round apart, as above)."""
    def once() -> float:
        return sum(_timed(client, f"/indicators/{code}/values", {"as_of": d.isoformat()})[0] for d in POINTS)

    first = once()
    times = [once() for _ in range(repeats)]
    return {"first_seconds": round(first, 3), "seconds": [round(t, 3) for t in times],
            "median_seconds": round(statistics.median(times), 3)}


def _biggest_province(db: Database) -> str:
    """The current province with the most units directly under it (the bench's largest province)."""
    from sqlalchemy import func, select

    from app.db import build_engine
    from app.models import OrgUnit, OrgUnitParent, OrgUnitVersion

    eng = build_engine(db.url)
    try:
        with eng.connect() as conn:
            provinces = {r[0]: r[1] for r in conn.execute(
                select(OrgUnitVersion.org_unit_id, OrgUnit.code).join(OrgUnit, OrgUnit.id == OrgUnitVersion.org_unit_id)
                .where(OrgUnitVersion.tier == "province", OrgUnitVersion.kind == "area", OrgUnitVersion.sys_to.is_(None),
                       OrgUnitVersion.valid_to.is_(None)))}
            direct = {r[0]: r[1] for r in conn.execute(
                select(OrgUnitParent.parent_id, func.count())
                .where(OrgUnitParent.parent_id.in_(list(provinces)), OrgUnitParent.end_date.is_(None),
                       OrgUnitParent.sys_to.is_(None))
                .group_by(OrgUnitParent.parent_id))}
    finally:
        eng.dispose()
    return str(provinces[max(direct, key=lambda u: direct[u])])


def run_engine(engine: str, persons: int, data: Path, work: Path, repeats: int, code: str,
               loaded: str | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {"engine": engine, "persons": persons, "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    db = Database.__new__(Database) if loaded else Database(engine, work)
    if loaded:  # a registry this bench loaded before (BENCH_PROJ_URL): measured, not dropped
        db.engine, db.url = engine, loaded
    try:
        res["registry"] = {"reused": True} if loaded else _fill(db, persons, data, work)
        server = Server(db.url, work / f"server-proj-{engine}.log")
        try:
            if not loaded:
                server.start()
                res["registry"]["enrolments_api"] = api_import(server, "enrolments", data / "enrolments.jsonl", 0, None)
                server.stop()
                db.analyze()
            province = _biggest_province(db)
            res["province"] = province
            server.start()
            with server.client(timeout=3600) as client:
                span = {"from": D0.isoformat(), "to": D1.isoformat()}
                every = _series(client, repeats, f"/indicators/{code}/projections", span | {"training": "expected"})
                res["every_unit"] = {k: v for k, v in every.items() if k != "body"} | {"units": len(every["body"]["units"])}
                res["floor"] = _floor(client, repeats, code)
                one = _series(client, repeats, f"/indicators/{code}/projection",
                              span | {"org_unit": province, "training": "expected"})
                body = one.pop("body")
                res["province_projection"] = one | {"points": body["points"], "events": len(body["events"])}
                gap = _series(client, repeats, f"/indicators/{code}/gap",
                              {"org_unit": province, "from": D0.isoformat(), "as_of": D1.isoformat(), "training": "none"})
                body = gap.pop("body")
                res["province_gap"] = gap | {k: body.get(k) for k in ("numerator", "denominator", "needed",
                                                                      "candidates_count", "beyond_training")}
        finally:
            server.stop()
        res["ratio_to_floor"] = round(res["every_unit"]["median_seconds"] / res["floor"]["median_seconds"], 2)
    finally:
        res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        if not loaded:
            db.drop()
    return res


def main() -> None:

    sizes = [int(s) for s in os.environ.get("BENCH_PROJ_SIZES", "100000").split(",") if s.strip()]
    engines = [e.strip() for e in os.environ.get("BENCH_PROJ_ENGINES", "postgresql").split(",") if e.strip()]
    code = os.environ.get("BENCH_PROJ_CODE", "CT-2030-LEADER-U40-LANG4")
    out_dir = Path(os.environ.get("BENCH_OUT", ROOT / "docs"))
    work_env = os.environ.get("BENCH_WORK")
    work = Path(work_env) if work_env else Path(tempfile.mkdtemp(prefix="registry-bench-proj-"))
    results: dict[str, Any] = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "indicator": code,
                               "from": D0.isoformat(), "to": D1.isoformat(), "runs": []}
    try:
        for persons in sizes:
            data = registry_data(work, persons)
            info = generate(data, persons, min(100_000, persons // 10), env_int("BENCH_PROJ_COURSES", 300))
            log("generated", info)
            for engine in engines:
                try:
                    run = run_engine(engine, persons, data, work, env_int("BENCH_PROJ_REPEATS", 3), code,
                                     os.environ.get("BENCH_PROJ_URL"))
                    run["data"] = info
                    results["runs"].append(run)
                    log(engine, persons, {k: v for k, v in run.items() if k not in ("registry", "data")})
                except Exception as exc:  # noqa: BLE001 - record and go on
                    log("FAILED", engine, persons, repr(exc))
                    results["runs"].append({"engine": engine, "persons": persons, "error": repr(exc)[:1000]})
    finally:
        results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        write(results, out_dir)
        if not work_env:
            shutil.rmtree(work, ignore_errors=True)


def write(results: dict[str, Any], out_dir: Path) -> None:
    """Into docs/benchmarks.json beside the other runs' figures, and docs/benchmarks.md rendered again."""
    def merge(earlier: dict[str, Any]) -> dict[str, Any]:
        if os.environ.get("BENCH_PROJ_URL") and earlier.get("indicator") == results["indicator"]:
            # a run on a database loaded before measures one size: the other sizes' runs of the last full run stay
            mine = {(r["engine"], r["persons"]) for r in results["runs"]}
            kept = [r for r in earlier.get("runs", []) if (r["engine"], r["persons"]) not in mine]
            results["runs"] = sorted(kept + results["runs"], key=lambda r: (r["persons"], r["engine"]))
        return results

    save_section(out_dir, "projection", results, merge)


if __name__ == "__main__":
    main()
