"""FastAPI's own OpenTelemetry export stays off, whatever providers the process has (configured by an operator's
environment or a vendor's agent): FastAPI 0.165 would otherwise put each request's path and query string
on a span (`url.path`: a person's id; `url.query`: a search by name, `q=Nguyễn…`) and log unhandled exceptions with
their messages, out of the process to whatever backend the providers export to, past the access log and the request
log's rules. Here the process's providers record everything they are given; no request gives them anything."""

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import opentelemetry._logs as otel_logs
import opentelemetry._logs._internal as otel_logs_internal
import opentelemetry.metrics as otel_metrics
import opentelemetry.trace as otel_trace
import pytest
from fastapi.testclient import TestClient

from app.services import persons
from tests.api.factories import create_person, person, small_tree
from tests.conftest import Registry, uniq

NAME = "Nguyễn Thị Đào"  # the factory's person's name
SECRET_ID = "079190001234"


class _Recorder:
    """Whatever the providers hand out records each call made on it (spans started, logs emitted, instruments)."""

    def __init__(self, calls: list[tuple[str, Any]], kind: str) -> None:
        self._calls, self._kind = calls, kind

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            self._calls.append((f"{self._kind}.{name}", (args, kwargs)))
            return _Recorder(self._calls, f"{self._kind}.{name}")
        return record

    def __enter__(self) -> "_Recorder":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def recording(base: type, getter: str, calls: list[tuple[str, Any]]) -> Any:
    """A provider of OpenTelemetry's API (`base`: a tracer, meter or logger provider, not one of its no-op or proxy
    classes, which FastAPI takes for "not configured") whose `getter` hands out a recorder."""
    def get(_self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append((getter, (args, kwargs)))
        return _Recorder(calls, getter.removeprefix("get_"))

    return type(f"Recording{base.__name__}", (base,), {getter: get})()


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Any]]]:
    """The process's global providers, as an instrumented deployment has them (FastAPI reads them per request)."""
    calls: list[tuple[str, Any]] = []
    tracers = recording(otel_trace.TracerProvider, "get_tracer", calls)
    meters = recording(otel_metrics.MeterProvider, "get_meter", calls)
    loggers = recording(otel_logs.LoggerProvider, "get_logger", calls)
    monkeypatch.setattr(otel_trace, "get_tracer_provider", lambda: tracers)
    monkeypatch.setattr(otel_metrics, "get_meter_provider", lambda: meters)
    monkeypatch.setattr(otel_logs, "get_logger_provider", lambda: loggers)
    # `_logs.get_logger`, which FastAPI calls for a request's logger, looks the provider up here
    monkeypatch.setattr(otel_logs_internal, "get_logger_provider", lambda: loggers)
    yield calls


def test_no_request_reaches_the_processs_telemetry_providers(registry: Registry, providers: list[tuple[str, Any]],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    tree = small_tree(registry)
    pid = uniq("OTEL-")
    create_person(registry, person(pid, tree.school_a))
    providers.clear()
    answers = [
        registry.client.get("/api/v1/persons", params={"q": NAME, "org_unit": tree.province}, headers=registry.headers()),
        registry.client.get(f"/api/v1/persons/{pid}", headers=registry.headers()),  # the route ahead of routing
        registry.client.get(f"/api/v1/persons/{pid}", params={"known_at": "2030-01-01T00:00:00Z"},
                            headers=registry.headers()),
        registry.client.get(f"/api/v1/persons/{pid}"),  # refused: no token
        registry.client.put(f"/api/v1/persons/{pid}", json={"external_id": pid, "national_id": "0" * 40},
                            headers=registry.headers()),  # a validation failure, its value in the message
        registry.client.get(f"/nowhere/{pid}", params={"q": NAME}),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 401, 422, 404]
    assert [p["external_id"] for p in answers[0].json()["items"]] == [pid]

    def failing(*_args: Any, **_kwargs: Any) -> Any:  # an unhandled exception, a person's data in its message
        raise RuntimeError(f"national id {SECRET_ID} of {pid}")

    monkeypatch.setattr(persons, "read", failing)
    answering = TestClient(registry.client.app, raise_server_exceptions=False)  # a 500, as a client gets it
    for params in ({}, {"known_at": "2030-01-01T00:00:00Z"}):  # the route ahead of routing, and FastAPI's
        failed = answering.get(f"/api/v1/persons/{pid}", params=params, headers=registry.headers())
        assert failed.status_code == 500 and failed.json()["code"] == "internal_error"
        assert SECRET_ID not in failed.text
    assert providers == [], providers[:5]


def test_the_providers_would_have_recorded_a_request(providers: list[tuple[str, Any]]) -> None:
    """The recorders record: FastAPI's defaults, on an application of its own, hand a request's path and query to
    the tracer, and an unhandled exception with its message to the logger (what the registry's application turns
    off)."""
    from fastapi import FastAPI

    bare = FastAPI()

    @bare.get("/persons/{external_id}")
    def read(external_id: str) -> dict[str, str]:
        return {"external_id": external_id}

    @bare.get("/failing/{external_id}")
    def fail(external_id: str) -> dict[str, str]:
        raise RuntimeError(f"national id {SECRET_ID} of {external_id}")

    with TestClient(bare, raise_server_exceptions=False) as client:
        assert client.get("/persons/VN-1", params={"q": NAME}).status_code == 200
        assert client.get("/failing/VN-2").status_code == 500
    logged = [kwargs for call, (_args, kwargs) in providers if call == "logger.emit"]
    assert [str(k["exception"]) for k in logged] == [f"national id {SECRET_ID} of VN-2"], providers
    spans = [attrs for call, (_args, attrs) in providers if call == "tracer.start_span"]
    assert [(s["attributes"]["url.path"], s["attributes"].get("url.query")) for s in spans] == \
        [("/persons/VN-1", "q=" + quote_plus(NAME)), ("/failing/VN-2", None)], providers[:5]
