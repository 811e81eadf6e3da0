"""CSV and XLSX beside JSON Lines: one row per nested item, English or Vietnamese headers.

A person with three employments and two degrees is five rows sharing `external_id`; the column
`list` says which list the row's item belongs to (a person with no items is one row with `list`
empty). An org unit's lists each have their own columns (`parent_code`/`parent_start`/`parent_end`,
`successor_code`, `local_language`): row i carries item i of each list, so a unit has as many rows
as its longest list (one when all are empty), and items side by side on a row are unrelated. Rows
of one record must follow each other. Cells are converted to the interchange types here
(booleans, integers, numbers, empty = null), then the record is validated exactly as a JSON line
is, and every error names the spreadsheet row and column.

Text cells that a spreadsheet would evaluate (beginning with = + - @ tab or carriage return) are
written with a leading quote, as OWASP advises against CSV injection; a text beginning with a quote
gets one too, and an import strips exactly one leading quote from every text cell, so that export,
import and export again give the same bytes. XLSX text cells are always typed strings, never formulas.
A file that cannot be read as a whole (not UTF-8, a corrupt workbook, a cell over the CSV field limit)
is refused with a 422 before anything is written.

For Excel as Vietnamese offices use it: a CSV export starts with a UTF-8 byte order mark and may be
`;`-separated (with a decimal comma); an import tells `;` from `,` by the header line. XLSX dates are
date cells (dd/mm/yyyy) and counts number cells; an import reads date cells and day-first text dates.
With `lang=vi`, code values are written as their Vietnamese labels (`labelled`, app.services.labels),
which an import reads back to the same codes.
"""

import contextlib
import csv
import datetime as dt
import io
import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from app.errors import InvalidInput
from app.schemas.interchange import EXACT_INT, PERSON_LISTS
from app.services import labels
from app.services.labels import Names
from app.services.text import neutralise, restore

ORG_UNIT_COLUMNS = [
    "code",
    "name",
    "kind",
    "tier",
    "sector",
    "ethnic_contact",
    "valid_from",
    "valid_to",
    "parent_code",
    "parent_start",
    "parent_end",
    "successor_code",
    "local_language",
    "pool_for_org_unit",
    "pool_for_rank",
    "term_start",
    "term_end",
]
ORG_UNIT_FIELDS = ORG_UNIT_COLUMNS[:8]
POOL_COLUMNS = {"pool_for_org_unit": ("pool_for", "org_unit"), "pool_for_rank": ("pool_for", "rank"),
                "term_start": ("term", 0), "term_end": ("term", 1)}  # a planning pool's title and term, on its first row
ORG_UNIT_SCALAR_LISTS = {"successor_code": "successors", "local_language": "local_languages"}  # column -> list
STATISTIC_COLUMNS = ["code", "org_unit", "period", "value", "source"]
PERSON_FIELDS = [
    "external_id",
    "full_name",
    "birth_date",
    "gender",
    "ethnicity",
    "national_id",
    "party_member_since",
    "party_member_until",
    "general_education",
]
ITEM_COLUMNS = [
    "org_unit",
    "body",
    "category",
    "occupation",
    "primary",
    "title",
    "rank",
    "key_leader",
    "role",
    "level",
    "title_code",
    "field",
    "institution",
    "country",
    "language",
    "language_kind",
    "fluent",
    "certificate",
    "score",
    "equivalent",
    "course",
    "hours",
    "start",
    "end",
    "awarded_on",
    "completed_on",
    "on",
    "reason",
    "form",
    "from_enrolment",
]
PERSON_COLUMNS = [*PERSON_FIELDS, "list", *ITEM_COLUMNS]
COURSE_FIELDS = ["code", "name", "kind", "provider", "org_unit", "start", "end", "hours", "mode", "country",
                 "cost_per_person", "funding"]
# a course's `awards` item, one column per field of the items a course may award (award_list: the list's name)
AWARD_COLUMNS = {"award_list": None, "award_level": "level", "award_field": "field", "award_institution": "institution",
                 "award_country": "country", "award_language": "language", "award_language_kind": "kind",
                 "award_certificate": "certificate", "award_score": "score", "award_equivalent": "equivalent"}
COURSE_COLUMNS = [*COURSE_FIELDS, *AWARD_COLUMNS]
ENROLMENT_COLUMNS = ["person", "course", "status", "start", "expected_completion", "completed_on", "decision", "cost",
                     "commitment_until"]
FLAT = {"statistics": STATISTIC_COLUMNS, "courses": COURSE_COLUMNS, "enrolments": ENROLMENT_COLUMNS}  # a record a row
COLUMNS = {"org-units": ORG_UNIT_COLUMNS, "persons": PERSON_COLUMNS, **FLAT}

