"""Planning pools on the dashboard (planning.md 'Planning pools'): the pools within reach, and one pool's check.

The check is the API's (GET /api/v1/planning-pools/{code}/check) rendered: the same scope, the same names for
the roles that see persons and none for the others.
"""

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.deps import SessionDep
from app.errors import DomainError, NotFound
from app.models import OrgUnit, OrgUnitVersion
from app.services import planning_pools, planning_rules, tree
from app.services.context import Actor
from app.services.pool_attributes import POOL_KIND
from app.web import sessions
from app.web.pages import chrome, failure, html, parse_day, to_login, view_of
from app.web.person_page import valid_code
from app.web.view import lang_of, page

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def pools_in_reach(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(code, name) of the planning pools the caller may read, in code order."""
    rows = session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnitVersion.name)
                           .join(OrgUnitVersion, OrgUnitVersion.org_unit_id == OrgUnit.id)
                           .where(OrgUnitVersion.sys_to.is_(None), OrgUnitVersion.kind == POOL_KIND)
                           .order_by(OrgUnit.code)).all()
    allowed = tree.reach(session, actor)
    return [(r.code, r.name) for r in rows if allowed is None or r.id in allowed]


@router.get("/planning-pools")
def planning_pool_list(request: Request, session: SessionDep, lang: str = "vi") -> Response:
    """The planning pools within the caller's reach, each linked to its check."""
    actor = sessions.actor(session, request)
    if actor is None:
        return to_login(request)
    try:
        view = view_of(session, actor, None, None, None, None, lang)
    except DomainError as exc:
        return failure(exc, lang_of(lang), actor, request)
    return html(page("pools.html", view.lang, pools=pools_in_reach(session, actor), **chrome(request, session, actor, view)))


@router.get("/planning-pools/{code}")
def planning_pool(request: Request, session: SessionDep, code: str, as_of: str | None = None, lang: str = "vi") -> Response:
    """One pool's check on a date: the rules applied, with their sources, and the violations."""
    actor = sessions.actor(session, request)
    if actor is None:
        return to_login(request)
    try:
        if not valid_code(code):
            raise NotFound(f"No org unit with code {code!r}", code="org_unit_not_found")
        view = view_of(session, actor, None, None, None, None, lang)
        day = parse_day(as_of) or date.today()
        found: dict[str, Any] = planning_pools.check(session, actor, code, day)
    except DomainError as exc:
        return failure(exc, lang_of(lang), actor, request)
    names = {r.code: (r.vi, r.en) for r in planning_rules.versions()}
    return html(page("pool.html", view.lang, check=found, rule_names=names, **chrome(request, session, actor, view)))
