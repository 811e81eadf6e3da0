"""Sensitive reads append to the access log without a lock, and sealing chains them (issue #15).

A read appends its entries unsealed. While the server's background sealer runs, it chains them
within AUDIT_SEAL_SECONDS; where none runs, the reader seals them at once if no other sealer is at
work. A reader never waits for a sealer. What a busy sealer left is sealed by the next one, or by the server's
background sealer, in the order of sealing (`seq`), which is not always the order of ids. The chain
is walked by `seq`: an edited, a deleted, a reordered or an unsealed-again entry is located by
`registry audit verify`.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

import httpx
import pytest
from sqlalchemy import Connection, create_engine, text

from app.db import normalise_url
from app.services import audit
from tests.api.factories import org_unit, person
from tests.conftest import BOOT, Registry, uniq
from tests.live import serve

LOCK = audit._READ_LOCK_KEY


def _seed(registry: Registry, persons: int) -> list[str]:
    unit = uniq("SL")
    registry.import_lines("org-units", [json.dumps(org_unit(unit), ensure_ascii=False)])
    ids = [f"{unit}-{i}" for i in range(persons)]
    assert registry.import_lines("persons", [json.dumps(person(pid, unit), ensure_ascii=False) for pid in ids])["created"] \
        == persons
    return ids


def _read(registry: Registry, pid: str) -> None:
    r = registry.client.get(f"/api/v1/persons/{pid}", headers=registry.headers())
    assert r.status_code == 200 and "national_id" in r.json(), r.text


def _log(registry: Registry) -> list[tuple[int, int | None, str, str, str]]:
    """Every access-log row: id, seq, prev_hash, hash, request_id (as the database holds them)."""
    engine = create_engine(normalise_url(registry.url))
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(
            "SELECT id, seq, prev_hash, hash, coalesce(request_id, '') FROM access_log ORDER BY id"))]
    engine.dispose()
    return rows  # type: ignore[return-value]


def _verify(registry: Registry) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": registry.url}
    return subprocess.run([sys.executable, "-m", "app.cli", "audit", "verify"], env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def _chain_holds(rows: list[tuple[int, int | None, str, str, str]]) -> None:
    """Positions 1..n without a gap, each linked to the one before it."""
    sealed = sorted((r for r in rows if r[1] is not None), key=lambda r: r[1])
    assert [r[1] for r in sealed] == list(range(1, len(sealed) + 1))
    prev = audit.GENESIS
    for _id, _seq, link, digest, _rid in sealed:
        assert link == prev and len(digest) == 64
        prev = digest


def test_each_read_is_sealed_before_its_answer_when_no_sealer_is_at_work(registry: Registry) -> None:
    before = {r[0] for r in _log(registry)}
    for pid in _seed(registry, 3):
        _read(registry, pid)
    rows = _log(registry)
    mine = [r for r in rows if r[0] not in before]
    assert len(mine) == 3 and all(r[1] is not None and r[3] for r in mine)  # sealed, none left pending
    assert [r[1] for r in mine] == sorted(r[1] for r in mine if r[1] is not None)  # in the order they were read
    _chain_holds(rows)
    api = registry.client.get("/api/v1/audit/verify", headers=registry.headers()).json()
    assert api["intact"] is True and api["unsealed"] == 0, api
    shown = registry.client.get("/api/v1/audit", headers=registry.headers(), params={"limit": 3}).json()["reads"]
    assert all(entry["seq"] and entry["hash"] for entry in shown)


@pytest.mark.parametrize("every", ["0.2", "0"])
def test_readers_never_wait_for_a_busy_sealer_and_the_server_seals_what_they_left(registry: Registry,
                                                                                   every: str) -> None:
    """With the server's sealer ("0.2") readers only append; without it ("0") each tries the lock and, finding it
    taken, appends unsealed and goes on: the next reader to find it free seals what they left."""
    if registry.backend != "postgres":
        pytest.skip("SQLite has one writer: a read appends and seals in its own transaction")
    ids = _seed(registry, 17)
    last, ids = ids[-1], ids[:-1]
    engine = create_engine(normalise_url(registry.url))
    with serve(registry.url, BOOT, AUDIT_SEAL_SECONDS=every) as server, engine.connect() as busy:
        busy.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK})  # a sealer at work that does not finish
        busy.commit()
        try:
            with ThreadPoolExecutor(8) as pool:
                rids = {f"{pid}-read" for pid in ids}
                futures = [pool.submit(httpx.get, f"{server.base}/api/v1/persons/{pid}", timeout=60,
                                       headers={"Authorization": f"Bearer {BOOT}", "X-Request-ID": f"{pid}-read"})
                           for pid in ids]
                done, left = wait(futures, timeout=60)
            assert not left, "a reader waited for the sealer's lock"
            assert all(f.result().status_code == 200 for f in done)
            waiting = [r for r in _log(registry) if r[4] in rids]
            assert len(waiting) == 16 and all(r[1] is None and r[3] == "" for r in waiting)  # appended, not sealed
        finally:
            busy.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK})
            busy.commit()
        if every == "0":  # no sealer in the server: the next read finds the lock free and seals what is pending
            r = httpx.get(f"{server.base}/api/v1/persons/{last}", timeout=60, headers={"Authorization": f"Bearer {BOOT}"})
            assert r.status_code == 200, r.text
        deadline = time.monotonic() + 30  # else no request comes: the server's background sealer takes them
        while time.monotonic() < deadline and any(r[1] is None for r in _log(registry) if r[4] in rids):
            time.sleep(0.2)
    engine.dispose()
    rows = _log(registry)
    assert all(r[1] is not None for r in rows if r[4] in rids)
    _chain_holds(rows)
    assert _verify(registry).returncode == 0


def test_an_entry_committed_after_later_ids_were_sealed_is_sealed_after_them(registry: Registry) -> None:
    if registry.backend != "postgres":
        pytest.skip("SQLite has one writer: ids are handed out in the order of commits")
    first, second = _seed(registry, 2)
    engine = create_engine(normalise_url(registry.url))
    with engine.connect() as slow:  # a reader whose transaction is still open: its id is taken, not committed
        late = slow.execute(text(
            "INSERT INTO access_log (at, actor, person_id, fields, action, prev_hash, hash) "
            "SELECT now(), 'token:slow', id, 'national_id', 'read', '', '' FROM person WHERE external_id = :p RETURNING id"),
            {"p": first}).scalar_one()
        _read(registry, second)  # a later id, sealed at once
        sealed_before = {r[0]: r[1] for r in _log(registry)}
        assert max(sealed_before) > late and late not in sealed_before
        slow.commit()
    engine.dispose()
    assert next(r for r in _log(registry) if r[0] == late)[1] is None  # committed after: waits for a sealer
    api = registry.client.get("/api/v1/audit/verify", headers=registry.headers()).json()
    assert api["intact"] is True and api["unsealed"] == 0, api
    rows = _log(registry)
    late_seq = next(r[1] for r in rows if r[0] == late)
    assert late_seq is not None and late_seq > max(s for s in sealed_before.values() if s is not None)
    _chain_holds(rows)


def _tamper(registry: Registry, attack: Callable[[Connection], None]) -> None:
    """Run `attack` past the append-only triggers, as the database's owner could."""
    engine = create_engine(normalise_url(registry.url))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS access_log_no_delete"))
        attack(conn)
    engine.dispose()


