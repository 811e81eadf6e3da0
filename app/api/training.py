"""Training records (planning.md 'Training'): courses and enrolments: list, read (now or at a past moment), create,
replace, patch. Imports and exports of both go through /imports/{kind} and /exports/{kind}."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from app.api.deps import AnswerRoute, ReadSessionDep, SessionDep, allow
from app.api.params import KnownAt, PersonPath, cursor_after, page_size
from app.errors import InvalidInput
from app.schemas.common import AppSchema, Code, IsoDate, Text
from app.schemas.interchange import CountryCode, CourseRecord, EnrolmentRecord, Money, OptText, OptText100
from app.schemas.records import CoursePage, CourseRead, CourseWritten, EnrolmentPage, EnrolmentRead, EnrolmentWritten
from app.services import codelists, history, training
from app.services.context import Actor

router = APIRouter(tags=["training"], route_class=AnswerRoute)
Reader = Annotated[Actor, allow("training:read")]
Writer = Annotated[Actor, allow("training:write")]
CoursePath = Annotated[str, Path(description="the course's code")]
Year = Annotated[int | None, Query(ge=1900, le=2200, description="only those that run (courses) or start, are expected "
                                                                 "to finish or finish (enrolments) in this year")]


class CoursePatch(AppSchema):
    """Some fields of a course; what is left out keeps its value (`awards: null` removes the award)."""

    name: Text | None = None
    kind: Code | None = None
    provider: OptText = None
    org_unit: Code | None = None
    start: IsoDate | None = None
    end: IsoDate | None = None
    hours: int | None = None
    mode: Code | None = None
    country: CountryCode | None = None
    cost_per_person: Money | None = None
    funding: Code | None = None
    awards: dict[str, Any] | None = None


class EnrolmentPatch(AppSchema):
    """Some fields of an enrolment: e.g. `{"status": "completed", "completed_on": "2027-08-31"}`."""

    status: Code | None = None
    start: IsoDate | None = None
    expected_completion: IsoDate | None = None
    completed_on: IsoDate | None = None
    decision: OptText100 = None
    cost: Money | None = None
    commitment_until: IsoDate | None = None


def _same_key(field: str, body: str, url: str) -> None:
    if body != url:
        raise InvalidInput(f"{field} mismatch", errors=[{"field": field, "message": f"body says {body!r}, URL says {url!r}"}])


@router.get("/courses", response_model=CoursePage)
def list_courses(
    session: ReadSessionDep, actor: Reader,
    org_unit: Annotated[str | None, Query(description="only the courses of this org unit")] = None,
    kind: Annotated[str | None, Query(description="only courses of this kind (code list course_kind)")] = None,
    year: Year = None, known_at: KnownAt = None,
    after: Annotated[str | None, cursor_after("a course code")] = None,
    limit: Annotated[int, page_size(1000)] = 100,
) -> dict[str, Any]:
    """Courses the caller's units organise, and those of the units above them, in code order."""
    items, nxt = training.list_courses(session, actor, org_unit=org_unit, kind=kind, year=year,
                                       cut=history.txn_cut(session, known_at), after=after, limit=limit)
    return {"items": items, "next": nxt}


@router.get("/courses/{code}", response_model=CourseRead)
def get_course(code: CoursePath, session: ReadSessionDep, actor: Reader, known_at: KnownAt = None) -> dict[str, Any]:
    """One course, now or as recorded at `known_at`."""
    return training.read_course(session, actor, code, history.txn_cut(session, known_at))


@router.post("/courses", status_code=201, response_model=CourseWritten)
def create_course(payload: CourseRecord, session: SessionDep, actor: Writer) -> dict[str, Any]:
    """Create a course of one of the caller's units; 409 if the code exists (PUT replaces)."""
    outcome = training.upsert_course(session, actor, payload, codelists.load(session), create_only=True)
    return {"status": outcome.status, **outcome.record, "recorded_at": history.recorded_at(session)}


