"""Every statement of the catalog against its hand-written twin, on a generated registry (issue #15).

    make bench-twins            (BENCH_TWINS_SIZES=100000; BENCH_TWINS_REPEATS=5; BENCH_WORK keeps the data)

For each size, a registry of bench.generate is loaded into a new PostgreSQL database (bench.load: units,
statistics, persons; then ANALYZE), and a `registry serve` with `INDICATOR_ANSWER_CACHE=0` answers. Each
indicator of the catalog (the qualitative ones have no statement) is asked, and its twin run, for the sample
units of bench.generate before the reform, at its last year-end and after it (answers compared); then, at the
old province on 2024-12-31, the engine's statements (as `GET /indicators/{code}/sql` shows them, binds inlined)
and the twin are each run `BENCH_TWINS_REPEATS` times on a connection that never prepares (uncached: both
planned every time). The figures go into docs/benchmarks.json under `twins`, and docs/benchmarks.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.run import ROOT, Database, Server, bulk_registry, env_int, log, registry_data, save_section
from bench.twins import check


def run_size(persons: int, data: Path, work: Path, repeats: int) -> dict[str, Any]:
    res: dict[str, Any] = {"engine": "postgresql", "persons": persons,
                           "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    db = Database("postgresql", work)
    try:
        res["registry"] = bulk_registry(db, persons, data, statistics=True)
        log("twins", persons, "loaded", res["registry"])
        server = Server(db.url, work / f"server-twins-{persons}.log", env={"INDICATOR_ANSWER_CACHE": "0"})
        server.start()
        try:
            # the timed pair first (old province, 2024-12-31), then the other units and dates for the answers
            roots = ["P94"] + [r for r in check.ROOTS if r != "P94"]
            dates = [date(2024, 12, 31)] + [d for d in check.DATES if d != date(2024, 12, 31)]
            if persons >= 1_000_000:  # an engine question takes seconds there: the timed pair only
                roots, dates = roots[:1], dates[:1]
            with server.client() as client:
                res |= check.check_with(client, {}, db.url, None, roots, dates, repeats=repeats, prefix="",
                                        log=lambda line: log("twins", persons, line))
        finally:
            server.stop()
    finally:
        res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        db.drop()
    return res


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_TWINS_SIZES", "100000").split(",") if s.strip()]
    out_dir = Path(os.environ.get("BENCH_OUT", ROOT / "docs"))
    work_env = os.environ.get("BENCH_WORK")
    work = Path(work_env) if work_env else Path(tempfile.mkdtemp(prefix="registry-bench-twins-"))
    results: dict[str, Any] = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "cores": os.cpu_count(),
                               "repeats": env_int("BENCH_TWINS_REPEATS", 5), "runs": []}
    try:
        for persons in sizes:
            data = registry_data(work, persons)
            try:
                results["runs"].append(run_size(persons, data, work, results["repeats"]))
            except Exception as exc:  # noqa: BLE001 - record and go on
                log("FAILED", persons, repr(exc))
                results["runs"].append({"engine": "postgresql", "persons": persons, "error": repr(exc)[:1000]})
    finally:
        results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        save_section(out_dir, "twins", results)
        if not work_env:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