VI = {
    "code": "Mã",
    "name": "Tên",
    "kind": "Loại",
    "tier": "Cấp",
    "sector": "Khối ngành",
    "ethnic_contact": "Tiếp xúc đồng bào DTTS",
    "valid_from": "Hiệu lực từ",
    "valid_to": "Hiệu lực đến",
    "parent_code": "Mã đơn vị cấp trên",
    "parent_start": "Trực thuộc từ",
    "parent_end": "Trực thuộc đến",
    "successor_code": "Mã đơn vị kế thừa",
    "local_language": "Tiếng dân tộc thiểu số của địa bàn",
    "pool_for_org_unit": "Quy hoạch cho đơn vị (mã)",
    "pool_for_rank": "Quy hoạch chức danh cấp",
    "term_start": "Nhiệm kỳ từ",
    "term_end": "Nhiệm kỳ đến",
    "org_unit": "Mã đơn vị",
    "period": "Kỳ",
    "value": "Giá trị",
    "source": "Nguồn",
    "external_id": "Mã định danh",
    "full_name": "Họ và tên",
    "birth_date": "Ngày sinh",
    "gender": "Giới tính",
    "ethnicity": "Dân tộc",
    "national_id": "Số định danh cá nhân",
    "party_member_since": "Ngày vào Đảng",
    "party_member_until": "Ngày ra khỏi Đảng",
    "general_education": "Giáo dục phổ thông",
    "list": "Danh mục",
    "body": "Mã tổ chức",
    "category": "Loại cán bộ",
    "occupation": "Chức danh nghề nghiệp",
    "primary": "Công tác chính",
    "title": "Chức vụ",
    "rank": "Cấp chức vụ",
    "key_leader": "Lãnh đạo chủ chốt",
    "role": "Vai trò",
    "level": "Trình độ",
    "title_code": "Học hàm",
    "field": "Chuyên ngành",
    "institution": "Cơ sở đào tạo",
    "country": "Nước",
    "language": "Ngôn ngữ",
    "language_kind": "Loại ngôn ngữ",
    "fluent": "Thành thạo",
    "certificate": "Chứng chỉ",
    "score": "Điểm, kết quả",
    "equivalent": "Tương đương",
    "course": "Khóa bồi dưỡng",
    "hours": "Số giờ",
    "start": "Từ ngày",
    "end": "Đến ngày",
    "awarded_on": "Ngày cấp",
    "completed_on": "Ngày hoàn thành",
    "on": "Ngày thôi công tác",
    "reason": "Lý do thôi công tác",
    "form": "Hình thức kỷ luật",
    "from_enrolment": "Cấp qua khóa học (mã khóa)",
    "provider": "Cơ sở tổ chức đào tạo",
    "mode": "Hình thức học",
    "cost_per_person": "Kinh phí mỗi người (đồng)",
    "funding": "Nguồn kinh phí",
    "award_list": "Văn bằng, chứng chỉ được cấp",
    "award_level": "Trình độ được cấp",
    "award_field": "Chuyên ngành được cấp",
    "award_institution": "Cơ sở cấp",
    "award_country": "Nước cấp",
    "award_language": "Ngôn ngữ được cấp",
    "award_language_kind": "Loại ngôn ngữ được cấp",
    "award_certificate": "Chứng chỉ được cấp",
    "award_score": "Điểm được cấp",
    "award_equivalent": "Tương đương (được cấp)",
    "person": "Mã định danh cán bộ",
    "status": "Trạng thái",
    "expected_completion": "Dự kiến hoàn thành",
    "decision": "Số quyết định cử đi học",
    "cost": "Kinh phí (đồng)",
    "commitment_until": "Cam kết công tác đến ngày",
}
FROM_VI = {v.casefold(): k for k, v in VI.items()}
BOOLEAN_COLUMNS = {"ethnic_contact", "primary", "key_leader", "fluent", "equivalent", "award_equivalent"}
INTEGER_COLUMNS = {"hours", "cost_per_person", "cost"}
NUMBER_COLUMNS = {"value"}
TRUE = {"true", "1", "yes", "có", "x"}
FALSE = {"false", "0", "no", "không"}
# which item columns each list uses, in the interchange order
LIST_COLUMNS = {
    "employments": ["org_unit", "category", "occupation", "primary", "start", "end"],
    "positions": ["org_unit", "title", "rank", "key_leader", "start", "end"],
    "memberships": ["body", "role", "start", "end"],
    "degrees": ["level", "field", "institution", "country", "awarded_on", "from_enrolment"],
    "languages": ["language", "language_kind", "level", "fluent", "certificate", "score", "awarded_on", "from_enrolment"],
    "political_theory": ["level", "equivalent", "awarded_on", "from_enrolment"],
    "state_management": ["level", "awarded_on", "from_enrolment"],
    "specialties": ["level", "field", "awarded_on", "from_enrolment"],
    "academic_titles": ["title_code", "field", "awarded_on"],
    "it_skills": ["level", "certificate", "awarded_on", "from_enrolment"],
    "trainings": ["course", "hours", "completed_on"],
    "separations": ["on", "reason"],
    "disciplines": ["form", "start", "end"],
}
RENAMED = {"language_kind": "kind", "title_code": "title"}  # spreadsheet column -> interchange key
COLUMN_OF = {v: k for k, v in RENAMED.items()}


@dataclass
class Row:
    number: int  # 1-based, the header being row 1
    cells: dict[str, str]
    letters: dict[str, str] = field(default_factory=dict)  # column key -> its letter in this file (A, B, ...)
    stray: list[str] = field(default_factory=list)  # cells with a value under no header ("F3"): the record's errors


def _stray(keys: list[str | None], texts: list[str], number: int) -> list[str]:
    """The cells of a row that hold a value under no header (past the last header, or under a blank one)."""
    from openpyxl.utils import get_column_letter

    return [f"{get_column_letter(i + 1)}{number}" for i, text in enumerate(texts)
            if text and (i >= len(keys) or keys[i] is None)]


