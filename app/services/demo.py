"""The demo registry `make run` serves: the generated Sóc Trăng province, written through the import services."""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo.province import PROVINCE, Record, build_province
from app.models import OrgUnit, Person
from app.services import imports
from app.services.context import Actor
from app.services.import_run import ImportRun

ACTOR = Actor(name="system:demo", role="admin", source="import")
SEED = 1
PERSONS = 3000
PREFIX = "ST"
KINDS = ("org-units", "persons", "statistics")


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


def _lines(records: list[Record]) -> Iterator[tuple[imports.Line, int | None]]:
    for number, record in enumerate(records, start=1):
        yield imports.Line(number, json.dumps(record, ensure_ascii=False).encode()), None


def load(*, seed: int = SEED, persons: int = PERSONS, prefix: str = PREFIX) -> Loaded:
    """Import the generated province kind by kind, as `POST /imports/{kind}` would (each run recorded as an import)."""
    started = time.perf_counter()
    data = build_province(seed=seed, persons=persons, prefix=prefix)
    loaded = Loaded()
    for kind in KINDS:
        run = ImportRun(ACTOR, kind, dry_run=False)
        run.stream(_lines(data[kind.replace("-", "_")]))
        loaded.reports[kind] = run.finish()
    loaded.seconds = time.perf_counter() - started
    return loaded
