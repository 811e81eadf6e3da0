"""The demo registry `make run` serves: the generated Sóc Trăng province, written through the import services."""

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo.province import PROVINCE, Record, build_province, build_training
from app.models import OrgUnit, Person
from app.services import imports
from app.services.context import Actor
from app.services.import_run import ImportRun

ACTOR = Actor(name="system:demo", role="admin", source="import")
SEED = 1
PERSONS = 3000
PREFIX = "ST"
KINDS = ("org-units", "persons", "statistics", "courses", "enrolments")
ILLUSTRATIVE = "Số liệu minh họa của bản demo, không phải số liệu thống kê chính thức"
# The province's reported targets (source_kind reported in app/data/targets.yaml): a figure for 2021 and the yearly
# change after it, so that the dashboard shows them with values and trends (some reach their target, some do not).
REPORTED: dict[str, tuple[float, float]] = {
    "ST-2025-LABOUR-TRAINED": (0.55, 0.03), "ST-2025-LABOUR-CERTIFIED": (0.21, 0.02),
    "ST-2025-EMPLOYMENT-RATE": (0.82, 0.008), "ST-2025-VOCATIONAL-EMPLOYED": (0.9, 0.02),
    "ST-2025-VOCATIONAL-ADVANTAGE-SECTORS": (0.18, 0.02), "ST-2025-JOBS-YEARLY": (26_500, 450),
    "ST-2025-TOURISM-WORKERS-TRAINED": (0.6, 0.04),
}
TWINS = {f"ST-2030-{name}" for name in ("LABOUR-TRAINED", "LABOUR-CERTIFIED", "EMPLOYMENT-RATE", "VOCATIONAL-ADVANTAGE-SECTORS",
                                        "JOBS-YEARLY", "TOURISM-WORKERS-TRAINED")}


@dataclass
class Loaded:
    """What a demo load wrote: the import report of each kind, and how long it took."""

    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return sum(int(r["failed"]) for r in self.reports.values())

    def summary(self) -> str:
        counts = ", ".join(f"{r['created']} {kind}" for kind, r in self.reports.items())
        return f"demo registry loaded (Tỉnh {PROVINCE} through the 2025 reform): {counts} in {self.seconds:.1f} s"


def is_empty(session: Session) -> bool:
    """True when the registry holds no org unit and no person (reference data does not count)."""
    return session.scalar(select(OrgUnit.id).limit(1)) is None and session.scalar(select(Person.id).limit(1)) is None


def reported_statistics(prefix: str = PREFIX) -> list[Record]:
    """Illustrative yearly figures 2021-2025 of the province's reported targets (marked as such in their source)."""
    out: list[Record] = []
    for code, (first, step) in REPORTED.items():
        twin = code.replace("-2025-", "-2030-")  # the 2030 target reads its own code: the same figures so far
        for year, name in itertools.product(range(2021, 2026), (code, twin) if twin in TWINS else (code,)):
            value = first + step * (year - 2021)
            out.append({"code": name, "org_unit": prefix, "period": str(year), "source": ILLUSTRATIVE,
                        "value": round(value) if isinstance(step, int) else round(value, 4)})
    return out


def _lines(records: list[Record]) -> Iterator[tuple[imports.Line, int | None]]:
    for number, record in enumerate(records, start=1):
        yield imports.Line(number, json.dumps(record, ensure_ascii=False).encode()), None


def load(*, seed: int = SEED, persons: int = PERSONS, prefix: str = PREFIX) -> Loaded:
    """Import the generated province kind by kind, as `POST /imports/{kind}` would (each run recorded as an import)."""
    started = time.perf_counter()
    data = build_province(seed=seed, persons=persons, prefix=prefix)
    data["statistics"] += reported_statistics(prefix)
    data |= build_training(data, seed)
    loaded = Loaded()
    for kind in KINDS:
        run = ImportRun(ACTOR, kind, dry_run=False)
        run.stream(_lines(data[kind.replace("-", "_")]))
        loaded.reports[kind] = run.finish()
    loaded.seconds = time.perf_counter() - started
    return loaded
