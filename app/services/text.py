"""Diacritic-insensitive folding of Vietnamese text, for search."""

import unicodedata

_EXTRA = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """'Nguyễn Thị Đào' -> 'nguyen thi dao': lower case, no diacritics, single spaces."""
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.lower().split())
