"""Render docs/benchmarks.md from docs/benchmarks.json: `python -m bench.report [json] [md]`."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

# Why a goal is missed, as located with py-spy, EXPLAIN ANALYZE and statement counts (docs/benchmarks.md,
# "Where the time goes"). Keyed by goal id; shown beside a shortfall.
REASONS = {
    "import": "Python under one interpreter lock (F24): validation, the domain rules, the canonical record and the "
              "hash-chained change entry, about 0.6 ms a person; parsing the next batch in a second thread overlaps "
              "only the writer's waits on the database (one COPY per table per batch since F1); the writer's own Python and "
              "waits, one after the other, are now about the whole. A million persons as a job: docs/benchmarks-import.md",
    "import_rate": "at or above what the machine writes: the floor itself, a bare COPY of the same rows with the "
                   "tables' foreign keys and indexes, ran at 3,400-5,500 persons/s here (F24); see the ratio",
    "single_cold": "the first request for an indicator after a start builds and caches its statement (40-50 ms for "
                   "the title-standard ones) and PostgreSQL plans it cold",
    "single_warm": "a warm answer is one indexed query for the data version plus the cached answer; what is left is "
                   "HTTP, the token check and JSON",
    "catalog_twins": "the ethnic-language statements at 1M: the whole country's (unit, language) list, estimated too big "
                     "to hash, scanned for every person's language record (F29); the rest at most 2.3×",
    "catalog": "at 1M one statement did not answer within the budget (Findings F10: "
               "ST-2025-OFFICE-LEADERS-POSTGRAD, 5 s at 100k, over 300 s at 1M: the correlated highest-rank "
               "subquery per position row over the 76k-unit closure; fixed). Since F15-F17 and F19 (bench.catalog, "
               "in-process, uncached first calls): 55.6-59.1 s at 1M (three runs) on 2026-12-06, a slower day on which the "
               "code before F19 took 91.2-96.0 s (the scope pairs read once per date, the answer written without a "
               "dict per unit); short of the goal's second half: 3 of 75 statements have a hand-written twin. "
               "Slowest left: the highest degree per teacher, a correlated subquery per record in one process "
               "(ST-2025-TEACHERS-MEET-STANDARD 6.6 s)",
    "vs_hand": "the API's time includes HTTP, the token check, scope and JSON (a few ms) that the timing of the "
               "hand-written statement alone does not; the ratio is largest where the query itself is fastest",
    "vs_hand_uncached": "a computed answer is the engine's statement (5-7 ms at 100k) plus 8-11 statements around it "
                        "(rate limit, token, data version, definition, the unit's code and span, a breakdown by tier "
                        "where the indicator has tiers), HTTP and JSON: F14",
    "get_person_floor": "the worker's CPU, and the queue of 32 clients on two cores that it makes (p99 follows "
                        "throughput). Since F31 a read of one person as of now is answered ahead of FastAPI's routing "
                        "in one trip to a worker thread, a scoped read takes the tree's version from the record's own "
                        "statement, and a logged read appends its entry in one INSERT for the server's sealer; since "
                        "F32 no uvicorn access line is written and a batch of entries is sealed in one UPDATE: about "
                        "2.2-2.4 ms of the server's CPU per read under load against the floor's 1.0-1.2 ms (3.9-5.5 "
                        "against 2.0-2.7 ms in the slower runs of F33: twice, whatever the machine's pace), spread over "
                        "Starlette's middleware (request id and security headers, errors, admission), the token, the "
                        "rate limit, the read, the answer's validation and the access-log entry, none above a seventh "
                        "of it (py-spy; F33, F32, F31, before them F13, F23, F27); since F34 the reads of a worker run on two of "
                        "its threads, the others waiting in the event loop",
    "get_person_p99": "p99: {clients} clients in a closed loop wait {mean} ms on average ({clients} / throughput, Little's "
                      "law), and this run's p99 is {shape}× that mean; with that shape p99 < 100 ms needs about "
                      "{need} req/s, {share} of the floor's throughput, where the throughput half of the goal asks "
                      "for 0.5 (the floor's own p99 is {floor_p99} ms; F34)",
    "named_vs_unnamed": "the access-log entry: its INSERT on a connection of the log's pool and its seal (a second write "
                        "of the row and its indexes, by the sealer), a fixed cost that weighs more as the read around "
                        "it gets cheaper; the ratio moved between 0.79 and 0.87 over this machine's runs of 2026-12-07 "
                        "(F32, F33)",
    "vs_duckdb": "the same fixed per-request cost (HTTP, token, JSON) against DuckDB's in-process query",
    "get_person": "throughput-bound: each worker spent about 7 ms of Python per read in this run (F23: the token "
                  "check, the record's one statement, JSON, the access-log entry of the sensitive read), so 32 "
                  "clients queue on the two cores (p50 is about 32 / throughput); about 2.5 ms since F31 (the rows of "
                  "bench.access_log below); more cores or servers scale it",
    "linear": "see the figure: a step that grows faster than the data (Findings)",
}


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _ms(s: dict[str, Any] | None) -> str:
    if not s or "p50_ms" not in s:
        return "–"
    return f"{_fmt(s['p50_ms'])} / {_fmt(s['p95_ms'])} (n={s['n']}, sd {_fmt(s['stdev_ms'])})"


def _engines(results: dict[str, Any]) -> list[tuple[int, str, dict[str, Any]]]:
    out = []
    for run in results.get("runs", []):
        for engine, res in run.get("engines", {}).items():
            out.append((run["persons"], engine, res))
    return out


def goals(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(goal, size/engine, measured, met?, reason) rows."""
    rows: list[tuple[str, str, str, str, str]] = []

    def verdict(ok: bool | None) -> str:
        return "–" if ok is None else ("met" if ok else "**shortfall**")

    for size, engine, res in _engines(results):
        if "error" in res:
            rows.append(("(run failed)", f"{size:,} {engine}", res["error"][:120], "**failed**", ""))
            continue
        where = f"{size:,} {engine}"
        imp = res.get("import_persons_api", {})
        floor = res.get("import_persons_floor")
        if imp:
            at = "" if (size, engine) == (100_000, "postgresql") else " (the goal is set at 100,000 on PostgreSQL)"
            ok = imp["per_second"] >= 5000
            rows.append(("import ≥ 5,000 persons/s", where, f"{_fmt(imp['per_second'])} persons/s", verdict(ok) + at,
                         "" if ok else REASONS["import_rate"]))
            if floor:
                ratio = imp.get("ratio_to_floor") or round(floor["per_second"] / imp["per_second"], 2)
                ok = ratio <= 3
                rows.append(("import ≤ 3× a bare COPY of the same rows", where,
                             f"{ratio}× ({_fmt(floor['per_second'])} persons/s by bare COPY, median of 3)",
                             verdict(ok) + at, "" if ok else REASONS["import"]))
            ok = imp["peak_rss_mb"] < 500
            rows.append(("import peak RSS < 500 MB", where, f"{_fmt(imp['peak_rss_mb'])} MB", verdict(ok), ""))
        single = res.get("single_indicator", {})
        if single:
            ok = single["cold"]["p95_ms"] < 200
            rows.append(("one indicator p95 < 200 ms cold", where, f"{_fmt(single['cold']['p95_ms'])} ms", verdict(ok),
                         "" if ok else REASONS["single_cold"]))
            ok = single["warm"]["p95_ms"] < 20
            rows.append(("one indicator p95 < 20 ms warm", where, f"{_fmt(single['warm']['p95_ms'])} ms", verdict(ok),
                         "" if ok else REASONS["single_warm"]))
        cat = res.get("whole_catalog", {})
        if cat:
            complete = cat["completed"] == cat["indicators"]
            total = cat["total_seconds"]
            ok = complete and total < 60
            text = f"{_fmt(total)} s" + ("" if complete else f" for {cat['completed']} of {cat['indicators']} (budget hit)")
            rows.append(("whole catalog, every unit < 60 s", where, text, verdict(ok), "" if ok else REASONS["catalog"]))
        comp = res.get("compare", {}).get("by_indicator", {})
        if comp:
            cached = "cached: the API's answer kept per process"
            uncached = "uncached: INDICATOR_ANSWER_CACHE=0, every answer computed"
            for goal, key, within, reason in (
                    (f"≤ 1.5× hand-written SQL (warm p50; {cached})", "ratio_api_to_hand", lambda r: r <= 1.5, "vs_hand"),
                    (f"≤ 1.5× hand-written SQL (p50; {uncached})", "ratio_api_uncached_to_hand", lambda r: r <= 1.5,
                     "vs_hand_uncached"),
                    (f"faster than DuckDB once warm ({cached})", "ratio_api_to_duckdb_warm", lambda r: r < 1, "vs_duckdb"),
                    (f"faster than DuckDB once warm ({uncached})", "ratio_api_uncached_to_duckdb_warm", lambda r: r < 1,
                     "vs_duckdb")):
                found = [v[key] for v in comp.values() if v.get(key)]
                if found:
                    ok = within(max(found))
                    text = f"worst {max(found)}×" if "hand" in key else f"API/DuckDB {max(found)}× (worst)"
                    rows.append((goal, where, text, verdict(ok), "" if ok else REASONS[reason]))
        load = res.get("load_get_person", {})
        if "p99_ms" in load:
            ok = load["p99_ms"] < 30 and load["errors_status"] == 0
            rows.append(("GET one person p99 < 30 ms at 32 clients", where,
                         f"p99 {_fmt(load['p99_ms'])} ms, {_fmt(load['throughput_rps'])} req/s", verdict(ok),
                         "" if ok else REASONS["get_person"]))
    for engine, runs in _by_engine(results).items():
        worst = []
        for (s1, r1), (s2, r2) in zip(runs, runs[1:], strict=False):
            for label, get in GROWTH:
                try:
                    a, b = get(r1), get(r2)
                except (KeyError, TypeError, ZeroDivisionError):
                    continue
                if a:
                    worst.append((b / a / (s2 / s1), f"{label} ×{b / a:.2f} for ×{s2 / s1:g} persons ({s1:,}→{s2:,})"))
        partial = [s for s, r in runs
                   if r.get("whole_catalog") and r["whole_catalog"]["completed"] < r["whole_catalog"]["indicators"]]
        if partial:  # an indicator that did not answer in time grew by more than any ratio above shows
            worst.append((float("inf"), f"whole catalog incomplete at {', '.join(f'{p:,}' for p in partial)} persons"))
        if worst:
            ratio, text = max(worst)
            ok = ratio <= 1.1
            rows.append(("costs grow no worse than linearly", engine, f"worst: {text}", verdict(ok),
                         "" if ok else REASONS["linear"]))
    return rows


