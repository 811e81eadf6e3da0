"""The server's log of requests keeps personal data out: one line per request (app.main.request_line) with the
route's template for the path and no query string, in place of uvicorn's access log, which wrote each URL as sent
(a search of the persons list by name, `?q=Nguyễn…`, and every id read) in plain text; LOG_LEVEL governs it. A
request no route took is written `(no route)`, the client only as an IP address (TestClient's is "testclient": -)."""

import logging
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.api.factories import create_person, person, small_tree
from tests.conftest import BOOT, Registry, uniq
from tests.live import serve

NAME = "Nguyễn Thị Đào"  # the factory's person's name


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "registry.requests"]


def test_each_request_has_one_line_without_its_query_or_ids(registry: Registry,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    tree = small_tree(registry)
    pid = uniq("LOG-ID-")
    create_person(registry, person(pid, tree.school_a))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="registry.requests"):
        searched = registry.client.get("/api/v1/persons", params={"q": NAME, "org_unit": tree.province},
                                       headers=registry.headers())
        read = registry.client.get(f"/api/v1/persons/{pid}", headers=registry.headers())
        known = registry.client.get(f"/api/v1/persons/{pid}", params={"known_at": "2030-01-01T00:00:00Z"},
                                    headers=registry.headers())
        refused = registry.client.get(f"/api/v1/persons/{pid}")  # no token
    assert searched.status_code == 200 and [p["external_id"] for p in searched.json()["items"]] == [pid]
    assert read.status_code == 200 and known.status_code == 200 and refused.status_code == 401
    lines = _lines(caplog)
    assert len(lines) == 4, lines
    for line, answer in zip(lines, (searched, read, known, refused), strict=True):
        assert line.startswith("- \"GET /api/v1/persons"), line
        assert f"\" {answer.status_code} " in line and line.endswith(f" request {answer.headers['x-request-id']}")
    assert "\"GET /api/v1/persons\" 200" in lines[0]
    assert all("\"GET /api/v1/persons/{external_id}\"" in line for line in lines[1:])
    text = "\n".join(lines)
    for secret in (NAME, quote(NAME), "Nguy", pid, tree.province, "known_at", "?"):  # nothing of the query or ids
        assert secret not in text, secret


def test_a_request_no_route_took_is_written_without_its_path(registry: Registry,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """A 404, a refusal before routing (control characters, a body over the limit), a redirect to the path without
    its trailing slash: each path may hold an id or a name, or a forged line."""
    pid = "CCCD-001234567890"
    with caplog.at_level(logging.INFO, logger="registry.requests"):
        missing = registry.client.get("/nowhere/Nguy%E1%BB%85n%0A127.0.0.1%20%22GET%20/forged%22%20200?q=x",
                                      headers=registry.headers())
        under = registry.client.get(f"/api/v1/persons/{quote(NAME)}/x", headers=registry.headers())
        controls = registry.client.get(f"/api/v1/persons/{pid}", params={"known_at": "\x01"},
                                       headers=registry.headers())
        too_big = registry.client.put(f"/api/v1/persons/{pid}", content=b"{" * (3 * 1024 * 1024),
                                      headers=registry.headers() | {"content-type": "application/json"})
        slash = registry.client.get(f"/api/v1/persons/{pid}/", headers=registry.headers(), follow_redirects=False)
    answers = (missing, under, controls, too_big, slash)
    assert [a.status_code for a in answers] == [404, 404, 400, 413, 307]
    lines = _lines(caplog)
    assert len(lines) == 5, lines
    for line, answer in zip(lines, answers, strict=True):
        method = "PUT" if answer is too_big else "GET"
        assert line.startswith(f"- \"{method} (no route)\" {answer.status_code} "), line
        rid = answer.headers.get("x-request-id")
        assert line.endswith(f" request {rid}" if rid else " request -"), line
    text = "\n".join(lines)
    assert not any("\n" in line for line in lines)
    for secret in (pid, "Nguy", "nowhere", "forged", "%0A"):
        assert secret not in text, secret


def test_an_idempotent_replay_has_its_line(registry: Registry, caplog: pytest.LogCaptureFixture) -> None:
    """The idempotency middleware answers a replay itself, before routing: still a line, with the replay's own
    request id and without a route."""
    tree = small_tree(registry)
    body = {"name": uniq("replay"), "role": "auditor", "org_units": [tree.province]}
    headers = registry.headers() | {"Idempotency-Key": uniq("k")}
    with caplog.at_level(logging.INFO, logger="registry.requests"):
        first = registry.client.post("/api/v1/tokens", json=body, headers=headers)
        again = registry.client.post("/api/v1/tokens", json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    lines = _lines(caplog)
    assert [line.split(" request ")[0].rsplit(" ", 2)[0] for line in lines] == ['- "POST /api/v1/tokens" 201',
                                                                               '- "POST (no route)" 201'], lines
    assert lines[0].endswith(f" request {first.headers['x-request-id']}")
    assert lines[1].endswith(f" request {again.headers['x-request-id']}") and again.headers["x-request-id"] not in lines[0]
    assert first.json()["token"] not in "\n".join(lines)


def test_writes_and_refusals_are_written_with_their_status(registry: Registry,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    tree = small_tree(registry)
    with caplog.at_level(logging.INFO, logger="registry.requests"):
        made = registry.client.post("/api/v1/tokens", json={"name": uniq("log"), "role": "auditor",
                                                             "org_units": [tree.province]}, headers=registry.headers())
        too_big = registry.client.post("/api/v1/tokens", content=b"{" * (3 * 1024 * 1024),
                                       headers=registry.headers() | {"content-type": "application/json"})
    assert made.status_code == 201 and too_big.status_code == 413
    lines = _lines(caplog)
    assert [line.split("\" ")[1].split(" ")[0] for line in lines] == ["201", "413"], lines
    assert made.json()["token"] not in "\n".join(lines)


def test_no_line_below_the_log_level(registry: Registry, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="registry.requests"):
        assert registry.client.get("/api/v1/org-units", headers=registry.headers()).status_code == 200
    assert _lines(caplog) == []


def test_the_server_writes_no_query_string_and_no_uvicorn_access_line(tmp_path: Path) -> None:
    """`registry serve` end to end: its whole output (stdout and stderr) after a search by name."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    migrated = subprocess.run([sys.executable, "-m", "app.cli", "migrate"], capture_output=True, text=True,
                              env=os.environ | {"DATABASE_URL": url}, timeout=120, check=False)
    assert migrated.returncode == 0, migrated.stderr
    with serve(url, BOOT, LOG_LEVEL="INFO") as live:
        forged = "9.9.9.9 \"GET /forged\" 200 1.0 ms request forged"  # uvicorn trusts 127.0.0.1's X-Forwarded-For
        r = httpx.get(live.base + "/api/v1/persons", params={"q": NAME},
                      headers={"Authorization": f"Bearer {BOOT}", "X-Forwarded-For": forged}, timeout=30)
        assert r.status_code == 200, r.text
        rid = r.headers["x-request-id"]
        out = ""
        for _ in range(50):  # the line is written after the answer is sent
            out = live.log_tail(100_000)
            if rid in out:
                break
            httpx.get(live.base + "/healthz", timeout=5)
    assert "- \"GET /api/v1/persons\" 200 " in out and rid in out, out[-2000:]
    assert "Application startup complete" in out  # uvicorn's own INFO lines follow LOG_LEVEL=INFO
    for secret in ("q=", quote(NAME), NAME, "Nguy", "HTTP/1.1\" 200", "forged"):  # uvicorn's line ends so
        assert secret not in out, secret