def check_header(headers: list[str], kind: str) -> None:
    """A header naming a column the importer does not read, or one column twice, is a 422 before any write: its
    cells would be dropped (a second `full_name` replaced the first), and nothing sent is dropped silently."""
    from openpyxl.utils import get_column_letter

    keys = header_keys(headers, kind)
    problems = [{"field": name.strip()[:100], "column": get_column_letter(i + 1),
                 "message": f"column {get_column_letter(i + 1)} ({name.strip()[:100]!r}) is not a column of {kind} "
                            f"(the template, GET /api/v1/templates/{kind}, lists them, in English or Vietnamese)"}
                for i, (name, key) in enumerate(zip(headers, keys, strict=True)) if key is None and name.strip()]
    seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key is not None and key in seen:
            problems.append({"field": key, "column": get_column_letter(i + 1),
                             "message": f"column {get_column_letter(i + 1)} is {key!r} again (first column "
                                        f"{get_column_letter(seen[key] + 1)}): which one to read?"})
        elif key is not None:
            seen[key] = i
    if problems:
        unknown = any("is not a column" in p["message"] for p in problems)
        raise InvalidInput(f"the header row names {len(problems)} column(s) the import cannot read",
                           code="unknown_column" if unknown else "duplicate_column", errors=problems)


@dataclass
class Grouped:
    """One record assembled from its rows, with where each value came from."""

    record: dict[str, Any]
    first_row: int
    places: dict[str, tuple[int, str]] = field(default_factory=dict)  # record field path -> (row, column)
    errors: list[dict[str, Any]] = field(default_factory=list)
    letters: dict[str, str] = field(default_factory=dict)  # column key -> its letter in the file read

    def cell(self, kind: str, key: str, row: int) -> str:
        """The cell's name in the file read ("G2"), whatever the order of its columns."""
        return f"{self.letters.get(key) or column_letter(kind, key)}{row}"


def header_keys(headers: list[str], kind: str) -> list[str | None]:
    """Column keys for a header row written in English or Vietnamese (unknown columns: None)."""
    known = set(COLUMNS[kind])
    keys: list[str | None] = []
    for h in headers:
        name = (h or "").strip()
        key = name if name in known else FROM_VI.get(name.casefold())
        keys.append(key if key in known else None)
    return keys


DELIMITERS = {"comma": ",", "semicolon": ";"}  # export parameter -> character; imports tell them by the header


def delimiter_of(header: str, kind: str) -> str:
    """`;` when the header line read with `;` names more known columns than read with `,`; else `,`.

    A CSV saved by Excel where the list separator is `;` (Vietnamese and most European settings, whose
    decimal mark is the comma) has its cells split by `;`. The header tells which: its cells are column
    names we know. csv.Sniffer guesses from character counts instead, and a Vietnamese header such as
    "Điểm, kết quả" holds a comma in a cell, so it is not used.
    """
    def known(sep: str) -> int:
        try:
            cells = next(csv.reader([header], delimiter=sep), [])
        except csv.Error:  # e.g. a header cell over the field limit: not a header we know
            return 0
        return sum(k is not None for k in header_keys(cells, kind))

    return ";" if known(";") > known(",") else ","


def _reader(text: Iterable[str], kind: str) -> Any:
    """A CSV reader of the text, its cells split by `,` or `;` as the header line shows."""
    lines = iter(text)
    first = next(lines, None)
    if first is None:
        return csv.reader([])
    return csv.reader(itertools.chain([first], lines), delimiter=delimiter_of(first, kind))


def csv_rows(text: Iterable[str], kind: str) -> Iterator[Row]:
    """The rows of a CSV, its cells split by `,` or `;` (told by the header line), the header being row 1."""
    reader = _reader(text, kind)
    try:
        headers = next(reader)
    except StopIteration:
        return
    keys = header_keys(headers, kind)
    letters = _letters(keys)
    for number, values in enumerate(reader, start=2):
        if any(v.strip() for v in values):
            yield Row(number, {k: restore(v.strip()) for k, v in zip(keys, values, strict=False) if k}, letters,
                      _stray(keys, [v.strip() for v in values], number))


def xlsx_rows(stream: io.BufferedIOBase | io.BytesIO, kind: str) -> Iterator[Row]:
    from openpyxl import load_workbook

    book = load_workbook(stream, read_only=True, data_only=True)
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    try:
        headers = [str(h) if h is not None else "" for h in next(rows)]
    except StopIteration:
        return
    check_header(headers, kind)
    keys = header_keys(headers, kind)
    letters = _letters(keys)
    for number, values in enumerate(rows, start=2):
        texts = [_cell_text(v) for v in values]
        cells = {k: text for k, text in zip(keys, texts, strict=False) if k}
        stray = _stray(keys, texts, number)
        if any(cells.values()) or stray:
            yield Row(number, cells, letters, stray)
    book.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return restore(value.strip()) if isinstance(value, str) else str(value)


def _letters(keys: list[str | None]) -> dict[str, str]:
    """Column key -> letter of the file's header (a column given twice: the last, whose cells are read)."""
    from openpyxl.utils import get_column_letter

    return {k: get_column_letter(i + 1) for i, k in enumerate(keys) if k}


def column_letter(kind: str, key: str) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(COLUMNS[kind].index(key) + 1)


_DAY_FIRST = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")  # 09/03/1987: a date as typed, or as Excel saves a CSV


