"""DATABASE_REPLICA_URL: read-only work is served by a PostgreSQL streaming replica, writes by the primary.

A real primary and a real hot standby on loopback (initdb, `pg_basebackup -R`, free ports, temp
dirs), the service started against both, data written through the API. The proof that reads come
from the replica: with replay paused on the replica a new write is not seen; with the primary
stopped, reads still answer from the replica while writes are refused with a 503 problem (and a
sensitive read, which must be logged on the primary, is refused rather than served unlogged).

Runs where the PostgreSQL tests run (TEST_POSTGRES_URL set) and always under CI; under CI, missing
server binaries or a replica that cannot be set up fail the run instead of skipping it.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import text
from sqlalchemy.exc import InternalError
from sqlalchemy.orm import sessionmaker

from app import db
from app.config import Settings
from tests.api.factories import org_unit, person
from tests.conftest import Registry
from tests.live import free_port, serve

REQUIRED = bool(os.environ.get("CI"))
WANTED = REQUIRED or bool(os.environ.get("TEST_POSTGRES_URL"))
BOOT = "replica-bootstrap-token-of-32-characters-or-more"
ISSUER, AUDIENCE = "https://idp.example.vn", "registry"
INDICATOR = "RP-WOMEN-SHARE"
AS_OF = "2025-01-01"


def _pg_bin() -> Path | None:
    """The directory of initdb, pg_ctl and pg_basebackup: $PG_BIN, pg_config --bindir, or the newest Debian one."""
    candidates = [Path(os.environ["PG_BIN"])] if os.environ.get("PG_BIN") else []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        candidates.append(Path(out))
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))
    candidates += reversed(versions)
    return next((c for c in candidates if all((c / b).exists() for b in ("initdb", "pg_ctl", "pg_basebackup"))), None)


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"CI: the replica test must run, but {reason}")
    pytest.skip(reason)


@dataclass
class Cluster:
    """A primary and its streaming replica in a temp dir owned by the server's user."""

    bin: Path
    root: Path
    primary_port: int = field(default_factory=free_port)
    replica_port: int = field(default_factory=free_port)
    primary_up: bool = False
    replica_up: bool = False

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    def run(self, *cmd: str | Path) -> str:
        """A server tool, as the postgres user when we are root (initdb and postgres refuse root)."""
        argv = [str(c) for c in cmd]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{self.logs()}")
        return done.stdout

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.root.glob("*.log")))

    def url(self, port: int, database: str = "registry") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"

    def dsn(self, port: int, database: str = "registry") -> str:
        return f"host=127.0.0.1 port={port} user=postgres dbname={database} connect_timeout=5"

    def start_primary(self) -> None:
        data = self.root / "primary"
        self.run(self.bin / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.primary_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
                "fsync = off\nshared_buffers = 32MB\n"  # a throwaway cluster: speed over durability
            )
        (data / "pg_hba.conf").write_text(
            "host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"
        )
        self.run(self.bin / "pg_ctl", "-D", data, "-l", self.root / "primary.log", "-w", "-t", "30", "start")
        self.primary_up = True
        with psycopg.connect(self.dsn(self.primary_port, "postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE registry")

    def start_replica(self) -> None:
        data = self.root / "replica"
        self.run(self.bin / "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
                 "-D", data, "-R", "-X", "stream", "-c", "fast")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {self.replica_port}\n")
        self.run(self.bin / "pg_ctl", "-D", data, "-l", self.root / "replica.log", "-w", "-t", "30", "start")
        self.replica_up = True
        with psycopg.connect(self.dsn(self.replica_port)) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)

    def stop(self, name: str) -> None:
        if getattr(self, f"{name}_up"):
            self.run(self.bin / "pg_ctl", "-D", self.root / name, "-m", "fast", "-w", "-t", "30", "stop")
            setattr(self, f"{name}_up", False)

    def caught_up(self, timeout: float = 30) -> None:
        """Wait until the replica has replayed everything the primary has written so far."""
        with psycopg.connect(self.dsn(self.primary_port)) as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        with psycopg.connect(self.dsn(self.replica_port), autocommit=True) as conn:
            deadline = time.monotonic() + timeout
            while True:
                done = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (row[0],)).fetchone()
                if done == (True,):
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"the replica did not replay up to {row[0]} in {timeout}s\n{self.logs()}")
                time.sleep(0.05)

    def replica_sql(self, sql: str) -> None:
        with psycopg.connect(self.dsn(self.replica_port), autocommit=True) as conn:
            conn.execute(sql)


