"""The person page: one person's record as the caller may see it (persons.read: scope, redaction, the read logged),
coded values in words, and their enrolments (as GET /api/v1/enrolments?person= lists them)."""

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.api.deps import SessionDep
from app.errors import DomainError, NotFound
from app.schemas.common import CODE_PATTERN
from app.services import codelists, history, persons, training_views
from app.services.context import Actor
from app.services.indicators import method
from app.web import board, i18n, sessions
from app.web.pages import chrome, failure, html, to_login, view_of
from app.web.view import Words, lang_of, page

router = APIRouter(prefix="/dashboard", include_in_schema=False)
QUALIFICATIONS = {  # person list -> (its name, the field holding its level or title, that field's code list)
    "degrees": (("Bằng cấp chuyên môn", "Degrees"), "level", "degree_level"),
    "political_theory": (("Lý luận chính trị", "Political theory"), "level", "political_theory"),
    "state_management": (("Quản lý nhà nước", "State management"), "level", "state_management"),
    "specialties": (("Chuyên khoa", "Medical specialist level"), "level", "specialist_level"),
    "academic_titles": (("Học hàm", "Academic title"), "title", "academic_title"),
    "it_skills": (("Tin học", "IT skills"), "level", "it_skill"),
    "languages": (("Ngoại ngữ, tiếng dân tộc", "Languages"), "level", "foreign_language_level"),
}
OWN = ("birth_date", "gender", "ethnicity", "national_id", "party_member_since", "party_member_until", "general_education")
CODED_OWN = {"gender": "gender", "ethnicity": "ethnicity"}
DATED_OWN = {"birth_date", "party_member_since", "party_member_until"}


def valid_code(value: str) -> bool:
    """Whether `value` could be a code of ours (a control character or a long string never is: answered 404)."""
    return len(value) <= 64 and re.fullmatch(CODE_PATTERN, value) is not None


def own_fields(record: dict[str, Any], words: Words) -> list[tuple[str, str]]:
    """(field, value in words) of the person's own fields the record holds (a redacted record has fewer)."""
    out = []
    for name in OWN:
        if name not in record or record[name] is None:
            continue
        value = record[name]
        shown = (i18n.day(value, words.lang) if name in DATED_OWN else words(CODED_OWN[name], value)
                 if name in CODED_OWN else str(value))
        out.append((name, shown))
    return out


def qualification_rows(record: dict[str, Any], words: Words, courses: dict[str, str]) -> list[dict[str, Any]]:
    """Every qualification item in words; an awarded one names its course."""
    rows = []
    for list_name, (names, field, code_list) in QUALIFICATIONS.items():
        for item in record.get(list_name) or []:
            rows.append({"list": names[1] if words.lang == "en" else names[0], "level": _level(list_name, item, field,
                                                                                              code_list, words),
                         "detail": _detail(list_name, item, words), "awarded_on": item.get("awarded_on"),
                         "course": item.get("from_enrolment"),
                         "course_name": courses.get(item.get("from_enrolment") or "", item.get("from_enrolment"))})
    return rows


def _level(list_name: str, item: dict[str, Any], field: str, code_list: str, words: Words) -> str:
    if list_name == "languages":
        level = item.get("level")
        base = f"{item.get('language')} · {words('language_kind', item.get('kind'))}"
        return base + (f" · {words(code_list, level)}" if level is not None else "")
    return words(code_list, item.get(field))


def _detail(list_name: str, item: dict[str, Any], words: Words) -> str:
    parts = [str(item[k]) for k in ("field", "institution", "country", "certificate", "score") if item.get(k)]
    if list_name == "political_theory" and item.get("equivalent"):
        parts.append("tương đương" if words.lang == "vi" else "equivalent")
    return "; ".join(parts)


def dated_rows(record: dict[str, Any], list_name: str, units: dict[str, str]) -> list[dict[str, Any]]:
    """Employments or positions, latest first, with their unit's name."""
    items = sorted(record.get(list_name) or [], key=lambda i: (i.get("start") or "", i.get("org_unit") or ""), reverse=True)
    return [item | {"unit_name": units.get(item.get("org_unit") or "", item.get("org_unit"))} for item in items]


def person_context(session: Session, actor: Actor, external_id: str, cut: int | None, lang: str) -> dict[str, Any]:
    """What the page shows: the record (read as the API reads it), its rows in words, the enrolments."""
    if not valid_code(external_id):
        raise NotFound(f"No person with external_id {external_id!r} in your org units", code="person_not_found")
    record, _rev = persons.read(session, actor, external_id, cut=cut)
    enrolments = training_views.person_enrolments(session, actor, external_id, cut)
    awarded = {i["from_enrolment"] for n in QUALIFICATIONS for i in record.get(n) or [] if i.get("from_enrolment")}
    courses = training_views.course_names(session, actor, awarded | {e["course"] for e in enrolments}, cut)
    words = Words(method.labels_of(codelists.load(session)), lang)
    codes = {i["org_unit"] for n in ("employments", "positions") for i in record.get(n) or []}
    units = board.unit_names(session, codes, cut)
    return {"record": record, "own": own_fields(record, words), "words": words, "courses": courses,
            "employments": dated_rows(record, "employments", units), "positions": dated_rows(record, "positions", units),
            "qualifications": qualification_rows(record, words, courses),
            "enrolments": sorted(enrolments, key=lambda e: (e.get("start") or "", e["course"]), reverse=True)}


@router.get("/persons/{external_id}")
def person(request: Request, session: SessionDep, external_id: str, org_unit: str | None = None,
           known_at: str | None = None, lang: str = "vi") -> Response:
    """One person as the caller may see them: own fields, employments, positions, qualifications, enrolments."""
    actor = sessions.actor(session, request)
    if actor is None:
        return to_login(request)
    try:
        view = view_of(session, actor, None, org_unit if org_unit and valid_code(org_unit) else None, None, known_at, lang)
        found = person_context(session, actor, external_id, history.txn_cut(session, view.known_at), view.lang)
    except DomainError as exc:
        return failure(exc, lang_of(lang), actor, request)
    return html(page("person.html", view.lang, external_id=external_id, **found, **chrome(request, session, actor, view)))