def _convert(key: str, text: str) -> Any:
    """A cell's text as the interchange type; ValueError names what was expected."""
    if text == "":
        return None
    if (key in DATE_COLUMNS or key == "period") and (match := _DAY_FIRST.fullmatch(text)):
        day, month, year = (int(part) for part in match.groups())
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            raise ValueError(f"{text!r} is not a date (dd/mm/yyyy or yyyy-mm-dd)") from None
    if key in BOOLEAN_COLUMNS:
        low = text.casefold()
        if low in TRUE or low in FALSE:
            return low in TRUE
        raise ValueError(f"{text!r} is not true/false (có/không)")
    if key in INTEGER_COLUMNS or (key in ("level", "award_level") and text.isdigit()):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
    if key in NUMBER_COLUMNS:
        try:
            number = float(text.replace(",", "")) if text.count(",") and "." in text else float(text.replace(",", "."))
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        return int(number) if number.is_integer() and abs(number) <= EXACT_INT else number  # 1e16 stays as exported
    return text


def group(rows: Iterable[Row], kind: str) -> Iterator[Grouped]:
    """Records from consecutive rows with the same key (a key whose rows are split: `SplitRecords`)."""
    column = key_column(kind)
    current: list[Row] = []
    for row in rows:
        if kind in FLAT:
            yield _strays(_flat(row, kind), [row])
            continue
        if current and row.cells.get(column, "") != current[0].cells.get(column, ""):
            yield _strays(_assemble(current, kind), current)
            current = []
        current.append(row)
    if current:
        yield _strays(_assemble(current, kind), current)


def _strays(out: Grouped, rows: list[Row]) -> Grouped:
    """A record with a value under no header is not written: the cell is named (nothing sent is dropped silently)."""
    out.errors += [{"row": row.number, "column": None, "cell": cell, "field": None,
                    "message": f"cell {cell} holds a value under no column the import reads: name its column in the "
                               "header or clear it"}
                   for row in rows for cell in row.stray]
    return out


def _flat(row: Row, kind: str) -> Grouped:
    """A record of one row (a statistic, a course, an enrolment); a course's award columns make its `awards`."""
    out = Grouped({}, row.number, letters=row.letters)
    for key in FLAT[kind]:
        if key not in AWARD_COLUMNS:
            _put(out, out.record, key, key, row, kind)
    if kind == "courses" and row.cells.get("award_list"):
        name = row.cells["award_list"].strip()
        item: dict[str, Any] = {}
        for key, fld in AWARD_COLUMNS.items():
            if fld is not None and row.cells.get(key):
                _put(out, item, key, f"awards.{name}.{fld}", row, kind)
        out.record["awards"] = {name: {AWARD_COLUMNS.get(k) or k: v for k, v in item.items()}}
        out.places["awards"] = (row.number, "award_list")
    elif kind == "courses":
        filled = [key for key, fld in AWARD_COLUMNS.items() if fld is not None and row.cells.get(key)]
        if filled:  # an award's cells without the list they belong to: an error, not an award silently dropped
            out.errors.append({"row": row.number, "column": "award_list", "cell": out.cell(kind, "award_list", row.number),
                               "field": "awards", "message": f"{', '.join(filled)} given without award_list (the "
                               "qualification list the course awards: political_theory, state_management, languages, ...)"})
        out.record["awards"] = None
    return out


def _put(out: Grouped, target: dict[str, Any], key: str, path: str, row: Row, kind: str) -> None:
    text = row.cells.get(key, "")
    out.places[path] = (row.number, key)
    try:
        value = _convert(key, text)
    except ValueError as exc:
        out.errors.append({"row": row.number, "column": key, "cell": out.cell(kind, key, row.number),
                           "message": str(exc), "field": path})
        return
    if value is not None or key in ("valid_to", "end", "national_id"):
        target[RENAMED.get(key, key)] = value


def _assemble(rows: list[Row], kind: str) -> Grouped:
    first = rows[0]
    out = Grouped({}, first.number, letters=first.letters)
    if kind == "org-units":
        for key in ORG_UNIT_FIELDS:
            _put(out, out.record, key, key, first, kind)
        for key, name in ORG_UNIT_SCALAR_LISTS.items():
            out.record[name] = _column_list(out, rows, key, name)
        _pool_keys(out, first, kind)
        out.record["parents"] = []
        for row in rows:
            if row.cells.get("parent_code"):
                link: dict[str, Any] = {}
                index = len(out.record["parents"])
                for key, name in (("parent_code", "code"), ("parent_start", "start"), ("parent_end", "end")):
                    _put(out, link, key, f"parents[{index}].{name}", row, kind)
                link = {
                    ("code" if k == "parent_code" else "start" if k == "parent_start" else "end" if k == "parent_end" else k): v
                    for k, v in link.items()
                }
                out.record["parents"].append(link)
        return out
    for key in PERSON_FIELDS:
        source = next((r for r in rows if r.cells.get(key)), first)
        _put(out, out.record, key, key, source, kind)
    for row in rows:
        name = row.cells.get("list", "")
        if not name:
            continue
        if name not in LIST_COLUMNS:
            out.errors.append(
                {
                    "row": row.number,
                    "column": "list",
                    "cell": out.cell(kind, "list", row.number),
                    "message": f"unknown list {name!r} (one of {', '.join(PERSON_LISTS)})",
                }
            )
            continue
        items = out.record.setdefault(name, [])
        item: dict[str, Any] = {}
        for key in LIST_COLUMNS[name]:
            _put(out, item, key, f"{name}[{len(items)}].{RENAMED.get(key, key)}", row, kind)
        items.append(item)
    return out


