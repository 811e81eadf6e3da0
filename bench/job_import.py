"""The million-person import as a job: `POST /imports/persons` with `Prefer: respond-async`, polled to the end.

    python -m bench.job_import          (make bench runs it after bench.run)

Environment:
  BENCH_JOB_SIZES    persons per run, comma-separated (default "1000000")
  BENCH_JOB_ENGINES  engines (default "postgresql"; add "sqlite" for the embedded default)
  BENCH_WORK, BENCH_OUT, BENCH_PG_ADMIN as for bench.run (generated files are reused when BENCH_WORK is kept)

For each size: a fresh database, migrated; the org units and statistics bulk-loaded (bench.load, COPY:
they are not what is measured); then the whole persons file of bench.generate is streamed to the
server as one request and taken as a job (202). The job's `GET /imports/{id}` is polled every second:
the samples (seconds, persons done, the server's resident memory) show the progress a client sees and
whether memory stays flat. Written to docs/benchmarks-import.json and docs/benchmarks-import.md.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.run import BIN, ROOT, TOKEN, Database, Server, log, machine, registry_data


def _rss(pid: int) -> int:
    proc = psutil.Process(pid)
    return proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))


def _chunks(path: Path, size: int = 1 << 20) -> Any:
    with path.open("rb") as f:
        while chunk := f.read(size):
            yield chunk


def run_one(engine: str, size: int, data: Path, work: Path) -> dict[str, Any]:
    from app.db import build_engine
    from bench import load as bulk

    res: dict[str, Any] = {"engine": engine, "persons": size, "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    db = Database(engine, work)
    spool = work / f"spool-{engine}-{size}"
    os.environ["IMPORT_SPOOL_DIR"] = str(spool)
    server = Server(db.url, work / f"server-job-{engine}-{size}.log")
    try:
        import subprocess

        subprocess.run([str(BIN / "registry"), "migrate"], env={**os.environ, "DATABASE_URL": db.url},
                       check=True, capture_output=True, cwd=str(ROOT))
        eng = build_engine(db.url)
        t0 = time.perf_counter()
        with eng.begin() as conn:
            units = bulk.load_org_units(conn, data / "org-units.jsonl", start=0)
        with eng.begin() as conn:
            stats = bulk.load_statistics(conn, data / "statistics.jsonl", stop=None)
        eng.dispose()
        db.analyze()
        res["bulk_load"] = {"org_units": units, "statistics": stats, "seconds": round(time.perf_counter() - t0, 1)}
        log(engine, size, "org units and statistics bulk-loaded", res["bulk_load"])
        server.start()
        assert server.proc is not None
        pid = server.proc.pid
        rss_idle = _rss(pid)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson", "Prefer": "respond-async"}
        t0 = time.perf_counter()
        with httpx.Client(base_url=server.base + "/api/v1", timeout=3600) as client:
            r = client.post("/imports/persons", content=_chunks(data / "persons.jsonl"), headers=headers)
            upload_s = time.perf_counter() - t0
            assert r.status_code == 202, r.text[:500]
            job_id = r.json()["id"]
            log(engine, size, "accepted as job", job_id, "after", round(upload_s, 1), "s of upload")
            samples: list[dict[str, Any]] = []
            peak = rss_idle
            while True:
                view = client.get(f"/imports/{job_id}", headers={"Authorization": f"Bearer {TOKEN}"}).json()
                rss = _rss(pid)
                peak = max(peak, rss)
                samples.append({"s": round(time.perf_counter() - t0, 1), "done": view["done"], "total": view["total"],
                                "rss_mb": round(rss / 2**20, 1)})
                if len(samples) % 30 == 1:
                    log(engine, size, "progress", samples[-1])
                if view["status"] in ("done", "failed"):
                    break
                time.sleep(1.0)
        elapsed = time.perf_counter() - t0
        res.update({
            "job_id": job_id, "status": view["status"], "message": view.get("message"),
            "lines": view["lines"], "created": view["created"], "updated": view["updated"],
            "unchanged": view["unchanged"], "failed": view["failed"], "first_errors": view["errors"][:3],
            "upload_seconds": round(upload_s, 1), "seconds": round(elapsed, 1),
            "persons_per_second": round(view["lines"] / elapsed, 1),
            "persons_per_second_after_upload": round(view["lines"] / max(elapsed - upload_s, 1e-9), 1),
            "rss_idle_mb": round(rss_idle / 2**20, 1), "peak_rss_mb": round(peak / 2**20, 1),
            "samples": samples, "database_bytes": db.size_bytes(),
        })
        res["rss_by_progress_mb"] = _rss_by_progress(samples)
        log(engine, size, "job", {k: v for k, v in res.items() if k not in ("samples",)})
    finally:
        res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        server.stop()
        db.drop()
        shutil.rmtree(spool, ignore_errors=True)
    return res


def _rss_by_progress(samples: list[dict[str, Any]]) -> dict[str, float]:
    """Resident memory when 10%, 25%, 50%, 75% and 100% of the persons were done (flat memory: about equal)."""
    out: dict[str, float] = {}
    total = max((s["total"] or 0) for s in samples) or 1
    for q in (0.10, 0.25, 0.50, 0.75, 1.0):
        hit = next((s for s in samples if s["done"] >= q * total), samples[-1])
        out[f"{int(q * 100)}%"] = hit["rss_mb"]
    return out


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# Import as a job: the million-person file",
        "",
        f"Run {results['started']} to {results.get('finished', '?')} with `python -m bench.job_import` (part of `make bench`);",
        f"{m['nproc']} cores, {m['memory_gb']} GB, PostgreSQL {m['postgresql']}, SQLite {m['sqlite']}, Python {m['python']},",
        "`registry serve` with its default workers (one per core on PostgreSQL, one on SQLite); the job runs in one of "
        "them. Org units and statistics are bulk-loaded first; the persons file of `bench.generate`",
        "is then streamed in one `POST /api/v1/imports/persons` with `Prefer: respond-async` and polled each second.",
        "",
        "| engine | persons | upload s | job s | persons/s | failed | server RSS idle → peak MB | RSS at 10/25/50/75/100 % MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for run in results["runs"]:
        if "error" in run:
            lines.append(f"| {run['engine']} | {run['persons']:,} | failed: {run['error'][:120]} | | | | | |")
            continue
        by = run["rss_by_progress_mb"]
        lines.append(
            f"| {run['engine']} | {run['lines']:,} | {run['upload_seconds']} | {run['seconds']} | "
            f"{run['persons_per_second']:,} | {run['failed']} | {run['rss_idle_mb']} → {run['peak_rss_mb']} | "
            + " / ".join(str(by[k]) for k in ("10%", "25%", "50%", "75%", "100%")) + " |")
    lines += ["", "Progress as a client saw it (every 10th sample of `GET /imports/{id}`):", ""]
    for run in results["runs"]:
        if "samples" not in run:
            continue
        lines.append(f"- {run['engine']}, {run['persons']:,} persons: " + ", ".join(
            f"{s['s']} s: {s['done']:,}/{s['total']:,} ({s['rss_mb']} MB)" for s in run["samples"][::10]))
    spread = [r["persons_per_second"] for r in results["runs"] if "persons_per_second" in r]
    if spread:
        lines += ["", f"Median over the runs: {statistics.median(spread):,} persons/s."]
    lines += ["", "Goal (issue #6): 10,000 persons/s with peak RSS under 500 MB. See docs/benchmarks.md for the",
              "shortfall and its reason.", ""]
    return "\n".join(lines)


def main() -> None:

    sizes = [int(s) for s in os.environ.get("BENCH_JOB_SIZES", "1000000").split(",") if s.strip()]
    engines = [e.strip() for e in os.environ.get("BENCH_JOB_ENGINES", "postgresql").split(",") if e.strip()]
    out_dir = Path(os.environ.get("BENCH_OUT", ROOT / "docs"))
    work_env = os.environ.get("BENCH_WORK")
    work = Path(work_env) if work_env else Path(tempfile.mkdtemp(prefix="registry-bench-job-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(), "runs": []}
    try:
        for size in sizes:
            data = registry_data(work, size)
            for engine in engines:
                try:
                    results["runs"].append(run_one(engine, size, data, work))
                except Exception as exc:  # noqa: BLE001 - record and go on
                    log("FAILED", engine, size, repr(exc))
                    results["runs"].append({"engine": engine, "persons": size, "error": repr(exc)[:1000]})
    finally:
        results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "benchmarks-import.json").write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
        (out_dir / "benchmarks-import.md").write_text(markdown(results), encoding="utf-8")
        log("wrote", out_dir / "benchmarks-import.md")
        if not work_env:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
