"""The unit training page's needs and plan sections (planning.md 'What the dashboard shows': a unit's training needs
against its plan and its enrolments), each read from the service behind its API route and only put into words here.

Needs: `training_needs.needs` on the plans' date (`training_plan_progress.need_on`), enrolments counted to the year's
end, persons named exactly when the API names them. Plan: `training_views.unit_plan`, the answer of
GET /training-plans/{unit}/{year}; the marks compare figures the service gave, they count nothing of their own.
"""

from datetime import date
from typing import TYPE_CHECKING, Any

from app.services import training_needs, training_plan_progress, training_views
from app.services.indicators import service
from app.services.training_plans import AWARD_CODE_LISTS
from app.web.i18n import number, t
from app.web.person_page import QUALIFICATIONS
from app.web.view import Words

if TYPE_CHECKING:
    from app.web.training_page import Ask

SUBJECTS = {"rank": ("by_rank", "leadership_rank"), "occupation": ("by_occupation", "occupation"),
            "category": ("by_category", "employment_category")}  # a row's subject -> (its word, its code list)
FIGURES = ("seats", "budget", "enrolled", "completed", "spent", "need")
MONEY = frozenset({"budget", "spent"})
MARKED = {"seats_below_need": "seats", "enrolled_below_seats": "enrolled", "completed_below_seats": "completed"}


def money(value: int, lang: str) -> str:
    """VND as people read it: '1.234.567 đ' (vi), '1,234,567 VND' (en)."""
    return f"{number(value, lang, 0)} đ" if lang == "vi" else f"{number(value, lang, 0)} VND"


def figure(name: str, value: int | None, lang: str) -> str:
    """A plan figure in words: money in VND, persons as a count, '—' where there is none."""
    if value is None:
        return "—"
    return money(value, lang) if name in MONEY else number(value, lang, 0)


def list_name(name: str, lang: str) -> str:
    """A qualification list in words (degrees -> 'Bằng cấp chuyên môn')."""
    names = QUALIFICATIONS.get(name)
    return (names[0][1] if lang == "en" else names[0][0]) if names else name


def needs(ask: "Ask") -> dict[str, Any]:
    """The unit's needs on the plans' date, the enrolments expected to meet them by 31 December."""
    on = training_plan_progress.need_on(ask.year, date.today())
    found = training_needs.needs(ask.session, ask.actor, org_unit=ask.org_unit, as_of=on, before=date(ask.year, 12, 31),
                                 indicator=None, named=ask.sees_persons)
    groups = [_need_group(g, ask.words) for g in found["groups"]]
    return {"answer": found, "groups": groups, "on": on, "threshold": service.threshold(),
            "named": found["persons_named"], "outside": found.get("not_listed_outside_your_units", 0)}


def _need_group(group: dict[str, Any], words: Words) -> dict[str, Any]:
    need = group["need"]
    qualification, level = need.get("qualification") or "", need.get("level")
    code_list = AWARD_CODE_LISTS.get(qualification)
    members = [{"external_id": m["external_id"], "full_name": m["full_name"],
                "held": words(code_list, m.get("held")) if m.get("held") else None,
                "rows": [_row(r, words) for r in m.get("rows") or []]} for m in group.get("members") or []]
    return {"qualification": qualification, "level": level, "list_label": list_name(qualification, words.lang),
            "level_label": words(code_list, level), "persons": group["persons"],
            "enrolled_before": group["enrolled_before"], "suppressed": bool(group.get("suppressed")), "members": members}


def _row(row: dict[str, Any], words: Words) -> dict[str, Any]:
    word, code_list = SUBJECTS.get(row["subject"], ("", None))
    return {"key": row["subject"], "subject": t(word, words.lang) if word else row["subject"],
            "label": words(code_list, row["code"]),
            "code": row["code"], "org_unit": row.get("org_unit")}


def plan(ask: "Ask") -> dict[str, Any]:
    """The unit's plan of the year beside its actuals and need; None inside when no plan is recorded."""
    found = training_views.unit_plan(ask.session, ask.actor, org_unit=ask.org_unit, year=ask.year, cut=ask.cut,
                                     today=date.today())
    if found is None:
        return {"plan": None}
    words = ask.words
    lines = [line | {"kind_label": words("course_kind", line["kind"]), "award_label": award_label(line["awards"], words),
                     "marks": marks(line, ask.lang), "short": short(line)} for line in found["lines"]]
    unmatched = found["unmatched"]
    return {"plan": found, "lines": lines, "totals": found["totals"] | {"marks": marks(found["totals"], ask.lang)},
            "unmatched": unmatched if any(unmatched[k] for k in ("enrolled", "completed", "spent")) else None,
            "figures": FIGURES, "show": lambda name, value: figure(name, value, ask.lang),
            "threshold": service.threshold()}


def award_label(awards: dict[str, Any] | None, words: Words) -> str | None:
    """'Lý luận chính trị: Cao cấp'; None for a line of any course of its kind."""
    key = training_plan_progress.award_key(awards)
    if key is None:
        return None
    return f"{list_name(key[0], words.lang)}: {words(AWARD_CODE_LISTS.get(key[0]), key[1])}"


def short(line: dict[str, Any]) -> set[str]:
    """The figures of the line that fall short: seats (below the need), enrolled or completed (below the seats)."""
    return {MARKED[key] for key, _said in marks(line, "en")}


def marks(line: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """(key, words) of where the line falls short: seats below the need, enrolled or completed below the seats."""
    out = []
    need = line.get("need")
    if need is not None and line["seats"] < need:
        out.append(("seats_below_need", t("seats_below_need", lang).format(number(need - line["seats"], lang, 0))))
    for done in ("enrolled", "completed"):
        if line[done] < line["seats"]:
            out.append((f"{done}_below_seats", t(f"{done}_below_seats", lang).format(
                number(line["seats"] - line[done], lang, 0))))
    return out
