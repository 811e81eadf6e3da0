"""The indicator page's 'projection to the deadline' and 'gap' sections, and the reports' projection (planning.md
'Projection', 'The gap and who closes it', 'What the dashboard shows').

Every figure, event and candidate comes from `app.services.projection` (the service behind
GET /indicators/{code}/projection and /gap), called as the caller: it decides who sees persons (roles of
indicators:persons) and who sees counts, and refuses sensitive populations to roles without sensitive access.
Here they are only put into words (Vietnamese first) and drawn.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from markupsafe import Markup
from sqlalchemy.orm import Session

from app.errors import DomainError, Forbidden, InvalidInput
from app.services import codelists, projection, training_views
from app.services.context import Actor
from app.services.indicators import method, service
from app.services.indicators.fields import FIELDS
from app.services.indicators.spec import IndicatorSpec
from app.web import charts, formats, i18n, svg
from app.web.view import Words

SCENARIOS = ("expected", "none", "completion_rate")  # the select's order
# The page's and the reports' scenario when none is asked for: as the training is planned, GET /projection's default
# (it once cost SQLite up to a minute for a province page of the demo, a union read per person; now well under a
# second: app/services/indicators/fields.py reads held and pending qualifications apart).
DEFAULT_TRAINING = "expected"
REPORT_TRAINING = DEFAULT_TRAINING
SUBJECTS = {"employment": ("công tác", "employment"), "position": ("chức vụ", "position"),
            "membership": ("thành viên cơ quan", "seat in a body")}
QUALIFICATION_KINDS = {
    "degree": ("bằng cấp chuyên môn", "a degree"), "political_theory": ("lý luận chính trị", "political theory"),
    "state_management": ("quản lý nhà nước", "state management"), "specialty": ("chuyên khoa", "a medical specialty"),
    "language": ("ngoại ngữ, tiếng dân tộc", "a language"), "academic_title": ("học hàm", "an academic title"),
    "it_skill": ("tin học", "IT skills"), "training": ("bồi dưỡng", "a training"),
}
EVENTS = {
    "age": ("Đến {age} tuổi", "Turns {age}"),
    "retirement": ("Nghỉ hưu theo quy định (ngày cuối cùng công tác {last_day})",
                   "Statutory retirement (last day in service {last_day})"),
    "record_start": ("Bắt đầu {subject}{at}", "Starts a {subject}{at}"),
    "record_end": ("Kết thúc {subject}{at}", "Ends a {subject}{at}"),
    "qualification": ("Được cấp văn bằng, chứng chỉ {what}", "Awarded {what}"),
    "training": ("Dự kiến hoàn thành khóa {course} ({status})", "Expected to complete the course {course} ({status})"),
    "org_unit": ("Cơ cấu đơn vị thay đổi", "The unit tree changes"),
    "unexplained": ("Không xác định được sự kiện có ngày", "No dated event found"),
}
# The service's assumptions and notes are in English: their Vietnamese, shown first (an unknown text is shown as given).
ASSUMPTIONS_VI = {
    projection.ASSUMPTIONS[0]: "tính từ sổ đăng ký như hiện có vào ngày đầu, theo dữ liệu đã ghi nhận đến nay",
    projection.ASSUMPTIONS[1]: "nghỉ hưu theo quy định (Bộ luật Lao động 2019 Điều 169, Nghị định 135/2020 Phụ lục I): "
                               "mọi quan hệ công tác, chức vụ và vị trí trong cơ quan còn hiệu lực vào cuối tháng đủ tuổi "
                               "đều kết thúc khi đó; không áp dụng các trường hợp đặc biệt",
    projection.ASSUMPTIONS[2]: "các bản ghi đã ghi sẵn ngày trong tương lai (hết nhiệm kỳ, quyết định bắt đầu) và tuổi "
                               "thay đổi như đã ghi",
    projection.ASSUMPTIONS[3]: "không tính tuyển dụng mới và không tính nghỉ việc vì lý do khác",
    "training=none: no enrolment awards anything after the first date":
        "không đào tạo thêm: không khóa học nào cấp văn bằng, chứng chỉ sau ngày đầu",
    "training=expected: each planned or enrolled enrolment awards its course's qualification on its expected completion":
        "theo kế hoạch đào tạo: mỗi người dự kiến học hoặc đang học được cấp văn bằng, chứng chỉ của khóa vào ngày dự "
        "kiến hoàn thành",
}
COMPLETION_RATE_VI = ("theo tỷ lệ hoàn thành: việc cấp văn bằng, chứng chỉ của mỗi người dự kiến học hoặc đang học được "
                      "tính theo tỷ lệ hoàn thành trước đây của đơn vị với loại khóa học đó; số liệu của mỗi người là giá "
                      "trị kỳ vọng")


@dataclass(frozen=True)
class Scenario:
    """What the section was asked for: the training scenario, the first day (D0) and the last (D1, None: default)."""

    training: str
    start: date
    end: date | None


def _day(value: str | None, name: str) -> date | None:
    """YYYY-MM-DD as the date picker sends it, nothing around it (a newline is refused, not stripped); empty: None."""
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} is not a date", errors=[{"field": name, "message": "YYYY-MM-DD"}]) from None


def scenario_of(training: str | None, start: str | None, end: str | None, today: date) -> Scenario:
    """The section's parameters, checked (InvalidInput for an unknown scenario or a malformed date); empty is default."""
    chosen = training or DEFAULT_TRAINING
    if chosen not in SCENARIOS:
        raise InvalidInput(f"training must be one of {', '.join(SCENARIOS)}", code="invalid_training",
                           errors=[{"field": "training", "message": "expected, none or completion_rate"}])
    first = _day(start, "from") or today
    return Scenario(chosen, first, _day(end, "to"))