def _pool_keys(out: Grouped, first: Row, kind: str) -> None:
    """A planning pool's `pool_for` and `term` from the pool columns of its first row (all empty: neither key)."""
    values: dict[str, Any] = {}
    for key in POOL_COLUMNS:
        if first.cells.get(key):
            _put(out, values, key, POOL_COLUMNS[key][0], first, kind)
    if any(k in values for k in ("pool_for_org_unit", "pool_for_rank")):
        out.record["pool_for"] = {"org_unit": values.get("pool_for_org_unit"), "rank": values.get("pool_for_rank")}
    if any(k in values for k in ("term_start", "term_end")):
        out.record["term"] = [values.get("term_start"), values.get("term_end")]


def _column_list(out: Grouped, rows: list[Row], key: str, name: str) -> list[str]:
    """The non-empty cells of one column over a record's rows, in row order (a list of codes)."""
    values: list[str] = []
    for row in rows:
        if row.cells.get(key):
            out.places.setdefault(name, (row.number, key))
            out.places[f"{name}[{len(values)}]"] = (row.number, key)
            values.append(row.cells[key])
    return values


def locate(grouped: Grouped, field_path: str | None, kind: str) -> dict[str, Any]:
    """The row and column a record-level error points at (the record's first row when unknown)."""
    if field_path:
        for path in (field_path, field_path.rsplit(".", 1)[0]):
            if path in grouped.places:
                row, key = grouped.places[path]
                return {"row": row, "column": key, "cell": grouped.cell(kind, key, row)}
    return {"row": grouped.first_row, "column": None, "cell": None}


def record_rows(record: dict[str, Any], kind: str) -> Iterator[dict[str, Any]]:
    """The rows of one interchange record (the inverse of `group`)."""
    if kind == "courses":
        row = {k: record.get(k) for k in COURSE_FIELDS}
        for name, item in (record.get("awards") or {}).items():
            row["award_list"] = name
            row |= {col: item.get(fld) for col, fld in AWARD_COLUMNS.items() if fld is not None}
        yield row
        return
    if kind in FLAT:
        yield {k: record.get(k) for k in FLAT[kind]}
        return
    if kind == "org-units":
        yield from _org_unit_rows(record)
        return
    base = {k: record.get(k) for k in PERSON_FIELDS}
    wrote = False
    for name in PERSON_LISTS:
        for item in record.get(name) or []:
            wrote = True
            yield base | {"list": name} | {col: item.get(RENAMED.get(col, col)) for col in LIST_COLUMNS[name]}
    if not wrote:
        yield base | {"list": None}


