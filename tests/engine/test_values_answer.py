"""GET /indicators/{code}/values is written by pydantic-core, not through FastAPI's response model (app/api/deps.py
`large_answer`): its answer must still be what the model documents, byte for byte what FastAPI would have sent."""

import json
from typing import Any

from app.schemas.indicator import IndicatorValues
from tests.api.factories import import_records, org_unit, person
from tests.conftest import Registry, uniq
from tests.engine.test_engine import Province, leaders, prov  # noqa: F401 - the fixture

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


def test_values_answer_in_every_role_and_to_hostile_requests(registry: Registry) -> None:
    """The route's answer through `large_answer` for every role: the units of the caller's reach only, the bytes
    the model documents; a subtree beyond the caller's units and a hostile `under` are refused (problem details)."""
    p, other = uniq("VR"), uniq("VO")
    commune = f"{p}-X"
    import_records(registry, "org-units", [org_unit(p, tier="province"), org_unit(commune, parent=p),
                                           org_unit(other, tier="province")])
    report = import_records(registry, "persons", [person(uniq("T"), commune), person(uniq("T"), other)])
    assert report["failed"] == 0, report
    code = "ST-2025-TEACHERS-MEET-STANDARD"
    tokens = {"admin": None, "integration": registry.token("integration", [p]),
              "hr_officer of the commune": registry.token("hr_officer", [commune]),
              "auditor of the province": registry.token("auditor", [p]),
              "admin of the other province": registry.token("admin", [other])}
    asks = {"admin": (p, {p, commune}), "integration": (p, {p, commune}),
            "hr_officer of the commune": (commune, {commune}), "auditor of the province": (p, {p, commune}),
            "admin of the other province": (other, {other})}
    for who, token in tokens.items():
        headers = registry.headers(token) if token else registry.headers()
        under, units = asks[who]
        r = registry.client.get(f"/api/v1/indicators/{code}/values", params={"as_of": "2025-12-31", "under": under},
                                headers=headers)
        assert r.status_code == 200, (who, r.text)
        assert {i["org_unit"] for i in r.json()["items"]} == units, who
        assert r.content == _as_fastapi_sends(r.json()), who
    for who in ("hr_officer of the commune", "admin of the other province"):  # a subtree beyond the caller's units
        r = registry.client.get(f"/api/v1/indicators/{code}/values", params={"as_of": "2025-12-31", "under": p},
                                headers=registry.headers(tokens[who]))
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope"), who
        assert r.headers["content-type"] == "application/problem+json", who
    for hostile in (p + "\x00", "=HYPERLINK(\"http://x\")", "x" * 10_000):
        r = registry.client.get(f"/api/v1/indicators/{code}/values", params={"as_of": "2025-12-31", "under": hostile},
                                headers=registry.headers())
        assert r.status_code in (400, 404, 422), (hostile[:20], r.status_code)
        assert r.headers["content-type"] == "application/problem+json" and r.json()["code"], hostile[:20]


