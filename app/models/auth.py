"""API tokens (stored hashed) and import jobs."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class ApiToken(Base):
    """A bearer token: only its SHA-256 is stored; role and org-unit scope travel with it."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    org_units: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ImportJob(Base):
    """One import (of any size): its progress, counts and per-line errors."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    dry_run: Mapped[bool] = mapped_column(default=False)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # A job run in the background: its spooled input, how far it is committed, who runs it.
    format: Mapped[str] = mapped_column(String(10), default="jsonl", server_default="jsonl")
    source_path: Mapped[str | None] = mapped_column(String(1000))
    offset: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # bytes of input committed
    line_no: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # last input line committed
    owner: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the importing actor (name, role, units)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message: Mapped[str | None] = mapped_column(String(1000))
    code: Mapped[str | None] = mapped_column(String(50))  # why a failed job stopped, as a stable code
    # Incremented by each runner that takes the job; a runner writes only while the job holds its number.
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class IdempotencyRecord(Base):
    """A POST answered once under an Idempotency-Key, replayed to retries of the same request."""

    __tablename__ = "idempotency_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))  # hash of the bearer credential
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("owner", "key"),)


class SecurityFlag(Base):
    """A switch that must hold for every app server of one database (e.g. the bootstrap token disabled)."""

    __tablename__ = "security_flag"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(200))


class RateHit(Base):
    """Requests of one caller in one minute, counted for every app server of the database (PostgreSQL). UNLOGGED there
    (migration 9c5e7a3b2d40): a count does not wait for the disk, and a crash only starts the limits afresh."""

    __tablename__ = "rate_hit"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # minutes since the epoch
    hits: Mapped[int] = mapped_column(Integer)


class SignedOutSession(Base):
    """A dashboard session ended by its holder: refused by every app server until its cookie would expire."""

    __tablename__ = "signed_out_session"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