def _org_unit_rows(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Row i: the unit's fields with parent link i, successor i and local language i (as many rows as the longest list)."""
    base = {k: record.get(k) for k in ORG_UNIT_FIELDS}
    for column, (name, part) in POOL_COLUMNS.items():
        value = record.get(name)
        base[column] = value[part] if value else None
    parents = record.get("parents") or []
    lists = {key: record.get(name) or [] for key, name in ORG_UNIT_SCALAR_LISTS.items()}
    for i in range(max(len(parents), *map(len, lists.values()), 1)):
        row = dict(base)
        if i < len(parents):
            link = parents[i]
            row |= {"parent_code": link["code"], "parent_start": link["start"], "parent_end": link["end"]}
        row |= {key: values[i] for key, values in lists.items() if i < len(values)}
        yield row


class SplitRecords:
    """The keys whose rows are not all together in a spreadsheet (a person's rows 2 and 9 with another's between:
    a sorted sheet), with the first row of each of their runs. `group` assembles a record from consecutive rows,
    so each run would be written as the whole record in turn, the last one replacing the others: such records are
    refused whole, every run named. Found in the whole-file read before any write; keeps each key once (tens of
    bytes a person: about 60 MB for a million in one file)."""

    def __init__(self, kind: str) -> None:
        self.grouped = kind not in FLAT
        self._last: str | None = None
        self._seen: set[str] = set()
        self.runs: dict[str, list[int]] = {}

    def row(self, number: int, key: str) -> None:
        if not self.grouped or key == self._last:
            return
        if key and key in self._seen:
            self.runs.setdefault(key, [])  # the first row of each of its runs: the second pass, `finish`
        if key:
            self._seen.add(key)
        self._last = key  # a row without a key ends the run before it too, as in `group`

    def finish(self, rows: Iterable[tuple[int, str]]) -> dict[str, list[int]]:
        """The first row of each run of every split key (a second pass over the same rows, keys only)."""
        if not self.runs:
            return {}
        last = None
        for number, key in rows:
            if key != last and key in self.runs:
                self.runs[key].append(number)
            last = key
        return self.runs


def key_column(kind: str) -> str:
    return "external_id" if kind == "persons" else "code"


def _keys(rows: Iterable[Row], kind: str) -> Iterator[tuple[int, str]]:
    column = key_column(kind)
    return ((row.number, row.cells.get(column, "")) for row in rows)


def split_error(kind: str, key: str, runs: list[int]) -> str:
    rows = ", ".join(str(r) for r in runs)
    return (f"the rows of {key!r} are not together: its runs start on rows {rows}, with other rows between; each "
            f"run would replace the one before, so none is written (sort the sheet by {key_column(kind)} and import "
            "it again)")


def check_csv(text: Any, kind: str) -> dict[str, list[int]]:
    """Read the whole CSV once, then rewind: undecodable text or an unparsable row is a 422 before any write.
    Returns the records whose rows are split (`SplitRecords`)."""
    reader: Any = None
    found = SplitRecords(kind)
    try:
        reader = _reader(text, kind)
        headers: list[str] = next(reader, [])
        check_header(headers, kind)
        keys = header_keys(headers, kind)
        at = max((i for i, k in enumerate(keys) if k == key_column(kind)), default=None)  # the last such column: read
        for number, values in enumerate(reader, start=2):  # numbered as csv_rows numbers them
            if at is not None and any(v.strip() for v in values):
                found.row(number, restore(values[at].strip()) if at < len(values) else "")
    except UnicodeDecodeError as exc:
        utf16 = exc.start == 0 and exc.object[:2] in (b"\xff\xfe", b"\xfe\xff")
        hint = "it is UTF-16 text; save it as CSV UTF-8" if utf16 else "save it as CSV UTF-8"
        byte = f"byte {exc.object[exc.start]:#04x} cannot be decoded"
        raise InvalidInput(f"the CSV is not UTF-8 text ({exc.reason}): {hint}", code="invalid_encoding",
                           errors=[{"field": "body", "message": byte}]) from None
    except csv.Error as exc:
        row = reader.line_num if reader is not None else 1
        too_long = "field larger than field limit" in str(exc)
        message = f"a cell is longer than {csv.field_size_limit()} characters" if too_long else f"not readable as CSV: {exc}"
        raise InvalidInput(f"line {row} of the CSV: {message}", code="cell_too_long" if too_long else "invalid_csv",
                           errors=[{"field": "body", "line": row, "message": message}]) from None
    text.seek(0)
    split = found.finish(_keys(csv_rows(text, kind), kind)) if found.runs else {}
    text.seek(0)
    return split


XML_TOKEN_LIMIT = 1 << 20  # bytes between two '<' of a workbook's XML part: a cell holds 32,767 characters in Excel
XML_CHUNK = 1 << 20


# a cell holding a formula and no saved result (`<v />`, or none): openpyxl and other programs that do not calculate
# write them so; read for its value, the cell is empty, and a date or a name was lost without an error (the review)
_NO_RESULT = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3}[0-9]{1,7})"[^>]*>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)'
                        rb'(?:<v\s*/>|<v>\s*</v>)?</c>')
_OVERLAP = 64 * 1024  # bytes of the chunk before kept with the next: a cell is far shorter (a formula: 8,192 characters)


def _xml_problem(part: IO[bytes] | io.RawIOBase) -> str | None:
    """What makes an XML part of a workbook costly to parse, read once as a stream: a comment or a processing
    instruction after the declaration (Excel writes none), or a stretch of more than XML_TOKEN_LIMIT bytes without
    a '<' (an attribute, a comment, a text no cell can hold).

    Why: this Python's expat (2.5; 2.6 defers the reparse) parses again from its start a token that arrives in
    pieces, so the time grows with the square of the token: a 37 KB upload whose sheet held a 32 MB comment took 66 s
    of a worker, a 310 KB one more than 14 minutes (the attack). A part that passes parses in linear time."""
    tail, run, start = b"", 0, True
    while chunk := part.read(XML_CHUNK):
        window = tail + chunk  # the chunk with the end of the one before: what spans the two is seen whole
        body = chunk.removeprefix(b"\xef\xbb\xbf").lstrip() if start else tail[-3:] + chunk
        if start and body.startswith(b"<?xml") and b"?>" in body:  # the declaration: the one instruction expected
            body = body[body.index(b"?>") + 2:]
        if b"<!--" in body or b"<?" in body:
            return "it holds a comment or a processing instruction, which a workbook written by Excel does not"
        if found := _NO_RESULT.search(window):
            return (f"cell {found.group(1).decode()} holds a formula without its result (the file was written by a "
                    "program that does not calculate): open and save it in Excel or LibreOffice, or write values")
        start = False
        pieces = chunk.split(b"<")
        if len(pieces) == 1:
            run += len(chunk)
        else:
            run += len(pieces[0])
            if run > XML_TOKEN_LIMIT or max(map(len, pieces)) > XML_TOKEN_LIMIT:
                break
            run = len(pieces[-1])
        if run > XML_TOKEN_LIMIT:
            break
        tail = window[-_OVERLAP:]
    else:
        return None
    return f"it holds more than {XML_TOKEN_LIMIT} bytes without markup, more than any cell can hold"


_UTF16 = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")


def _part_problem(part: IO[bytes]) -> str | None:
    """`_xml_problem` of a part that is XML in a single-byte form (after a byte order mark and blanks: `<`); a part in
    UTF-16 is refused (Excel writes UTF-8, and a `<!--` in UTF-16 is no UTF-8 `<!--`); a part that is not XML
    (an image, printer settings) is not parsed by the reader, and is left alone."""
    head = part.read(XML_CHUNK)
    if head.startswith(_UTF16):
        return "it is UTF-16 text, which a workbook written by Excel is not (UTF-8)"
    body = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if body and not body.startswith(b"<"):
        return None
    return _xml_problem(_Rest(head, part))