@router.put("/courses/{code}", response_model=CourseWritten)
def replace_course(code: CoursePath, payload: CourseRecord, session: SessionDep, actor: Writer) -> dict[str, Any]:
    """Create or replace a course (history kept); a changed award changes what its completed enrolments gave."""
    _same_key("code", payload.code, code)
    outcome = training.upsert_course(session, actor, payload, codelists.load(session))
    return {"status": outcome.status, **outcome.record, "recorded_at": history.recorded_at(session)}


@router.patch("/courses/{code}", response_model=CourseWritten)
def patch_course(code: CoursePath, payload: CoursePatch, session: SessionDep, actor: Writer) -> dict[str, Any]:
    """Change some fields of a course; what is left out keeps its value."""
    outcome = training.patch_course(session, actor, code, payload.model_dump(mode="json", exclude_unset=True),
                                    codelists.load(session))
    return {"status": outcome.status, **outcome.record, "recorded_at": history.recorded_at(session)}


@router.get("/enrolments", response_model=EnrolmentPage)
def list_enrolments(
    session: ReadSessionDep, actor: Reader,
    person: Annotated[str | None, Query(description="only this person's enrolments (external id)")] = None,
    course: Annotated[str | None, Query(description="only the enrolments in this course (code)")] = None,
    status: Annotated[str | None, Query(description="only enrolments in this status (code list enrolment_status)")] = None,
    org_unit: Annotated[str | None, Query(description="only persons employed in this org unit's subtree")] = None,
    year: Year = None, known_at: KnownAt = None,
    after: Annotated[str | None, cursor_after("`person|course`")] = None,
    limit: Annotated[int, page_size(1000)] = 100,
) -> dict[str, Any]:
    """Enrolments of the persons in the caller's scope, in (person, course) order."""
    items, nxt = training.list_enrolments(session, actor, person=person, course=course, status=status,
                                          org_unit=org_unit, year=year, cut=history.txn_cut(session, known_at),
                                          after=after, limit=limit)
    return {"items": items, "next": nxt}


@router.get("/enrolments/{external_id}/{code}", response_model=EnrolmentRead)
def get_enrolment(external_id: PersonPath, code: CoursePath, session: ReadSessionDep, actor: Reader,
                  known_at: KnownAt = None) -> dict[str, Any]:
    """One person's enrolment in one course, now or as recorded at `known_at`."""
    return training.read_enrolment(session, actor, external_id, code, history.txn_cut(session, known_at))


@router.post("/enrolments", status_code=201, response_model=EnrolmentWritten)
def create_enrolment(payload: EnrolmentRecord, session: SessionDep, actor: Writer) -> dict[str, Any]:
    """Enrol a person of the caller's units in a course; 409 if enrolled already (PUT replaces)."""
    outcome = training.upsert_enrolment(session, actor, payload, codelists.load(session), create_only=True)
    return {"write": outcome.status, **outcome.record, "recorded_at": history.recorded_at(session)}


@router.put("/enrolments/{external_id}/{code}", response_model=EnrolmentWritten)
def replace_enrolment(external_id: PersonPath, code: CoursePath, payload: EnrolmentRecord, session: SessionDep,
                      actor: Writer) -> dict[str, Any]:
    """Create or replace an enrolment; completing it gives the person what the course awards, from completed_on."""
    _same_key("person", payload.person, external_id)
    _same_key("course", payload.course, code)
    outcome = training.upsert_enrolment(session, actor, payload, codelists.load(session))
    return {"write": outcome.status, **outcome.record, "recorded_at": history.recorded_at(session)}


@router.patch("/enrolments/{external_id}/{code}", response_model=EnrolmentWritten)
def patch_enrolment(external_id: PersonPath, code: CoursePath, payload: EnrolmentPatch, session: SessionDep,
                    actor: Writer) -> dict[str, Any]:
    """Change some fields of an enrolment (e.g. complete it); what is left out keeps its value."""
    outcome = training.patch_enrolment(session, actor, external_id, code,
                                       payload.model_dump(mode="json", exclude_unset=True), codelists.load(session))
    return {"write": outcome.status, **outcome.record, "recorded_at": history.recorded_at(session)}