def _swap(a: int, b: int) -> Callable[[Connection], None]:
    def attack(conn: Connection) -> None:  # the unique index wants a free place for the exchange
        conn.execute(text("UPDATE access_log SET seq = -1 WHERE seq = :a"), {"a": a})
        conn.execute(text("UPDATE access_log SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
        conn.execute(text("UPDATE access_log SET seq = :b WHERE seq = -1"), {"b": b})
    return attack


@pytest.mark.parametrize("attack", ["edit", "delete", "reorder", "unseal"])
def test_verify_locates_an_edited_deleted_reordered_or_unsealed_entry(fresh_registry: Callable[[], Registry],
                                                                      attack: str) -> None:
    registry = fresh_registry()
    for pid in _seed(registry, 4):
        _read(registry, pid)
    assert _verify(registry).returncode == 0
    by_seq = {r[1]: r[0] for r in _log(registry)}
    changes_before = _count(registry, "change")
    middle, after = by_seq[2], by_seq[3]
    attacks: dict[str, tuple[Callable[[Connection], None], list[str]]] = {
        "edit": (lambda c: c.execute(text("UPDATE access_log SET actor = 'token:0:nobody' WHERE id = :i"), {"i": middle}),
                 [f"access_log entry {middle}: content does not match its hash"]),
        "delete": (lambda c: c.execute(text("DELETE FROM access_log WHERE id = :i"), {"i": middle}),
                   [f"access_log entry {after}: link broken"]),
        "reorder": (_swap(2, 3), [f"access_log entry {after}: link broken", f"access_log entry {middle}: link broken"]),
        # taken out of the chain to be sealed again at its end: the entry after it no longer links
        "unseal": (lambda c: c.execute(text("UPDATE access_log SET seq = NULL, prev_hash = '', hash = '' WHERE id = :i"),
                                       {"i": middle}), [f"access_log entry {after}: link broken"]),
    }
    tamper, messages = attacks[attack]
    _tamper(registry, tamper)
    broken = _verify(registry)
    assert broken.returncode == 1, broken.stdout
    for message in messages:
        assert message in broken.stderr, broken.stderr
    api = registry.client.get("/api/v1/audit/verify", headers=registry.headers()).json()
    assert api["intact"] is False and {f["entry"] for f in api["findings"]} >= {int(m.split()[2][:-1]) for m in messages}
    assert _count(registry, "change") == changes_before  # verifying wrote nothing but seals


def _count(registry: Registry, table: str) -> int:
    engine = create_engine(normalise_url(registry.url))
    with engine.connect() as conn:
        count = int(conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
    engine.dispose()
    return count


def test_the_background_sealer_lives_as_long_as_the_app_that_started_it(registry: Registry,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The sealer is the lifespan's: started with the app, and stopped with the last app that started it, after a last
    round that seals what readers left. A sealer that outlived its app went on reading whatever database the settings
    named next (a later test's, or a dropped one)."""
    if registry.backend != "postgres":
        pytest.skip("the background sealer runs on PostgreSQL only")
    from fastapi.testclient import TestClient

    from app import main
    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "import_jobs_resume", False)
    monkeypatch.setattr(get_settings(), "audit_seal_seconds", 3600)  # no round while the app runs: only the last one
    ids = _seed(registry, 3)
    rids = {f"{pid}-bg" for pid in ids}
    engine = create_engine(normalise_url(registry.url))
    with TestClient(main.create_app()) as first:
        thread = audit._sealer.thread
        assert thread is not None and thread.is_alive()
        with TestClient(main.create_app()):
            assert audit._sealer.thread is thread  # one sealer per process, whichever app starts it
        assert thread.is_alive()  # the first app still runs
        with engine.connect() as busy:
            busy.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK})  # a sealer at work: reads leave entries
            busy.commit()
            try:
                for pid in ids:
                    r = first.get(f"/api/v1/persons/{pid}", headers=registry.headers() | {"X-Request-ID": f"{pid}-bg"})
                    assert r.status_code == 200, r.text
            finally:
                busy.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK})
                busy.commit()
        assert [r[1] for r in _log(registry) if r[4] in rids] == [None] * 3
    assert not thread.is_alive() and audit._sealer.thread is None
    engine.dispose()
    rows = _log(registry)
    mine = [r for r in rows if r[4] in rids]
    assert len(mine) == 3 and all(r[1] is not None for r in mine)  # sealed by the last round
    _chain_holds(rows)


