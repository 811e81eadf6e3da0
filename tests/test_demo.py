"""`registry demo`: the demo registry goes into an empty registry only, through the import runs; REGISTRY_DEMO=0,
`registry migrate`, `registry serve` and the production images never load it; `make run` calls it before serving."""

import json
import shutil
import subprocess
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app import config
from app.cli import app
from app.db import get_session_factory
from app.models import Change, ImportJob, Person
from app.services import demo
from tests.conftest import BOOT, Registry
from tests.made_run import ROOT

runner = CliRunner()
URL = "http://127.0.0.1:8123"


def _demo(*args: str, **env: str) -> str:
    result = runner.invoke(app, ["demo", "--url", URL, "--persons", "120", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def _count(model: type) -> int:
    with get_session_factory()() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_loads_into_an_empty_registry_once_and_prints_how_to_sign_in(fresh_registry: Callable[[], Registry]) -> None:
    registry = fresh_registry()
    out = _demo()
    assert "120 persons" in out and f"Dashboard: {URL}/dashboard/login" in out and f"\n  {BOOT}\n" in out
    assert _count(Person) == 120
    reform = registry.client.get("/api/v1/org-units/ST-H1-X3", headers=registry.headers()).json()
    assert [p["code"] for p in reform["parents"]] == ["ST-H1", "ST"]  # moved under the province by the 2025 reform
    value = registry.client.get("/api/v1/indicators/ST-2025-LABOUR-TRAINED/value", params={"org_unit": "ST",
                                "as_of": "2025-12-31"}, headers=registry.headers()).json()
    assert value["value"] == 0.67 and value["statistic"]["source"] == demo.ILLUSTRATIVE
    with get_session_factory()() as session:  # written by the import runs, each recorded as an import
        jobs = session.scalars(select(ImportJob).where(ImportJob.actor == "system:demo")).all()
    assert sorted(j.kind for j in jobs) == ["courses", "enrolments", "org-units", "persons", "statistics"]
    assert all(j.status == "done" and not j.errors for j in jobs), [j.errors[:2] for j in jobs]
    enrolments = registry.client.get("/api/v1/enrolments", params={"status": "completed", "limit": 1000},
                                     headers=registry.headers()).json()["items"]
    assert enrolments, "the demo sends some of its persons to courses that are over"
    done = enrolments[0]
    held = registry.client.get(f"/api/v1/persons/{done['person']}", headers=registry.headers()).json()
    awarded = [i for name in ("political_theory", "state_management", "languages") for i in held[name]
               if i.get("from_enrolment") == done["course"]]
    course = registry.client.get(f"/api/v1/courses/{done['course']}", headers=registry.headers()).json()
    assert len(awarded) == (1 if course["awards"] else 0) and all(i["awarded_on"] == done["completed_on"] for i in awarded)
    changes = _count(Change)
    again = _demo()
    assert "already holds org units or persons: the demo is not loaded" in again and f"\n  {BOOT}\n" in again
    assert (_count(Change), _count(Person)) == (changes, 120)


def test_registry_demo_0_starts_empty(fresh_registry: Callable[[], Registry]) -> None:
    fresh_registry()
    out = _demo(REGISTRY_DEMO="0")
    assert "REGISTRY_DEMO=0: no demo loaded" in out and f"{URL}/dashboard/login" in out
    assert _count(Person) == 0
    with get_session_factory()() as session:
        assert demo.is_empty(session)


def test_a_registry_holding_data_is_left_alone(fresh_registry: Callable[[], Registry]) -> None:
    registry = fresh_registry()
    unit = {"code": "XQ", "name": "Tỉnh thử", "kind": "area", "tier": "province", "sector": "state", "valid_from": "2020-01-01"}
    assert registry.import_lines("org-units", [json.dumps(unit)])["created"] == 1
    out = _demo()
    assert "the demo is not loaded" in out
    assert _count(Person) == 0


def test_a_short_bootstrap_token_is_refused_before_anything_is_loaded(fresh_registry: Callable[[], Registry]) -> None:
    fresh_registry()
    config.get_settings.cache_clear()
    result = runner.invoke(app, ["demo", "--persons", "5"], env={"REGISTRY_BOOTSTRAP_TOKEN": "too-short"})
    config.get_settings.cache_clear()
    assert result.exit_code == 2 and "must be at least 32" in result.output and "too-short" not in result.output
    assert _count(Person) == 0


def test_migrate_never_loads_the_demo(fresh_registry: Callable[[], Registry]) -> None:
    registry = fresh_registry()
    result = runner.invoke(app, ["migrate", "--database-url", registry.url])
    assert result.exit_code == 0, result.output
    with get_session_factory()() as session:
        assert demo.is_empty(session)


def test_production_images_start_empty_and_make_run_loads_the_demo_before_serving() -> None:
    for name in ("Dockerfile", "docker-compose.yml"):
        text = (ROOT / name).read_text("utf-8")
        assert "registry demo" not in text and "REGISTRY_DEMO" not in text, name
    if shutil.which("make") is None:
        pytest.skip("make is absent")
    plan = subprocess.run(["make", "-n", "-B", "run", "PORT=8123", "HOST=127.0.0.1"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout
    demo_at, serve_at = plan.index("registry demo --url http://127.0.0.1:8123"), plan.index("registry serve --host 127.0.0.1 "
                                                                                              "--port 8123")
    assert plan.index("registry migrate") < demo_at < serve_at
    assert "pip install --quiet -e .\n" in plan and ".[dev]" not in plan  # running needs no test tools
    assert plan.count('REGISTRY_BOOTSTRAP_TOKEN="${REGISTRY_BOOTSTRAP_TOKEN:-$(cat data/admin-token)}"') == 2
