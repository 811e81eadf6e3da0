"""The rules of planning pools as effective-dated data (app/data/planning_rules.yaml), each with its source."""

from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import yaml

from app.services.codelists import DATA

RULES = ("max_candidates_per_title", "max_pools_per_level", "serves_full_term", "sixty_months_before_retirement",
         "no_discipline", "composition_women", "composition_young")


@dataclass(frozen=True)
class Rule:
    """One version of one rule: its figures (`params`), its source and the days it is in force."""

    code: str
    vi: str
    en: str
    source: str
    valid_from: date
    valid_to: date | None
    params: dict[str, Any] = field(default_factory=dict)

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    @property
    def configured(self) -> bool:
        """False for a composition rule whose figure is left to the province and not given (min_share null)."""
        return not ("min_share" in self.params and self.params["min_share"] is None)

    def describe(self) -> dict[str, Any]:
        return {"rule": self.code, "source": self.source, "valid_from": self.valid_from.isoformat(),
                "valid_to": None if self.valid_to is None else self.valid_to.isoformat(), "vi": self.vi, "en": self.en,
                **self.params}


@cache
def versions() -> tuple[Rule, ...]:
    """Every version of every rule, as packaged."""
    raw: dict[str, Any] = yaml.safe_load((DATA / "planning_rules.yaml").read_text("utf-8"))["rules"]
    out: list[Rule] = []
    for code, entry in raw.items():
        for v in entry["versions"]:
            params = {k: val for k, val in v.items() if k not in ("valid_from", "valid_to", "source")}
            out.append(Rule(code, entry["vi"], entry["en"], v["source"], v["valid_from"], v["valid_to"], params))
    return tuple(out)


def in_force(day: date) -> dict[str, Rule]:
    """The version of each rule in force on `day` (a rule not yet or no longer in force is absent)."""
    return {r.code: r for r in versions() if r.in_force(day)}


def latest_figure(code: str) -> float | None:
    """The `min_share` of the latest version of a composition rule that gives one (an indicator's target floor)."""
    given = [r for r in versions() if r.code == code and r.params.get("min_share") is not None]
    return float(max(given, key=lambda r: r.valid_from).params["min_share"]) if given else None
