"""The unit training page (planning.md 'What the dashboard shows'): a unit's training in one year, in sections.

Each section is one entry of `SECTIONS`: its heading, its template (templates/training/), the function that gathers
what it shows from a service, and the API action whose roles may see it. The courses of the year and the enrolments by
course and status are here; the unit's training needs and its annual plan against what was done are in
`training_sections`. The plan's workbook is served here too, to the signed-in browser, as the API serves it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.api.deps import ACTIONS, SessionDep
from app.errors import DomainError, Forbidden, NotFound
from app.services import codelists, history, training_needs, training_plan_xlsx, training_views
from app.services.context import Actor
from app.services.indicators import method
from app.web import board, sessions, training_sections
from app.web.pages import chrome, failure, html, to_login, view_of
from app.web.person_page import valid_code
from app.web.reports import MEDIA
from app.web.view import Words, lang_of, page

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@dataclass(frozen=True)
class Ask:
    """What the page was asked for, and who asks."""

    session: Session
    actor: Actor
    org_unit: str
    year: int
    cut: int | None
    lang: str
    words: Words

    @property
    def sees_persons(self) -> bool:
        """Roles that see the persons behind an indicator see who is enrolled; the others see counts."""
        return training_needs.names_persons(self.actor)


@dataclass(frozen=True)
class Section:
    """One part of the page: `key` names its heading (i18n) and anchor, `gather` what its template shows, `action`
    the API's action (app.api.deps.ACTIONS) whose roles may see it."""

    key: str
    template: str
    gather: Callable[[Ask], dict[str, Any]]
    action: str

    def shown_to(self, ask: Ask) -> dict[str, Any] | None:
        """What the section shows to the caller; None for a role the API refuses."""
        return self.gather(ask) if ask.actor.role in ACTIONS[self.action] else None


def courses(ask: Ask) -> dict[str, Any]:
    found = training_views.unit_courses(ask.session, ask.actor, org_unit=ask.org_unit, year=ask.year, cut=ask.cut)
    names = board.unit_names(ask.session, {c["org_unit"] for c in found}, ask.cut)
    return {"courses": found, "organisers": names}


def enrolments(ask: Ask) -> dict[str, Any]:
    groups = training_views.unit_enrolments(ask.session, ask.actor, org_unit=ask.org_unit, year=ask.year, cut=ask.cut,
                                            with_persons=ask.sees_persons)
    return {"groups": groups, "totals": training_views.totals(groups), "statuses": training_views.STATUSES,
            "sees_persons": ask.sees_persons}


SECTIONS = (
    Section("courses", "training/courses.html", courses, "training:read"),
    Section("enrolment_counts", "training/enrolments.html", enrolments, "training:read"),
    Section("training_needs", "training/needs.html", training_sections.needs, "training_needs:read"),
    Section("annual_plan", "training/plan.html", training_sections.plan, "training_plans:read"),
)


def link(org_unit: str, year: int, lang: str, **more: str) -> str:
    return f"/dashboard/training?{urlencode({'org_unit': org_unit, 'year': year, 'lang': lang, **more})}"


@router.get("/training")
def training(request: Request, session: SessionDep, org_unit: str | None = None, year: str | None = None,
             known_at: str | None = None, lang: str = "vi") -> Response:
    """A unit's training in a year: the courses that run in it and its persons' enrolments by course and status."""
    actor = sessions.actor(session, request)
    if actor is None:
        return to_login(request)
    try:
        if org_unit and not valid_code(org_unit):
            raise NotFound(f"No org unit with code {org_unit!r}", code="org_unit_not_found")
        view = view_of(session, actor, None, org_unit, None, known_at, lang)
        words = Words(method.labels_of(codelists.load(session)), view.lang)
        ask = Ask(session, actor, view.org_unit, training_views.check_year(year, date.today()),
                  history.txn_cut(session, view.known_at), view.lang, words)
        shown = [(s, s.shown_to(ask)) for s in SECTIONS]
    except DomainError as exc:
        return failure(exc, lang_of(lang), actor, request)
    unit = board.unit_names(session, {ask.org_unit}, ask.cut).get(ask.org_unit, ask.org_unit)
    return html(page("training.html", view.lang, ask=ask, sections=shown, unit_name=unit, words=words, link=link,
                     **chrome(request, session, actor, view)))


@router.get("/training/plan.xlsx")
def training_plan_xlsx_file(request: Request, session: SessionDep, org_unit: str | None = None, year: str | None = None,
                            known_at: str | None = None, lang: str = "vi") -> Response:
    """The plan's workbook for the signed-in browser: the bytes of GET /api/v1/training-plans/{unit}/{year}.xlsx."""
    actor = sessions.actor(session, request)
    if actor is None:
        return to_login(request)
    try:
        if actor.role not in ACTIONS["training_plans:read"]:
            raise Forbidden(f"role {actor.role!r} may not read training plans", code="role_forbidden")
        if not org_unit or not valid_code(org_unit):
            raise NotFound(f"No org unit with code {org_unit!r}", code="org_unit_not_found")
        view = view_of(session, actor, None, org_unit, None, known_at, lang)
        day, cut = training_views.check_year(year, date.today()), history.txn_cut(session, view.known_at)
        found = training_views.unit_plan(session, actor, org_unit=org_unit, year=day, cut=cut, today=date.today())
        if found is None:
            raise NotFound(f"No training plan of {org_unit!r} for {day}", code="training_plan_not_found")
    except DomainError as exc:
        return failure(exc, lang_of(lang), actor, request)
    return Response(training_plan_xlsx.workbook(session, found), media_type=MEDIA["xlsx"], headers={
        "Content-Disposition": f'attachment; filename="training-plan-{org_unit}-{day}.xlsx"', "Cache-Control": "no-store"})
