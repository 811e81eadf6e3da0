"""The dashboard's HTML pages: sign-in and sign-out, the overview, one target, the persons counted."""

from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.deps import ACTIONS, SessionDep
from app.api.error_handlers import STATUS
from app.errors import DomainError, Forbidden, InvalidInput, NotFound, Unauthenticated
from app.services.context import Actor
from app.web import board, charts, formats, i18n, projection_section, sessions, svg
from app.web.view import LOCAL, SORTS, View, lang_of, page, recorded_by

router = APIRouter(prefix="/dashboard", include_in_schema=False)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/dashboard/login?{urlencode({'next': target})}", status_code=303)


def safe_next(value: str | None) -> str:
    """Only our own pages: a path under /dashboard, never another host."""
    if value and value.startswith("/dashboard") and not value.startswith("//") and "\\" not in value:
        return value
    return "/dashboard"


def who(actor: Actor) -> str:
    return actor.name.split(":", 2)[-1] if actor.name.startswith("token:") else actor.name


def failure(exc: DomainError, lang: str, actor: Actor | None, request: Request) -> HTMLResponse:
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
    detail = i18n.t("forbidden_detail", lang) if exc.code == "sensitive_population" else exc.detail
    return html(page("error.html", lang, actor=actor, who=who(actor) if actor else "", csrf=_csrf(request), detail=detail,
                     code=exc.code, switch=_switch(request, lang)), status)


def refusal(status: int, code: str, detail: str) -> HTMLResponse:
    """The error page for a request refused before it reaches a page (no session read: nobody is shown signed in)."""
    return html(page("error.html", "vi", actor=None, who="", csrf="", detail=detail, code=code,
                     switch="/dashboard?lang=en"), status)


def _csrf(request: Request) -> str:
    return str(getattr(request.state, "csrf", ""))


def _switch(request: Request, lang: str) -> str:
    """The same page in the other language."""
    params = dict(request.query_params) | {"lang": "en" if lang == "vi" else "vi"}
    return f"{request.url.path}?{urlencode(params)}"


@router.get("/login")
def login_form(request: Request, lang: str = "vi", next: str | None = None, error: str | None = None) -> Response:
    """The sign-in form: paste an API token."""
    lang = lang_of(lang)
    token = sessions.form_token()
    response = html(page("login.html", lang, actor=None, who="", csrf=token, next=safe_next(next),
                         error=error if error in ("bad_form", "bad_token") else None, switch=_switch(request, lang)))
    sessions.remember_form_token(request, response, token)
    return response


@router.post("/login")
def login(request: Request, session: SessionDep, token: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/dashboard", lang: Annotated[str, Form()] = "vi") -> Response:
    """Check the token as the API does and open a session; CSRF-checked."""
    lang = lang_of(lang)
    back = f"/dashboard/login?{urlencode({'lang': lang, 'next': safe_next(next)})}"
    if not sessions.check_form_csrf(request, csrf_token):
        return RedirectResponse(back + "&error=bad_form", status_code=303)
    response = RedirectResponse(safe_next(next), status_code=303)
    try:
        sessions.sign_in(session, request, response, token.strip())
    except Unauthenticated:
        return RedirectResponse(back + "&error=bad_token", status_code=303)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, csrf_token: Annotated[str, Form()] = "") -> Response:
    """End the session (CSRF-checked)."""
    if sessions.actor(session, request) is not None and not sessions.check_session_csrf(request, csrf_token):
        return html("CSRF token missing or wrong", 403)
    response = RedirectResponse("/dashboard/login", status_code=303)
    sessions.sign_out(session, request, response)
    return response