def test_while_the_servers_sealer_runs_a_read_appends_in_one_statement_and_the_sealer_chains_it(
        registry: Registry) -> None:
    """bench F31: with the background sealer at work in the process, a reader leaves its entry to it: one INSERT on
    the access log's pool, no lock tried, no chain end read, no transaction around it. The sealer chains it within
    its period, and the chain verifies."""
    if registry.backend != "postgres":
        pytest.skip("SQLite has one writer: a read appends and seals in its own transaction")
    from sqlalchemy import event

    from app.db import get_audit_append_engine, get_audit_session_factory

    ids = _seed(registry, 3)
    rids = {f"{pid}-append" for pid in ids}
    heard: dict[str, list[str]] = {"pool": [], "append": []}  # the pool's engine may also hear its autocommit copy

    def listener(name: str) -> Callable[..., None]:
        def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            heard[name].append(" ".join(statement.split())[:60])
        return seen

    engines = {"pool": get_audit_session_factory().kw["bind"], "append": get_audit_append_engine()}
    listeners = {name: listener(name) for name in engines}
    audit.start_sealer(3600)  # running, but no round during the reads: the entries wait for the one below
    for name, engine in engines.items():
        event.listen(engine, "before_cursor_execute", listeners[name])
    try:
        for pid in ids:
            r = registry.client.get(f"/api/v1/persons/{pid}", headers=registry.headers() | {"X-Request-ID": f"{pid}-append"})
            assert r.status_code == 200 and "national_id" in r.json(), r.text
    finally:
        for name, engine in engines.items():
            event.remove(engine, "before_cursor_execute", listeners[name])
        audit.stop_sealer()  # its last round seals what the reads left
    appended = heard["append"]
    assert len(appended) == 3 and all(s.startswith("INSERT INTO access_log") for s in appended), heard
    assert all(s.startswith("INSERT INTO access_log") for s in heard["pool"]), heard  # no lock tried, no end read
    rows = _log(registry)
    mine = [r for r in rows if r[4] in rids]
    assert len(mine) == 3 and all(r[1] is not None and len(r[3]) == 64 for r in mine), mine
    _chain_holds(rows)
    assert _verify(registry).returncode == 0


