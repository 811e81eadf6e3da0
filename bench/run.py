"""The benchmark suite (`make bench`): generate, load, serve, measure, write docs/benchmarks.{json,md}.

Environment (all optional):
  BENCH_SIZES        persons per run, comma-separated (default "10000,100000"; "1000000" for the national scale)
  BENCH_SQLITE_MAX   largest size also run on SQLite (default 100000)
  BENCH_PG_ADMIN     admin URL of the PostgreSQL server (default postgresql://postgres@127.0.0.1:5432/postgres);
                     the bench creates its own database there and drops it at the end
  BENCH_API_PERSONS  persons imported through the HTTP API at every size (default 2000; the rest is bulk-loaded)
  BENCH_API_UNITS    org-unit lines imported through the HTTP API (default 600)
  BENCH_LOAD_SECONDS duration of each wrk run (default 15), BENCH_CLIENTS concurrent clients (default 32)
  BENCH_RESTARTS     server restarts for cold figures (default 3)
  BENCH_REPEATS      warm repetitions of each timed call (default 10)
  BENCH_CATALOG_BUDGET  seconds allowed for the whole-catalog pass per engine and size (default 300)
  BENCH_EXPORT_SECONDS  the persons export is read for at most this long (default 60)
  BENCH_WORK         where generated files and SQLite databases go (default: a fresh temp dir, removed after)
  BENCH_OUT          output directory (default docs/)

Every request goes to 127.0.0.1; every loop is bounded in count and in time.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = "bench-" + uuid.uuid4().hex
D_OLD = date(2024, 12, 31)
D_NEW = date(2025, 12, 31)
SINGLE = ("ST-2025-PD-STAFF-POSTGRAD", "CT-2030-WOMEN-PARTY-COMMITTEE", "ST-2025-DOCTORS-PER-10K")


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def log(*parts: Any) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}]", *parts, flush=True)  # noqa: T201


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of the values, in their unit."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def summary_ms(samples_s: list[float]) -> dict[str, Any]:
    ms = [s * 1000 for s in samples_s]
    return {"n": len(ms), "p50_ms": round(pct(ms, 50), 2), "p95_ms": round(pct(ms, 95), 2), "min_ms": round(min(ms), 2),
            "max_ms": round(max(ms), 2), "stdev_ms": round(statistics.pstdev(ms), 2) if len(ms) > 1 else 0.0}


# ---------------------------------------------------------------- databases
class Database:
    """A fresh database of one engine, created here and dropped at the end."""

    def __init__(self, engine: str, work: Path):
        self.engine = engine
        if engine == "sqlite":
            self.path = work / f"bench-{uuid.uuid4().hex[:8]}.db"
            self.url = f"sqlite:///{self.path}"
        else:
            admin = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
            self.admin = admin.replace("postgresql+psycopg://", "postgresql://")
            self.name = f"registry_bench_{uuid.uuid4().hex[:10]}"
            self._admin_exec(f'CREATE DATABASE "{self.name}"')
            base = self.admin.rsplit("/", 1)[0]
            self.dsn = f"{base}/{self.name}"
            self.url = self.dsn.replace("postgresql://", "postgresql+psycopg://")

    def _admin_exec(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql)

    def drop(self) -> None:
        if self.engine == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
        else:
            self._admin_exec(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def analyze(self) -> None:
        """Planner statistics after the bulk load (what an operator runs after a large import)."""
        if self.engine == "sqlite":
            import sqlite3

            with contextlib.closing(sqlite3.connect(self.path)) as conn:
                conn.execute("ANALYZE")
                conn.commit()
            return
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")

    def size_bytes(self) -> int:
        if self.engine == "sqlite":
            return sum(Path(str(self.path) + s).stat().st_size for s in ("", "-wal") if Path(str(self.path) + s).exists())
        import psycopg

        with psycopg.connect(self.dsn) as conn:
            return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])


# ---------------------------------------------------------------- the server under test
class Server:
    """`registry serve` in a subprocess on a free loopback port."""

    def __init__(self, url: str, log_path: Path, command: list[str] | None = None, env: dict[str, str] | None = None):
        """`command` (with `{port}` in it) replaces `registry serve`, e.g. the floor of bench.floor under uvicorn;
        `env` adds settings (INDICATOR_ANSWER_CACHE=0: every answer computed)."""
        self.url, self.log_path, self.command, self.env = url, log_path, command, env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> float:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        # the rate limit is counted on every request (its statement is part of a request's cost) but set where no load
        # of the bench reaches it: a refusal (429) is an answer of no work, and counted among the load's answers
        # it made a token's reads look faster (2026-12-07: 796 of one load's answers)
        env = {"RATE_LIMIT_PER_MINUTE": "10000000", **os.environ, "DATABASE_URL": self.url,
               "REGISTRY_BOOTSTRAP_TOKEN": TOKEN, "LOG_LEVEL": "WARNING", **self.env}
        t0 = time.perf_counter()
        cmd = ([c.replace("{port}", str(self.port)) for c in self.command] if self.command else
               [str(BIN / "registry"), "serve", "--host", "127.0.0.1", "--port", str(self.port)])
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT, cwd=str(ROOT))
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return time.perf_counter() - t0
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def restart(self) -> float:
        self.stop()
        return self.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, timeout: float = 900) -> httpx.Client:
        return httpx.Client(base_url=self.base + "/api/v1", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=timeout)


class RssSampler:
    """Peak resident memory of a process (and its children), sampled every 50 ms while active."""

    def __init__(self, pid: int):
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                rss = self.proc.memory_info().rss + sum(c.memory_info().rss for c in self.proc.children(recursive=True))
                self.peak = max(self.peak, rss)
            time.sleep(0.05)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _body(path: Path, start: int, stop: int | None) -> Iterator[bytes]:
    with path.open("rb") as f:
        for i, line in enumerate(f):
            if stop is not None and i >= stop:
                return
            if i >= start:
                yield line


def api_import(server: Server, kind: str, path: Path, start: int, stop: int | None) -> dict[str, Any]:
    """POST the lines [start, stop) to /imports/{kind}; time, rate, peak RSS, and the answer's counts."""
    assert server.proc is not None
    with server.client(timeout=3600) as client, RssSampler(server.proc.pid) as rss:
        t0 = time.perf_counter()
        r = client.post(f"/imports/{kind}", content=_body(path, start, stop), headers={"Content-Type": "application/x-ndjson"})
        elapsed = time.perf_counter() - t0
    r.raise_for_status()
    answer = r.json()
    lines = answer["lines"]
    return {"kind": kind, "lines": lines, "created": answer["created"], "errors": len(answer["errors"]),
            "first_errors": answer["errors"][:3], "seconds": round(elapsed, 2), "per_second": round(lines / elapsed, 1),
            "peak_rss_mb": round(rss.peak / 2**20, 1)}


