"""A definition in plain words, Vietnamese and English, generated from the spec itself."""

from functools import cache
from typing import Any

from app.services import codelists
from app.services.codelists import CodeBook
from app.services.indicators import kinds
from app.services.indicators.fields import FIELDS
from app.services.indicators.spec import AllOf, AnyOf, Atom, Filter, IndicatorSpec, NotOf

Labels = dict[str, dict[str, tuple[str, str]]]
STATISTICS = {"population": ("dân số", "population")}
"""Statistics a definition names by code, in words (a reported target's statistic is the target's own figure)."""

OPS = {
    "vi": {"eq": "là", "ne": "khác", "in": "thuộc", "not_in": "không thuộc", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"},
    "en": {"eq": "is", "ne": "is not", "in": "is one of", "not_in": "is none of", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"},
}
JOIN = {"vi": {"all": " và ", "any": " hoặc ", "not": "không phải "}, "en": {"all": " and ", "any": " or ", "not": "not "}}
SUBJECT = {
    "vi": {
        "employment": "vị trí công tác chính đang giữ",
        "position": "chức vụ lãnh đạo đang giữ",
        "membership": "tư cách thành viên đang có",
    },
    "en": {
        "employment": "a primary employment in force",
        "position": "a leadership position in force",
        "membership": "a seat in a body in force",
    },
}


@cache
def packaged_labels() -> Labels:
    """The labels of the packaged code lists (app/data/codelists.yaml): list -> code -> (vi, en)."""
    data = codelists.packaged()
    return {name: {str(e["code"]): (str(e["vi"]), str(e["en"])) for e in entries} for name, entries in data.items()}


def labels_of(book: CodeBook | None) -> Labels:
    """The labels of the stored code book (codes administrators added too), over the packaged ones."""
    if book is None:
        return packaged_labels()
    stored = {name: {code: (c.vi, c.en) for code, c in codes.items()} for name, codes in book.lists.items()}
    return {name: packaged_labels().get(name, {}) | stored.get(name, {}) for name in packaged_labels().keys() | stored}


def label(labels: Labels, list_name: str | None, code: Any, lang: str) -> str:
    """A coded value in words: the code list's label in `lang`, the code itself only when the list has no such code."""
    if list_name is None or not isinstance(code, str):
        return str(code)
    found = labels.get(list_name, {}).get(code)
    return (found[0] if lang == "vi" else found[1]) if found else code


def _number(value: int, lang: str) -> str:
    return f"{value:,}".replace(",", "." if lang == "vi" else ",")


def words(flt: Filter | None, lang: str, labels: Labels | None = None) -> str:
    if flt is None:
        return "—"
    labels = packaged_labels() if labels is None else labels
    if isinstance(flt, AllOf):
        return "(" + JOIN[lang]["all"].join(words(f, lang, labels) for f in flt.all) + ")"
    if isinstance(flt, AnyOf):
        return "(" + JOIN[lang]["any"].join(words(f, lang, labels) for f in flt.any) + ")"
    if isinstance(flt, NotOf):
        return JOIN[lang]["not"] + words(flt.not_, lang, labels)
    return _atom(flt, lang, labels)


def _atom(atom: Atom, lang: str, labels: Labels) -> str:
    field = FIELDS.get(atom.field)
    name = getattr(field, lang) if field else atom.field
    if atom.op == "is":
        return name if atom.value("is") else f"{JOIN[lang]['not']}{name}"
    value = atom.value(atom.op)
    list_name = field.list_name if field else None
    values = value if isinstance(value, list) else [value]
    shown = ", ".join(label(labels, list_name, v, lang) for v in values)
    return f"{name} {OPS[lang][atom.op]} {shown}"


def _flow(spec: IndicatorSpec, lang: str, labels: Labels) -> str:
    """A flow count (postgraduate inflow) in words."""
    assert spec.flow is not None
    flow = spec.flow
    levels = JOIN[lang]["any"].join(label(labels, "degree_level", v, lang) for v in flow.degree_levels)
    first, last = (d.strftime("%d/%m/%Y") if lang == "vi" else d.isoformat() for d in flow.period)
    excluded = ", ".join(label(labels, "employment_category", v, lang) for v in flow.excluded_categories)
    if lang == "vi":
        return (f"Số người (mỗi người một lần) trong kỳ {first} – {last} (đến ngày tính nếu sớm hơn) được cấp bằng "
                f"{levels} khi đang giữ vị trí công tác chính trong khu vực công (trừ {excluded}) tại đơn vị, hoặc được "
                "thu hút: đã có bằng đó và bắt đầu làm việc trong khu vực công tại đơn vị khi ngày trước đó chưa làm việc "
                "trong khu vực công tại đơn vị")
    return (f"Persons (each once) who in {first} – {last} (up to the date when earlier) were awarded a degree of level "
            f"{levels} while holding a primary public-sector employment (not {excluded}) under the unit, or were attracted: "
            "held such a degree and started a public-sector employment under the unit, having none there the day before")


def render(spec: IndicatorSpec, book: CodeBook | None = None) -> dict[str, Any]:
    """How the value is computed, in both languages, coded values named by their code lists' labels.

    `book` is the stored code book (labels of codes administrators added); without it, the packaged lists.
    """
    labels = labels_of(book)
    out: dict[str, Any] = {}
    for lang in ("vi", "en"):
        parts: list[str] = []
        if spec.population:
            anchors = [f"{SUBJECT[lang][a.subject]} {words(a.where, lang, labels)}" for a in spec.population.anchors]
            parts.append(
                ("Đối tượng: người có " if lang == "vi" else "Population: persons with ") + JOIN[lang]["any"].join(anchors)
            )
            if spec.population.where:
                parts.append(("Điều kiện thêm: " if lang == "vi" else "Also: ") + words(spec.population.where, lang, labels))
        if spec.share:
            parts.append(("Tử số: " if lang == "vi" else "Numerator: ") + words(spec.share, lang, labels))
        if spec.coverage:
            kind = label(labels, "org_unit_kind", spec.coverage.unit_kind, lang)
            parts.append(
                (
                    f"Số đơn vị loại “{kind}” có ít nhất một người có "
                    if lang == "vi"
                    else f"Units of kind “{kind}” with at least one person with "
                )
                + f"{SUBJECT[lang][spec.coverage.each_has.subject]} {words(spec.coverage.each_has.where, lang, labels)}"
            )
        if spec.per:
            statistic = STATISTICS.get(str(spec.statistic), (str(spec.statistic), str(spec.statistic)))
            parts.append(
                f"Tính trên {_number(spec.per, lang)} dân theo số liệu {statistic[0]} của chính đơn vị"
                if lang == "vi"
                else f"Per {_number(spec.per, lang)} inhabitants, by the unit's own {statistic[1]} figure"
            )
        if spec.flow:
            parts.append(_flow(spec, lang, labels))
        said = kinds.of(spec).explain(spec, lang)
        if said:
            parts.append(said)
        out[lang] = ". ".join(parts) if parts else ("Mục tiêu định tính" if lang == "vi" else "Qualitative target")
    out["rules"] = (
        "As of D: a dated record counts when start <= D <= end (end inclusive); qualifications awarded on or "
        "before D; the unit and everything below it in the tree as it stood on D; each person once."
    )
    if spec.words:
        out["source_text"] = spec.words
    return out