def horizon(spec: IndicatorSpec, doc_specs: list[IndicatorSpec], start: date) -> tuple[date | None, bool]:
    """(the last day by default, whether it stands in for a passed deadline): the target's deadline, else, when it has
    passed, the resolution's farthest deadline on or after the first day; None when there is none."""
    if spec.deadline is not None and spec.deadline >= start:
        return spec.deadline, False
    later = [s.deadline for s in doc_specs if s.deadline is not None and s.deadline >= start]
    return (max(later), spec.deadline is not None) if later else (None, False)


@dataclass
class Section:
    """What the two sections show: `state` is shown (points, events, gap), none (no projection), aggregates (sensitive
    population), refused (the parameters), no_horizon (no last day to project to)."""

    state: str
    scenario: Scenario
    end: date | None = None
    stands_in: bool = False
    answer: dict[str, Any] | None = None
    gap: dict[str, Any] | None = None
    gap_refusal: str | None = None
    detail: str = ""
    code: str = ""
    chart: Markup | None = None
    points: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    assumptions: list[tuple[str, str]] = field(default_factory=list)
    rates: list[tuple[str, str]] = field(default_factory=list)
    lang: str = "vi"
    threshold: int = field(default_factory=service.threshold)

    def amount(self, value: float | int | None) -> str:
        return amount(value, self.lang)

    def signed(self, value: float | int | None) -> str:
        return signed(value, self.lang)


def gather(session: Session, actor: Actor, spec: IndicatorSpec, doc_specs: list[IndicatorSpec], *, org_unit: str,
           scenario: Scenario, lang: str) -> Section:
    """The projection and the gap of one target for the unit, in the scenario; a refusal of the service in words."""
    end, stands_in = (scenario.end, False) if scenario.end else horizon(spec, doc_specs, scenario.start)
    found = Section("shown", scenario, end, stands_in, lang=lang)
    try:
        if spec.kind not in projection.PROJECTED_KINDS:
            raise InvalidInput("no projection", code="no_projection")
        if end is None:
            return Section("no_horizon", scenario)
        found.answer = projection.projection(session, actor, spec.id, org_unit=org_unit, start=scenario.start, end=end,
                                             training=scenario.training)
    except Forbidden as exc:
        if exc.code != "sensitive_population":
            raise
        return Section("aggregates", scenario, end, stands_in, code=exc.code)
    except InvalidInput as exc:
        state = "none" if exc.code == "no_projection" else "refused"
        return Section(state, scenario, end, stands_in, detail=exc.detail, code=exc.code)
    try:
        found.gap = projection.gap(session, actor, spec.id, org_unit=org_unit, start=scenario.start, as_of=end,
                                   training=scenario.training)
    except DomainError as exc:
        found.gap_refusal = exc.detail
    return _worded(session, actor, found, lang)


