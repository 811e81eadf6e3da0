"""Indicators: the catalog, values for a unit or every unit, drill-down, trend, method and SQL."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from app.api.deps import AnswerRoute, ReadSessionDep, SessionDep, allow, large_answer, read_in_thread
from app.api.params import AsOf, IndicatorCode, KnownAt, UnitCode
from app.errors import InvalidInput
from app.schemas.common import DB_INT_MAX, IsoDate, control_character_errors
from app.schemas.indicator import (
    IndicatorBreakdown,
    IndicatorDetail,
    IndicatorGap,
    IndicatorList,
    IndicatorPersons,
    IndicatorProjection,
    IndicatorProjections,
    IndicatorPublished,
    IndicatorSql,
    IndicatorTrend,
    IndicatorValue,
    IndicatorValues,
    ResolutionReport,
    Run,
    RunDiff,
    RunRequest,
)
from app.services import history, projection
from app.services.context import Actor
from app.services.indicators import catalog, method, runs, service

router = APIRouter(tags=["indicators"], route_class=AnswerRoute)
RunId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="a published run's id")]
DocFilter = Annotated[str | None, Query(
    description="only the indicators of this resolution: CT (the party committee's) or ST (the People's Council's)")]
Reader = Annotated[Actor, allow("indicators:read")]
Admin = Annotated[Actor, allow("indicators:write")]


def _summary(row: Any) -> dict[str, Any]:
    spec = row.spec
    return {
        "code": row.code,
        "names": spec["names"],
        "kind": spec["kind"],
        "source_kind": spec["source_kind"],
        "source": spec["source"],
        "target": spec.get("target"),
        "deadline": spec.get("deadline"),
        "period": spec.get("period"),
        "per_year": spec.get("per_year"),
        "aggregate": spec.get("aggregate"),
        "same_as": spec.get("same_as"),
        "wider_reading_of": spec.get("wider_reading_of"),
        "version": row.version,
    }


@router.get("/indicators", response_model=IndicatorList)
def list_indicators(session: ReadSessionDep, actor: Reader, doc: DocFilter = None, known_at: KnownAt = None) -> dict[str, Any]:
    """Every definition in force: code, names, kind, target band and deadline, source clause."""
    rows = catalog.definitions(session, history.txn_cut(session, known_at))
    items = [_summary(r) for r in rows if doc is None or r.spec["source"]["doc"] == doc]
    return {"items": items, "total": len(items)}


def _refuse_control_characters(payload: dict[str, Any]) -> None:
    errors = control_character_errors(payload)
    if errors:
        raise InvalidInput("the definition holds control characters", code="control_character", errors=errors)


@router.post("/indicators", status_code=201, response_model=IndicatorPublished)
def create_indicator(payload: dict[str, Any], session: SessionDep, actor: Admin) -> dict[str, Any]:
    """Publish a new definition (administrators); a definition is data, no release needed."""
    _refuse_control_characters(payload)
    if catalog.definitions(session) and any(r.code == payload.get("id") for r in catalog.definitions(session)):
        raise InvalidInput(
            "indicator exists",
            code="duplicate_indicator",
            errors=[{"field": "id", "message": "exists; PUT a new version instead"}],
        )
    status, row = catalog.publish(session, actor, payload)
    return {"status": status, **_summary(row)}


@router.put("/indicators/{code}", response_model=IndicatorPublished)
def publish_indicator(code: IndicatorCode, payload: dict[str, Any], session: SessionDep, actor: Admin) -> dict[str, Any]:
    """Publish a new version of a definition; earlier versions stay readable with known_at."""
    _refuse_control_characters(payload)
    if payload.get("id") != code:
        raise InvalidInput(
            "id mismatch", errors=[{"field": "id", "message": f"body says {payload.get('id')!r}, URL says {code!r}"}]
        )
    status, row = catalog.publish(session, actor, payload)
    return {"status": status, **_summary(row)}


@router.get("/indicators/{code}", response_model=IndicatorDetail)
def get_indicator(code: IndicatorCode, session: ReadSessionDep, actor: Reader) -> dict[str, Any]:
    """The definition in force, its versions and the method in plain words."""
    row, spec = catalog.get(session, code)
    return {
        **_summary(row),
        "definition": row.spec,
        "sha256": row.sha256,
        "method": method.render(spec),
        "versions": [
            {
                "version": v.version,
                "sha256": v.sha256,
                "published_at": v.published_at,
                "published_by": v.published_by,
                "current": v.sys_to is None,
            }
            for v in catalog.versions(session, code)
        ],
    }


@router.get("/indicators/{code}/value", response_model=IndicatorValue)
async def get_indicator_value(
    code: IndicatorCode,
    org_unit: UnitCode,
    actor: Reader,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> dict[str, Any]:
    """The value for a unit (and everything under it) on a date, as known now or at `known_at`."""
    day = as_of or date.today()
    return await read_in_thread(  # one trip to a thread (bench F27): the dashboard asks this one most
        lambda session: service.evaluate(session, actor, code, org_unit=org_unit, as_of=day, known_at=known_at))


@router.get("/indicators/{code}/values", response_model=IndicatorValues)
def list_indicator_values(
    code: IndicatorCode,
    session: ReadSessionDep,
    actor: Reader,
    as_of: AsOf = None,
    under: Annotated[str | None, Query(description="only the units of this subtree")] = None,
    known_at: KnownAt = None,
) -> Response:
    """The value for every unit at once (under `under`), computed in one set-based pass."""
    day = as_of or date.today()
    units = service.all_units(session, actor, code, as_of=day, under=under, known_at=known_at)
    answered = service.answer_date(session, actor, code, day, known_at)
    extra = {"requested_as_of": day.isoformat()} if answered != day else {}
    return large_answer({"indicator": code, "as_of": answered.isoformat(), **extra}, items=units.json())


@router.get("/indicators/{code}/persons", response_model=IndicatorPersons)
def list_indicator_persons(
    code: IndicatorCode,
    org_unit: UnitCode,
    session: ReadSessionDep,
    actor: Annotated[Actor, allow("indicators:persons")],
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> dict[str, Any]:
    """Who is counted and why: every person of the population, in the numerator or not."""
    return service.persons(session, actor, code, org_unit=org_unit, as_of=as_of or date.today(), known_at=known_at)


def _known_now(request: Request) -> None:
    """Projections and gaps answer as the registry is known now (planning.md): a `known_at` sent to them was ignored,
    and the answer looked dated; it is refused."""
    if "known_at" in request.query_params:
        raise InvalidInput("projections and gaps answer as the registry is known now: known_at is not taken here",
                           code="known_at_not_taken", errors=[{"field": "known_at", "message": "leave it out; "
                           "/value, /persons and /sql answer as known at a moment, and a published run keeps figures"}])


KnownNow = [Depends(_known_now)]
From = Annotated[IsoDate | None, Query(alias="from", description="the first date (D0, YYYY-MM-DD); default today")]
Training = Annotated[str, Query(description="expected (planned and enrolled enrolments award on their expected "
                                            "completion), none, or completion_rate (weighed by the unit's history)")]


@router.get("/indicators/{code}/projection", response_model=IndicatorProjection, dependencies=KnownNow)
def get_indicator_projection(
    code: IndicatorCode,
    org_unit: UnitCode,
    session: ReadSessionDep,
    actor: Reader,
    from_: From = None,
    to: Annotated[IsoDate | None, Query(description="the last date (D1); default the indicator's deadline")] = None,
    training: Training = "expected",
) -> dict[str, Any]:
    """The figure on D0, on each 31 December and on D1, moved by dated events only (ages, statutory retirement,
    records dated in the future, expected completions), with the events that move it (planning.md)."""
    return projection.projection(session, actor, code, org_unit=org_unit, start=from_ or date.today(), end=to,
                                 training=training)


@router.get("/indicators/{code}/projection/sql", response_model=IndicatorSql, dependencies=KnownNow)
def get_indicator_projection_sql(
    code: IndicatorCode,
    org_unit: UnitCode,
    session: ReadSessionDep,
    actor: Reader,
    as_of: Annotated[IsoDate | None, Query(description="the point's date; default the indicator's deadline")] = None,
    from_: From = None,
    training: Training = "expected",
) -> dict[str, Any]:
    """The statements `/projection` runs for its figures on one date, binds inlined (paste into psql or sqlite3)."""
    return projection.sql(session, actor, code, org_unit=org_unit, start=from_ or date.today(), as_of=as_of,
                          training=training)


@router.get("/indicators/{code}/projections", response_model=IndicatorProjections, dependencies=KnownNow)
def get_indicator_projections(
    code: IndicatorCode,
    session: ReadSessionDep,
    actor: Reader,
    under: Annotated[str | None, Query(description="only the subtree of this org unit")] = None,
    from_: From = None,
    to: Annotated[IsoDate | None, Query(description="the last date (D1); default the indicator's deadline")] = None,
    training: Annotated[str, Query(description="expected or none")] = "expected",
) -> JSONResponse:
    """Every unit in your reach (under `under`) projected at once: the points of `/projection`, one all-units pass
    per date; the events are `/projection`'s, unit by unit."""
    answer = projection.projections(session, actor, code, under=under, start=from_ or date.today(), end=to,
                                    training=training)
    # sent as the service built it (JSON types only): a national answer holds 110,000 units, and checking it against
    # the model and re-encoding it cost 2 s of the 10 s the issue allows; tests check it against the model
    return JSONResponse(answer)


