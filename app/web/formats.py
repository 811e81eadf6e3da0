"""How a target's figures read: percent, rate or count; the band; the gap to the band."""

from typing import Any

from app.web.i18n import number, percent, t

GLYPH = {"met": "✓", "not_met": "✗", "no_data": "–", "qualitative": "◇"}


def measure(item: dict[str, Any]) -> str:
    """'share' (shown as %), 'rate' (per N inhabitants) or 'count'."""
    kind = item["kind"]
    if kind in ("ratio", "coverage"):
        return "share"
    if kind == "per_capita":
        return "rate"
    band = (item.get("target") or {}).get("band") or []
    bounds = [b for b in band if b is not None]
    if kind == "reported" and bounds and all(abs(b) <= 1 for b in bounds):
        return "share"
    return "count"


def value(item: dict[str, Any], raw: float | int | None, lang: str) -> str:
    """A figure as people read it: '85,9 %', '3,75', '1.400'."""
    if raw is None:
        return "—"
    how = measure(item)
    if how == "share":
        return percent(raw, lang)
    if how == "rate":
        return number(raw, lang, 2)
    return number(raw, lang, 0 if float(raw).is_integer() else 2)


def band(item: dict[str, Any], lang: str) -> str:
    """'≥ 40 %', '> 35 %', '15 %–20 %', or '—' without a target."""
    target = item.get("target")
    if not target:
        return "—"
    low, high = target["band"]
    if low is not None and high is not None:
        return f"{value(item, low, lang)} – {value(item, high, lang)}"
    if low is not None:
        return f"{'>' if target.get('strict') else '≥'} {value(item, low, lang)}"
    return f"≤ {value(item, high, lang)}"


def gap_amount(item: dict[str, Any]) -> float | None:
    """Signed distance to the band: negative when short of it, positive when over it, 0 inside."""
    target, raw = item.get("target"), item.get("value")
    if not target or raw is None:
        return None
    low, high = target["band"]
    if low is not None and raw < low:
        return float(raw) - low
    if high is not None and raw > high:
        return float(raw) - high
    return 0.0


def gap(item: dict[str, Any], lang: str) -> str:
    """'thiếu 4,4 điểm %' / '4.4 pp short', 'vượt 12' / '12 over', 'trong khoảng' / 'within the band'."""
    amount = gap_amount(item)
    if amount is None:
        return "—"
    if amount == 0:
        return t("must_exceed", lang) if item.get("status") == "not_met" else t("within", lang)
    how = measure(item)
    if how == "share":
        said = t("pp_short" if amount < 0 else "pp_over", lang).format(number(abs(amount) * 100, lang))
    else:
        said = t("short" if amount < 0 else "over", lang).format(number(abs(amount), lang, 2 if how == "rate" else 0))
    floor = (item.get("target") or {}).get("direction") != "at_most"
    if amount > 0 and floor and item.get("status") == "not_met":  # above the floor overall, short at a tier
        return t("tier_short", lang).format(said)
    return said


def status_key(item: dict[str, Any]) -> str:
    """met / not_met / no_data, or 'qualitative' for a target that is listed but never scored."""
    return "qualitative" if item.get("kind") == "qualitative" else str(item.get("status") or "no_data")


def status_text(key: str, lang: str) -> str:
    return t(key, lang)


def counts(item: dict[str, Any], lang: str) -> str:
    """'16 / 45' for ratios and coverage; the statistic behind a rate; '' otherwise."""
    num, den = item.get("numerator"), item.get("denominator")
    if item["kind"] in ("ratio", "coverage") and num is not None and den is not None:
        return f"{number(num, lang, 0)} / {number(den, lang, 0)}"
    if item["kind"] == "per_capita" and num is not None and den is not None:
        return f"{number(num, lang, 0)} / {number(den, lang, 0)}"
    return ""