def timed_get(client: httpx.Client, url: str, **params: Any) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    r = client.get(url, params=params)
    elapsed = time.perf_counter() - t0
    r.raise_for_status()
    return elapsed, r.json()


# ---------------------------------------------------------------- measurements
def single_indicator(server: Server, sample: dict[str, str], restarts: int, repeats: int = 10) -> dict[str, Any]:
    """One indicator for one unit: cold (first call after a server start) and warm (repeated)."""
    pairs = [(code, unit, day) for code in SINGLE for unit, day in
             ((sample["province_old"], D_OLD), (sample["commune"], D_OLD), (sample["province_new"], D_NEW))]
    cold: dict[str, list[float]] = {}
    first_after_start: list[float] = []
    warm: dict[str, list[float]] = {}
    answers: dict[str, Any] = {}
    for r in range(restarts):
        server.restart()
        with server.client() as client:
            for i, (code, unit, day) in enumerate(pairs):
                elapsed, body = timed_get(client, f"/indicators/{code}/value", org_unit=unit, as_of=day.isoformat())
                cold.setdefault(f"{code}|{unit}", []).append(elapsed)
                if i == 0:
                    first_after_start.append(elapsed)
                answers[f"{code}|{unit}|{day}"] = [body["numerator"], body["denominator"]]
            if r == restarts - 1:
                for code, unit, day in pairs:
                    key = f"{code}|{unit}"
                    warm[key] = [timed_get(client, f"/indicators/{code}/value", org_unit=unit, as_of=day.isoformat())[0]
                                 for _ in range(repeats)]
    all_cold = [s for v in cold.values() for s in v]
    all_warm = [s for v in warm.values() for s in v]
    return {"pairs": [f"{c}|{u}|{d}" for c, u, d in pairs], "cold": summary_ms(all_cold),
            "cold_first_request_after_start": summary_ms(first_after_start), "warm": summary_ms(all_warm),
            "cold_by_pair": {k: summary_ms(v) for k, v in cold.items()},
            "warm_by_pair": {k: summary_ms(v) for k, v in warm.items()}, "answers": answers}


