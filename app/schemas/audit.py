"""Answers of the audit log."""

from pydantic import Field

from app.schemas.read import JsonObject, Moment, ReadSchema


class WriteEntry(ReadSchema):
    """A write, with the record as written and its link in the hash chain."""

    seq: int
    txn: int
    at: Moment
    actor: str
    source: str | None = None
    request_id: str | None = None
    entity: str
    key: str
    op: str
    record: JsonObject
    hash: str | None = Field(None, description="the entry's chain hash; null for roles shown records without their "
                                               "sensitive fields (the hash of the full record would confirm a guess of "
                                               "them): they verify the chain with GET /audit/verify")


class ReadEntry(ReadSchema):
    """A read of a person's sensitive fields, and its link in the hash chain."""

    id: int
    at: Moment
    actor: str
    request_id: str | None = None
    person_id: int | None = None
    external_id: str | None = None
    fields: str
    action: str
    detail: str | None = None
    hash: str | None = Field(None, description="the entry's chain hash; null until it is sealed (within "
                                               "AUDIT_SEAL_SECONDS)")
    seq: int | None = Field(None, description="its place in the access log's chain, given when it is sealed")


class AuditLog(ReadSchema):
    writes: list[WriteEntry] = Field(description="newest first")
    reads: list[ReadEntry] = Field(description="newest first")


class Finding(ReadSchema):
    """An entry of a log that fails: its hash, its link, or the checkpoint it should match."""

    log: str
    entry: int
    problem: str


class AuditVerification(ReadSchema):
    intact: bool
    findings: list[Finding]
    unsealed: int = Field(0, description="access-log entries not sealed yet (appended in the last moments): "
                                         "covered by the next verification")


class CheckpointVerification(AuditVerification):
    timestamp: str = Field(description="the checkpoint's moment")
    appended_since: dict[str, int] = Field(description="entries appended to each log since the checkpoint")