@router.get("/indicators/{code}/gap", response_model=IndicatorGap, dependencies=KnownNow)
def get_indicator_gap(
    code: IndicatorCode,
    org_unit: UnitCode,
    session: ReadSessionDep,
    actor: Reader,
    as_of: Annotated[IsoDate | None, Query(description="the date the target must be met; default its deadline")] = None,
    from_: From = None,
    training: Annotated[str, Query(description="none (enrolments under way are candidates, ranked first), expected "
                                               "or completion_rate")] = "none",
) -> dict[str, Any]:
    """How many more persons must meet the condition on the date, and the candidates who can (planning.md)."""
    return projection.gap(session, actor, code, org_unit=org_unit, start=from_ or date.today(), as_of=as_of,
                          training=training)


@router.get("/indicators/{code}/trend", response_model=IndicatorTrend)
def get_indicator_trend(
    code: IndicatorCode,
    org_unit: UnitCode,
    session: ReadSessionDep,
    actor: Reader,
    start_year: Annotated[int, Query(ge=1990, le=2100, description="the first year-end of the trend")] = 2021,
    end_year: Annotated[int | None, Query(ge=1990, le=2100, description="the last year-end; default the deadline's")] = None,
    known_at: KnownAt = None,
) -> dict[str, Any]:
    """The value at each year-end from 2021 to the deadline."""
    return {
        "indicator": code,
        "org_unit": org_unit,
        "points": service.trend(
            session, actor, code, org_unit=org_unit, start_year=start_year, end_year=end_year, known_at=known_at
        ),
    }


