"""The engine and the hand-written twins asked the same questions: answers compared, statements timed (issue #15).

    python -m bench.twins.check DATABASE_URL [CODE,CODE,...] [--roots P94,N92] [--dates 2024-12-31,...]
                                [--units 20] [--repeats 5] [--json FILE]

For a registry already loaded on PostgreSQL (bench.load; bench.run loads its own), every indicator of the catalog
but the qualitative ones is asked `GET /indicators/{code}/value` through the application in this process
(Starlette's TestClient, `INDICATOR_ANSWER_CACHE=0`: every answer computed) for each root and date, and its twin
(bench/twins) is run with psycopg for the same unit and the date the answer is given at. The two must agree:
numerator and denominator (value for a reported indicator), floats to 1e-9.

Timing, at the first root and date: the statements `GET /indicators/{code}/sql` shows (the engine's SQL, binds
inlined) against the twin, each run `--repeats` times on one connection that never prepares a statement
(psycopg's `prepare_threshold=None`), so both are planned on every run: uncached. The connection has JIT off, as the
app's connections have (app/db.py). The median of each, and their
ratio (the goal: at most 3).

Exit status 1 when an answer disagrees, or an indicator has no twin.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

ROOTS = ("P94", "P01", "N92", "P94-H01", "P94-H01-X01", "P94-H01-M1")
"""bench.generate's sample: an old province, a kept one, a new one, a district, a commune, a new commune."""
DATES = (date(2023, 6, 30), date(2024, 12, 31), date(2025, 12, 31))
"""Before the 2025 reform, its last year-end, after it."""
GOAL = 3.0

Ask = Callable[[str, str, date], dict[str, Any]]
"""(code, root, date) -> the answer of GET /indicators/{code}/value."""
Statements = Callable[[str, str, date], list[str]]
"""(code, root, date) -> the statements of GET /indicators/{code}/sql."""


def compared(kind: str, answer: dict[str, Any]) -> tuple[Any, ...]:
    """What a twin of this kind gives, read off the engine's answer."""
    if kind == "reported":
        return (answer.get("value"),)
    if kind == "flow_count":
        return (answer.get("numerator"), None)
    return (answer.get("numerator"), answer.get("denominator"))


def same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x is None or y is None:
            if x is not y:
                return False
        elif not math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-9):
            return False
    return True


def _plain(row: Iterable[Any]) -> tuple[Any, ...]:
    out: list[Any] = []
    for v in row:
        if v is None or isinstance(v, bool):
            out.append(v)
        else:
            f = float(v)
            out.append(int(f) if f.is_integer() else f)
    return tuple(out)


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        samples.append(time.perf_counter() - t0)
    return round(statistics.median(samples) * 1000, 2)


def run_checks(cursor: Any, specs: dict[str, tuple[str, str]], twins: dict[str, str], ask: Ask,
               statements: Statements, roots: list[str], dates: list[date], repeats: int,
               log: Callable[[str], None] = lambda _line: None) -> dict[str, Any]:
    """`specs`: code -> (kind, the code whose twin answers it). `cursor`: psycopg, on a connection that never
    prepares. Every code against its twin at every root and date; the first root and date timed."""
    rows: list[dict[str, Any]] = []
    for code, (kind, base) in specs.items():
        twin = twins.get(base)
        entry: dict[str, Any] = {"code": code, "kind": kind, "twin": base if twin is not None else None}
        if twin is None:
            entry["verdict"] = "no twin"
            rows.append(entry)
            log(f"{code:45s} no twin")
            continue
        checked, nonzero, mismatches = 0, 0, []
        for root in roots:
            for day in dates:
                answer = ask(code, root, day)
                given_at = date.fromisoformat(answer.get("as_of") or day.isoformat())
                cursor.execute(twin, {"root": root, "d": given_at})
                got = _plain(cursor.fetchone() or ())
                want = compared(kind, answer)
                checked += 1
                nonzero += any(v not in (None, 0) for v in want)
                if not same(got, want):
                    mismatches.append({"root": root, "as_of": given_at.isoformat(), "engine": list(want),
                                       "twin": list(got)})
        entry |= {"checked": checked, "nonzero": nonzero, "mismatches": mismatches[:10], "mismatched": len(mismatches)}
        root, day = roots[0], dates[min(1, len(dates) - 1)]
        engine_sql = statements(code, root, day)

        def run_engine(sqls: list[str] = engine_sql) -> None:
            for sql in sqls:
                cursor.execute(sql)
                cursor.fetchall()

        def run_twin(sql: str = twin, params: dict[str, Any] = {"root": root, "d": day}) -> None:  # noqa: B006
            cursor.execute(sql, params)
            cursor.fetchall()

        entry["timed_at"] = {"root": root, "as_of": day.isoformat(), "engine_statements": len(engine_sql)}
        entry["engine_ms"] = _median_ms(run_engine, repeats)
        entry["twin_ms"] = _median_ms(run_twin, repeats)
        entry["ratio"] = round(entry["engine_ms"] / entry["twin_ms"], 2) if entry["twin_ms"] else None
        entry["verdict"] = "disagrees" if mismatches else (
            "within 3×" if entry["ratio"] is not None and entry["ratio"] <= GOAL else "slower than 3×")
        rows.append(entry)
        log(f"{code:45s} {checked:3d} answers, {len(mismatches):3d} differ   engine {entry['engine_ms']:9.2f} ms  "
            f"twin {entry['twin_ms']:9.2f} ms  ×{entry['ratio']}")
    with_twin = [r for r in rows if r["twin"] is not None]
    ratios = [r["ratio"] for r in with_twin if r.get("ratio") is not None]
    summary = {
        "indicators": len(rows),
        "with_twin": len(with_twin),
        "agree": sum(1 for r in with_twin if not r["mismatched"]),
        "within_goal": sum(1 for r in with_twin if r["verdict"] == "within 3×"),
        "goal": GOAL,
        "worst_ratio": max(ratios) if ratios else None,
        "median_ratio": round(statistics.median(ratios), 2) if ratios else None,
        "roots": roots,
        "dates": [d.isoformat() for d in dates],
        "repeats": repeats,
    }
    return {"summary": summary, "indicators": rows}