class _Rest(io.RawIOBase):
    """`head`, then the rest of `part`: the part read from its start, once."""

    def __init__(self, head: bytes, part: IO[bytes]) -> None:
        self._head, self._part = head, part

    def read(self, size: int = -1) -> bytes:
        if self._head:
            out, self._head = self._head, b""
            return out
        return self._part.read(size)


def check_xlsx(stream: Any, kind: str) -> dict[str, list[int]]:
    """Read the whole workbook once, then rewind: a corrupt or foreign file is a 422 before any write; so is one whose
    XML would take a worker minutes to parse (`_xml_problem`). Returns the records whose rows are split
    (`SplitRecords`), found in the same read."""
    found = SplitRecords(kind)
    try:
        with zipfile.ZipFile(stream) as book:
            for info in book.infolist():  # every part, whatever its name: the relationships choose what is parsed
                with book.open(info) as part:
                    problem = _part_problem(part)
                if problem:
                    raise InvalidInput(f"the workbook's part {info.filename[:200]!r} cannot be read: {problem}",
                                       code="invalid_xlsx", errors=[{"field": "body", "message": problem}])
        stream.seek(0)
        for number, key in _keys(xlsx_rows(stream, kind), kind):
            found.row(number, key)
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises zip, XML, key and value errors for a damaged file
        raise InvalidInput("the body is not a readable XLSX workbook", code="invalid_xlsx",
                           errors=[{"field": "body", "message": f"{type(exc).__name__}: {str(exc)[:200]}"}]) from None
    stream.seek(0)
    split = found.finish(_keys(xlsx_rows(stream, kind), kind)) if found.runs else {}
    stream.seek(0)
    return split


def _csv_cell(value: Any, delimiter: str = ",") -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and delimiter == ";":
        return repr(value).replace(".", ",")  # where `;` separates cells, the comma is the decimal mark
    return neutralise(value) if isinstance(value, str) else value


def csv_text(rows: Iterable[dict[str, Any]], kind: str, lang: str = "en", delimiter: str = ",") -> Iterator[str]:
    """A CSV of the rows, starting with a UTF-8 byte order mark so that Excel reads it as UTF-8 (not the ANSI page)."""
    columns = COLUMNS[kind]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow([VI.get(c, c) if lang == "vi" else c for c in columns])
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_csv_cell(row.get(c), delimiter) for c in columns])
        yield buffer.getvalue()


def labelled(rows: Iterable[dict[str, Any]], kind: str, names: Names) -> Iterator[dict[str, Any]]:
    """Rows as a `lang=vi` export writes them: codes as their Vietnamese labels, true/false as có/không."""
    for row in rows:
        out = dict(row)
        for column, list_name in _coded_columns(kind, row.get("award_list" if kind == "courses" else "list")).items():
            out[column] = names.label(list_name, out.get(column))
        for column in BOOLEAN_COLUMNS & out.keys():
            if isinstance(out[column], bool):
                out[column] = "có" if out[column] else "không"
        yield out


def _coded_columns(kind: str, list_name: Any) -> dict[str, str]:
    """Column -> code list of the coded cells of one row (an item row's depend on its list)."""
    if kind == "org-units":
        return dict(labels.UNIT_FIELDS) | {"pool_for_rank": "leadership_rank"}
    if kind == "courses":
        award = {f"award_{f}": lst for f, lst in labels.item_lists(list_name).items()} if isinstance(list_name, str) else {}
        return dict(labels.COURSE_FIELDS) | award
    if kind == "enrolments":
        return dict(labels.ENROLMENT_FIELDS)
    if kind != "persons":
        return {}
    columns = dict(labels.PERSON_FIELDS)
    if isinstance(list_name, str) and list_name in LIST_COLUMNS:
        columns |= {COLUMN_OF.get(f, f): lst for f, lst in labels.item_lists(list_name).items()}
    return columns


DATE_COLUMNS = {"birth_date", "party_member_since", "party_member_until", "valid_from", "valid_to", "parent_start",
                "parent_end", "term_start", "term_end", "start", "end", "awarded_on", "completed_on", "on", "expected_completion",
                "commitment_until"}
DATE_FORMAT = "dd/mm/yyyy"  # how Vietnamese offices write a date; the cell holds the date itself
FIRST_SERIAL_DAY = dt.date(1900, 3, 1)  # before it, Excel's serial days are off by one (its 29 February 1900)
NUMBER_FORMATS = {"value": "#,##0", "hours": "0", "level": "0", "award_level": "0", "cost_per_person": "#,##0",
                  "cost": "#,##0"}  # integers; other numbers keep "General"


def xlsx_bytes(rows: Iterable[dict[str, Any]], kind: str, lang: str = "en") -> Iterator[bytes]:
    """An XLSX workbook of the rows, written in constant memory (openpyxl write-only) and streamed from a temp file.

    Dates are date cells shown dd/mm/yyyy (sortable and filterable as dates), numbers are number cells
    (whole numbers with an integer format), and text is typed text (never a formula).
    """
    import tempfile

    from openpyxl import Workbook

    columns = COLUMNS[kind]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(kind)
    with tempfile.TemporaryFile() as handle:
        try:
            sheet.append([text_cell(sheet, VI.get(c, c) if lang == "vi" else c) for c in columns])
            for row in rows:
                sheet.append([_xlsx_cell(sheet, c, row.get(c)) for c in columns])
            _save(book, handle)
        except BaseException:
            _discard(sheet)
            raise
        handle.seek(0)
        while chunk := handle.read(1024 * 1024):
            yield chunk