def _worded(session: Session, actor: Actor, found: Section, lang: str) -> Section:
    answer = found.answer
    assert answer is not None
    words = Words(method.labels_of(codelists.load(session)), lang)
    deadline = (answer.get("target") or {}).get("deadline")
    found.points = [point | {"is_deadline": point["as_of"] == deadline} for point in answer["points"]]
    found.chart = chart(answer, lang)
    courses = {e["course"] for e in answer["events"] if e.get("course")}
    candidates = (found.gap or {}).get("candidates") or []
    courses |= {lack["covered_by"]["course"] for c in candidates for lack in c["lacks"] if lack.get("covered_by")}
    names = training_views.course_names(session, actor, courses, None) if courses else {}
    found.events = [e | {"words": event_words(e, words, names)} for e in answer["events"]]
    found.candidates = [c | {"lacks": [lack | {"words": lack_words(lack, words, names)} for lack in c["lacks"]]}
                        for c in candidates]
    found.assumptions = assumptions(answer["assumptions"], answer["training"])
    found.rates = [(words("course_kind", kind), i18n.percent(r["rate"], lang))
                   for kind, r in (answer.get("completion_rates") or {}).items()]
    return found


def chart(answer: dict[str, Any], lang: str) -> Markup:
    """The projected values against the target band, the point on the deadline marked."""
    target = answer.get("target")
    band = tuple(target["band"]) if target else None
    deadline = target.get("deadline") if target else None
    points, scenario = answer["points"], i18n.t("training_" + answer["training"], lang)
    at = next((i for i, p in enumerate(points) if p["as_of"] == deadline), None)
    fig = charts.projection([(i18n.day(p["as_of"], lang), p["value"], str(p["status"])) for p in points], band,
                            share=formats.measure(answer) == "share", fmt=lambda v: formats.value(answer, v, lang),
                            title=f"{i18n.t('projection', lang)} ({scenario})",
                            deadline=at, deadline_label=i18n.t("deadline_mark", lang))
    return svg.render(fig)


def amount(value: float | int | None, lang: str) -> str:
    """A count as people read it; an expected value (completion_rate) with two decimals."""
    if value is None:
        return "—"
    return i18n.number(value, lang, 0 if float(value).is_integer() else 2)


def signed(value: float | int | None, lang: str) -> str:
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + amount(value, lang)


def event_words(event: dict[str, Any], words: Words, courses: dict[str, str]) -> str:
    """An event in words: 'Nghỉ hưu theo quy định (ngày cuối cùng công tác 30/04/2028)'."""
    lang, kind = words.lang, event["kind"]
    pick = 0 if lang == "vi" else 1
    if kind == "record_start" and event.get("subject") == "qualification":
        what = QUALIFICATION_KINDS.get(str(event.get("qualification")), (event.get("qualification"),) * 2)[pick]
        return EVENTS["qualification"][pick].format(what=what)
    if kind in ("record_start", "record_end"):
        subject = SUBJECTS.get(str(event.get("subject")), (event.get("subject"),) * 2)[pick]
        at = f" ({'tại' if lang == 'vi' else 'at'} {event['org_unit']})" if event.get("org_unit") else ""
        return EVENTS[kind][pick].format(subject=subject, at=at)
    if kind == "retirement":
        return EVENTS[kind][pick].format(last_day=i18n.day(event.get("last_day"), lang))
    if kind == "age":
        return EVENTS[kind][pick].format(age=event.get("age"))
    if kind == "training":
        course = event.get("course") or ""
        named = f"{courses[course]} ({course})" if course in courses else course
        return EVENTS[kind][pick].format(course=named, status=words("enrolment_status", event.get("status")))
    return EVENTS.get(kind, (kind, kind))[pick]


def value_words(name: str, value: Any, words: Words) -> str:
    """A field's value in words: a code by its list's label, yes/no, none."""
    if value is None:
        return i18n.t("held_none", words.lang)
    if isinstance(value, bool):
        return i18n.t("yes" if value else "no", words.lang)
    if isinstance(value, list):
        return ", ".join(value_words(name, v, words) for v in value)
    found = FIELDS.get(name)
    return words(found.list_name if found else None, value)


