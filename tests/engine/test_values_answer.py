"""GET /indicators/{code}/values is written by pydantic-core, not through FastAPI's response model (app/api/deps.py
`large_answer`): its answer must still be what the model documents, byte for byte what FastAPI would have sent."""

import json
from typing import Any

from app.schemas.indicator import IndicatorValues
from tests.api.factories import import_records, org_unit, person
from tests.conftest import Registry, uniq

CODES = ("ST-2025-TEACHERS-MEET-STANDARD", "CT-2030-WOMEN-PARTY-COMMITTEE", "ST-2025-DOCTORS-PER-10K",
         "ST-2030-PD-STAFF-POSTGRAD")


def _as_fastapi_sends(body: dict[str, Any]) -> bytes:
    """What FastAPI sends for a returned dict under the route's model (AnswerRoute: exclude_unset)."""
    model = IndicatorValues.model_validate(body)
    return json.dumps(model.model_dump(mode="json", exclude_unset=True), ensure_ascii=False, allow_nan=False,
                      indent=None, separators=(",", ":")).encode()


def test_values_answer_is_the_documented_model_byte_for_byte(registry: Registry) -> None:
    p = uniq("VP")
    commune = f"{p}-X"
    import_records(registry, "org-units", [org_unit(p, tier="province", name="Tỉnh Đắk Lắk"),
                                           org_unit(commune, parent=p, name="Xã Ea Tu")])
    def degree(level: str) -> dict[str, str]:
        return {"level": level, "field": "Giáo dục Tiểu học", "institution": "Trường Đại học Tây Nguyên",
                "country": "VN", "awarded_on": "2010-06-01"}

    teachers = [person(uniq("T"), commune, degrees=[degree(level)] if level else [])
                for level in ("bachelor", "college", None)]
    report = import_records(registry, "persons", teachers)
    assert report["failed"] == 0, report
    for code in CODES:
        for params in ({"as_of": "2025-12-31", "under": p}, {"as_of": "2025-12-31", "under": commune}):
            r = registry.client.get(f"/api/v1/indicators/{code}/values", params=params, headers=registry.headers())
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "application/json"
            body = r.json()
            assert [i["org_unit"] for i in body["items"]][:2] == ([p, commune] if params["under"] == p else [commune])
            assert r.content == _as_fastapi_sends(body), code
    teachers_here = registry.client.get("/api/v1/indicators/ST-2025-TEACHERS-MEET-STANDARD/values",
                                        params={"as_of": "2025-12-31", "under": p}, headers=registry.headers()).json()
    assert {i["org_unit"]: i["denominator"] for i in teachers_here["items"]} == {p: 3, commune: 3}
