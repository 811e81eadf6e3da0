"""A definition in plain words, Vietnamese and English, generated from the spec itself."""

from typing import Any

from app.services.indicators import kinds
from app.services.indicators.fields import FIELDS
from app.services.indicators.spec import AllOf, AnyOf, Atom, Filter, IndicatorSpec, NotOf

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


def words(flt: Filter | None, lang: str) -> str:
    if flt is None:
        return "—"
    if isinstance(flt, AllOf):
        return "(" + JOIN[lang]["all"].join(words(f, lang) for f in flt.all) + ")"
    if isinstance(flt, AnyOf):
        return "(" + JOIN[lang]["any"].join(words(f, lang) for f in flt.any) + ")"
    if isinstance(flt, NotOf):
        return JOIN[lang]["not"] + words(flt.not_, lang)
    return _atom(flt, lang)


def _atom(atom: Atom, lang: str) -> str:
    field = FIELDS.get(atom.field)
    label = getattr(field, lang) if field else atom.field
    if atom.op == "is":
        return label if atom.value("is") else f"{JOIN[lang]['not']}{label}"
    value = atom.value(atom.op)
    shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return f"{label} {OPS[lang][atom.op]} {shown}"


def render(spec: IndicatorSpec) -> dict[str, Any]:
    """How the value is computed, in both languages."""
    out: dict[str, Any] = {}
    for lang in ("vi", "en"):
        parts: list[str] = []
        if spec.population:
            anchors = [f"{SUBJECT[lang][a.subject]} {words(a.where, lang)}" for a in spec.population.anchors]
            parts.append(
                ("Đối tượng: người có " if lang == "vi" else "Population: persons with ") + JOIN[lang]["any"].join(anchors)
            )
            if spec.population.where:
                parts.append(("Điều kiện thêm: " if lang == "vi" else "Also: ") + words(spec.population.where, lang))
        if spec.share:
            parts.append(("Tử số: " if lang == "vi" else "Numerator: ") + words(spec.share, lang))
        if spec.coverage:
            parts.append(
                (
                    f"Đơn vị loại {spec.coverage.unit_kind} có ít nhất một người có "
                    if lang == "vi"
                    else f"Units of kind {spec.coverage.unit_kind} with at least one person with "
                )
                + f"{SUBJECT[lang][spec.coverage.each_has.subject]} {words(spec.coverage.each_has.where, lang)}"
            )
        if spec.per:
            parts.append(
                f"Tính trên {spec.per} dân theo chỉ số '{spec.statistic}' của chính đơn vị"
                if lang == "vi"
                else f"Per {spec.per} inhabitants, by the unit's own statistic '{spec.statistic}'"
            )
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