def view_of(session: SessionDep, actor: Actor, doc: str | None, org_unit: str | None, as_of: str | None,
          known_at: str | None, lang: str, sort: str = "unit", direction: str = "asc", code: str | None = None) -> View:
    """The view asked for; an empty field means its default: the latest deadline passed or year-end
    (`board.default_day`, of the one target `code` or of the resolution's targets), now, the caller's first unit."""
    docs = board.docs(session)
    day, moment = parse_day(as_of), parse_moment(known_at)
    chosen = doc or ("ST" if "ST" in docs else (docs[0] if docs else ""))
    if day is None:
        specs = board.specs_of(session, code=code) if code else board.specs_of(session, doc=chosen)
        day = board.default_day(specs, date.today())
    return View(doc=chosen, org_unit=org_unit or board.default_unit(session, actor) or "", as_of=day,
                known_at=recorded_by(moment), lang=lang_of(lang), pinned=moment is not None,
                sort=sort if sort in SORTS else "unit", desc=direction == "desc", defaulted=not (as_of or "").strip())


def parse_day(value: str | None) -> date | None:
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("not a date", errors=[{"field": "as_of", "message": f"YYYY-MM-DD, not {value!r}"}]) from None


def parse_moment(value: str | None) -> datetime | None:
    """An ISO 8601 moment; without a zone (the date-and-time picker's value) it is Vietnam's time, UTC+7."""
    if not value or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise InvalidInput("not a moment", errors=[{"field": "known_at", "message": f"ISO 8601, not {value!r}"}]) from None
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=LOCAL)).astimezone(UTC)
    except OverflowError:  # the first or last hours of year 1 or 9999, moved to UTC
        raise InvalidInput("not a moment", errors=[{"field": "known_at", "message": f"out of range: {value!r}"}]) from None


def chrome(request: Request, session: SessionDep, actor: Actor, view: View) -> dict[str, Any]:
    """What every signed-in page shows: who, the filter form's choices, the language switch."""
    return {"actor": actor, "who": who(actor), "csrf": _csrf(request), "view": view, "docs": board.docs(session),
            "units": board.unit_choices(session, actor, as_of=view.as_of),
            "switch": _switch(request, view.lang)}


@router.get("")
def overview(request: Request, session: SessionDep, doc: str | None = None, org_unit: str | None = None,
             as_of: str | None = None, known_at: str | None = None, lang: str = "vi") -> Response:
    """Every target of a resolution for a unit and date: status, value, band, gap, and the child units that lag."""
    actor = sessions.actor(session, request)
    if actor is None:
        return to_login(request)
    try:
        view = view_of(session, actor, doc, org_unit, as_of, known_at, lang)
        found = board.build(session, actor, doc=view.doc, org_unit=view.org_unit, as_of=view.as_of, known_at=view.known_at)
    except DomainError as exc:
        return failure(exc, lang_of(lang), actor, request)
    lagging = board_lag_chart(found, view.lang)
    return html(page("overview.html", view.lang, board=found, lag_chart=lagging, **chrome(request, session, actor, view)))


def board_lag_chart(found: board.Board, lang: str) -> Any:
    rows = [(u.label(), u.not_met, u.met, i18n.t("units_met", lang).format(met=u.met, scored=u.scored))
            for u in found.lagging()]
    if not rows:
        return None
    return svg.render(charts.lag(rows, title=i18n.t("lagging_units", lang)))


@router.get("/indicators/{code}")
def indicator(request: Request, session: SessionDep, code: str, doc: str | None = None, org_unit: str | None = None,
              as_of: str | None = None, known_at: str | None = None, lang: str = "vi", sort: str = "unit",
              dir: str = "asc", training: str | None = None, from_: Annotated[str | None, Query(alias="from")] = None,
              to: str | None = None) -> Response:
    """One target: value, definition and source, trend at year-ends, the projection to the deadline and the gap in the
    scenario asked (training, from, to), the child units (sortable)."""
    actor = sessions.actor(session, request)
    if actor is None:
        return to_login(request)
    try:
        view = view_of(session, actor, doc, org_unit, as_of, known_at, lang, sort, dir, code=code)
        scenario = projection_section.scenario_of(training, from_, to, date.today())
        resolution = board.doc_of(session, code)
        found = board.build(session, actor, doc=resolution, org_unit=view.org_unit, as_of=view.as_of,
                            known_at=view.known_at, trend=True, only=code)
        if not found.items:
            raise NotFound(f"No indicator {code!r} was defined at {view.known_at.isoformat()}", code="indicator_not_found")
        item = found.items[0]
        outlook = projection_section.gather(session, actor, item.spec, board.specs_of(session, doc=resolution),
                                            org_unit=view.org_unit, scenario=scenario, lang=view.lang)
    except DomainError as exc:
        return failure(exc, lang_of(lang), actor, request)
    return html(page("indicator.html", view.lang, board=found, item=item, trend_chart=trend_chart(item, view),
                     may_drill=actor.role in ACTIONS["indicators:persons"], outlook=outlook,
                     rows=breakdown_rows(found, item, view), bars_chart=bars_chart(found, item, view),
                     **chrome(request, session, actor, view)))