@router.get("/indicators/{code}/sql", response_model=IndicatorSql)
def get_indicator_sql(
    code: IndicatorCode, org_unit: UnitCode, session: ReadSessionDep, actor: Reader, as_of: AsOf = None,
    known_at: KnownAt = None,
) -> dict[str, Any]:
    """Every statement the engine runs for this unit's figures, at the date `/value` answers at (binds inlined);
    with `known_at`, those of `/value`'s answer as known then (the definition in force then, the rows recorded then).

    `sql` is the whole script (each statement under a comment, ended by `;`), to paste into psql or sqlite3
    as the `dialect` says; `statements` gives each one with its purpose: which figures of the answer it gives.
    """
    service.unit_in_reach(session, actor, org_unit)
    asked = as_of or date.today()
    day = service.answer_date(session, actor, code, asked, known_at)
    statements = service.sql_statements(session, code, org_unit=org_unit, as_of=day,
                                        cut=history.txn_cut(session, known_at))
    return {
        "indicator": code,
        "org_unit": org_unit,
        "as_of": day.isoformat(),
        **({"requested_as_of": asked.isoformat()} if day != asked else {}),
        "known_at": known_at.isoformat() if known_at else None,
        "dialect": session.get_bind().dialect.name,
        "sql": service.sql_script(statements),
        "statements": statements,
    }


@router.get("/reports/{doc}", response_model=ResolutionReport)
def get_resolution_report(
    doc: Annotated[str, Path(description="the resolution: CT (the party committee's) or ST (the People's Council's)")],
    org_unit: UnitCode,
    session: ReadSessionDep,
    actor: Reader,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> dict[str, Any]:
    """Every indicator of one resolution (CT, ST) for a unit and date, in one call."""
    day = as_of or date.today()
    codes = [r.code for r in catalog.definitions(session, history.txn_cut(session, known_at)) if r.spec["source"]["doc"] == doc]
    return {
        "doc": doc,
        "org_unit": org_unit,
        "as_of": day.isoformat(),
        "items": [service.evaluate(session, actor, c, org_unit=org_unit, as_of=day, known_at=known_at) for c in codes],
    }


@router.post("/indicator-runs", status_code=201, response_model=Run)
def publish_run(payload: RunRequest, session: SessionDep, actor: Reader) -> dict[str, Any]:
    """Freeze a resolution's values for a unit and date, with the definition and data versions used."""
    run = runs.publish(session, actor, doc=payload.doc, org_unit=payload.org_unit, as_of=payload.as_of)
    return runs.view(session, actor, run)


@router.get("/indicator-runs/{run_id}", response_model=Run)
def get_run(run_id: RunId, session: SessionDep, actor: Reader) -> dict[str, Any]:
    """A published run, exactly as it was frozen."""
    return runs.view(session, actor, runs.get(session, actor, run_id))


@router.get("/indicator-runs/{first}/diff/{second}", response_model=RunDiff)
def diff_runs(first: RunId, second: RunId, session: SessionDep, actor: Reader) -> dict[str, Any]:
    """What changed between two runs and which writes happened in between."""
    return runs.diff(session, actor, first, second)


@router.get("/indicators/{code}/breakdown", response_model=IndicatorBreakdown)
def get_indicator_breakdown(
    code: IndicatorCode,
    org_unit: UnitCode,
    session: ReadSessionDep,
    actor: Reader,
    by: Annotated[str, Query(description="child_units, tier, gender or age_band")] = "child_units",
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> dict[str, Any]:
    """The value split by child_units, tier, gender or age_band (small cells suppressed for aggregate-only roles).

    Figures touching ethnicity, national id or party membership are suppressed for aggregate-only roles on every
    route (`/value`, `/values`, `/breakdown`, `/trend`, reports): see app/services/indicators/disclosure.py.
    """
    return service.breakdown(session, actor, code, org_unit=org_unit, as_of=as_of or date.today(), by=by, known_at=known_at)