def whole_catalog(server: Server, budget_s: float) -> dict[str, Any]:
    """Every indicator of GET /indicators, for every unit at once, as of 2025-12-31."""
    per: dict[str, Any] = {}
    t_start = time.perf_counter()
    with server.client(timeout=max(60.0, budget_s)) as client:
        codes = [i["code"] for i in client.get("/indicators").json()["items"]]
        for code in codes:
            if time.perf_counter() - t_start > budget_s:
                per[code] = {"skipped": "over the time budget"}
                continue
            try:
                elapsed, body = timed_get(client, f"/indicators/{code}/values", as_of=D_NEW.isoformat())
                per[code] = {"seconds": round(elapsed, 3), "units": len(body["items"])}
            except httpx.HTTPError as exc:
                per[code] = {"error": str(exc)[:200]}
    done = [v["seconds"] for v in per.values() if "seconds" in v]
    slowest = sorted(((v["seconds"], k) for k, v in per.items() if "seconds" in v), reverse=True)[:5]
    return {"indicators": len(codes), "completed": len(done), "total_seconds": round(sum(done), 2),
            "units_per_answer": max((v.get("units", 0) for v in per.values()), default=0),
            "median_seconds": round(pct(done, 50), 3) if done else None, "slowest": [[k, s] for s, k in slowest],
            "by_indicator": per}


def persons_lists(server: Server, sample: dict[str, str], repeats: int = 10) -> dict[str, Any]:
    queries = {
        "province_vien_chuc": {"org_unit": sample["province_old"], "category": "vien_chuc", "limit": 50},
        "province_doctors_as_of": {"org_unit": sample["province_old"], "occupation": "doctor", "as_of": D_OLD.isoformat(),
                                   "limit": 50},
        "commune_all": {"org_unit": sample["commune"], "as_of": D_OLD.isoformat(), "limit": 50},
        "no_filter": {"limit": 50},
    }
    out: dict[str, Any] = {}
    with server.client() as client:
        for name, params in queries.items():
            samples = []
            count = 0
            for _ in range(repeats):
                elapsed, body = timed_get(client, "/persons", **params)
                samples.append(elapsed)
                count = len(body["items"])
            out[name] = {"params": params, "items": count, **summary_ms(samples)}
    return out