def _save(book: Any, handle: IO[bytes]) -> None:
    """`book.save(handle)`, as openpyxl's `save_workbook` does it, with the archive closed on a failure too: left
    open, the archive's finaliser later wrote into the closed file ("seek of closed file", an unraisable exception)."""
    from zipfile import ZIP_DEFLATED, ZipFile

    from openpyxl.writer.excel import ExcelWriter

    archive = ZipFile(handle, "w", ZIP_DEFLATED, allowZip64=True)
    book.properties.modified = dt.datetime.now(tz=dt.UTC).replace(tzinfo=None)
    try:
        ExcelWriter(book, archive).save()  # writes every part, then closes the archive
    except BaseException:
        with contextlib.suppress(Exception):
            archive.close()
        raise


def _discard(sheet: Any) -> None:
    """A write-only sheet's rows removed from the disk when its export fails before the workbook is saved.

    openpyxl writes them to a named file of its own in the temporary directory (`openpyxl.*`, not deleted on close)
    and removes it only when the workbook is saved, or at the process's exit: a failed export (the database gone
    mid-way, a value that cannot be written) left the persons it had written so far there for as long as the server
    ran, and its generators, collected later, raised "I/O operation on closed file" as an unraisable exception. Each
    step is attempted whatever the failure left broken; the file goes whenever the sheet's writer was made (a writer
    whose own making failed, say for want of file descriptors, is not known to the sheet, and its file is left)."""
    writer = getattr(sheet, "_writer", None)
    if writer is None:  # nothing was written yet
        return
    for close in (getattr(sheet, "_rows", None), writer):  # the rows' generator, then the file's XML stream
        if close is not None:
            with contextlib.suppress(Exception):
                close.close()
    with contextlib.suppress(OSError, ValueError):
        writer.cleanup()  # the file, and its entry in openpyxl's list of files to remove at exit


def _xlsx_cell(sheet: Any, column: str, value: Any) -> Any:
    """One cell of an exported row: a date cell for an ISO date of a date column, a formatted number, or text."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        day = _iso_day(value) if column in DATE_COLUMNS else None
        if day is None:
            return text_cell(sheet, value)
        cell = WriteOnlyCell(sheet, day)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, int) and not isinstance(value, bool) and column in NUMBER_FORMATS:
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = NUMBER_FORMATS[column]
        return cell
    return value


def _iso_day(text: str) -> dt.date | None:
    """The date of an ISO `YYYY-MM-DD` text that a serial day represents exactly, else None (left as text)."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if len(text) == 10 and day >= FIRST_SERIAL_DAY else None


def text_cell(sheet: Any, value: str, *, escape: bool = True) -> Any:
    """A write-only XLSX cell holding `value` as a typed string (never a formula), neutralised unless `escape` is False.

    Characters XML cannot carry (controls other than tab and line breaks, refused at every input since, but
    possibly in older records) become U+FFFD rather than stopping the workbook half written.
    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("\ufffd", neutralise(value) if escape else value))
    cell.data_type = "s"
    return cell


EXAMPLES: dict[str, dict[str, Any]] = {
    "org-units": {
        "code": "ST-SYT",
        "name": "Sở Y tế tỉnh Sóc Trăng",
        "kind": "state_agency",
        "tier": "province",
        "sector": "health",
        "ethnic_contact": False,
        "valid_from": "2004-01-01",
        "valid_to": "2025-06-30",
        "parents": [{"code": "ST", "start": "2004-01-01", "end": None}],
        "successors": ["CT-SYT"],
        "local_languages": ["km"],
    },
    "persons": {
        "external_id": "ST-000123",
        "full_name": "Thạch Thị Sa Rây",
        "birth_date": "1987-03-09",
        "gender": "female",
        "ethnicity": "05",
        "national_id": None,
        "party_member_since": "2012-05-19",
        "general_education": "12/12",
        "employments": [
            {
                "org_unit": "ST-SYT-P2",
                "category": "cong_chuc",
                "occupation": "specialist",
                "primary": True,
                "start": "2011-09-01",
                "end": None,
            }
        ],
        "languages": [{"language": "km", "kind": "ethnic_minority", "fluent": True, "awarded_on": "2010-01-15"}],
    },
    "statistics": {"code": "population", "org_unit": "ST", "period": "2024", "value": 1199653, "source": "Cục Thống kê"},
    "courses": {"code": "CT-TCT-CC-2026-01", "name": "Lớp Cao cấp lý luận chính trị hệ không tập trung 2026",
                "kind": "political_theory", "provider": "Học viện Chính trị khu vực IV", "org_unit": "CT-BTC",
                "start": "2026-03-01", "end": "2027-08-31", "hours": 1200, "mode": "part_time", "country": "VN",
                "cost_per_person": 18000000, "funding": "state_budget", "awards": {"political_theory": {"level": "cao_cap"}}},
    "enrolments": {"person": "ST-000123", "course": "CT-TCT-CC-2026-01", "status": "enrolled", "start": "2026-03-01",
                   "expected_completion": "2027-08-31", "completed_on": None, "decision": "125/QĐ-BTCTU",
                   "cost": 18000000, "commitment_until": None},
}
