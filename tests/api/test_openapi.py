"""The OpenAPI document is complete: what a client generator and a reader need is declared for every operation."""

import json
from typing import Any

import pytest

from app.main import create_app
from tests.conftest import Registry, uniq

SPEC = create_app().openapi()
# SCIM (/scim/v2) is held to RFC 7643/7644 instead: its resources' schemas are served at /scim/v2/Schemas and
# checked by scim2-tester (tests/scim/test_compliance.py); every other operation is checked here.
OPERATIONS = [(path, method, op) for path, item in SPEC["paths"].items() for method, op in item.items()
              if not path.startswith("/scim/")]
IMPORT_TYPES = {"application/x-ndjson", "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
PUBLIC = {("/healthz", "get")}  # the only operation that answers without a token


def _ids(ops: list[tuple[str, str, Any]]) -> list[str]:
    return [f"{m.upper()} {p}" for p, m, _ in ops]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    return _resolve(SPEC["components"]["schemas"][ref.rsplit("/", 1)[1]])


def _has_shape(schema: dict[str, Any]) -> bool:
    """A schema that says something: a type, a reference, a combination; not `{}` nor a bare free-form object."""
    found = _resolve(schema)
    if {"anyOf", "oneOf", "allOf"} & found.keys():
        return True
    if found.get("type") == "object":
        return bool(found.get("properties"))
    return "type" in found


@pytest.mark.parametrize(("path", "method", "op"), OPERATIONS, ids=_ids(OPERATIONS))
class TestEveryOperation:
    def test_declares_the_schema_of_its_success(self, path: str, method: str, op: dict[str, Any]) -> None:
        success = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert success, "no 2xx response"
        for code, response in success.items():
            if code == "204":
                continue
            content = response.get("content")
            assert content, f"{code} declares no content"
            for media, body in content.items():
                assert "schema" in body and _has_shape(body["schema"]), f"{code} {media} has no schema of its own"

    def test_describes_every_parameter(self, path: str, method: str, op: dict[str, Any]) -> None:
        missing = [p["name"] for p in op.get("parameters", []) if not p.get("description")]
        assert missing == []

    def test_is_protected_by_the_bearer_scheme(self, path: str, method: str, op: dict[str, Any]) -> None:
        if (path, method) in PUBLIC:
            assert "security" not in op
        else:
            assert op.get("security") == [{"bearer": []}]


def test_scim_is_protected_by_the_bearer_scheme_too() -> None:
    scim = [op for path, item in SPEC["paths"].items() if path.startswith("/scim/") for op in item.values()]
    assert scim and all(op.get("security") == [{"bearer": []}] for op in scim)


def test_the_bearer_scheme_is_declared() -> None:
    assert SPEC["components"]["securitySchemes"] == {"bearer": {
        "type": "http", "scheme": "bearer", "description": SPEC["components"]["securitySchemes"]["bearer"]["description"]}}


def test_imports_declare_their_three_formats() -> None:
    imports = [(p, m, op) for p, m, op in OPERATIONS if p.startswith("/api/v1/imports/") and m == "post"]
    assert imports
    for _path, _method, op in imports:
        body = op["requestBody"]
        assert set(body["content"]) == IMPORT_TYPES  # not `required`: an empty body is an empty import, answered 200
        assert all(media.get("schema", {}).get("type") == "string" for media in body["content"].values())


def test_exports_declare_their_media_types() -> None:
    content = SPEC["paths"]["/api/v1/exports/{kind}"]["get"]["responses"]["200"]["content"]
    assert set(content) == IMPORT_TYPES


def test_operation_ids_are_the_route_names_and_unique() -> None:
    ids = [op["operationId"] for _p, _m, op in OPERATIONS]
    assert len(ids) == len(set(ids)) and "list_persons" in ids and "import_records" in ids


def test_the_free_form_check_fails_on_an_untyped_answer() -> None:
    # The walk above must be able to fail: a route without a response model declares a bare object.
    assert not _has_shape({"type": "object", "additionalProperties": True})
    assert not _has_shape({})


def test_an_answer_is_sent_as_the_service_gave_it(registry: Registry) -> None:
    """A field the response model allows but the answer left out stays out (AnswerRoute): no null is added."""
    unit = uniq("OA")
    registry.import_lines("org-units", [json.dumps({"code": unit, "name": "Tỉnh Thử", "kind": "area", "tier": "province",
                                                    "sector": "state", "valid_from": "2000-01-01"})])
    r = registry.client.get("/api/v1/indicators/CT-2025-TEACHING-STAFF/value", headers=registry.headers(),
                            params={"org_unit": unit, "as_of": "2024-12-31"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "qualitative" and body["note"] and body["value"] is None
    assert not {"statistic", "coverage", "requested_as_of", "suppressed"} & body.keys()
    unit_body = registry.client.get(f"/api/v1/org-units/{unit}", headers=registry.headers()).json()
    assert unit_body["name"] == "Tỉnh Thử" and unit_body["valid_to"] is None and unit_body["parents"] == []