def test_a_second_sealer_past_the_lock_seals_nothing_and_is_rolled_back(registry: Registry,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL seals a batch in one UPDATE joined to arrays of values, on entries still unsealed: a sealer that
    got past the lock (a bug, an operator's script) and chains entries another sealed in the meantime updates none
    of them, and fails, rather than giving them a second place in a forked chain."""
    if registry.backend != "postgres":
        pytest.skip("SQLite's sealer holds the only writer's lock")
    from sqlalchemy.orm import Session

    ids = _seed(registry, 3)
    audit.stop_sealer()  # no background round in this process while the test interleaves its two sealers
    engine = create_engine(normalise_url(registry.url))
    try:
        with engine.begin() as conn:  # three entries appended, unsealed, as readers leave them to a busy sealer
            conn.execute(text(
                "INSERT INTO access_log (at, actor, person_id, fields, action, prev_hash, hash) "
                "SELECT now(), 'token:t', id, 'national_id', 'read', '', '' FROM person WHERE external_id = ANY(:p)"),
                {"p": ids})
        digest, interleaved = audit._digest, []

        def other_sealer_first(prev: str, content: dict[str, object]) -> str:
            if not interleaved:  # the first sealer has read the pending entries; the other seals them now
                interleaved.append(None)  # (the other's own digests go straight through)
                interleaved[0] = audit.seal_pending(wait=True)
            return digest(prev, content)

        monkeypatch.setattr(audit, "_digest", other_sealer_first)
        with Session(engine) as late, pytest.raises(RuntimeError, match=r"0 of \d+ entries updated"):
            audit._seal_locked(late)  # without the lock, as a sealer past it would
        monkeypatch.setattr(audit, "_digest", digest)
        assert interleaved[0] is not None and interleaved[0] >= 3
    finally:
        engine.dispose()
    rows = _log(registry)
    assert all(r[1] is not None for r in rows)
    _chain_holds(rows)
    assert _verify(registry).returncode == 0


def _forge_read(registry: Registry, at: str, request_id: str, entry_id: int | None = None) -> None:
    """A read put in the access log by hand, unsealed, past the append-only triggers (an insider's forgery); `at` is
    SQL (a literal or an expression of the database's clock)."""
    columns, values = "at, actor, request_id, person_id, fields, action, prev_hash, hash", \
        f"{at}, 'token:3:officer', '{request_id}', NULL, 'ethnicity,national_id', 'read', '', ''"
    if entry_id is not None:
        columns, values = f"id, {columns}", f"{entry_id}, {values}"
    _tamper(registry, lambda conn: conn.execute(text(f"INSERT INTO access_log ({columns}) VALUES ({values})")))


def test_a_row_put_in_the_sqlite_log_by_hand_is_named_never_sealed(fresh_registry: Callable[[], Registry]) -> None:
    """SQLite: every read seals its own entry in its own transaction, so no row of the service waits for a seal. A
    forged read inserted by hand (backdated, an id below every other) was sealed by the next verify, or the next
    reader, and then passed as intact; now neither seals it and verify names it, whatever reads come after."""
    registry = fresh_registry()
    if registry.backend != "sqlite":
        pytest.skip("SQLite: PostgreSQL's readers append unsealed entries for the sealer (the window in the README)")
    ids = _seed(registry, 3)
    _read(registry, ids[0])
    assert _verify(registry).returncode == 0

    _forge_read(registry, "'2026-01-02 09:00:00'", "0123456789abcdef", -5)
    _read(registry, ids[1])  # a later reader seals its own entry only
    broken = _verify(registry)
    assert broken.returncode == 1 and "access_log entry -5: never sealed" in broken.stderr, broken.stderr + broken.stdout
    api = registry.client.get("/api/v1/audit/verify", headers=registry.headers()).json()
    assert api["intact"] is False and [f["entry"] for f in api["findings"]] == [-5], api
    forged = [r for r in _log(registry) if r[0] == -5]
    assert forged == [(-5, None, "", "", "0123456789abcdef")]  # still unsealed after the read and both verifies
    assert [r[1] for r in _log(registry) if r[0] != -5] == [1, 2]  # the two reads, chained


def test_a_backdated_row_put_in_the_postgresql_log_is_not_sealed_and_is_named(
        fresh_registry: Callable[[], Registry]) -> None:
    """PostgreSQL: readers append unsealed entries for the sealer, so a row inserted by hand is sealed like theirs
    (the window the README names). One that claims a read long before entries already sealed (the attack: an
    officer's read eleven months back, of a person that officer cannot read) is not: no sealer takes it, verify
    names it `out of time`, and the reads after it are chained past it."""
    registry = fresh_registry()
    if registry.backend != "postgres":
        pytest.skip("PostgreSQL; SQLite seals nothing a read did not write (the test above)")
    ids = _seed(registry, 3)
    _read(registry, ids[0])
    assert _verify(registry).returncode == 0

    _forge_read(registry, "now() - interval '11 months'", "0123456789abcdef", -5)
    _read(registry, ids[1])  # this reader's entry, sealed after the forged row was put in
    audit.seal_pending(wait=True)  # as the server's sealer and verify do
    broken = _verify(registry)
    assert broken.returncode == 1 and "access_log entry -5: out of time" in broken.stderr, broken.stderr
    api = registry.client.get("/api/v1/audit/verify", headers=registry.headers()).json()
    assert api["intact"] is False and [f["entry"] for f in api["findings"]] == [-5] and api["unsealed"] == 1, api
    rows = _log(registry)
    assert [r for r in rows if r[0] == -5] == [(-5, None, "", "", "0123456789abcdef")]
    assert sorted(r[1] for r in rows if r[0] != -5) == [1, 2]
    _chain_holds([r for r in rows if r[0] != -5])


def test_a_row_that_claims_the_moment_it_was_put_in_is_sealed_as_the_readme_says(
        fresh_registry: Callable[[], Registry]) -> None:
    """The window that stays: a row inserted unsealed with a plausible time is sealed like a reader's (an insider
    with write access to the database, in the moment before the seal). Pinned so that the README stays true."""
    registry = fresh_registry()
    if registry.backend != "postgres":
        pytest.skip("PostgreSQL")
    ids = _seed(registry, 2)
    _read(registry, ids[0])
    _forge_read(registry, "now()", "feedfacefeedface")
    audit.seal_pending(wait=True)
    assert _verify(registry).returncode == 0
    assert [r[1] for r in _log(registry) if r[4] == "feedfacefeedface"] == [2]


def test_a_row_dated_ahead_of_the_database_clock_does_not_stop_the_sealing(
        fresh_registry: Callable[[], Registry]) -> None:
    """The review: a row dated thirty days ahead (a forgery, or a server whose clock jumped) was sealed, moved the
    chain's end ahead, and every reader's entry after it was then out of time, never sealed. It is not sealed (the
    database's clock bounds it), verify names it, and the reads after it are chained."""
    registry = fresh_registry()
    if registry.backend != "postgres":
        pytest.skip("PostgreSQL")
    ids = _seed(registry, 3)
    _read(registry, ids[0])
    _forge_read(registry, "now() + interval '30 days'", "aheadaheadahead0", -7)
    audit.seal_pending(wait=True)
    for pid in ids[1:]:
        _read(registry, pid)
    audit.seal_pending(wait=True)
    rows = _log(registry)
    assert [r for r in rows if r[0] == -7] == [(-7, None, "", "", "aheadaheadahead0")]
    assert sorted(r[1] for r in rows if r[0] != -7) == [1, 2, 3]  # every read sealed, past it
    broken = _verify(registry)
    assert broken.returncode == 1 and "access_log entry -7: out of time" in broken.stderr, broken.stderr
    assert "after the database's clock" in broken.stderr