WRK_SCRIPT = r"""
local ids = {}
local mode = "%MODE%"
init = function(args)
  for line in io.lines("%IDS%") do ids[#ids + 1] = line end
  math.randomseed(%SEED%)
end
request = function()
  local id = ids[math.random(#ids)]
  local path
  if mode == "one" then path = "/api/v1/persons/" .. id else path = "/api/v1/persons?limit=50&after=" .. id end
  return wrk.format("GET", path, {["Authorization"] = "Bearer %TOKEN%"})
end
done = function(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests": %d, "duration_us": %d, "errors_status": %d, "errors_connect": %d, ' ..
    '"errors_read": %d, "errors_timeout": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def load_test(server: Server, ids_file: Path, mode: str, seconds: int, clients: int, work: Path,
              token: str = TOKEN) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"skipped": "wrk not installed (apt-get install -y wrk)"}
    script = work / f"wrk-{mode}.lua"
    script.write_text(WRK_SCRIPT.replace("%MODE%", mode).replace("%IDS%", str(ids_file)).replace("%TOKEN%", token)
                      .replace("%SEED%", "42"))
    cmd = [wrk, "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), server.base]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        return {"error": (out.stdout + out.stderr)[-500:]}
    res = json.loads(line[len("WRKJSON "):])
    res["throughput_rps"] = round(res["requests"] / (res["duration_us"] / 1e6), 1)
    res["clients"], res["seconds"] = clients, seconds
    return res


def export_persons(server: Server, dest: Path, budget_s: float) -> dict[str, Any]:
    """Stream GET /exports/persons for at most `budget_s` seconds; rate over what arrived."""
    t0 = time.perf_counter()
    lines, complete = 0, True
    with server.client(timeout=3600) as client, client.stream("GET", "/exports/persons") as r, dest.open("wb") as f:
        r.raise_for_status()
        for chunk in r.iter_bytes():
            f.write(chunk)
            lines += chunk.count(b"\n")
            if time.perf_counter() - t0 > budget_s:
                complete = False
                break
    elapsed = time.perf_counter() - t0
    return {"persons": lines, "complete": complete, "seconds": round(elapsed, 2), "per_second": round(lines / elapsed, 1)}


def compare_sql(db: Database, server: Server, sample: dict[str, str], duck: Any, repeats: int = 10,
                uncached: Server | None = None) -> dict[str, Any]:
    """The same three questions: the API (cached: answers kept per process, warm; uncached: a server with
    INDICATOR_ANSWER_CACHE=0, every answer computed), the engine's own SQL, hand-written SQL (PostgreSQL), DuckDB."""
    import psycopg

    from bench import queries

    root, day = sample["province_old"], D_OLD
    out: dict[str, Any] = {}
    def timed_values(api_client: httpx.Client, code: str) -> tuple[list[float], tuple[int, int] | None]:
        samples, answer = [], None
        for _ in range(repeats):
            elapsed, body = timed_get(api_client, f"/indicators/{code}/value", org_unit=root, as_of=day.isoformat())
            samples.append(elapsed)
            answer = (body["numerator"], body["denominator"])
        return samples, answer

    with psycopg.connect(db.dsn, options="-c jit=off") as conn, server.client() as client, \
            (uncached or server).client() as computing:
        cur = conn.cursor()
        for code in queries.INDICATORS:
            api_s, api = timed_values(client, code)
            computed_s, computed = timed_values(computing, code) if uncached is not None else ([], None)
            engine_sql = client.get(f"/indicators/{code}/sql", params={"org_unit": root, "as_of": day.isoformat()}).json()["sql"]
            eng_s = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                cur.execute(engine_sql)
                cur.fetchall()
                eng_s.append(time.perf_counter() - t0)
            hand_s, hand = [], None
            for _ in range(repeats):
                t0 = time.perf_counter()
                hand = queries.pg_answer(cur, code, root, day)
                hand_s.append(time.perf_counter() - t0)
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + engine_sql)
            engine_plan = "\n".join(r[0] for r in cur.fetchall())
            entry: dict[str, Any] = {"api": summary_ms(api_s), "engine_sql": summary_ms(eng_s), "hand_sql": summary_ms(hand_s),
                                     "answers": {"api": list(api) if api else None, "hand_sql": list(hand) if hand else None},
                                     "engine_plan_tail": engine_plan.splitlines()[-3:]}
            if computed_s:
                entry["api_uncached"] = summary_ms(computed_s)
                entry["answers"]["api_uncached"] = list(computed) if computed else None
            if duck is not None:
                duck_s, dans = [], None
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    dans = queries.duck_answer(duck, code, root, day)
                    duck_s.append(time.perf_counter() - t0)
                entry["duckdb_warm"] = summary_ms(duck_s)
                entry["answers"]["duckdb"] = list(dans) if dans else None
            hand_p50 = entry["hand_sql"]["p50_ms"]
            entry["ratio_api_to_hand"] = round(entry["api"]["p50_ms"] / hand_p50, 2) if hand_p50 else None
            entry["ratio_engine_sql_to_hand"] = round(entry["engine_sql"]["p50_ms"] / hand_p50, 2) if hand_p50 else None
            if "api_uncached" in entry and hand_p50:
                entry["ratio_api_uncached_to_hand"] = round(entry["api_uncached"]["p50_ms"] / hand_p50, 2)
            if "duckdb_warm" in entry:
                entry["ratio_api_to_duckdb_warm"] = round(entry["api"]["p50_ms"] / entry["duckdb_warm"]["p50_ms"], 2)
                if "api_uncached" in entry:
                    entry["ratio_api_uncached_to_duckdb_warm"] = round(
                        entry["api_uncached"]["p50_ms"] / entry["duckdb_warm"]["p50_ms"], 2)
            out[code] = entry
    return {"unit": root, "as_of": day.isoformat(), "by_indicator": out}