def catalog_specs(codes: list[str] | None = None) -> dict[str, tuple[str, str]]:
    """code -> (kind, the code whose twin answers it): the catalog but its qualitative entries."""
    from app.services.indicators.catalog import build

    out: dict[str, tuple[str, str]] = {}
    for spec in build():
        if spec.kind == "qualitative" or (codes and spec.id not in codes):
            continue
        out[spec.id] = (spec.kind, spec.same_as or spec.id)
    return out


def sample_units(cursor: Any, count: int, seed: int = 1) -> list[str]:
    """`count` units of the registry, drawn with a fixed seed (any kind, open or closed)."""
    if count <= 0:
        return []
    cursor.execute("SELECT code FROM org_unit ORDER BY code")
    codes = [r[0] for r in cursor.fetchall()]
    return sorted(random.Random(seed).sample(codes, min(count, len(codes))))


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.twins.check", description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("codes", nargs="?", help="comma-separated indicator codes (default: the whole catalog)")
    parser.add_argument("--roots", default=",".join(ROOTS))
    parser.add_argument("--dates", default=",".join(d.isoformat() for d in DATES))
    parser.add_argument("--units", type=int, default=0, help="this many more roots, drawn from the registry")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    result = check(args.database_url, args.codes.split(",") if args.codes else None, args.roots.split(","),
                   [date.fromisoformat(d) for d in args.dates.split(",")], args.units, args.repeats,
                   log=_print)
    sys.stdout.write(json.dumps(result["summary"]) + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(result, out, indent=1)
    bad = [r["code"] for r in result["indicators"] if r["verdict"] in ("no twin", "disagrees")]
    if bad:
        sys.exit(f"{len(bad)} indicators without a twin or disagreeing: {', '.join(bad)}")


def check(database_url: str, codes: list[str] | None, roots: list[str], dates: list[date], units: int = 0,
          repeats: int = 5, log: Callable[[str], None] = lambda _line: None) -> dict[str, Any]:
    """bench.twins.check on the registry at `database_url`, the app run in this process."""
    token = "bench-twins-" + "x" * 32
    os.environ.update(DATABASE_URL=database_url, REGISTRY_BOOTSTRAP_TOKEN=token, LOG_LEVEL="ERROR",
                      AUDIT_SEAL_SECONDS="0", INDICATOR_ANSWER_CACHE="0", RATE_LIMIT_PER_MINUTE="0",
                      IMPORT_JOBS_RESUME="false")
    from fastapi.testclient import TestClient

    from app.main import app

    with TestClient(app) as client:
        return check_with(client, {"Authorization": f"Bearer {token}"}, database_url, codes, roots, dates, units,
                          repeats, log=log)


def check_with(client: Any, headers: dict[str, str], database_url: str, codes: list[str] | None, roots: list[str],
               dates: list[date], units: int = 0, repeats: int = 5, prefix: str = "/api/v1",
               log: Callable[[str], None] = lambda _line: None) -> dict[str, Any]:
    """The checks, the engine asked through `client` (an admin's `headers`, or the client's own; its indicator cache
    off) at `prefix`, the twins run on `database_url` (PostgreSQL) by psycopg."""
    import psycopg
    from sqlalchemy.engine import make_url

    from bench.twins import load

    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    # the app's own connection settings (app/db.py): JIT off. With it on, the engine's longer statements are estimated
    # above jit_above_cost and compiled for 100 ms and more each run, the twins not (F29)
    with psycopg.connect(dsn, prepare_threshold=None, autocommit=True, options="-c jit=off") as conn:
        cursor = conn.cursor()

        def ask(code: str, root: str, day: date) -> dict[str, Any]:
            r = client.get(f"{prefix}/indicators/{code}/value", headers=headers,
                           params={"org_unit": root, "as_of": day.isoformat()})
            if r.status_code != 200:
                raise RuntimeError(f"{code} {root} {day}: HTTP {r.status_code} {r.text[:300]}")
            return dict(r.json())

        def sqls(code: str, root: str, day: date) -> list[str]:
            r = client.get(f"{prefix}/indicators/{code}/sql", headers=headers,
                           params={"org_unit": root, "as_of": day.isoformat()})
            if r.status_code != 200:
                raise RuntimeError(f"{code} {root} {day}: HTTP {r.status_code} {r.text[:300]}")
            return [s["sql"] for s in r.json()["statements"]]

        cursor.execute("SELECT code FROM org_unit WHERE code = ANY(%(codes)s)", {"codes": roots})
        known = {r[0] for r in cursor.fetchall()}  # a sample unit a smaller registry has not got is left out
        all_roots = list(dict.fromkeys([r for r in roots if r in known] + sample_units(cursor, units)))
        return run_checks(cursor, catalog_specs(codes), load(), ask, sqls, all_roots, dates, repeats, log)


if __name__ == "__main__":
    main()
