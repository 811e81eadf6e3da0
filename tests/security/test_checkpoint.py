"""Signed checkpoints of the audit logs: what the hash chains alone miss, a checkpoint catches and locates.

Each attack is done in the database directly, as someone with write access to it would (past the
append-only triggers): rewrite the last entry and recompute its hash, delete the tail, delete a row
in the middle, empty the table. `registry audit verify --checkpoint` fails each time and names where.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, create_engine, text

from app.db import normalise_url
from app.services import audit, checkpoint
from tests.api.factories import org_unit, person
from tests.conftest import Registry, uniq


def _cli(registry: Registry, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": registry.url}
    env.pop("AUDIT_SIGNING_KEY_FILE", None)
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True, timeout=180,
                          check=False)


def _seed(registry: Registry, persons: int = 4) -> None:
    unit = uniq("CP")
    registry.import_lines("org-units", [json.dumps(org_unit(unit), ensure_ascii=False)])
    lines = [json.dumps(person(f"{unit}-{i}", unit), ensure_ascii=False) for i in range(persons)]
    assert registry.import_lines("persons", lines)["created"] == persons
    for i in range(persons):  # the admin reads sensitive fields: one access-log entry per read
        assert registry.client.get(f"/api/v1/persons/{unit}-{i}", headers=registry.headers()).status_code == 200


def _keyed_checkpoint(registry: Registry, tmp_path: Path) -> tuple[Path, Path]:
    keygen = _cli(registry, "audit", "keygen", str(tmp_path / "audit.pem"))
    assert keygen.returncode == 0, keygen.stderr
    assert (tmp_path / "audit.pem").stat().st_mode & 0o777 == 0o600
    made = _cli(registry, "audit", "checkpoint", "--key", str(tmp_path / "audit.pem"), "--out", str(tmp_path / "cp.json"))
    assert made.returncode == 0, made.stderr
    return tmp_path / "cp.json", tmp_path / "audit.pem.pub"


def _verify(registry: Registry, cp: Path, pub: Path) -> subprocess.CompletedProcess[str]:
    return _cli(registry, "audit", "verify", "--checkpoint", str(cp), "--public-key", str(pub))


def _tamper(registry: Registry, attack: Callable[[Connection], None]) -> None:
    """Run `attack` with the append-only triggers out of the way, as the database's owner could."""
    engine = create_engine(normalise_url(registry.url))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET session_replication_role = replica"))  # no triggers, no foreign-key checks
        else:
            for table in ("change", "access_log"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
        attack(conn)
    engine.dispose()


def _delete_changes(conn: Connection, where: str) -> None:
    conn.execute(text(f'DELETE FROM change_unit WHERE change_seq IN (SELECT seq FROM "change" WHERE {where})'))
    conn.execute(text(f'DELETE FROM "change" WHERE {where}'))


def _rewrite_last_change(conn: Connection) -> None:
    """Change who the last write names, and recompute its hash so that the chain still holds."""
    seq, prev, txn_id, entity, key, op, record = conn.execute(text(
        'SELECT seq, prev_hash, txn_id, entity, "key", op, record FROM "change" ORDER BY seq DESC LIMIT 1')).one()
    record = json.loads(record) if isinstance(record, str) else record
    record["full_name"] = "Người Khác"
    at, actor, source, request_id = conn.execute(text("SELECT at, actor, source, request_id FROM txn WHERE id = :t"),
                                                 {"t": txn_id}).one()
    from datetime import datetime

    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    content = {"seq": seq, "txn": txn_id, "at": audit._at(when), "actor": actor, "source": source,
               "request_id": request_id, "entity": entity, "key": key, "op": op, "record": record}
    conn.execute(text('UPDATE "change" SET record = :r, hash = :h WHERE seq = :s'),
                 {"r": json.dumps(record, ensure_ascii=False), "h": audit._digest(prev, content), "s": seq})


def _rewrite_last_read(conn: Connection) -> None:
    entry_id, prev, at, actor, request_id, person_id, fields, action, detail = conn.execute(text(
        "SELECT id, prev_hash, at, actor, request_id, person_id, fields, action, detail FROM access_log "
        "ORDER BY seq DESC LIMIT 1")).one()
    from datetime import datetime

    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    content = {"id": entry_id, "at": audit._at(when), "actor": "token:0:nobody", "request_id": request_id,
               "person_id": person_id, "fields": fields, "action": action, "detail": detail}
    conn.execute(text("UPDATE access_log SET actor = 'token:0:nobody', hash = :h WHERE id = :i"),
                 {"h": audit._digest(prev, content), "i": entry_id})


def _truncate(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text('TRUNCATE "change", change_unit, access_log'))
    else:  # SQLite has no TRUNCATE: its equivalent, DELETE of every row
        _delete_changes(conn, "1 = 1")
        conn.execute(text("DELETE FROM access_log"))


def _last(conn: Connection, table: str = "change") -> int:
    """The last entry's place in its chain (an access-log entry's seq is given when it is sealed)."""
    return int(conn.execute(text(f'SELECT max(seq) FROM "{table}"')).scalar_one())


@pytest.mark.parametrize("attack", ["rewrite_last", "delete_tail", "delete_middle", "truncate", "rewrite_last_read"])
def test_verify_with_a_checkpoint_catches_and_locates_each_attack(fresh_registry: Callable[[], Registry], tmp_path: Path,
                                                                  attack: str) -> None:
    registry = fresh_registry()
    _seed(registry)
    cp, pub = _keyed_checkpoint(registry, tmp_path)
    assert _verify(registry, cp, pub).returncode == 0
    engine = create_engine(normalise_url(registry.url))
    with engine.connect() as conn:
        last, size, last_read = _last(conn), conn.execute(text('SELECT count(*) FROM "change"')).scalar_one(), \
            _last(conn, "access_log")
        middle = int(conn.execute(text('SELECT seq FROM "change" ORDER BY seq LIMIT 1 OFFSET 2')).scalar_one())
    engine.dispose()
    expected: dict[str, tuple[Callable[[Connection], None], str]] = {
        "rewrite_last": (_rewrite_last_change, f"the entry at seq {last} rewritten"),
        "delete_tail": (lambda c: _delete_changes(c, f"seq >= {last - 1}"), "its tail was deleted"),
        "delete_middle": (lambda c: _delete_changes(c, f"seq = {middle}"), f"the entry at seq {middle} deleted"),
        "truncate": (_truncate, f"holds none of the {size} entries"),
        "rewrite_last_read": (_rewrite_last_read, f"the entry at seq {last_read} rewritten"),
    }
    tamper, message = expected[attack]
    _tamper(registry, tamper)
    broken = _verify(registry, cp, pub)
    assert broken.returncode == 1, broken.stdout
    assert message in broken.stderr, broken.stderr
    assert "FAIL" in broken.stderr and str(cp) in broken.stderr
    if attack in ("rewrite_last", "delete_tail", "rewrite_last_read"):  # what the hash chains alone never saw
        assert _cli(registry, "audit", "verify").returncode == 0
    api = registry.client.post("/api/v1/audit/verify", headers=registry.headers(),
                               json={"checkpoint": json.loads(cp.read_text()), "public_key": pub.read_text().strip()})
    assert api.status_code == 200 and api.json()["intact"] is False
    assert any(message in f["problem"] for f in api.json()["findings"]), api.json()


def test_later_appends_verify_against_an_older_checkpoint(fresh_registry: Callable[[], Registry], tmp_path: Path) -> None:
    registry = fresh_registry()
    _seed(registry, persons=2)
    cp, pub = _keyed_checkpoint(registry, tmp_path)
    _seed(registry, persons=3)  # appended since: the old checkpoint still holds (the log only grew)
    ok = _verify(registry, cp, pub)
    assert ok.returncode == 0, ok.stderr
    assert "(+" in ok.stdout and "audit log intact" in ok.stdout
    newer = _cli(registry, "audit", "checkpoint", "--key", str(tmp_path / "audit.pem"), "--out", str(tmp_path / "new.json"))
    assert newer.returncode == 0, newer.stderr
    both = _cli(registry, "audit", "verify", "--checkpoint", str(cp), "--checkpoint", str(tmp_path / "new.json"),
                "--public-key", pub.read_text().strip())
    assert both.returncode == 0, both.stderr
    old, new = (json.loads(p.read_text())["logs"]["change"] for p in (cp, tmp_path / "new.json"))
    assert new["tree_size"] > old["tree_size"] and new["root_hash"] != old["root_hash"]


def test_a_forged_or_altered_checkpoint_is_refused(fresh_registry: Callable[[], Registry], tmp_path: Path) -> None:
    registry = fresh_registry()
    _seed(registry, persons=1)
    cp, pub = _keyed_checkpoint(registry, tmp_path)
    document = json.loads(cp.read_text())

    altered = dict(document, timestamp="2020-01-01T00:00:00+00:00")  # changed after signing
    (tmp_path / "altered.json").write_text(json.dumps(altered))
    r = _verify(registry, tmp_path / "altered.json", pub)
    assert r.returncode == 1 and "signature does not verify" in r.stderr

    forger = Ed25519PrivateKey.generate()  # signed by another key, claiming the operator's key id and public key
    forged = {k: v for k, v in document.items() if k != "signature"}
    forged["signature"] = base64.b64encode(forger.sign(checkpoint._signed_bytes(forged))).decode()
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    r = _verify(registry, tmp_path / "forged.json", pub)
    assert r.returncode == 1 and "signature does not verify" in r.stderr

    r = _cli(registry, "audit", "verify", "--checkpoint", str(cp))  # no public key: nothing to trust the checkpoint with
    assert r.returncode == 1 and "public key" in r.stderr

    for bad in (forged, altered):
        api = registry.client.post("/api/v1/audit/verify", headers=registry.headers(),
                                   json={"checkpoint": bad, "public_key": pub.read_text().strip()})
        assert (api.status_code, api.json()["code"]) == (422, "invalid_checkpoint")
    good = registry.client.post("/api/v1/audit/verify", headers=registry.headers(),
                                json={"checkpoint": document, "public_key": pub.read_text().strip()})
    assert good.status_code == 200 and good.json()["intact"] is True, good.json()
    server_file = registry.client.post("/api/v1/audit/verify", headers=registry.headers(),  # never a path on the server
                                       json={"checkpoint": document, "public_key": str(tmp_path / "audit.pem")})
    assert (server_file.status_code, server_file.json()["code"]) == (422, "invalid_checkpoint")


def test_keygen_never_overwrites_a_key(registry: Registry, tmp_path: Path) -> None:
    assert _cli(registry, "audit", "keygen", str(tmp_path / "k.pem")).returncode == 0
    before = (tmp_path / "k.pem").read_bytes()
    again = _cli(registry, "audit", "keygen", str(tmp_path / "k.pem"))
    assert again.returncode == 2 and "never overwritten" in again.stderr and (tmp_path / "k.pem").read_bytes() == before


def _reference_root(entries: list[bytes]) -> bytes:
    """MTH of RFC 9162 section 2.1.1, written as the RFC defines it (recursively)."""
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while 2 * k < len(entries):
        k *= 2
    return hashlib.sha256(b"\x01" + _reference_root(entries[:k]) + _reference_root(entries[k:])).digest()


@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 8, 9, 100, 257, 1000])
def test_the_streaming_tree_is_rfc_9162s(size: int) -> None:
    entries = [f"entry {i}".encode() for i in range(size)]
    assert checkpoint.merkle_root(entries) == _reference_root(entries)
    block = checkpoint.block_size(size)
    combined = checkpoint.Tree()
    for start in range(0, size, block):
        chunk = entries[start:start + block]
        combined.add(_reference_root(chunk), len(chunk))
    assert combined.root() == _reference_root(entries) and -(-size // block) <= checkpoint.MAX_BLOCKS
