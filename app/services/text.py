"""Text rules: diacritic-insensitive folding for search, control characters, spreadsheet formula escaping."""

import unicodedata

_EXTRA = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """'Nguyễn Thị Đào' -> 'nguyen thi dao': lower case, no diacritics, single spaces."""
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.lower().split())


# A spreadsheet reads a cell beginning with one of these as a formula (OWASP, CSV injection); a leading
# quote is escaped too, so that unescaping (strip exactly one quote) is unambiguous.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def neutralise(cell: str) -> str:
    """A text cell as written to CSV or XLSX: a quote before anything a spreadsheet would evaluate."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def restore(cell: str) -> str:
    """The inverse of `neutralise`, on import: exactly one leading quote removed."""
    return cell[1:] if cell.startswith("'") else cell