def test_values_answer_to_a_token_of_a_unit_formerly_above(registry: Registry) -> None:
    """Commune X sat under province P until 2020 and under Q since: P's tokens no longer list X (nor open its
    subtree), whatever the date asked, while P's own figure for 2019 still counts X's teachers (the tree as it stood);
    Q's tokens list X. Nothing is written by reading."""
    p, q = uniq("VF"), uniq("VG")
    x = f"{p}-X"
    moved = org_unit(x, parent=p, valid_to="2020-12-31")
    moved["parents"].append({"code": q, "start": "2021-01-01", "end": None})
    moved["valid_to"] = None
    report = import_records(registry, "org-units", [org_unit(p, tier="province"), org_unit(q, tier="province"), moved])
    assert report["failed"] == 0, report
    report = import_records(registry, "persons", [person(uniq("T"), x), person(uniq("T"), x), person(uniq("T"), p)])
    assert report["failed"] == 0, report
    code = "ST-2025-TEACHERS-MEET-STANDARD"
    before = registry.export("org-units"), registry.export("persons")

    def values(token: str, **params: str) -> Any:
        return registry.client.get(f"/api/v1/indicators/{code}/values", params=params, headers=registry.headers(token))

    for role in ("auditor", "hr_officer", "integration", "admin"):
        former, now = registry.token(role, [p]), registry.token(role, [q])
        for day in ("2019-12-31", "2025-12-31"):
            mine = values(former, as_of=day)
            assert mine.status_code == 200, (role, day, mine.text)
            items = {i["org_unit"]: i for i in mine.json()["items"]}
            assert set(items) == {p}, (role, day)
            assert items[p]["denominator"] == (3 if day == "2019-12-31" else 1), (role, day)  # X counted while under P
            assert mine.content == _as_fastapi_sends(mine.json())
            refused = values(former, as_of=day, under=x)
            assert (refused.status_code, refused.json()["code"]) == (403, "out_of_scope"), (role, day)
            theirs = values(now, as_of=day)
            assert {i["org_unit"]: i["denominator"] for i in theirs.json()["items"]} == (
                {q: 0, x: 2} if day == "2019-12-31" else {q: 2, x: 2}), (role, day)
            assert {i["org_unit"] for i in values(now, as_of=day, under=q).json()["items"]} == (
                {q} if day == "2019-12-31" else {q, x}), (role, day)
    assert (registry.export("org-units"), registry.export("persons")) == before


def test_values_answer_with_closed_units_in_every_kind_and_role(prov: Province) -> None:  # noqa: F811
    """`service.AllUnits.json` writes the items without a dict per unit (F19): the bytes must still be the model's,
    for closed units answering for their territory (shown, or withheld from a scoped caller of a protected
    indicator), a guarded caller's suppressed cells, and every kind: ratio, tiers, per capita, coverage, inflow,
    reported, qualitative."""
    prov.persons(leaders(prov))
    codes = ("CT-2025-LEADER-U40-LANG4", "ST-2025-ETHNIC-STAFF-LANGUAGE", "CT-2030-WOMEN-PARTY-COMMITTEE",
             "ST-2025-DOCTORS-PER-10K", "ST-2025-COMMUNE-STATIONS-WITH-DOCTOR", "CT-2025-MASTERS-PHD-INFLOW",
             "ST-2025-EMPLOYMENT-RATE", "CT-2030-WOMAN-IN-EVERY-STANDING-COMMITTEE")
    tokens = {"admin": None, "auditor of the province": prov.r.token("auditor", [prov.P]),
              "hr_officer of the province": prov.r.token("hr_officer", [prov.P])}
    seen = set()
    for code in codes:
        for who, token in tokens.items():
            for day in ("2024-12-31", "2025-12-31"):
                r = prov.r.client.get(f"/api/v1/indicators/{code}/values", params={"as_of": day, "under": prov.P},
                                      headers=prov.r.headers(token) if token else prov.r.headers())
                assert r.status_code == 200, (code, who, r.text)
                items = r.json()["items"]
                assert prov.D in {i["org_unit"] for i in items}, (code, who, day)
                assert r.content == _as_fastapi_sends(r.json()), (code, who, day)
                seen |= {(i.get("scope"), i.get("suppression")) for i in items}
    # the cases written apart from the plain one all occurred
    assert {("territory", None), ("territory", "territory"), (None, None)} <= seen, seen
    assert any(scope is None and suppression is not None for scope, suppression in seen), seen  # a guarded cell


def test_a_written_items_array_lands_last_whatever_the_head_holds() -> None:
    """`large_answer` puts the written array where "items" ends the head, even when the head names "items" first."""
    from app.api.deps import large_answer

    items = json.dumps([{"org_unit": "Xã Ea Tú", "value": 0.5}], ensure_ascii=False).encode()
    for doc in ({"items": ["stale"], "code": "A", "as_of": "2025-01-01"}, {"code": "A"}, {}):
        body = json.loads(large_answer(doc, items).body)
        assert list(body)[-1] == "items" and body["items"] == [{"org_unit": "Xã Ea Tú", "value": 0.5}], body
        assert {k: v for k, v in body.items() if k != "items"} == {k: v for k, v in doc.items() if k != "items"}
