"""What every report states about itself, so an audit can cite it and run it again."""

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from app.services.context import Actor
from app.web import formats, i18n
from app.web.board import Board, Item
from app.web.view import View, stamp


def reproduce(view: View, kind: str) -> str:
    """The request that gives this report again: the same parameters, the same recorded moment."""
    query = urlencode({"org_unit": view.org_unit, "as_of": view.as_of.isoformat(), "known_at": stamp(view.known_at),
                       "lang": view.lang}, safe=":")
    return f"/api/v1/reports/{view.doc}.{kind}?{query}"


def facts(board: Board, view: View, actor: Actor, generated_at: datetime, kind: str) -> list[tuple[str, str]]:
    """(label, value) lines: the parameters, known_at, data version and who asked."""
    lang = view.lang
    versions = sorted({(i.code, i.result["definition"]["version"]) for i in board.items})
    return [
        (i18n.t("resolution", lang), f"{i18n.doc_name(board.doc, lang)} ({board.doc})"),
        (i18n.t("org_unit", lang), f"{board.unit_name} ({board.org_unit})"),
        (i18n.t("as_of", lang), view.as_of.isoformat()),
        (i18n.t("known_at", lang), stamp(view.known_at)),
        (i18n.t("data_version", lang), str(board.data_version)),
        (i18n.t("definition_version", lang), ", ".join(f"v{v}" for v in sorted({v for _c, v in versions})) +
         f" ({len(versions)})"),
        (i18n.t("generated_at", lang), stamp(generated_at)),
        (i18n.t("signed_in_as", lang), f"{actor.name} ({i18n.role(actor.role, lang)})"),
        (i18n.t("reproduce", lang), reproduce(view, kind)),
    ]


def status_words(item: Item | dict[str, Any], lang: str) -> str:
    key = item.status if isinstance(item, Item) else formats.status_key(item)
    return f"{formats.GLYPH[key]} {i18n.t(key, lang)}"


def definition_text(item: Item, lang: str) -> str:
    """Source clause and method in plain words, one paragraph."""
    spec = item.spec
    parts = [f"{i18n.t('source_clause', lang)}: {i18n.doc_name(spec.source.doc, lang)}, {i18n.t('clause', lang)} "
             f"{spec.source.clause}.", f"{i18n.t('method', lang)}: {item.method[lang]}."]
    if spec.note:
        parts.append(f"{i18n.t('note', lang)}: {spec.note}")
    return " ".join(parts)