@dataclass
class Setup:
    cluster: Cluster
    base: str
    root: str
    unit: str
    key: rsa.RSAPrivateKey
    persons: list[str]

    def get(self, path: str, token: str = BOOT, **params: Any) -> httpx.Response:
        return httpx.get(self.base + path, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def post(self, path: str, body: Any, token: str = BOOT, content_type: str = "application/json") -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        return httpx.post(self.base + path, content=content, timeout=30,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})

    def auditor(self) -> str:
        """An OIDC auditor's token: authenticating it needs no database at all."""
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "auditor-1", "exp": int(time.time()) + 600,
                  "registry_role": "auditor", "registry_org_units": [self.root]}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})

    def value(self, token: str = BOOT) -> httpx.Response:
        return self.get(f"/api/v1/indicators/{INDICATOR}/value", token, org_unit=self.root, as_of=AS_OF)


def _ndjson(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def _employed(pid: str, unit: str, gender: str) -> dict[str, Any]:
    return person(pid, unit, gender=gender, employments=[
        {"org_unit": unit, "category": "cong_chuc", "primary": True, "start": "2015-01-01", "end": None}])


def _import(s: Setup, kind: str, records: list[dict[str, Any]]) -> None:
    r = s.post(f"/api/v1/imports/{kind}", _ndjson(records), content_type="application/x-ndjson")
    assert r.status_code == 200, r.text
    assert r.json()["errors"] == [], r.text


@pytest.fixture(scope="module", params=["postgres"])
def setup(request: pytest.FixtureRequest) -> Iterator[Setup]:
    """Primary + replica + the service on both, with a province, three persons and one indicator."""
    if not WANTED:
        pytest.skip("the PostgreSQL tests are off (set TEST_POSTGRES_URL)")
    pg_bin = _pg_bin()
    if pg_bin is None:
        _unavailable("no PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup); set PG_BIN")
    assert pg_bin is not None
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _unavailable("running as root without runuser to start PostgreSQL as its own user")
    root = Path(tempfile.mkdtemp(prefix="registry-replica-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    root.chmod(0o700)
    cluster = Cluster(pg_bin, root)
    try:
        cluster.start_primary()
        migrated = subprocess.run([sys.executable, "-m", "app.cli", "migrate"], capture_output=True, text=True, timeout=120,
                                  env=os.environ | {"DATABASE_URL": cluster.url(cluster.primary_port)}, check=False)
        assert migrated.returncode == 0, migrated.stderr
        cluster.start_replica()

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwks = root / "jwks.json"
        jwks.write_text(json.dumps({"keys": [json.loads(RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "k1", "alg": "RS256"}]}))
        env = {"DATABASE_REPLICA_URL": cluster.url(cluster.replica_port), "OIDC_ISSUER": ISSUER, "OIDC_AUDIENCE": AUDIENCE,
               "OIDC_JWKS_FILE": str(jwks)}
        with serve(cluster.url(cluster.primary_port), BOOT, **env) as live:
            s = Setup(cluster, live.base, "RP", "RP-A", key, ["RP-P1", "RP-P2", "RP-P3"])
            _import(s, "org-units", [org_unit(s.root, tier="province", name="Tỉnh RP"), org_unit(s.unit, parent=s.root)])
            _import(s, "persons", [_employed("RP-P1", s.unit, "female"), _employed("RP-P2", s.unit, "female"),
                                   _employed("RP-P3", s.unit, "male")])
            spec = {"id": INDICATOR, "names": {"vi": "Tỷ lệ nữ", "en": "Share of women"}, "source": {"doc": "RP", "clause": "1"},
                    "source_kind": "registry", "kind": "ratio", "population": {"anchors": [{"subject": "employment"}]},
                    "share": {"field": "person.gender", "eq": "female"}}
            r = s.post("/api/v1/indicators", spec)
            assert r.status_code == 201, r.text
            cluster.caught_up()
            yield s
    finally:
        for name in ("replica", "primary"):
            try:
                cluster.stop(name)
            except RuntimeError:
                subprocess.run(["pkill", "-F", str(root / name / "postmaster.pid")], check=False)  # by its own pid file
        shutil.rmtree(root, ignore_errors=True)


def test_reads_are_served_by_the_replica_and_follow_its_replay(setup: Setup) -> None:
    s = setup
    assert s.cluster.primary_up
    r = s.value()
    assert r.status_code == 200, r.text
    assert (r.json()["numerator"], r.json()["denominator"]) == (2, 3)

    s.cluster.replica_sql("SELECT pg_wal_replay_pause()")
    try:
        _import(s, "persons", [_employed("RP-P4", s.unit, "female")])  # committed on the primary
        assert s.get("/api/v1/persons/RP-P4").status_code == 404  # the replica has not replayed it
        assert (s.value().json()["numerator"], s.value().json()["denominator"]) == (2, 3)
    finally:
        s.cluster.replica_sql("SELECT pg_wal_replay_resume()")
    s.cluster.caught_up()
    r = s.get("/api/v1/persons/RP-P4")
    assert r.status_code == 200, r.text
    assert r.json()["gender"] == "female"
    assert (s.value().json()["numerator"], s.value().json()["denominator"]) == (3, 4)
    s.persons.append("RP-P4")


def test_writes_on_the_replica_are_refused(setup: Setup) -> None:
    s = setup
    replica = s.cluster.dsn(s.cluster.replica_port)
    with psycopg.connect(replica) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction) as err:
        conn.execute("UPDATE api_token SET revoked_at = now()")
    assert "read-only transaction" in str(err.value)
    # the service's read engine is read-only by itself too, even pointed at a primary
    engine = db.build_engine(s.cluster.url(s.cluster.primary_port), read_only=True)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW default_transaction_read_only")).scalar() == "on"
            with pytest.raises(InternalError, match="read-only transaction"):
                conn.execute(text("UPDATE api_token SET revoked_at = now()"))
    finally:
        engine.dispose()


def test_with_the_primary_stopped_reads_still_answer_and_writes_get_503(setup: Setup) -> None:
    s = setup
    s.cluster.stop("primary")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(s.cluster.dsn(s.cluster.primary_port)).close()

    r = s.value()
    assert r.status_code == 200, r.text
    assert (r.json()["numerator"], r.json()["denominator"]) == (len(s.persons) - 1, len(s.persons))
    r = s.get(f"/api/v1/indicators/{INDICATOR}/breakdown", org_unit=s.root, as_of=AS_OF, by="gender")
    assert r.status_code == 200, r.text
    r = s.get(f"/api/v1/indicators/{INDICATOR}")
    assert (r.status_code, r.json()["version"]) == (200, 1)
    assert INDICATOR in {i["code"] for i in s.get("/api/v1/indicators", doc="RP").json()["items"]}
    r = s.get("/api/v1/org-units", under=s.root)
    assert r.status_code == 200, r.text
    assert [u["code"] for u in r.json()["items"]] == [s.root, s.unit]
    assert s.get(f"/api/v1/org-units/{s.unit}").json()["parents"][0]["code"] == s.root
    assert s.get("/api/v1/statistics", org_unit=s.root).status_code == 200

    auditor = s.auditor()
    r = s.get("/api/v1/persons", auditor, org_unit=s.root)
    assert r.status_code == 200, r.text
    assert [p["external_id"] for p in r.json()["items"]] == s.persons
    assert all("ethnicity" in p["redacted"] for p in r.json()["items"])
    r = s.get("/api/v1/persons/RP-P1", auditor)
    assert (r.status_code, r.json()["full_name"]) == (200, "Nguyễn Thị Đào")

    # an administrator's read of sensitive fields must be logged on the primary: refused, not served unlogged
    r = s.get("/api/v1/persons/RP-P1")
    assert (r.status_code, r.json()["code"]) == (503, "database_unavailable")
    try:  # an export streams (its status is sent first): it is cut off before the first record instead
        body = s.get("/api/v1/exports/persons").text
    except httpx.HTTPError:
        body = ""
    assert "RP-P1" not in body and "094185000123" not in body

    r = s.post("/api/v1/org-units", org_unit("RP-B", parent=s.root))
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "database_unavailable"
    r = s.post("/api/v1/imports/persons", _ndjson([_employed("RP-P9", s.unit, "male")]), content_type="application/x-ndjson")
    assert r.status_code == 503, r.text


def test_with_the_primary_stopped_exports_still_answer(setup: Setup) -> None:
    s = setup
    s.cluster.stop("primary")
    r = s.get("/api/v1/exports/org-units")
    assert r.status_code == 200, r.text
    assert [json.loads(line)["code"] for line in r.text.splitlines()] == [s.root, s.unit]
    r = s.get("/api/v1/exports/persons", s.auditor())
    assert r.status_code == 200, r.text
    assert [json.loads(line)["external_id"] for line in r.text.splitlines()] == s.persons


def test_without_a_replica_reads_run_on_the_primary_in_read_only_transactions(registry: Registry) -> None:
    factory = db.get_read_session_factory()
    assert factory.kw["bind"].pool is db.get_engine().pool  # the primary's connections (read-only transactions)
    with factory() as session:
        if registry.backend == "postgres":
            assert session.execute(text("SHOW transaction_read_only")).scalar() == "on"
            with pytest.raises(InternalError, match="read-only transaction"):
                session.execute(text("UPDATE api_token SET revoked_at = revoked_at"))
        else:  # SQLite has no read-only transactions; sensitive reads log through this very session
            session.execute(text("UPDATE api_token SET revoked_at = revoked_at"))
            session.rollback()


def test_a_read_only_transaction_leaves_its_pooled_connection_to_the_servers_default(registry: Registry) -> None:
    """A replica's engine (default_transaction_read_only=on): after one of the read sessions' transactions on its only
    connection, a transaction that does not ask for read-only is still refused a write (psycopg used to be left
    with read_only False after the pool's reset, and opened the next one with BEGIN READ WRITE)."""
    if registry.backend != "postgres":
        pytest.skip("read-only transactions are PostgreSQL's")
    engine = db.build_engine(registry.url, read_only=True, pool_size=1, max_overflow=0)
    try:
        with sessionmaker(bind=db.read_only(engine))() as session:
            assert session.execute(text("SHOW transaction_read_only")).scalar() == "on"
        with engine.connect() as conn:
            assert conn.execute(text("SHOW transaction_read_only")).scalar() == "on"
            with pytest.raises(InternalError, match="read-only transaction"):
                conn.execute(text("UPDATE api_token SET revoked_at = revoked_at"))
    finally:
        engine.dispose()


def test_a_replica_must_be_postgresql_of_postgresql() -> None:
    with pytest.raises(ValueError, match="DATABASE_REPLICA_URL"):
        Settings(database_url="sqlite:///data/x.db", database_replica_url="postgresql://127.0.0.1/registry")
    with pytest.raises(ValueError, match="DATABASE_REPLICA_URL"):
        Settings(database_url="postgresql://127.0.0.1/registry", database_replica_url="sqlite:///data/x.db")
    assert Settings(database_url="postgresql://p/registry", database_replica_url="postgres://r/registry").database_replica_url
