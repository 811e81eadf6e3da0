"""Typed settings, read once from the environment (and `.env`)."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_URL = f"sqlite:///{Path('data') / 'registry.db'}"
BOOTSTRAP_MIN_LENGTH = 32


class Settings(BaseSettings):
    """Service configuration; every field can be set by an environment variable of the same name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)  # errors never echo a secret

    database_url: str = DEFAULT_SQLITE_URL
    # A PostgreSQL streaming replica (hot standby) for read-only work; unset: everything on database_url.
    database_replica_url: str | None = None
    # PostgreSQL connections per process: the main pool (and the replica's); the access-log pool has half. Kept open
    # once made, none beyond them (no overflow by default): connections made for a burst and closed after it came
    # back as new backends while the old ones were still exiting, and a 2-core server of two workers went past a
    # default PostgreSQL's 100 connections ("too many clients": answers 503, bench F23). Two workers: at most 60.
    database_pool_size: int = 20
    database_max_overflow: int = 0
    # Requests a worker process runs at once; the others wait their turn without a thread or a connection
    # (app/api/admission.py: with more, a request holding a connection or SQLite's write lock could wait for a thread
    # held by a request waiting for it). At most the main pool's size keeps requests from waiting for a connection.
    max_concurrent_requests: int = Field(default=16, ge=1)
    # An administrator's token for a fresh deployment: at least 32 characters, no default; disabled for good
    # (on every server of the database) by `registry tokens disable-bootstrap`.
    registry_bootstrap_token: SecretStr | None = None
    # The Ed25519 private key (PEM) that signs audit checkpoints (`registry audit keygen` writes one).
    audit_signing_key_file: str | None = None
    # Sensitive reads append to the access log without a lock; a server seals what a busy sealer left
    # within this many seconds (app/services/audit.py). 0 switches its background sealer off.
    audit_seal_seconds: float = 1.0
    # Indicator answers kept per process (keyed by the latest committed transaction: never stale). 0 keeps none:
    # every answer is computed, as the benchmark's "uncached" figures are measured (bench/run.py).
    indicator_answer_cache: int = Field(default=4096, ge=0)
    # An Idempotency-Key whose first request has run this long without an answer is free again (its server died).
    idempotency_claim_seconds: float = 900.0
    max_body_bytes: int = 512 * 1024 * 1024
    max_line_bytes: int = 1024 * 1024
    import_batch_size: int = 500
    # Import jobs (202 + GET /imports/{id}): asked for with `Prefer: respond-async`, or taken when a
    # body's Content-Length is over import_async_bytes; spooled under import_spool_dir.
    import_async_bytes: int = 64 * 1024 * 1024
    max_job_bytes: int = 16 * 1024 * 1024 * 1024
    import_spool_dir: str = str(Path("data") / "imports")
    import_job_lease_seconds: float = 60.0
    import_job_poll_seconds: float = 15.0
    import_jobs_resume: bool = True
    log_level: str = "INFO"
    rate_limit_per_minute: int = 6000
    cors_origins: list[str] = []
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_file: str | None = None
    oidc_jwks_url: str | None = None
    oidc_jwks_cache_seconds: float = Field(default=300.0, gt=0, allow_inf_nan=False)
    oidc_jwks_timeout_seconds: float = Field(default=5.0, gt=0, allow_inf_nan=False)
    oidc_jwks_retry_seconds: float = Field(default=30.0, ge=1, allow_inf_nan=False)
    oidc_role_claim: str = "registry_role"
    oidc_units_claim: str = "registry_org_units"
    # Aggregate-only roles see no count below this in a figure touching a sensitive attribute (indicators/disclosure.py).
    suppression_threshold: int = 5

    @field_validator("registry_bootstrap_token")
    @classmethod
    def _long_bootstrap_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None  # unset (or set empty, as in .env.example): no bootstrap administrator
        length = len(value.get_secret_value())
        if length < BOOTSTRAP_MIN_LENGTH:
            raise ValueError(
                f"REGISTRY_BOOTSTRAP_TOKEN is {length} characters long; it must be at least {BOOTSTRAP_MIN_LENGTH} "
                "(an administrator's secret): generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, or leave it unset"
            )
        return value

    @model_validator(mode="after")
    def _replica_of_postgres(self) -> "Settings":
        if self.database_replica_url and not all(
            u.startswith(("postgres://", "postgresql://", "postgresql+")) for u in (self.database_url, self.database_replica_url)
        ):
            raise ValueError("DATABASE_REPLICA_URL is a PostgreSQL streaming replica of a PostgreSQL DATABASE_URL")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and (self.oidc_jwks_file or self.oidc_jwks_url))


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache to override)."""
    return Settings()
