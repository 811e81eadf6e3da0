"""Planning-pool checks (planning.md 'Planning pools'): which rules in force on a date a pool breaks, and why.

The rules and their sources are data (app/data/planning_rules.yaml, app.services.planning_rules). A caller
whose role sees persons (the roles of `indicators:persons`) gets each candidate's external id and name in
the violations; the others get `external_id` null and messages that name nobody. A discipline disclosed
that way to a named caller is logged as a read (audit.log_reads, action `planning_pool_check`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.errors import Forbidden, NotFound
from app.services import audit, retirement, tree
from app.services import planning_pool_queries as q
from app.services.context import Actor
from app.services.planning_rules import Rule, in_force
from app.services.pool_attributes import POOL_KIND


@dataclass
class Context:
    """What the rules read: the pool, the day, its candidates, and whether to name them."""

    session: Session
    pool: q.Pool
    day: date
    candidates: list[q.Candidate]
    named: bool

    def who(self, c: q.Candidate) -> str:
        if self.named:
            return f"{c.full_name} ({c.external_id})"
        return f"candidate {self.candidates.index(c) + 1} of {len(self.candidates)}"

    def violation(self, rule: Rule, c: q.Candidate | None, message: str) -> dict[str, Any]:
        return {"rule": rule.code, "source": rule.source,
                "external_id": c.external_id if c is not None and self.named else None, "message": message}


def names_persons(actor: Actor) -> bool:
    """Whether the caller sees the persons behind a check (the roles that see the persons behind an indicator)."""
    from app.api.deps import ACTIONS

    return actor.role in ACTIONS["indicators:persons"]


def pool_in_reach(session: Session, actor: Actor, code: str) -> q.Pool:
    """The planning pool `code` when the caller may read it: NotFound, Forbidden `out_of_scope`, or NotFound
    `not_a_planning_pool` for a unit of another kind."""
    uid = tree.unit_id(session, code)
    allowed = tree.reach(session, actor)
    if allowed is not None and uid not in allowed:
        raise Forbidden(f"org unit {code!r} is outside your org units", code="out_of_scope")
    found = q.pool(session, uid)
    if found is None or found.kind != POOL_KIND:
        raise NotFound(f"org unit {code!r} is not a planning pool (kind {POOL_KIND})", code="not_a_planning_pool")
    return found


def check(session: Session, actor: Actor, code: str, as_of: date) -> dict[str, Any]:
    """The violations of the rules in force on `as_of` by the pool `code`, with the rules applied."""
    pool = pool_in_reach(session, actor, code)
    ctx = Context(session, pool, as_of, q.candidates(session, [pool.id], as_of).get(pool.id, []), names_persons(actor))
    rules = in_force(as_of)
    violations: list[dict[str, Any]] = []
    applied, skipped = [], []
    for name, judge in CHECKS.items():
        rule = rules.get(name)
        if rule is None or not rule.configured:
            skipped.append({"rule": name, "why": "not in force on that date" if rule is None else
                            "no figure configured (a province sets its own in app/data/planning_rules.yaml)",
                            **({"source": rule.source} if rule else {})})
            continue
        found = judge(ctx, rule)
        if found is None:
            skipped.append({"rule": name, "source": rule.source, "why": _NOT_APPLICABLE[name]})
            continue
        applied.append(rule.describe())
        violations += found
    _log_disclosed(ctx, violations, actor)
    return {"pool": pool.code, "as_of": as_of.isoformat(),
            "pool_for": {"org_unit": pool.pool_for, "rank": pool.rank} if pool.pool_for else None,
            "term": [d.isoformat() for d in pool.term] if pool.term else None, "candidates": len(ctx.candidates),
            "rules_applied": applied, "rules_not_applied": skipped, "violations": violations}


def _max_candidates(ctx: Context, rule: Rule) -> list[dict[str, Any]] | None:
    limit = int(rule.params["limit"])
    if len(ctx.candidates) <= limit:
        return []
    return [ctx.violation(rule, None, f"the pool has {len(ctx.candidates)} candidates on {ctx.day}; a title may have "
                          f"at most {limit}")]


def _max_pools(ctx: Context, rule: Rule) -> list[dict[str, Any]] | None:
    if ctx.pool.rank is None:
        return None
    limit = int(rule.params["limit"])
    pools = q.pools_of_rank(ctx.session, [c.person_id for c in ctx.candidates], ctx.pool.rank, ctx.day)
    return [ctx.violation(rule, c, f"{ctx.who(c)} is a candidate in {len(pools[c.person_id])} pools of titles of rank "
                          f"{ctx.pool.rank} on {ctx.day}" + (f" ({', '.join(pools[c.person_id])})" if ctx.named else "")
                          + f"; at most {limit}")
            for c in ctx.candidates if len(pools.get(c.person_id, [])) > limit]


def _retires(c: q.Candidate) -> retirement.Retirement | None:
    try:
        return retirement.reached(c.birth_date, c.gender)
    except (KeyError, ValueError):  # a gender without a track, a birth before the schedules: not judged
        return None


def _full_term(ctx: Context, rule: Rule) -> list[dict[str, Any]] | None:
    if ctx.pool.term is None:
        return None
    end = ctx.pool.term[1]
    out = []
    for c in ctx.candidates:
        r = _retires(c)
        if r is not None and r.on < end:
            out.append(ctx.violation(rule, c, f"{ctx.who(c)} reaches statutory retirement on {r.on}, before the term "
                                     f"ends on {end}"))
    return out


def _age_months(birth: date, day: date) -> int:
    return (day.year - birth.year) * 12 + day.month - birth.month - (1 if day.day < birth.day else 0)


def _sixty_months(ctx: Context, rule: Rule) -> list[dict[str, Any]] | None:
    term = ctx.pool.term
    if term is None or term[1].year - term[0].year != int(rule.params["term_years"]):
        return None  # not a post with a five-year term
    months = int(rule.params["months"])
    holders = q.holding_rank(ctx.session, [c.person_id for c in ctx.candidates], ctx.pool.rank, ctx.day) \
        if ctx.pool.rank else set()
    out = []
    for c in ctx.candidates:
        r = _retires(c)
        if r is None or c.person_id in holders:
            continue  # already holds a post of the rank: not a first appointment
        left = r.age_months - _age_months(c.birth_date, ctx.day)
        if left < months:
            out.append(ctx.violation(rule, c, f"{ctx.who(c)} has {left} months to statutory retirement on {ctx.day}; a "
                                     f"first appointment to a post with a five-year term needs at least {months}"))
    return out


def _no_discipline(ctx: Context, rule: Rule) -> list[dict[str, Any]] | None:
    found = q.disciplined(ctx.session, [c.person_id for c in ctx.candidates], ctx.day)
    out = []
    for c in ctx.candidates:
        for form, start, end in found.get(c.person_id, [])[:1]:
            what = f" ({form}, from {start} to {end or 'open'})" if ctx.named else ""
            out.append(ctx.violation(rule, c, f"{ctx.who(c)} is under a discipline in force on {ctx.day}{what}"))
    return out


def _age(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _composition(ctx: Context, rule: Rule, tiers: list[str] | None, counts: Callable[[q.Candidate], bool],
                 what: str) -> list[dict[str, Any]] | None:
    if tiers is not None and ctx.pool.tier not in tiers:
        return None
    parent = q.parent_on(ctx.session, ctx.pool.id, ctx.day)
    if parent is None:
        return None
    pools = q.sibling_pools(ctx.session, parent, ctx.day, tiers)
    people = {c.person_id: c for found in q.candidates(ctx.session, pools, ctx.day).values() for c in found}
    if not people:
        return []
    share, floor = sum(map(counts, people.values())) / len(people), float(rule.params["min_share"])
    if share >= floor:
        return []
    unit = tree.unit_codes(ctx.session, {parent})[parent]
    return [ctx.violation(rule, None, f"{what} are {share:.1%} of the {len(people)} candidates of the {len(pools)} "
                          f"planning pools of {unit} on {ctx.day}; at least {floor:.0%}")]


def _women(ctx: Context, rule: Rule) -> list[dict[str, Any]] | None:
    return _composition(ctx, rule, None, lambda c: c.gender == "female", "women")


def _young(ctx: Context, rule: Rule) -> list[dict[str, Any]] | None:
    under = int(rule.params["under_age"])
    return _composition(ctx, rule, list(rule.params["tiers"]), lambda c: _age(c.birth_date, ctx.day) < under,
                        f"cadres under {under}")


CHECKS: dict[str, Callable[[Context, Rule], list[dict[str, Any]] | None]] = {
    "max_candidates_per_title": _max_candidates, "max_pools_per_level": _max_pools, "serves_full_term": _full_term,
    "sixty_months_before_retirement": _sixty_months, "no_discipline": _no_discipline,
    "composition_women": _women, "composition_young": _young,
}
_NOT_APPLICABLE = {
    "max_pools_per_level": "the pool names no title (pool_for), so no rank to compare",
    "serves_full_term": "the pool has no term",
    "sixty_months_before_retirement": "the pool has no five-year term",
    "composition_women": "the pool has no parent unit on that date",
    "composition_young": "the pool is not at a level the rule covers, or has no parent unit on that date",
}


def _log_disclosed(ctx: Context, violations: list[dict[str, Any]], actor: Actor) -> None:
    """Disciplines shown beside a named candidate are a read of the person's record: one access-log entry each."""
    ids = {c.external_id: c.person_id for c in ctx.candidates}
    named = sorted({ids[v["external_id"]] for v in violations if v["rule"] == "no_discipline" and v["external_id"]})
    if named:
        audit.log_reads(ctx.session, actor, [*named], fields="disciplines", action="planning_pool_check",
                        detail=f"{ctx.pool.code} {ctx.day.isoformat()}")