def duckdb_setup(directory: Path) -> tuple[Any, dict[str, Any]]:
    """DuckDB over the JSON Lines: cold (each query reads the files) and a warm in-memory copy."""
    try:
        import duckdb
    except ImportError:
        return None, {"skipped": "duckdb not installed (pip install duckdb)"}
    from bench import queries

    info: dict[str, Any] = {"version": duckdb.__version__}
    cold = duckdb.connect()
    for stmt in queries.duck_sources(directory, materialise=False):
        cold.execute(stmt)
    info["cold_over_files"] = {}
    with open(directory / "manifest.json", encoding="utf-8") as f:
        root = json.load(f)["sample"]["province_old"]
    for code in queries.INDICATORS:
        t0 = time.perf_counter()
        ans = queries.duck_answer(cold, code, root, D_OLD)
        info["cold_over_files"][code] = {"ms": round((time.perf_counter() - t0) * 1000, 1), "answer": list(ans)}
    cold.close()
    warm = duckdb.connect()
    t0 = time.perf_counter()
    for stmt in queries.duck_sources(directory, materialise=True):
        warm.execute(stmt)
    info["load_seconds"] = round(time.perf_counter() - t0, 2)
    return warm, info


# ---------------------------------------------------------------- one engine at one size
def run_engine(engine: str, size: int, data: Path, manifest: dict[str, Any], work: Path, duck: Any) -> dict[str, Any]:
    from app.db import build_engine
    from bench import load as bulk

    res: dict[str, Any] = {"engine": engine, "persons": size, "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    db = Database(engine, work)
    server = Server(db.url, work / f"server-{engine}-{size}.log")
    api_persons = min(size, env_int("BENCH_API_PERSONS", 2000))
    api_units = env_int("BENCH_API_UNITS", 600)
    sample = manifest["sample"]
    try:
        t0 = time.perf_counter()
        subprocess.run([str(BIN / "registry"), "migrate"], env={**os.environ, "DATABASE_URL": db.url}, check=True,
                       capture_output=True, cwd=str(ROOT))
        res["migrate_seconds"] = round(time.perf_counter() - t0, 2)
        server.start()
        log(engine, size, "API import of the first", api_units, "org units")
        res["import_org_units_api"] = api_import(server, "org-units", data / "org-units.jsonl", 0, api_units)
        log(engine, size, "bulk load of the rest", res["import_org_units_api"])
        eng = build_engine(db.url)
        t0 = time.perf_counter()
        with eng.begin() as conn:
            units = bulk.load_org_units(conn, data / "org-units.jsonl", start=api_units)
        n_stats = manifest["statistics"]
        with eng.begin() as conn:
            stats = bulk.load_statistics(conn, data / "statistics.jsonl", stop=n_stats - 300)
        people = bulk.load_persons(eng.connect, data / "persons.jsonl", 0, size - api_persons)
        eng.dispose()
        res["bulk_load"] = {"org_units": units, "statistics": stats, "persons": people,
                            "seconds": round(time.perf_counter() - t0, 1)}
        log(engine, size, "bulk load done", res["bulk_load"])
        db.analyze()  # as autovacuum would after a load this size; the API import then runs on real plans
        res["import_statistics_api"] = api_import(server, "statistics", data / "statistics.jsonl", n_stats - 300, None)
        floors = [bulk.person_import_floor(db.url, data / "persons.jsonl", size - api_persons, None) for _ in range(3)]
        res["import_persons_floor"] = {**sorted(floors, key=lambda f: f["seconds"])[1],
                                       "seconds_each": [f["seconds"] for f in floors]}  # the median of three
        res["import_persons_api"] = api_import(server, "persons", data / "persons.jsonl", size - api_persons, None)
        res["import_persons_api"]["ratio_to_floor"] = round(res["import_persons_floor"]["per_second"]
                                                            / res["import_persons_api"]["per_second"], 2)
        log(engine, size, "API imports", res["import_statistics_api"], res["import_persons_api"])
        t0 = time.perf_counter()
        db.analyze()
        res["analyze_seconds"] = round(time.perf_counter() - t0, 1)
        res["database_bytes"] = db.size_bytes()
        repeats = env_int("BENCH_REPEATS", 10)
        res["single_indicator"] = single_indicator(server, sample, env_int("BENCH_RESTARTS", 3), repeats)
        log(engine, size, "single", res["single_indicator"]["cold"], res["single_indicator"]["warm"])
        res["persons_list"] = persons_lists(server, sample, repeats)
        log(engine, size, "persons list", {k: v["p50_ms"] for k, v in res["persons_list"].items()})
        ids_file = work / f"ids-{size}.txt"
        _write_ids(data / "persons.jsonl", ids_file, size)
        clients, seconds = env_int("BENCH_CLIENTS", 32), env_int("BENCH_LOAD_SECONDS", 15)
        res["load_get_person"] = load_test(server, ids_file, "one", seconds, clients, work)
        res["load_list_page"] = load_test(server, ids_file, "list", seconds, clients, work)
        log(engine, size, "load", res["load_get_person"], res["load_list_page"])
        server.restart()  # requests left queued by the load test must not delay what follows
        if engine == "postgresql":
            computing = Server(db.url, work / f"server-uncached-{engine}-{size}.log",
                               env={"INDICATOR_ANSWER_CACHE": "0"})
            computing.start()
            try:
                res["compare"] = compare_sql(db, server, sample, duck, repeats, uncached=computing)
            finally:
                computing.stop()
            ratios = {k: (v["ratio_api_to_hand"], v.get("ratio_api_uncached_to_hand"), v["answers"])
                      for k, v in res["compare"]["by_indicator"].items()}
            log(engine, size, "compare", ratios)
        res["whole_catalog"] = whole_catalog(server, env_int("BENCH_CATALOG_BUDGET", 300))
        log(engine, size, "catalog", {k: v for k, v in res["whole_catalog"].items() if k != "by_indicator"})
        res["export_persons"] = export_persons(server, work / f"export-{engine}-{size}.jsonl",
                                              env_int("BENCH_EXPORT_SECONDS", 60))
        log(engine, size, "export", res["export_persons"])
        res["export_matches_input"] = _export_matches(data / "persons.jsonl", work / f"export-{engine}-{size}.jsonl",
                                                      limit=20000)
        (work / f"export-{engine}-{size}.jsonl").unlink(missing_ok=True)
    finally:
        res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        server.stop()
        db.drop()
    return res


def registry_data(work: Path, persons: int) -> Path:
    """The national registry of bench.generate at `persons` under `work`, generated unless it is there already."""
    from bench.generate import generate

    data = work / f"data-{persons}"
    manifest = data / "manifest.json"
    if not (manifest.exists() and json.loads(manifest.read_text())["persons"] == persons):
        t0 = time.perf_counter()
        generate(persons, data)
        log("generated", persons, "persons in", round(time.perf_counter() - t0, 1), "s")
    return data


def bulk_registry(db: Database, persons: int, data: Path, *, statistics: bool = False) -> dict[str, Any]:
    """`db` migrated, then its units (and its statistics), and its first `persons` persons bulk-loaded (bench.load)
    and analysed."""
    from app.db import build_engine
    from bench import load as bulk

    subprocess.run([str(BIN / "registry"), "migrate"], env={**os.environ, "DATABASE_URL": db.url}, check=True,
                   capture_output=True, cwd=str(ROOT))
    t0 = time.perf_counter()
    eng = build_engine(db.url)
    with eng.begin() as conn:
        units = bulk.load_org_units(conn, data / "org-units.jsonl")
    stats = None
    if statistics:
        with eng.begin() as conn:
            stats = bulk.load_statistics(conn, data / "statistics.jsonl")
    people = bulk.load_persons(eng.connect, data / "persons.jsonl", 0, persons)
    eng.dispose()
    db.analyze()
    return {"org_units": units, **({"statistics": stats} if statistics else {}), "persons": people,
            "bulk_seconds": round(time.perf_counter() - t0, 1)}


def _write_ids(persons: Path, dest: Path, size: int, count: int = 2000) -> None:
    step = max(1, size // count)
    with dest.open("w") as f:
        for i in range(0, size, step):
            f.write(f"VN-{i + 1:07d}\n")


def _export_matches(source: Path, exported: Path, limit: int) -> dict[str, Any]:
    """The export of the first `limit` persons equals the canonical form of their input lines."""
    from app.schemas.interchange import PersonRecord
    from app.services.persons import canonical

    checked = mismatched = 0
    with source.open("rb") as a, exported.open("rb") as b:
        for line_a, line_b in zip(a, b, strict=False):
            if checked >= limit:
                break
            want = canonical(PersonRecord.model_validate_json(line_a).model_dump(mode="json"))
            mismatched += json.loads(line_b) != want
            checked += 1
    return {"checked": checked, "mismatched": mismatched}


# ---------------------------------------------------------------- the whole run
def machine() -> dict[str, Any]:
    import duckdb
    import sqlalchemy

    from app.cli import default_workers

    def version(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "n/a"

    import sqlite3

    import psycopg

    pg = "n/a"
    with contextlib.suppress(Exception), psycopg.connect(
            os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        names = ("shared_buffers", "work_mem", "jit", "effective_cache_size", "max_parallel_workers_per_gather")
        settings = {k: conn.execute(f"SHOW {k}").fetchone()[0] for k in names}
    return {"nproc": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "cpu": platform.processor() or platform.machine(), "kernel": platform.release(),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "postgresql": pg,
            "postgresql_settings": settings if pg != "n/a" else {}, "sqlalchemy": sqlalchemy.__version__,
            "duckdb": duckdb.__version__, "wrk": version(["wrk", "-v"]) if shutil.which("wrk") else "n/a",
            # what every bench server runs: WEB_CONCURRENCY if set, else `registry serve`'s default
            "uvicorn_workers": {engine: int(os.environ.get("WEB_CONCURRENCY") or default_workers(engine == "sqlite"))
                                for engine in ("postgresql", "sqlite")}}


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000").split(",") if s.strip()]
    sqlite_max = env_int("BENCH_SQLITE_MAX", 100000)
    out_dir = Path(os.environ.get("BENCH_OUT", ROOT / "docs"))
    work_env = os.environ.get("BENCH_WORK")
    work = Path(work_env) if work_env else Path(tempfile.mkdtemp(prefix="registry-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                               "sizes": sizes, "runs": []}
    json_path = out_dir / "benchmarks.json"
    if json_path.exists():  # the figures of bench.enrolments, run on its own, stay until it runs again
        with contextlib.suppress(ValueError, KeyError):
            results["enrolments"] = json.loads(json_path.read_text(encoding="utf-8"))["enrolments"]
    try:
        for size in sizes:
            data = work / f"data-{size}"
            from bench.generate import generate

            manifest_path = data / "manifest.json"
            t0 = time.perf_counter()
            if manifest_path.exists() and json.loads(manifest_path.read_text())["persons"] == size:
                manifest = json.loads(manifest_path.read_text())
                gen_s = None
            else:
                manifest = generate(size, data)
                gen_s = round(time.perf_counter() - t0, 1)
            log("generated", size, {k: v for k, v in manifest.items() if k != "sample"}, gen_s)
            duck, duck_info = duckdb_setup(data)
            log("duckdb", duck_info)
            entry: dict[str, Any] = {"persons": size, "manifest": manifest, "generate_seconds": gen_s, "duckdb": duck_info,
                                     "engines": {}}
            results["runs"].append(entry)
            for engine in ("postgresql", "sqlite"):
                if engine == "sqlite" and size > sqlite_max:
                    continue
                try:
                    entry["engines"][engine] = run_engine(engine, size, data, manifest, work, duck)
                except Exception as exc:  # noqa: BLE001 - record and go on with the other runs
                    log("FAILED", engine, size, repr(exc))
                    entry["engines"][engine] = {"error": repr(exc)[:1000]}
                _save(results, json_path)
            entry["agreement"] = _agreement(entry)
            if duck is not None:
                duck.close()
            _save(results, json_path)
    finally:
        results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        _save(results, json_path)
        if not work_env:
            shutil.rmtree(work, ignore_errors=True)
    try:
        from bench.report import write_markdown

        write_markdown(results, out_dir / "benchmarks.md")
        log("wrote", json_path, out_dir / "benchmarks.md")
    except Exception as exc:  # noqa: BLE001 - the JSON is written; the Markdown can be redone with bench.report
        log("report failed", repr(exc), "- run: python -m bench.report", json_path)


def _agreement(entry: dict[str, Any]) -> dict[str, Any]:
    """Numerator and denominator of the three indicators at the old province on 2024-12-31, everywhere."""
    from bench import queries

    out: dict[str, Any] = {}
    root = entry["manifest"]["sample"]["province_old"]
    for code in queries.INDICATORS:
        seen: dict[str, Any] = {}
        for engine, res in entry["engines"].items():
            ans = res.get("single_indicator", {}).get("answers", {}).get(f"{code}|{root}|{D_OLD}")
            if ans is not None:
                seen[f"api_{engine}"] = ans
        comp = entry["engines"].get("postgresql", {}).get("compare", {}).get("by_indicator", {}).get(code, {})
        for k in ("hand_sql", "duckdb"):
            if comp.get("answers", {}).get(k) is not None:
                seen[k] = comp["answers"][k]
        cold = entry.get("duckdb", {}).get("cold_over_files", {}).get(code)
        if cold:
            seen["duckdb_over_files"] = cold["answer"]
        values = {json.dumps(v) for v in seen.values()}
        out[code] = {"answers": seen, "identical": len(values) == 1 and len(seen) >= 2}
    return out


def _save(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def save_section(out_dir: Path, key: str, results: dict[str, Any],
                 merge: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
    """One bench's figures into docs/benchmarks.json under `key`, beside the others' (`merge` gets the section as it
    was, and gives what to store), and docs/benchmarks.md rendered again."""
    from bench.report import write_markdown

    path = out_dir / "benchmarks.json"
    whole: dict[str, Any] = {"machine": machine(), "runs": []}
    if path.exists():
        with contextlib.suppress(ValueError):
            whole = json.loads(path.read_text(encoding="utf-8"))
    whole[key] = merge(whole.get(key) or {}) if merge is not None else results
    _save(whole, path)
    write_markdown(whole, out_dir / "benchmarks.md")
    log("wrote", path, out_dir / "benchmarks.md")


if __name__ == "__main__":
    main()
