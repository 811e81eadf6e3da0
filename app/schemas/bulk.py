"""Answers of the bulk interchange: import reports and jobs, the change feed."""

from pydantic import Field

from app.schemas.read import JsonObject, Moment, ReadSchema


class ImportLineError(ReadSchema):
    """One error of one line (JSON Lines) or record (CSV, XLSX: its first row); a line may have several."""

    line: int = Field(description="the line of the body (CSV/XLSX: the first row of the record)")
    code: str | None = Field(None, description="the record's key, for org units, statistics and courses; an enrolment's course")
    external_id: str | None = Field(None, description="the record's key, for persons; an enrolment's person")
    field: str | None = Field(description="the field (or column) at fault; null for the whole line")
    message: str
    error: str = Field(description="a stable code: invalid_field, invalid_json, unknown_code, not_written, ...")
    row: int | None = Field(None, description="spreadsheets: the row of the cell at fault")
    column: str | None = Field(None, description="spreadsheets: the column of the cell at fault")
    cell: str | None = Field(None, description="spreadsheets: the cell at fault, e.g. C7")


class ImportReport(ReadSchema):
    """What an import did: each record written or rejected on its own (`dry_run`: validated only)."""

    id: int = Field(description="the import, readable again at GET /imports/{id}")
    kind: str
    dry_run: bool
    lines: int = Field(description="non-blank lines (records) read")
    created: int
    updated: int
    unchanged: int
    failed: int = Field(description="lines with at least one error")
    recorded_at: Moment | None = Field(description="the moment of the import's last write: the `known_at` that includes "
                                                   "the import (null when nothing was written)")
    errors: list[ImportLineError]


class ImportJob(ImportReport):
    """An import as a job: its progress while it runs, the full report once done."""

    status: str = Field(description="queued, running, done or failed")
    format: str = Field(description="jsonl, csv or xlsx")
    created_at: Moment
    finished_at: Moment | None
    done: int = Field(description="lines processed so far")
    total: int | None = Field(description="lines in the file, when known (JSON Lines)")
    message: str | None = Field(description="why a failed job failed")
    code: str | None = Field(description="a stable code of a failed job's failure")


class Change(ReadSchema):
    """One write, with the entity's whole record as written (a withdrawal: the record withdrawn)."""

    seq: int = Field(description="the change's position in the feed")
    txn: int = Field(description="the transaction that wrote it; changes of one transaction share it")
    at: Moment
    actor: str
    entity: str = Field(description="org_unit, person or statistic")
    key: str
    op: str = Field(description="create, update or withdraw")
    record: JsonObject = Field(description="the record as written: an org unit, a person or a statistic")


class ChangePage(ReadSchema):
    changes: list[Change]
    next: int = Field(description="the cursor to pass as `after` next time")