def lack_words(lack: dict[str, Any], words: Words, courses: dict[str, str]) -> dict[str, str]:
    """What a candidate lacks, in words: the field's label, held -> required, by how many levels, the course."""
    name, lang = lack["field"], words.lang
    found = FIELDS.get(name)
    label = (getattr(found, lang) if found else name)
    out = {"label": label[:1].upper() + label[1:], "held": value_words(name, lack.get("held"), words),
           "required": value_words(name, lack.get("required"), words),
           "short_by": i18n.t("short_by", lang).format(lack["short_by"])
           if found and found.type in ("ordinal", "int") else ""}
    cover = lack.get("covered_by")
    if cover:
        course = cover["course"]
        out["covered"] = i18n.t("covered_by", lang).format(
            course=f"{courses[course]} ({course})" if course in courses else course,
            day=i18n.day(cover["expected_completion"], lang), status=words("enrolment_status", cover["status"]))
    else:
        out["covered"] = i18n.t("not_covered", lang)
    return out


def assumptions(said: list[str], training: str) -> list[tuple[str, str]]:
    """(Vietnamese, English) of each assumption the service states; the English alone when it has no translation."""
    out = []
    for text in said:
        vi = ASSUMPTIONS_VI.get(text) or (COMPLETION_RATE_VI if text.startswith("training=completion_rate") else "")
        out.append((vi, text))
    return out


# ------------------------------------------------------------------------------------------------------ the reports


@dataclass
class ReportRow:
    """One target of a report's projection: its points to the deadline and the gap's `needed` (or why not)."""

    code: str
    names: dict[str, str]
    deadline: date
    answer: dict[str, Any] | None = None
    needed: int | None = None
    gap_said: str | None = None
    refusal: str | None = None

    @property
    def last(self) -> dict[str, Any] | None:
        return self.answer["points"][-1] if self.answer and self.answer["points"] else None


Projected = tuple[date, list[ReportRow]]  # the first day of a report's projection, and its targets


def report_start(as_of: date, today: date) -> date:
    """The first day of a report's projection: today, or the report's date when it is later."""
    return max(as_of, today)


def for_report(session: Session, actor: Actor, specs: list[IndicatorSpec], *, org_unit: str, as_of: date,
               today: date) -> Projected:
    """The projection of every ratio, per-capita and coverage target of the report whose deadline is on or after the
    first day (only these: a projection costs a few statements per point), in the reports' scenario."""
    start = report_start(as_of, today)
    rows = []
    for spec in specs:
        if spec.kind not in projection.PROJECTED_KINDS or spec.deadline is None or spec.deadline < start:
            continue
        rows.append(_report_row(session, actor, spec, org_unit, start))
    return start, rows


def _report_row(session: Session, actor: Actor, spec: IndicatorSpec, org_unit: str, start: date) -> ReportRow:
    assert spec.deadline is not None
    row = ReportRow(spec.id, {str(k): v for k, v in spec.names.items()}, spec.deadline)
    try:
        row.answer = projection.projection(session, actor, spec.id, org_unit=org_unit, start=start, end=spec.deadline,
                                           training=REPORT_TRAINING)
    except DomainError as exc:
        row.refusal = exc.code
        return row
    try:
        gap = projection.gap(session, actor, spec.id, org_unit=org_unit, start=start, as_of=spec.deadline,
                             training=REPORT_TRAINING)
        row.needed = gap["needed"]
    except DomainError as exc:
        row.gap_said = exc.code
    return row


def report_help(start: date, lang: str) -> str:
    """What a report's projection covers, from when, in which scenario, on which data."""
    return i18n.t("projection_report_help", lang).format(start=i18n.day(start, lang),
                                                         scenario=i18n.t("training_" + REPORT_TRAINING, lang))


def refusal_words(code: str | None, lang: str) -> str:
    """Why a report row has no projection or no gap, in words."""
    if code == "sensitive_population":
        return i18n.t("projection_aggregates", lang)
    if code == "no_projection":
        return i18n.t("no_gap", lang)
    return f"{i18n.t('projection_refused', lang)} ({code})"
