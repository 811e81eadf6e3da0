"""The whole catalog over every unit, in-process and uncached, with a digest of every answer (issue #15).

    python -m bench.catalog DATABASE_URL [CODE,CODE,...] [--as-of 2025-12-31] [--repeats 1] [--json FILE]

For a registry already loaded (bench.load; `make bench` loads and drops its own), each indicator of the catalog
(or the codes named) is asked `GET /indicators/{code}/values?as_of=…` through the application in this process
(Starlette's TestClient: no uvicorn, no network), with `INDICATOR_ANSWER_CACHE=0` so that every answer is
computed, and `RATE_LIMIT_PER_MINUTE=0`. The first call of each indicator builds its statement (the figure a
server's first catalog pass pays); `--repeats` more calls give the best of them as well.

Each answer's `items` is hashed (SHA-256, sorted keys), and the digests of all answers are hashed in catalog
order: two runs of different code on the same database agree on every value of every unit exactly when the
final digests agree. This is how a change to the compiler is shown to give the same answers (bench/findings.md,
F10 and F15).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from typing import Any


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.catalog", description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("codes", nargs="?", help="comma-separated indicator codes (default: the whole catalog)")
    parser.add_argument("--as-of", default="2025-12-31")
    parser.add_argument("--repeats", type=int, default=0, help="calls after the first; the best is reported")
    parser.add_argument("--json", help="write the figures and digests here")
    args = parser.parse_args(argv)
    token = "bench-catalog-" + "x" * 32
    os.environ.update(DATABASE_URL=args.database_url, REGISTRY_BOOTSTRAP_TOKEN=token, LOG_LEVEL="ERROR",
                      AUDIT_SEAL_SECONDS="0", INDICATOR_ANSWER_CACHE="0", RATE_LIMIT_PER_MINUTE="0",
                      IMPORT_JOBS_RESUME="false")
    from fastapi.testclient import TestClient

    from app.main import app

    headers = {"Authorization": f"Bearer {token}"}
    rows: list[dict[str, Any]] = []
    whole = hashlib.sha256()
    started = time.perf_counter()
    with TestClient(app) as client:
        codes = args.codes.split(",") if args.codes else [
            item["code"] for item in client.get("/api/v1/indicators", headers=headers, params={"limit": 500}).json()["items"]]
        for code in codes:
            times, answer = [], None
            for _ in range(1 + args.repeats):
                t0 = time.perf_counter()
                answer = client.get(f"/api/v1/indicators/{code}/values", headers=headers, params={"as_of": args.as_of})
                times.append(time.perf_counter() - t0)
            assert answer is not None
            if answer.status_code != 200:
                sys.exit(f"{code}: HTTP {answer.status_code} {answer.text[:300]}")
            items = answer.json()["items"]
            digest = hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()[:16]
            whole.update(digest.encode())
            rows.append({"code": code, "units": len(items), "first_s": round(times[0], 3),
                         "best_s": round(min(times), 3), "digest": digest})
            sys.stdout.write(f"{code:45s} {len(items):7d} units  first {times[0]:7.2f} s  best {min(times):7.2f} s  "
                             f"{digest}\n")
            sys.stdout.flush()
    summary = {"indicators": len(rows), "first_s": round(sum(r["first_s"] for r in rows), 1),
               "best_s": round(sum(r["best_s"] for r in rows), 1), "wall_s": round(time.perf_counter() - started, 1),
               "as_of": args.as_of, "digest": whole.hexdigest()[:16]}
    sys.stdout.write(json.dumps(summary) + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"summary": summary, "indicators": rows}, out, indent=1)


if __name__ == "__main__":
    main()