def trend_points(item: board.Item) -> list[tuple[int, float | None, str]]:
    return [(int(p["as_of"][:4]), p.get("value"), str(p.get("status"))) for p in item.trend]


def trend_chart(item: board.Item, view: View) -> Any:
    if not item.years:
        return None
    data = item.result
    band = tuple(data["target"]["band"]) if data.get("target") else None
    fig = charts.trend(trend_points(item), item.years, band, share=formats.measure(data) == "share",
                       fmt=lambda v: formats.value(data, v, view.lang), title=i18n.t("trend", view.lang),
                       as_of_year=view.as_of.year, pending=i18n.t("not_yet", view.lang))
    return svg.render(fig)


def breakdown_rows(found: board.Board, item: board.Item, view: View) -> list[dict[str, Any]]:
    """Child-unit cells with names and gaps, sorted as asked (cells without a value last)."""
    rows = [{**c, "name": found.names.get(c["key"], c["key"]), "kind": item.result["kind"], "target": item.result["target"]}
            for c in item.cells]
    for row in rows:
        row["gap_amount"] = formats.gap_amount(row)
    keys = {"unit": lambda r: (False, r["key"]), "value": lambda r: (r["value"] is None, r["value"] or 0),
            "gap": lambda r: (r["gap_amount"] is None, r["gap_amount"] or 0),
            "status": lambda r: (False, ("not_met", "met", "no_data").index(r["status"])),
            "denominator": lambda r: (r["denominator"] is None, r["denominator"] or 0)}
    present = [r for r in rows if not keys[view.sort](r)[0]]
    missing = [r for r in rows if keys[view.sort](r)[0]]
    present.sort(key=lambda r: keys[view.sort](r)[1], reverse=view.desc)
    return present + missing


def bars_chart(found: board.Board, item: board.Item, view: View) -> Any:
    rows = [r for r in breakdown_rows(found, item, view) if r["status"] != "no_data" or r["value"] is not None]
    if not rows:
        return None
    data = item.result
    band = tuple(data["target"]["band"]) if data.get("target") else None
    fig = charts.bars([(r["key"], r["value"], r["status"], formats.value(data, r["value"], view.lang)) for r in rows], band,
                      share=formats.measure(data) == "share", title=i18n.t("breakdown", view.lang))
    return svg.render(fig)


@router.get("/indicators/{code}/persons")
def persons(request: Request, session: SessionDep, code: str, doc: str | None = None, org_unit: str | None = None,
            as_of: str | None = None, known_at: str | None = None, lang: str = "vi") -> Response:
    """Who is counted and why, for the roles the service lets see it."""
    actor = sessions.actor(session, request)
    if actor is None:
        return to_login(request)
    try:
        view = view_of(session, actor, doc, org_unit, as_of, known_at, lang, code=code)
        if actor.role not in ACTIONS["indicators:persons"]:
            raise Forbidden(f"role {actor.role!r} may not read drill-downs", code="role_forbidden")
        found = board.persons(session, actor, code, org_unit=view.org_unit, as_of=view.as_of, known_at=view.known_at)
        unit = board.unit_names(session, {view.org_unit}, None).get(view.org_unit, view.org_unit)
        names = board.specs_of(session, code=code)[0].names
    except DomainError as exc:
        return failure(exc, lang_of(lang), actor, request)
    why = [board.reasons(session, p["why"], view.lang) for p in found["persons"]]
    return html(page("persons.html", view.lang, found=found, code=code, names=names, why=why, unit_name=unit,
                     **chrome(request, session, actor, view)))
