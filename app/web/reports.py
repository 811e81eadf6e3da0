"""The reports as files: XLSX and PDF of a resolution's targets for a unit and date.

From the dashboard (session cookie) and from the API (bearer token): the same board, the same bytes
for the same parameters and known_at (apart from the generation time they state).
"""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from app.api.deps import SessionDep, allow
from app.errors import DomainError
from app.services.context import Actor
from app.web import board, pdf, projection_section, sessions, xlsx
from app.web.pages import failure, to_login
from app.web.view import View, lang_of, recorded_by

router = APIRouter(prefix="/dashboard", include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["reports"])
Reader = Annotated[Actor, allow("indicators:read")]
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}
# The parameters of the API's report files, described for the OpenAPI.
Doc = Annotated[str, Path(description="the resolution: CT (the party committee's) or ST (the People's Council's)")]
Unit = Annotated[str, Query(description="the org unit's code (its whole subtree counts)")]
AsOf = Annotated[date | None, Query(description="the date the report is for (YYYY-MM-DD); default the latest deadline "
                                                "passed of the resolution's targets, else the last 31 December")]
KnownAt = Annotated[datetime | None, Query(description="as the registry had recorded it at this moment (ISO 8601); default now")]
Lang = Annotated[str, Query(description="the report's language: vi or en")]


def produce(session: SessionDep, actor: Actor, view: View, kind: str) -> Response:
    """Evaluate the board (figures, child units, trend) and the projection of its targets still to come (from
    today, as the training is planned), and write them as `kind`."""
    found = board.build(session, actor, doc=view.doc, org_unit=view.org_unit, as_of=view.as_of, known_at=view.known_at,
                        trend=True)
    generated_at = board.now()
    projected = projection_section.for_report(session, actor, [i.spec for i in found.items], org_unit=view.org_unit,
                                              as_of=view.as_of, today=date.today())
    body = (xlsx.render if kind == "xlsx" else pdf.render)(found, view, actor, generated_at, projected)
    name = f"report-{view.doc}-{view.org_unit}-{view.as_of.isoformat()}.{kind}"
    return Response(body, media_type=MEDIA[kind], headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                          "Cache-Control": "no-store"})


def _view(session: SessionDep, doc: str, org_unit: str, as_of: date | None, known_at: datetime | None, lang: str) -> View:
    """Without as_of, the dashboard's default: the latest deadline passed of the resolution's targets, else the last
    31 December (board.default_day)."""
    day = as_of or board.default_day(board.specs_of(session, doc=doc), date.today())
    return View(doc=doc, org_unit=org_unit, as_of=day, known_at=recorded_by(known_at), lang=lang_of(lang),
                pinned=known_at is not None, defaulted=as_of is None)


@router.get("/report.{kind}")
def dashboard_report(request: Request, session: SessionDep, kind: str, doc: str, org_unit: str, as_of: date | None = None,
                     known_at: datetime | None = None, lang: str = "vi") -> Response:
    """The report of what the dashboard shows (signed-in browser)."""
    actor = sessions.actor(session, request)
    if actor is None:
        return to_login(request)
    try:
        view = _view(session, doc, org_unit, as_of, known_at, lang)
    except DomainError as exc:
        return failure(exc, lang_of(lang), actor, request)
    if kind not in MEDIA:
        return failure(DomainError(f"no report of type {kind!r}", code="not_found"), view.lang, actor, request)
    try:
        return produce(session, actor, view, kind)
    except DomainError as exc:
        return failure(exc, view.lang, actor, request)


@api_router.get("/reports/{doc}.xlsx", response_class=Response,
                responses={200: {"content": {MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}})
def get_report_xlsx(doc: Doc, org_unit: Unit, session: SessionDep, actor: Reader, as_of: AsOf = None,
                    known_at: KnownAt = None, lang: Lang = "vi") -> Response:
    """A resolution's targets for a unit and date (by default the latest deadline passed, else the last 31 December)
    as an XLSX workbook (figures, charts, definitions, data version)."""
    return produce(session, actor, _view(session, doc, org_unit, as_of, known_at, lang), "xlsx")


@api_router.get("/reports/{doc}.pdf", response_class=Response,
                responses={200: {"content": {MEDIA["pdf"]: {"schema": {"type": "string", "format": "binary"}}}}})
def get_report_pdf(doc: Doc, org_unit: Unit, session: SessionDep, actor: Reader, as_of: AsOf = None,
                   known_at: KnownAt = None, lang: Lang = "vi") -> Response:
    """The same report as a PDF, Vietnamese font embedded."""
    return produce(session, actor, _view(session, doc, org_unit, as_of, known_at, lang), "pdf")
