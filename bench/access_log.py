"""Reads of named persons against reads without sensitive fields, under the same wrk load (issue #15).

    python -m bench.access_log          (make bench runs it; `make bench-access-log` alone)

Environment (all optional; BENCH_WORK, BENCH_OUT, BENCH_PG_ADMIN, BENCH_CLIENTS, BENCH_LOAD_SECONDS as for bench.run):
  BENCH_LOG_SIZES    registry sizes in persons (default "100000")
  BENCH_LOG_ROUNDS   rounds of the pair of loads, in alternating order (default 2; medians are reported)

Per size, on PostgreSQL: the national registry of bench.generate is bulk-loaded (bench.load) and one
`registry serve` (as many workers as cores, its default) answers wrk's `GET /persons/{id}` (random among
2,000 ids, `BENCH_CLIENTS` connections) with two tokens in turn:

* **named**: an admin token. Every answer holds the person's sensitive fields, so each request appends an
  access-log entry and, when no sealer is at work, seals what is pending (app/services/audit.py);
* **floor**: an auditor of the whole tree. The same person's record, without the sensitive fields, and no
  access-log entry.

* **commune_officer**: an HR officer of the commune with the most persons (sensitive fields, logged), reading
  persons of that commune; **province_auditor**: an auditor of its province, reading persons of the province:
  the scoped callers of the GET-person goal, whose reach is cached per tree version (app/services/tree.py);
* **asgi_floor**: the GET-person goal's floor, `bench/floor.py` under uvicorn with as many workers: a plain ASGI
  endpoint reading the same rows with psycopg and answering the same JSON as the service answers an admin
  (compared for every 20th id of the load before it; the bench stops if one differs).

The goals: named at least 80% of the whole-tree auditor's throughput (the access log's cost); each of named,
commune_officer and province_auditor at least half the ASGI floor's throughput with a p99 under 100 ms.
During each load, pg_stat_activity is sampled every 0.2 s for sessions waiting on a lock (an advisory lock
would be the sealer's). After the loads, what is still unsealed is counted, the server's background sealer
is waited for, and `registry audit verify` checks the access log's chain (the bulk loader writes the change
feed without its chain).
Written into docs/benchmarks.json (key "access_log") and rendered into docs/benchmarks.md by bench.report.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.run import (
    BIN,
    ROOT,
    TOKEN,
    Database,
    Server,
    _write_ids,
    bulk_registry,
    env_int,
    load_test,
    log,
    registry_data,
    save_section,
)


def _roots(data: Path) -> list[str]:
    with (data / "org-units.jsonl").open(encoding="utf-8") as f:
        return [u["code"] for u in map(json.loads, f) if not u.get("parents")]


def _scopes(data: Path, work: Path, count: int = 2000) -> dict[str, tuple[str, Path]]:
    """The commune (area) with the most persons under it today, and its province: each unit with a file of the ids
    of up to `count` persons under it (by their current primary employment and the current tree)."""
    with (data / "org-units.jsonl").open(encoding="utf-8") as f:
        units = {u["code"]: u for u in map(json.loads, f) if u.get("valid_to") is None}

    def chain(code: str | None) -> list[str]:
        out: list[str] = []
        while code in units and code not in out:
            out.append(code)
            code = next((p["code"] for p in units[code]["parents"] if p.get("end") is None), None)
        return out

    def area(code: str, tier: str) -> bool:
        return units[code]["tier"] == tier and units[code]["kind"] == "area"

    under: dict[str, list[str]] = {}
    with (data / "persons.jsonl").open(encoding="utf-8") as f:
        for person in map(json.loads, f):
            job = next((e for e in person.get("employments", []) if e.get("primary") and e.get("end") is None), None)
            for code in chain(job["org_unit"]) if job else []:
                if area(code, "commune") or area(code, "province"):
                    under.setdefault(code, []).append(person["external_id"])
    commune = max((c for c in under if area(c, "commune")), key=lambda c: len(under[c]))
    province = next(c for c in chain(commune) if area(c, "province"))
    scopes = {}
    for name, code in (("commune", commune), ("province", province)):
        path = work / f"ids-{name}.txt"
        ids = under[code]
        path.write_text("\n".join(ids[:: max(1, len(ids) // count)][:count]) + "\n")
        scopes[name] = (code, path)
    return scopes


class LockWaits:
    """Samples of pg_stat_activity: sessions of this database waiting on a lock, by wait event."""

    def __init__(self, dsn: str):
        self.dsn, self.samples, self.waiting = dsn, 0, {}  # type: ignore[var-annotated]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.wait(0.2):
                self.samples += 1
                for event, count in conn.execute(
                        "SELECT wait_event, count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() GROUP BY wait_event"):
                    self.waiting[event] = self.waiting.get(event, 0) + count

    def __enter__(self) -> LockWaits:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def worker_cpu(server: Server) -> list[float]:
    """CPU seconds so far of each worker process of `server` (its children; the process itself when it has none)."""
    import psutil

    assert server.proc is not None
    parent = psutil.Process(server.proc.pid)
    procs = parent.children(recursive=True) or [parent]
    return [sum(p.cpu_times()[:2]) for p in procs]


def busiest_share(before: list[float], after: list[float]) -> float | None:
    """The share of a load's CPU that its busiest worker used (1/N when the workers shared it evenly, 1.0 when one
    worker took every connection: bench/findings.md F28)."""
    used = [b - a for a, b in zip(before, after, strict=False)]
    return round(max(used) / sum(used), 2) if len(used) > 1 and sum(used) > 0 else None


def floor_command() -> list[str]:
    """The floor of the GET-person goal (bench/floor.py) under uvicorn, as many workers as `registry serve` runs and
    started the same way (app.serving.run: a socket per worker on Linux, F28), so that neither side runs on one core
    when the other spreads its connections."""
    from app.cli import default_workers

    return [str(BIN / "python"), "-c", "import sys; from app import serving; serving.run('bench.floor:app', "
            "host='127.0.0.1', port=int(sys.argv[1]), workers=int(sys.argv[2]), access_log=False, log_level='warning')",
            "{port}", str(default_workers(sqlite=False))]


def same_json(server: Server, floor: Server, ids_file: Path, every: int = 20) -> dict[str, Any]:
    """The floor answers what the service answers an admin, for every `every`-th id of the load (else the bench stops)."""
    ids = ids_file.read_text().split()[::every]
    differ = []
    with server.client() as api, httpx.Client(base_url=floor.base, timeout=60) as bare:
        for external_id in ids:
            if api.get(f"/persons/{external_id}").json() != bare.get(f"/api/v1/persons/{external_id}").json():
                differ.append(external_id)
    if differ:
        raise RuntimeError(f"the ASGI floor does not answer what the service answers for {differ[:5]}")
    return {"compared": len(ids), "differ": 0}


_ANSWER = re.compile(rb'" (\d{3}) ')  # uvicorn's access log: ... "GET /api/v1/persons/VN-0000001 HTTP/1.1" 200 OK


def _statuses(log_path: Path, start: int) -> dict[str, int]:
    """The answers other than 2xx that the server logged after byte `start` of its log, by status (wrk counts them
    without saying which: a 429 of the rate limit is not a 500). Empty for a server that logs no access (the floor)."""
    if not log_path.exists():
        return {}
    with log_path.open("rb") as f:
        f.seek(start)
        found = Counter(m.group(1).decode() for m in _ANSWER.finditer(f.read()))
    return {status: n for status, n in sorted(found.items()) if not status.startswith("2")}


def _sum_statuses(parts: Any) -> dict[str, int]:
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return dict(sorted(total.items()))


def _unsealed(dsn: str) -> tuple[int, int]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FILTER (WHERE seq IS NULL), count(*) FROM access_log").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def run_size(persons: int, data: Path, work: Path) -> dict[str, Any]:
    res: dict[str, Any] = {"engine": "postgresql", "persons": persons,
                           "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    db = Database("postgresql", work)
    dsn = db.url.replace("postgresql+psycopg://", "postgresql://")
    try:
        res["registry"] = bulk_registry(db, persons, data)
        server = Server(db.url, work / f"server-log-{persons}.log")
        floor: Server | None = None
        server.start()
        try:
            with server.client() as client:
                r = client.post("/tokens", json={"name": "bench-auditor", "role": "auditor", "org_units": _roots(data)})
                r.raise_for_status()
                auditor = r.json()["token"]
                scopes = _scopes(data, work)
                officer = client.post("/tokens", json={"name": "bench-commune-officer", "role": "hr_officer",
                                                       "org_units": [scopes["commune"][0]]}).json()["token"]
                province_auditor = client.post("/tokens", json={"name": "bench-province-auditor", "role": "auditor",
                                                                "org_units": [scopes["province"][0]]}).json()["token"]
            res["scopes"] = {name: code for name, (code, _path) in scopes.items()}
            ids_file = work / f"ids-{persons}.txt"
            _write_ids(data / "persons.jsonl", ids_file, persons)
            clients, seconds = env_int("BENCH_CLIENTS", 32), env_int("BENCH_LOAD_SECONDS", 15)
            floor = Server(db.url, work / f"floor-log-{persons}.log", floor_command())
            floor.start()
            res["asgi_floor_same_json"] = same_json(server, floor, ids_file)
            modes = {"named": (server, TOKEN, ids_file), "floor": (server, auditor, ids_file),
                     "commune_officer": (server, officer, scopes["commune"][1]),
                     "province_auditor": (server, province_auditor, scopes["province"][1]),
                     "asgi_floor": (floor, "none", ids_file)}
            for where, token, ids in modes.values():  # warm every path before measuring
                load_test(where, ids, "one", 3, clients, work, token=token)
            runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
            waits: dict[str, int] = {}
            samples = 0
            for round_ in range(env_int("BENCH_LOG_ROUNDS", 2)):
                order = list(modes) if round_ % 2 == 0 else list(reversed(modes))
                for mode in order:
                    where, token, ids = modes[mode]
                    logged = where.log_path.stat().st_size if where.log_path.exists() else 0
                    cpu_before = worker_cpu(where)
                    with LockWaits(dsn) as sampler:
                        out = load_test(where, ids, "one", seconds, clients, work, token=token)
                    out["busiest_worker_share"] = busiest_share(cpu_before, worker_cpu(where))
                    out["statuses"] = _statuses(where.log_path, logged)
                    samples += sampler.samples
                    for event, count in sampler.waiting.items():
                        waits[f"{mode}:{event}"] = waits.get(f"{mode}:{event}", 0) + count
                    runs[mode].append(out)
                    log("access log", persons, mode, out)
            res["runs"] = runs
            for mode in runs:
                ok = [r for r in runs[mode] if "throughput_rps" in r]
                if ok:
                    res[mode] = {"throughput_rps": round(statistics.median(r["throughput_rps"] for r in ok), 1),
                                 "p99_ms": round(statistics.median(r["p99_ms"] for r in ok), 1),
                                 "p50_ms": round(statistics.median(r["p50_ms"] for r in ok), 1),
                                 "errors": sum(r["errors_status"] + r["errors_timeout"] for r in ok),
                                 "busiest_worker_share": [r.get("busiest_worker_share") for r in ok]}
            if "named" in res and "floor" in res:
                res["ratio"] = round(res["named"]["throughput_rps"] / res["floor"]["throughput_rps"], 3)
            if "asgi_floor" in res:
                res["ratio_to_asgi_floor"] = {mode: round(res[mode]["throughput_rps"] / res["asgi_floor"]["throughput_rps"], 3)
                                              for mode in ("named", "commune_officer", "province_auditor") if mode in res}
            res["lock_wait_samples"] = {"samples": samples, "waiting_sessions_by_event": waits}
            res["errors_by_mode"] = {m: sum(r.get("errors_status", 0) for r in runs[m]) for m in runs}
            res["statuses_by_mode"] = {m: _sum_statuses(r.get("statuses", {}) for r in runs[m]) for m in runs}
            res["unsealed_after_load"], res["entries"] = _unsealed(dsn)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _unsealed(dsn)[0]:
                time.sleep(0.2)
            res["unsealed_after_sealer"] = _unsealed(dsn)[0]
        finally:
            server.stop()
            if floor is not None:
                floor.stop()
        t0 = time.perf_counter()
        verify = subprocess.run([str(BIN / "registry"), "audit", "verify"], env={**os.environ, "DATABASE_URL": db.url},
                                capture_output=True, text=True, cwd=str(ROOT), check=False)
        # the bulk loader writes the change feed without its chain (bench/load.py): only the access log is judged
        found = [line for line in verify.stderr.splitlines() if line.startswith("FAIL access_log")]
        res["verify"] = {"seconds": round(time.perf_counter() - t0, 1), "access_log_findings": len(found),
                         "said": "\n".join(found[:5]) or verify.stdout.strip()[-300:]}
    finally:
        res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        db.drop()
    return res


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_LOG_SIZES", "100000").split(",") if s.strip()]
    out_dir = Path(os.environ.get("BENCH_OUT", ROOT / "docs"))
    work_env = os.environ.get("BENCH_WORK")
    work = Path(work_env) if work_env else Path(tempfile.mkdtemp(prefix="registry-bench-log-"))
    results: dict[str, Any] = {"started": datetime.now(UTC).isoformat(timespec="seconds"),
                               "clients": env_int("BENCH_CLIENTS", 32), "seconds": env_int("BENCH_LOAD_SECONDS", 15),
                               "cores": os.cpu_count(), "runs": []}
    try:
        for persons in sizes:
            data = registry_data(work, persons)
            try:
                results["runs"].append(run_size(persons, data, work))
            except Exception as exc:  # noqa: BLE001 - record and go on
                log("FAILED", persons, repr(exc))
                results["runs"].append({"engine": "postgresql", "persons": persons, "error": repr(exc)[:1000]})
    finally:
        results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        save_section(out_dir, "access_log", results)
        if not work_env:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