def enrolment_goals(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """The import of 100,000 enrolments (issue #13, point 5): measured against its floor; the issue sets no goal."""
    enrol = results.get("enrolments") or {}
    rows = []
    for run in enrol.get("runs", []):
        where = f"{run['persons']:,} persons {run['engine']}"
        if "error" in run:
            rows.append((f"import of {enrol['data']['enrolments']:,} enrolments", where, run["error"][:120], "**failed**", ""))
            continue
        n = len(run["repeats"])
        rows.append((f"import of {enrol['data']['enrolments']:,} enrolments", where,
                     f"{_fmt(run['median_per_second'])} enrolments/s (median of {n}); floor (bare COPY) "
                     f"{_fmt(run['median_floor_per_second'])}/s; ratio {run['ratio_to_floor']}×", "measured",
                     "no goal in the issue; see Findings F11"))
    return rows


def projection_goals(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Issue #14, point 5: every unit's projection to 2030 under 10 s, one province's gap under 1 s (at 1M persons)."""
    proj = results.get("projection") or {}
    rows = []
    for run in proj.get("runs", []):
        where = f"{run['persons']:,} persons {run['engine']}"
        if "error" in run:
            rows.append(("projection of one indicator, every unit, to 2030", where, run["error"][:120], "**failed**", ""))
            continue
        every, floor, gap = run["every_unit"], run["floor"], run["province_gap"]
        at_size = "" if run["persons"] >= 1_000_000 else " (the goal is set at 1,000,000 persons)"
        rows.append(("projection of one indicator, every unit, to 2030 (< 10 s)", where,
                     f"{_fmt(every['median_seconds'], 2)} s (median of {len(every['seconds'])}; first "
                     f"{_fmt(every['first_seconds'], 2)} s) for {every['units']:,} units; floor: the same indicator's "
                     f"all-units value at the 6 dates, {_fmt(floor['median_seconds'], 2)} s; ratio "
                     f"{run['ratio_to_floor']}×", ("met" if every["median_seconds"] < 10 else "**short**") + at_size, ""))
        rows.append(("gap of one province (< 1 s)", where,
                     f"{_fmt(gap['median_seconds'], 3)} s (median of {len(gap['seconds'])}; first "
                     f"{_fmt(gap['first_seconds'], 2)} s) for {run['province']}: needed {gap.get('needed')}, "
                     f"{gap.get('candidates_count')} candidates", ("met" if gap["median_seconds"] < 1 else "**short**")
                     + at_size, ""))
    return rows


def projection_figures(results: dict[str, Any]) -> list[str]:
    """The section of `bench.projection`."""
    proj = results.get("projection")
    if not proj:
        return []
    out = ["## Projection and gap (`python -m bench.projection`)", "",
           f"Run {proj['started']} to {proj.get('finished', '?')}: `{proj['indicator']}` from {proj['from']} to "
           f"{proj['to']} (6 dates). The registry of bench.generate bulk-loaded, 300 courses and one enrolment per ten "
           "persons imported through the API (2027's courses planned or under way: they complete after D0). Each "
           "request is timed over HTTP against a fresh `registry serve` (admin token); the first one builds the "
           "statements and is given apart; medians of the others.", "",
           "| persons, engine | every unit: /projections s | floor: /values at 6 dates s | ratio | one province: "
           "/projection s (events) | /gap s | gap: needed / candidates / beyond training |",
           "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for run in proj.get("runs", []):
        where = f"{run['persons']:,} {run['engine']}"
        if "error" in run:
            out.append(f"| {where} | failed: `{run['error'][:200]}` | | | | | |")
            continue
        e, f, p, g = run["every_unit"], run["floor"], run["province_projection"], run["province_gap"]
        out.append(f"| {where} | {_fmt(e['median_seconds'], 2)} | {_fmt(f['median_seconds'], 2)} | "
                   f"{run['ratio_to_floor']}× | {_fmt(p['median_seconds'], 2)} ({p['events']:,}) | "
                   f"{_fmt(g['median_seconds'], 3)} | {g.get('needed')} / {g.get('candidates_count')} / "
                   f"{g.get('beyond_training')} |")
    out.append("")
    return out


def access_log_goals(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Issue #15: 32 clients reading named persons reach at least 80% of the throughput of reads without sensitive fields."""
    section = results.get("access_log") or {}
    rows = []
    for run in section.get("runs", []):
        where = f"{run['persons']:,} persons {run['engine']}"
        goal = f"GET one person at {section.get('clients', 32)} clients: named reads (logged) ≥ 80% of reads without " \
               "sensitive fields"
        if "error" in run or "ratio" not in run:
            rows.append((goal, where, str(run.get("error", "no figure"))[:120], "**failed**", ""))
            continue
        named, floor = run["named"], run["floor"]
        waits = run["lock_wait_samples"]["waiting_sessions_by_event"]
        rows.append((goal, where,
                     f"named {_fmt(named['throughput_rps'])} req/s (p99 {_fmt(named['p99_ms'])} ms); floor, an auditor "
                     f"of the whole tree (no sensitive field, no entry) {_fmt(floor['throughput_rps'])} req/s (p99 "
                     f"{_fmt(floor['p99_ms'])} ms); ratio {run['ratio']}; sessions seen waiting on a lock: "
                     + (", ".join(f"{k} {v}" for k, v in sorted(waits.items())) or "none")
                     + f" in {run['lock_wait_samples']['samples']} samples",
                     "met" if run["ratio"] >= 0.8 else "**short**",
                     "" if run["ratio"] >= 0.8 else REASONS["named_vs_unnamed"]))
        floor = run.get("asgi_floor")
        if floor is None:
            continue
        for mode, who in (("named", "an admin"), ("commune_officer", "a commune's HR officer"),
                          ("province_auditor", "a province's auditor")):
            if mode not in run:
                continue
            m, ratio = run[mode], run["ratio_to_asgi_floor"][mode]
            met = ratio >= 0.5 and m["p99_ms"] < 100
            causes = [REASONS["get_person_floor"]] if ratio < 0.5 else [f"throughput: met ({ratio})"]
            if m["p99_ms"] >= 100:
                causes.append(p99_cause(m, floor, section.get("clients", 32)))
            rows.append((f"GET one person at {section.get('clients', 32)} clients, {who}: ≥ half the throughput of a "
                         "minimal ASGI + psycopg endpoint (bench/floor.py) and p99 < 100 ms", where,
                         f"{_fmt(m['throughput_rps'])} req/s (p99 {_fmt(m['p99_ms'])} ms) against the floor's "
                         f"{_fmt(floor['throughput_rps'])} req/s (p99 {_fmt(floor['p99_ms'])} ms), the same JSON "
                         f"({run['asgi_floor_same_json']['compared']} ids compared); ratio {ratio}",
                         "met" if met else "**short**", "" if met else "; ".join(causes)))
    return rows


def p99_cause(load: dict[str, Any], floor: dict[str, Any], clients: int) -> str:
    """Why a GET-person load's p99 is over 100 ms, in the run's own figures: the throughput that p99 < 100 ms needs
    at the load's latency shape (its p99 over the mean wait of a closed loop of `clients`), against the floor's."""
    mean = clients / load["throughput_rps"] * 1000  # ms: Little's law for a closed loop
    shape = load["p99_ms"] / mean
    need = load["throughput_rps"] * load["p99_ms"] / 100  # the throughput at which mean × shape is 100 ms
    return REASONS["get_person_p99"].format(clients=clients, mean=_fmt(round(mean, 1)), shape=round(shape, 2),
                                            need=_fmt(round(need)), share=round(need / floor["throughput_rps"], 2),
                                            floor_p99=_fmt(floor["p99_ms"]))


def twins_goals(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Issue #15: every statement of the catalog within 3× its hand-written equivalent, measured uncached."""
    section = results.get("twins") or {}
    rows = []
    goal = "every statement of the catalog ≤ 3× its hand-written twin (uncached: planned every run, no answer cache)"
    for run in section.get("runs", []):
        where = f"{run['persons']:,} persons {run['engine']}"
        if "error" in run or "summary" not in run:
            rows.append((goal, where, str(run.get("error", "no figure"))[:120], "**failed**", ""))
            continue
        s = run["summary"]
        timed = [r for r in run["indicators"] if r.get("ratio") is not None]
        top = max(timed, key=lambda r: r["ratio"]) if timed else None
        worst = f"{top['ratio']}× ({top['code']})" if top is not None else "none timed"
        disagree = [r["code"] for r in run["indicators"] if r.get("mismatched")]
        met = s["within_goal"] == s["indicators"] and not disagree
        rows.append((goal, where,
                     f"{s['within_goal']} of {s['indicators']} within 3× ({s['with_twin']} have a twin); median "
                     f"{s['median_ratio']}×, worst {worst}; answers compared at "
                     f"{len(s['roots'])} units × {len(s['dates'])} dates: "
                     + (f"**{len(disagree)} disagree** ({', '.join(disagree)})" if disagree else "all agree"),
                     "met" if met else "**short**", "" if met else REASONS["catalog_twins"]))
    return rows


def twins_figures(results: dict[str, Any]) -> list[str]:
    """The section of `bench.twins.measure`."""
    section = results.get("twins")
    if not section:
        return []
    out = ["## The catalog against hand-written twins (`make bench-twins`)", "",
           f"Run {section['started']} to {section.get('finished', '?')}. Each indicator's statements, as "
           "`GET /indicators/{code}/sql` shows them (binds inlined), and its twin (bench/twins: one statement written "
           "from the spec, not from the compiler), each run "
           f"{section['repeats']} times at the old province on 2024-12-31 on one connection that never prepares: "
           "medians. Answers compared with `INDICATOR_ANSWER_CACHE=0` at every unit and date listed.", ""]
    for run in section.get("runs", []):
        if "error" in run or "summary" not in run:
            out += [f"- {run['persons']:,} persons: failed: `{str(run.get('error', 'no figure'))[:300]}`", ""]
            continue
        s = run["summary"]
        out += [f"### {run['persons']:,} persons (units {', '.join(s['roots'])}; dates {', '.join(s['dates'])})", "",
                "| indicator | kind | twin | engine statements | engine ms | twin ms | engine ÷ twin | answers "
                "compared / differing |", "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
        for r in run["indicators"]:
            if r["twin"] is None:
                out.append(f"| {r['code']} | {r['kind']} | none | | | | | |")
                continue
            ratio = r["ratio"]
            shown = f"**{ratio}**" if ratio is not None and ratio > s["goal"] else str(ratio)
            out.append(f"| {r['code']} | {r['kind']} | {r['twin']} | {r['timed_at']['engine_statements']} | "
                       f"{_fmt(r['engine_ms'], 2)} | {_fmt(r['twin_ms'], 2)} | {shown} | {r['checked']} / "
                       f"{r['mismatched']} |")
        out.append("")
    return out


def access_log_figures(results: dict[str, Any]) -> list[str]:
    """The section of `bench.access_log`."""
    section = results.get("access_log")
    if not section:
        return []
    out = ["## Sensitive reads and the access log (`python -m bench.access_log`)", "",
           f"Run {section['started']} to {section.get('finished', '?')}, {section.get('cores')} cores. One `registry "
           f"serve` (a worker per core) on PostgreSQL; wrk, {section['clients']} connections, {section['seconds']} s "
           "per load, on `GET /persons/{id}` (random among 2,000 ids), rounds in alternating order. **named**: an admin "
           "token, each answer with sensitive fields and an access-log entry appended without a lock (one INSERT), "
           "chained by the server's background sealer within AUDIT_SEAL_SECONDS (F31, F32). **floor**: an auditor of "
           "the whole tree, the same records without "
           "sensitive fields, no entry. Medians of the rounds.", "",
           "| persons | named req/s | named p50 / p99 ms | floor req/s | floor p50 / p99 ms | ratio | lock waits seen "
           "(samples) | entries / unsealed after load / after the sealer | `audit verify` of the access log |",
           "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |"]
    for run in section.get("runs", []):
        if "error" in run or "ratio" not in run:
            out.append(f"| {run['persons']:,} | failed: `{str(run.get('error', 'no figure'))[:200]}` | | | | | | | |")
            continue
        n, f, w = run["named"], run["floor"], run["lock_wait_samples"]
        waits = ", ".join(f"{k} {v}" for k, v in sorted(w["waiting_sessions_by_event"].items())) or "none"
        v = run.get("verify", {})
        out.append(f"| {run['persons']:,} | {_fmt(n['throughput_rps'])} | {_fmt(n['p50_ms'])} / {_fmt(n['p99_ms'])} | "
                   f"{_fmt(f['throughput_rps'])} | {_fmt(f['p50_ms'])} / {_fmt(f['p99_ms'])} | {run['ratio']} | "
                   f"{waits} ({w['samples']}) | {run['entries']:,} / {run['unsealed_after_load']:,} / "
                   f"{run['unsealed_after_sealer']:,} | {v.get('access_log_findings')} findings in "
                   f"{_fmt(v.get('seconds', 0), 1)} s |")
    out += ["", "Every token, side by side (the same load; scoped callers read persons of their own unit):", "",
            "| persons | token | req/s | p50 / p99 ms | non-2xx answers | busiest worker's share of the CPU, each "
            "round |", "| --- | --- | ---: | ---: | ---: | --- |"]
    labels = {"named": "admin (sensitive fields, logged)", "floor": "auditor of the whole tree (no sensitive field)",
              "commune_officer": "HR officer of commune {commune} (sensitive fields, logged)",
              "province_auditor": "auditor of province {province}",
              "asgi_floor": "none: the minimal ASGI + psycopg endpoint (bench/floor.py), the same JSON as the admin's"}
    for run in section.get("runs", []):
        for mode, label in labels.items():
            if mode in run:
                m = run[mode]
                out.append(f"| {run['persons']:,} | {label.format(**run.get('scopes', {}))} | "
                           f"{_fmt(m['throughput_rps'])} | {_fmt(m['p50_ms'])} / {_fmt(m['p99_ms'])} | "
                           f"{_answers(run, mode)} | {_shares(m)} |")
    out += ["", "A round whose busiest worker used nearly all of the server's CPU (1.0 of it, against 0.5 for two "
            "workers sharing the load evenly) ran on one core: the first worker awake accepted every connection "
            "(bench/findings.md F28).", ""]
    return out


def _shares(mode: dict[str, Any]) -> str:
    shares = mode.get("busiest_worker_share")
    return ", ".join("–" if s is None else f"{s:.2f}" for s in shares) if shares else "–"


def _answers(run: dict[str, Any], mode: str) -> str:
    """How many answers were not 2xx, and which, as the server logged them (runs before 2026-12-06: the count alone)."""
    count = run.get("errors_by_mode", {}).get(mode, "–")
    statuses = run.get("statuses_by_mode", {}).get(mode)
    return f"{count} ({', '.join(f'{n} × {s}' for s, n in statuses.items())})" if statuses else str(count)


def enrolment_figures(results: dict[str, Any]) -> list[str]:
    """The section of `bench.enrolments`: data, registry, and each repeat."""
    enrol = results.get("enrolments")
    if not enrol:
        return []
    d = enrol["data"]
    out = ["## Import of enrolments (`python -m bench.enrolments`)", "",
           f"Run {enrol['started']} to {enrol.get('finished', '?')}. {d['enrolments']:,} enrolments "
           f"({d['bytes'] / 2**20:,.1f} MB of JSON Lines; " + ", ".join(f"{k} {v:,}" for k, v in sorted(d["by_status"].items()))
           + f") of persons of the {d['persons']:,}-person registry in {d['courses']} courses ({d['awarding_courses']} "
           f"award political theory, state management or a language): {d['awards']:,} completions award a "
           "qualification. Each repeat imports them into a fresh copy of the loaded registry in one "
           "`POST /api/v1/imports/enrolments` (admin token; batches of `IMPORT_BATCH_SIZE`, 500). The floor, measured "
           "on the same copy just before: a bare COPY (SQLite: executemany) of the same enrolment rows and of the "
           "qualification rows the completions award, into the same tables with the same indexes, rolled back. "
           "Ratio = floor rate ÷ import rate.", ""]
    for run in enrol.get("runs", []):
        out += [f"### {run['persons']:,} persons, {run['engine']}", ""]
        if "error" in run:
            out += [f"Failed: `{run['error']}`", ""]
            continue
        reg = run["registry"]
        out += [f"Registry: {reg['org_units']:,} units and {reg['persons']:,} persons bulk-loaded in "
                f"{_fmt(reg['bulk_seconds'])} s, {reg['courses_api']['lines']} courses through the API, "
                f"{_fmt(round(reg['database_bytes'] / 2**20))} MB.", "",
                "| repeat | import s | enrolments/s | errors | written (enrolments / awards / feed entries) | "
                "floor s | floor/s | ratio | server peak RSS MB | load average start → end |",
                "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |"]
        for i, r in enumerate(run["repeats"]):
            imp, fl, w = r["import"], r["floor"], r["written"]
            out.append(f"| {i + 1} | {_fmt(imp['seconds'])} | {_fmt(imp['per_second'])} | {imp['errors']} | "
                       f"{w['enrolments']:,} / {w['awarded']:,} / {w['changes']:,} | {_fmt(fl['seconds'], 2)} | "
                       f"{_fmt(fl['per_second'])} | {r['ratio_to_floor']}× | {_fmt(imp['peak_rss_mb'])} | "
                       f"{r['loadavg_start'][0]} → {r['loadavg_end'][0]} |")
        out.append("")
    return out


def _by_engine(results: dict[str, Any]) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    by_engine: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for size, engine, res in _engines(results):
        if "error" not in res:
            by_engine.setdefault(engine, []).append((size, res))
    for runs in by_engine.values():
        runs.sort(key=lambda t: t[0])
    return by_engine


GROWTH = (
    ("import s/person", lambda r: 1 / r["import_persons_api"]["per_second"]),
    ("one indicator warm p50", lambda r: r["single_indicator"]["warm"]["p50_ms"]),
    ("one indicator cold p50", lambda r: r["single_indicator"]["cold"]["p50_ms"]),
    ("whole catalog s/indicator", lambda r: r["whole_catalog"]["total_seconds"] / max(1, r["whole_catalog"]["completed"])),
    ("persons list p50", lambda r: r["persons_list"]["province_vien_chuc"]["p50_ms"]),
    ("GET person p99", lambda r: r["load_get_person"]["p99_ms"]),
)


def growth(results: dict[str, Any]) -> list[str]:
    """Cost ratios between consecutive sizes, per engine: <= size ratio means no worse than linear."""
    lines = []
    by_engine: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for size, engine, res in _engines(results):
        if "error" not in res:
            by_engine.setdefault(engine, []).append((size, res))
    for engine, runs in by_engine.items():
        runs.sort()
        for (s1, r1), (s2, r2) in zip(runs, runs[1:], strict=False):
            k = s2 / s1
            parts = []
            for label, get in GROWTH:
                try:
                    a, b = get(r1), get(r2)
                    ratio = b / a if a else float("nan")
                    flag = "" if ratio <= k * 1.1 else " **worse than linear**"
                    parts.append(f"{label} ×{ratio:.2f}{flag}")
                except (KeyError, TypeError, ZeroDivisionError):
                    continue
            lines.append(f"- {engine}, {s1:,} → {s2:,} persons (×{k:g}): " + "; ".join(parts))
    return lines


METRICS = (
    ("import persons/s (API)", lambda r: r["import_persons_api"]["per_second"], "/s"),
    ("one indicator cold p50", lambda r: r["single_indicator"]["cold"]["p50_ms"], "ms"),
    ("one indicator warm p50", lambda r: r["single_indicator"]["warm"]["p50_ms"], "ms"),
    ("one indicator warm p95", lambda r: r["single_indicator"]["warm"]["p95_ms"], "ms"),
    ("whole catalog, s per indicator", lambda r: r["whole_catalog"]["total_seconds"] / max(1, r["whole_catalog"]["completed"]),
     "s"),
    ("persons list (province, vien_chuc) p50", lambda r: r["persons_list"]["province_vien_chuc"]["p50_ms"], "ms"),
    ("GET /persons/{id} p99 at 32 clients", lambda r: r["load_get_person"]["p99_ms"], "ms"),
    ("GET /persons/{id} throughput", lambda r: r["load_get_person"]["throughput_rps"], "req/s"),
)


def projection(results: dict[str, Any], engine: str = "postgresql", target: int = 1_000_000) -> list[str]:
    """Each metric at `target` persons, extrapolated with the growth measured between the two largest sizes."""
    runs = sorted((size, res) for size, eng, res in _engines(results) if eng == engine and "error" not in res)
    if len(runs) < 2 or runs[-1][0] >= target:
        return []
    (s1, r1), (s2, r2) = runs[-2], runs[-1]
    k = math.log(target / s2) / math.log(s2 / s1)
    out = [f"Measured growth {s1:,} → {s2:,} persons carried on to {target:,} ({engine}; value × growth^"
           f"{k:.2f}; the tree grows with the registry, so per-request O(units) costs keep growing):", "",
           f"| metric | {s1:,} | {s2:,} | projected {target:,} |", "| --- | --- | --- | --- |"]
    for label, get, unit in METRICS:
        try:
            a, b = float(get(r1)), float(get(r2))
        except (KeyError, TypeError):
            continue
        proj = b * (b / a) ** k if a > 0 else float("nan")
        out.append(f"| {label} ({unit}) | {_fmt(a)} | {_fmt(b)} | {_fmt(proj)} |")
    return out


HOW_TO_RUN = """## How to run

    make bench                                   # sizes 10,000 and 100,000 on PostgreSQL and SQLite
    BENCH_SIZES=1000000 BENCH_SQLITE_MAX=0 make bench   # the national scale, PostgreSQL only
    BENCH_WORK=/var/tmp/bench make bench         # keep the generated files (and reuse them next time)
    make bench-enrolments                        # only the import of 100,000 enrolments (bench/enrolments.py)
    BENCH_ENROL_PERSONS=10000 BENCH_ENROL_LINES=20000 BENCH_ENROL_REPEATS=1 make bench-enrolments   # a quick look
    python -m bench.generate --persons 1000000 --out /var/tmp/reg1m   # the data alone (~1.3 GB)

Needs PostgreSQL on 127.0.0.1 (`BENCH_PG_ADMIN`, trust or a password in the URL) and `wrk`
(`apt-get install -y wrk`); `make bench` installs `duckdb` and `psutil` into the venv. The other knobs
(`BENCH_API_PERSONS`, `BENCH_RESTARTS`, `BENCH_CATALOG_BUDGET`, `BENCH_LOAD_SECONDS`, `BENCH_CLIENTS`,
`BENCH_EXPORT_SECONDS`) are described at the top of `bench/run.py`. Every loop is bounded in count and
time and every request goes to 127.0.0.1."""


def write_markdown(results: dict[str, Any], path: Path) -> None:
    m = results["machine"]
    out: list[str] = ["# Benchmarks", "",
                      "Produced by `make bench` (bench/run.py) — figures from the run of "
                      f"{results.get('started', '?')} to {results.get('finished', '?')}. Raw figures: `docs/benchmarks.json`. "
                      "How to read them and what limits them: `docs/scaling.md`.", "",
                      "## Machine", "",
                      "| | |", "| --- | --- |"]
    for k in ("nproc", "memory_gb", "cpu", "kernel", "python", "postgresql", "sqlite", "sqlalchemy", "duckdb", "wrk",
              "uvicorn_workers"):
        v = m.get(k)
        out.append(f"| {k} | {', '.join(f'{e} {n}' for e, n in v.items()) if isinstance(v, dict) else v} |")
    pg_settings = ", ".join(f"{k}={v}" for k, v in m.get("postgresql_settings", {}).items())
    out.append(f"| PostgreSQL settings | {pg_settings} (defaults) |")
    workers = m.get("uvicorn_workers")
    served = (f"{workers.get('postgresql')} uvicorn workers on PostgreSQL, {workers.get('sqlite')} on SQLite: its "
              "default, one per core on PostgreSQL and one on SQLite's single writer"
              if isinstance(workers, dict) else f"{workers} uvicorn worker(s)")
    out += ["", f"Server under test: `registry serve` ({served}) in a subprocess on 127.0.0.1, migrated with "
            "`registry migrate`, `REGISTRY_BOOTSTRAP_TOKEN` set; every request is an admin's (bootstrap token). "
            "Each engine and size gets a fresh database (PostgreSQL: `CREATE DATABASE` … `DROP DATABASE`; SQLite: a file "
            "in a temp dir). Percentiles are nearest-rank; \"p50 / p95 (n, sd)\" are milliseconds.", "",
            "## Protocol", "",
            "1. `bench/generate.py` writes a deterministic national registry (seed 1): 63 old and 34 new provinces through "
            "the 2025 reform, districts that close, communes merged or re-parented, every body kind, persons with every "
            "record type. The HTTP import of it reports zero errors. The tree scales with the registry (about one commune "
            "per 100 persons) but never goes below the national skeleton, so at 10,000 persons the 3,220 units make "
            "49% of persons post holders; at 100,000 it is 18% with a post and 10% with a seat in a body (at 10k: 99% "
            "have a degree, 92% a language record, 71% political theory, 6% a specialist level).",
            "2. The first `BENCH_API_UNITS` org units are imported through `POST /imports/org-units`; the rest of the "
            "tree, the statistics and all persons but the last `BENCH_API_PERSONS` are written by `bench/load.py` "
            "(the same rows, through the app's own schemas and converters, with COPY; the whole persons file through the "
            "API, as one import job, is measured by `bench.job_import`: docs/benchmarks-import.md); then the last 300 "
            "statistics and the last `BENCH_API_PERSONS` persons "
            "are imported through the API into the full-size registry — that is the import figure at each size. The "
            "export of the loaded persons is checked equal to the canonical form of the input lines.",
            "3. `VACUUM ANALYZE` (PostgreSQL) / `ANALYZE` (SQLite) after the load.",
            "4. One indicator for one unit: 3 indicators × 3 units (old province at 2024-12-31, a commune at 2024-12-31, "
            "the new Cần Thơ at 2025-12-31). Cold = the first call of each pair after a server restart "
            "(`BENCH_RESTARTS` restarts: new process, new connections, empty caches; the OS page cache stays warm); "
            "warm = 10 more calls of each pair.",
            "5. Whole catalog: `GET /indicators/{code}/values?as_of=2025-12-31` for every code of `GET /indicators`, "
            "within a time budget (`BENCH_CATALOG_BUDGET`).",
            "6. Persons list with filters, 10 calls each; then wrk (2 threads, `BENCH_CLIENTS`=32 connections, "
            "`BENCH_LOAD_SECONDS`=15 s) on `GET /persons/{id}` (random among 2,000 ids) and on a list page "
            "`GET /persons?limit=50&after={id}`.",
            "7. Side by side, PostgreSQL: the same 3 questions through the API, the engine's own SQL "
            "(`GET /indicators/{code}/sql`, run with psycopg), hand-written SQL (`bench/queries.py`) and DuckDB "
            "over the JSON Lines (cold: views over the files; warm: tables in memory).", ""]
    loads = [x for _s, _e, r in _engines(results) for x in (r.get("loadavg_start", [None])[0], r.get("loadavg_end", [None])[0])
             if x is not None]
    if loads:
        out += ["## Conditions", "",
                f"The machine was shared with other jobs during the run (1-minute load average {min(loads):.1f}–"
                f"{max(loads):.1f} on 2 cores, mostly other test suites), which inflates absolute latencies and "
                "their spread and makes cross-size ratios noisy; ratios measured back to back in the same run "
                "(API vs the engine's SQL vs hand-written SQL vs DuckDB) are the robust figures. An outlier "
                "(e.g. a 46 s API call right after the list-page load test, which left requests queued on the read-"
                "audit lock, F7) shows in p95 and max; the server is now restarted after the load tests.", ""]
    for note in results.get("notes", []):
        out += [f"- {note}"]
    if results.get("notes"):
        out.append("")
    out += ["## Sizes", "", "| persons | org units | statistics | persons.jsonl | districts/province | communes/district | "
            "generate s | DB size (PG / SQLite) |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for run in results.get("runs", []):
        mf = run["manifest"]
        sizes = " / ".join(_fmt(round(run["engines"][e].get("database_bytes", 0) / 2**20)) + " MB"
                           for e in ("postgresql", "sqlite") if e in run["engines"] and "database_bytes" in run["engines"][e])
        out.append(f"| {run['persons']:,} | {mf['org_units']:,} | {mf['statistics']:,} | "
                   f"{mf['bytes']['persons.jsonl'] / 2**20:,.0f} MB | {mf['districts_per_province']} | "
                   f"{mf['communes_per_district']} | {_fmt(run.get('generate_seconds'))} | {sizes} |")
    out += ["", "## Goals", "", "| goal | size, engine | measured | verdict | located cause (Findings) |",
            "| --- | --- | --- | --- | --- |"]
    for g in (goals(results) + enrolment_goals(results) + projection_goals(results) + access_log_goals(results)
              + twins_goals(results)):
        out.append("| " + " | ".join(g) + " |")
    out += ["", "### Cost growth", ""] + (growth(results) or ["(one size only)"])
    out += ["", "## Figures", ""]
    for size, engine, res in _engines(results):
        out.append(f"### {size:,} persons, {engine}")
        out.append("")
        if "error" in res:
            out += [f"Failed: `{res['error']}`", ""]
            continue
        out += ["| measure | figure |", "| --- | --- |"]
        if "loadavg_start" in res:
            out.append(f"| machine load average (1, 5, 15 min) at start / end | {res['loadavg_start']} / "
                       f"{res.get('loadavg_end')} (2 cores: above 2 means other jobs shared the CPU) |")
        for key, label in (("import_org_units_api", "import org units (API)"),
                           ("import_statistics_api", "import statistics (API)"),
                           ("import_persons_api", "import persons (API)")):
            i = res.get(key)
            if i:
                out.append(f"| {label} | {i['lines']:,} lines in {_fmt(i['seconds'])} s = **{_fmt(i['per_second'])}/s**, "
                           f"errors {i['errors']}, server peak RSS {_fmt(i['peak_rss_mb'])} MB |")
        f = res.get("import_persons_floor")
        if f:
            out.append(f"| floor of the person import: bare COPY of the same rows (rolled back) | {f['persons']:,} "
                       f"persons ({sum(f['rows'].values()):,} rows) in {_fmt(f['seconds'], 3)} s = "
                       f"**{_fmt(f['per_second'])}/s** (median of {f['seconds_each']} s); the import took "
                       f"{res['import_persons_api'].get('ratio_to_floor', '–')}× as long |")
        b = res.get("bulk_load")
        if b:
            out.append(f"| bulk load (bench/load.py) | {b['persons']:,} persons, {b['org_units']:,} units, "
                       f"{b['statistics']:,} statistics in {_fmt(b['seconds'])} s |")
        s = res.get("single_indicator")
        if s:
            out.append(f"| one indicator, cold p50 / p95 | {_ms(s['cold'])} |")
            out.append(f"| first request after start | {_ms(s['cold_first_request_after_start'])} |")
            out.append(f"| one indicator, warm p50 / p95 | {_ms(s['warm'])} |")
            for k, v in s["warm_by_pair"].items():
                out.append(f"| &nbsp;&nbsp;warm `{k}` | {_ms(v)} |")
        c = res.get("whole_catalog")
        if c:
            out.append(f"| whole catalog ({c['indicators']} indicators × {c['units_per_answer']:,} units) | "
                       f"{_fmt(c['total_seconds'])} s for {c['completed']} completed; median {_fmt(c['median_seconds'], 2)} s; "
                       f"slowest {', '.join(f'{k} {v:.1f} s' for k, v in c['slowest'])} |")
        for k, v in (res.get("persons_list") or {}).items():
            out.append(f"| persons list `{k}` | {_ms(v)} |")
        for k, label in (("load_get_person", "GET /persons/{id}"), ("load_list_page", "GET /persons?limit=50&after=")):
            v = res.get(k) or {}
            if v.get("requests") == 0:
                out.append(f"| {label}, {v['clients']} clients {v['seconds']} s | **no request completed** within "
                           f"{v['seconds']} s (see F7) |")
            elif "p50_ms" in v:
                out.append(f"| {label}, {v['clients']} clients {v['seconds']} s | p50 {_fmt(v['p50_ms'])} / p95 "
                           f"{_fmt(v['p95_ms'])} / p99 {_fmt(v['p99_ms'])} ms, **{_fmt(v['throughput_rps'])} req/s**, "
                           f"{v['requests']:,} requests, {v['errors_status'] + v['errors_timeout']} errors |")
            elif v:
                out.append(f"| {label} | {v} |")
        e = res.get("export_persons")
        if e:
            out.append(f"| export persons (API) | {e['persons']:,} in {_fmt(e['seconds'])} s = {_fmt(e['per_second'])}/s"
                       f"{'' if e.get('complete', True) else ' (read for the first 60 s only)'} |")
        x = res.get("export_matches_input")
        if x:
            out.append(f"| export = canonical input | {x['checked']:,} checked, {x['mismatched']} differ |")
        out.append("")
        comp = res.get("compare")
        if comp:
            out += [f"Side by side at {comp['unit']} on {comp['as_of']} (warm p50 / p95 ms). API cached: the answer kept "
                    "per process (keyed by the latest committed transaction); API uncached: a second server with "
                    "INDICATOR_ANSWER_CACHE=0, every answer computed (its compiled statement is still kept); engine SQL: "
                    "the statement the API shows (`/sql`) sent with psycopg, no cache of the service:", "",
                    "| indicator | API cached | API uncached | engine SQL | hand SQL | DuckDB warm | API ÷ hand (cached / "
                    "uncached) | engine SQL ÷ hand | API ÷ DuckDB (cached / uncached) |",
                    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
            for code, v in comp["by_indicator"].items():
                out.append(f"| {code} | {_ms(v['api'])} | {_ms(v.get('api_uncached'))} | {_ms(v['engine_sql'])} | "
                           f"{_ms(v['hand_sql'])} | {_ms(v.get('duckdb_warm'))} | {v['ratio_api_to_hand']} / "
                           f"{v.get('ratio_api_uncached_to_hand', '–')} | {v['ratio_engine_sql_to_hand']} | "
                           f"{v.get('ratio_api_to_duckdb_warm', '–')} / {v.get('ratio_api_uncached_to_duckdb_warm', '–')} |")
            out.append("")
    out += enrolment_figures(results)
    out += projection_figures(results)
    out += access_log_figures(results)
    out += twins_figures(results)
    out += ["## Agreement (acceptance point 3)", "",
            "Numerator and denominator of each indicator for the old province at 2024-12-31, from the API on each "
            "engine, hand-written SQL and DuckDB (warm tables and straight over the files):", ""]
    for run in results.get("runs", []):
        for code, a in (run.get("agreement") or {}).items():
            out.append(f"- {run['persons']:,} persons, {code}: {'identical' if a['identical'] else '**DIFFERENT**'} — "
                       + ", ".join(f"{k} {v}" for k, v in a["answers"].items()))
        d = run.get("duckdb", {})
        if "cold_over_files" in d:
            out.append(f"- {run['persons']:,} persons, DuckDB {d['version']}: straight over the files "
                       + ", ".join(f"{k} {v['ms']} ms" for k, v in d["cold_over_files"].items())
                       + f"; loading the files into memory {d['load_seconds']} s")
    proj = projection(results)
    if proj:
        out += ["", "## Projection to 1,000,000 persons", ""] + proj
    out += ["", HOW_TO_RUN]
    notes = Path(__file__).with_name("findings.md")
    if notes.exists():
        out += ["", notes.read_text(encoding="utf-8").strip()]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/benchmarks.json")
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else src.with_suffix(".md")
    write_markdown(json.loads(src.read_text(encoding="utf-8")), dst)
