"""A typed Python client generated from the OpenAPI (openapi-python-client) drives the live service: an import of
JSON Lines, an indicator's value and an export, on every engine. What the typed models hold is checked against the
raw JSON the server sent, so a response model that drops or mistypes a field fails here."""

import datetime
import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from app.main import create_app
from tests.conftest import BACKENDS, BOOT, _create_database, _migrate
from tests.fixtures.province import build_province, ndjson
from tests.live import LiveServer, serve

PACKAGE = "registry_client"
# openapi-python-client writes request bodies of JSON, forms, multipart and application/octet-stream: JSON Lines is
# sent as the bytes of a file (its Content-Type stays application/x-ndjson). CSV and XLSX bodies and the report
# files are left out of the generated client with a warning; this test drives JSON Lines.
CONFIG = f"""project_name_override: registry-client
package_name_override: {PACKAGE}
post_hooks: []
content_type_overrides:
  application/x-ndjson: application/octet-stream
"""
VALUE_OF = "CT-2025-CADRES-LANG4-WIDE"  # a ratio over the persons imported below
AS_OF = datetime.date(2024, 12, 31)


def _generator() -> str:
    found = shutil.which("openapi-python-client", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    if found is None:
        pytest.fail("openapi-python-client is not installed: pip install -e '.[dev]'")
    return found


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client generated from this build's document, importable for the module's tests."""
    where = tmp_path_factory.mktemp("generated")
    (where / "openapi.json").write_text(json.dumps(create_app().openapi()), encoding="utf-8")
    (where / "config.yaml").write_text(CONFIG, encoding="utf-8")
    done = subprocess.run([_generator(), "generate", "--path", "openapi.json", "--config", "config.yaml", "--meta", "none",
                           "--output-path", PACKAGE], cwd=where, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and (where / PACKAGE / "client.py").exists(), done.stdout + done.stderr
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture(scope="module", params=BACKENDS)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url, drop = _create_database(request.param, tmp_path_factory)
    _migrate(url)
    try:
        with serve(url, BOOT, RATE_LIMIT_PER_MINUTE="0") as server:
            yield server
    finally:
        drop()


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_a_generated_client_imports_reads_a_value_and_exports(client_package: ModuleType, live: LiveServer) -> None:
    api, models, types = _module("api"), _module("models"), _module("types")
    import_records = importlib.import_module(f"{PACKAGE}.api.bulk.import_records")
    export_records = importlib.import_module(f"{PACKAGE}.api.bulk.export_records")
    get_value = importlib.import_module(f"{PACKAGE}.api.indicators.get_indicator_value")
    assert api is not None
    client = client_package.AuthenticatedClient(base_url=live.base, token=BOOT, timeout=httpx.Timeout(300))
    data = build_province(seed=3, persons=60, prefix="ST")

    for kind, records in ((models.Kind.ORG_UNITS, data["org_units"]), (models.Kind.PERSONS, data["persons"]),
                          (models.Kind.STATISTICS, data["statistics"])):
        body = types.File(payload=BytesIO(ndjson(records).encode()), mime_type="application/x-ndjson")
        report = import_records.sync(kind, client=client, body=body)
        assert isinstance(report, models.ImportReport), report
        assert (report.kind, report.lines, report.created, report.failed, report.errors) == (kind.value, len(records),
                                                                                           len(records), 0, [])

    value = get_value.sync(VALUE_OF, client=client, org_unit="ST", as_of=AS_OF)
    assert isinstance(value, models.IndicatorValue), value
    raw = httpx.get(f"{live.base}/api/v1/indicators/{VALUE_OF}/value", params={"org_unit": "ST", "as_of": AS_OF.isoformat()},
                    headers={"Authorization": f"Bearer {BOOT}"}, timeout=300).json()
    assert value.as_of == AS_OF and isinstance(value.numerator, int) and value.denominator > 0
    assert (value.indicator, value.numerator, value.denominator, value.value, value.status) == (
        raw["indicator"], raw["numerator"], raw["denominator"], raw["value"], raw["status"])
    assert value.target.band == raw["target"]["band"] and value.names.vi == raw["names"]["vi"]

    exported = export_records.sync_detailed(models.Kind.PERSONS, client=client, format_=models.Format.JSONL)
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in exported.content.decode("utf-8").splitlines()]
    assert sorted(p["external_id"] for p in lines) == sorted(p["external_id"] for p in data["persons"])
    assert {p["full_name"] for p in lines} == {p["full_name"] for p in data["persons"]}  # diacritics kept


def test_a_refusal_is_a_typed_problem(client_package: ModuleType, live: LiveServer) -> None:
    models = _module("models")
    get_value = importlib.import_module(f"{PACKAGE}.api.indicators.get_indicator_value")
    anonymous = client_package.AuthenticatedClient(base_url=live.base, token="not-a-token-of-this-registry-at-all")
    problem = get_value.sync(VALUE_OF, client=anonymous, org_unit="ST", as_of=AS_OF)
    assert isinstance(problem, models.Problem) and (problem.status, problem.code) == (401, "unauthenticated")
