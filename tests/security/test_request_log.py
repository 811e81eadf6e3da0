"""The server's log of requests keeps personal data out: one line per request (app.main.request_line) with the
route's template for the path and no query string, in place of uvicorn's access log, which wrote each URL as sent
(a search of the persons list by name, `?q=Nguyễn…`, and every id read) in plain text; LOG_LEVEL governs it."""

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
        assert line.startswith("testclient \"GET /api/v1/persons"), line
        assert f"\" {answer.status_code} " in line and line.endswith(f" request {answer.headers['x-request-id']}")
    assert "\"GET /api/v1/persons\" 200" in lines[0]
    assert all("\"GET /api/v1/persons/{external_id}\"" in line for line in lines[1:])
    text = "\n".join(lines)
    for secret in (NAME, quote(NAME), "Nguy", pid, tree.province, "known_at", "?"):  # nothing of the query or ids
        assert secret not in text, secret


def test_a_path_no_route_matched_is_written_escaped_on_one_line(registry: Registry,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="registry.requests"):
        missing = registry.client.get("/nowhere/%C3%90%0A127.0.0.1%20%22GET%20/forged%22%20200?q=Nguy%E1%BB%85n",
                                      headers=registry.headers())
        controls = registry.client.get("/api/v1/persons/a%00b", headers=registry.headers())
    assert missing.status_code == 404 and controls.status_code == 400
    lines = _lines(caplog)
    assert len(lines) == 2, lines
    assert lines[0] == (f"testclient \"GET /nowhere/%C3%90%0A127.0.0.1%20%22GET%20/forged%22%20200\" 404 "
                        f"{lines[0].split(' ')[-4]} ms request {missing.headers['x-request-id']}")
    assert "\n" not in lines[0] and "Nguy" not in lines[0]
    assert lines[1].startswith("testclient \"GET /api/v1/persons/a%00b\" 400 "), lines[1]  # refused before routing


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
        r = httpx.get(live.base + "/api/v1/persons", params={"q": NAME}, headers={"Authorization": f"Bearer {BOOT}"},
                      timeout=30)
        assert r.status_code == 200, r.text
        rid = r.headers["x-request-id"]
        out = ""
        for _ in range(50):  # the line is written after the answer is sent
            out = live.log_tail(100_000)
            if rid in out:
                break
            httpx.get(live.base + "/healthz", timeout=5)
    assert "\"GET /api/v1/persons\" 200 " in out and rid in out, out[-2000:]
    assert "Application startup complete" in out  # uvicorn's own INFO lines follow LOG_LEVEL=INFO
    for secret in ("q=", quote(NAME), NAME, "Nguy", "HTTP/1.1\" 200"):  # uvicorn's access line ends so
        assert secret not in out, secret
