"""The method ("Cách tính") of every indicator in words: coded values by their code lists' labels, never a raw code
(issue 12). The rendered pages are checked too (test_every_page)."""

import re
from functools import cache

import pytest
import yaml

from app.services.codelists import DATA
from app.services.indicators import catalog, method
from app.services.indicators.spec import IndicatorSpec

WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@cache
def codes() -> frozenset[str]:
    """Every code of the packaged code lists that reads as an identifier (male, can_bo, party_executive_committee...)."""
    lists = yaml.safe_load((DATA / "codelists.yaml").read_text("utf-8"))
    return frozenset(str(e["code"]) for entries in lists.values() for e in entries if WORD.fullmatch(str(e["code"])))


def raw_codes(text: str, lang: str) -> set[str]:
    """The raw codes in a method's text: any snake_case code; in Vietnamese, any code at all (an English word there is
    a code left untranslated)."""
    words = set(WORD.findall(text))
    return {w for w in words & codes() if "_" in w or lang == "vi"}


SPECS = catalog.build()


def test_the_check_finds_codes() -> None:
    assert raw_codes("loại đơn vị là party_executive_committee", "en") == {"party_executive_committee"}
    assert raw_codes("giới tính là female", "vi") == {"female"}
    assert raw_codes("gender is Female", "en") == set()
    assert {"party_executive_committee", "can_bo", "cap_xa_chuyen_trach", "lecturer_college"} <= codes()


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_no_raw_code_in_the_method(spec: IndicatorSpec) -> None:
    said = method.render(spec)
    for lang in ("vi", "en"):
        assert said[lang], spec.id
        assert not raw_codes(said[lang], lang), (spec.id, lang, said[lang])


def test_codes_are_named_by_their_labels() -> None:
    spec = next(s for s in SPECS if s.id == "CT-2030-WOMEN-PARTY-COMMITTEE")
    said = method.render(spec)
    assert "Ban Chấp hành (cấp ủy)" in said["vi"] and "Nữ" in said["vi"]
    assert "Party executive committee" in said["en"] and "Female" in said["en"]
    flow = method.render(next(s for s in SPECS if s.kind == "flow_count"))
    assert "Thạc sĩ" in flow["vi"] and "định tính" not in flow["vi"]
    per = method.render(next(s for s in SPECS if s.kind == "per_capita"))
    assert "10.000 dân" in per["vi"] and "10,000 inhabitants" in per["en"]
