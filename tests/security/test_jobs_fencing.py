"""Import jobs: a runner that lost its lease writes nothing more; a job stops when its owner's token is revoked.

Runner A is paused between two batches (by a hook on its writes), as a stopped process or a long GC
pause would; meanwhile its lease runs out, runner B takes the job over and finishes it. When A wakes,
its next checkpoint is refused by the lease's generation: the batch it was writing is rolled back
with that checkpoint, and the job keeps B's report.
"""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from app.config import get_settings
from app.db import get_session_factory
from app.models import Change, ImportJob, Person, SecurityFlag
from app.services import import_run, jobs, tokens
from app.services.context import Actor
from tests.api.factories import changes_after, cursor, export_records, ndjson, person, small_tree
from tests.conftest import Registry, uniq

BATCH = 4
COUNT = 12


def _spool(records: list[dict[str, Any]]) -> Path:
    path = jobs.spool_dir() / f"{uuid.uuid4().hex}.jsonl"
    path.write_text(ndjson(records), encoding="utf-8")
    return path


def _new_job(actor: Actor, records: list[dict[str, Any]]) -> int:
    with get_session_factory().begin() as session:
        return jobs.create(session, actor, "persons", False, "jsonl", _spool(records), len(records)).id


def _job(job_id: int) -> ImportJob:
    with get_session_factory()() as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _persons(prefix: str) -> int:
    with get_session_factory()() as session:
        return int(session.scalar(select(func.count()).select_from(Person).where(
            Person.external_id.startswith(prefix))) or 0)


def _paused_after_first_batch(monkeypatch: pytest.MonkeyPatch, pause: Any) -> None:
    """Run `pause` once, in the first run, as soon as its first batch is written.

    At that point the first batch is committed and no transaction of the runner that writes is open (the
    next batch may be being read ahead, bench F24: a hook on the input would pause before the first batch
    is written). The heartbeat thread is stopped too: a paused process does not beat.
    """
    real = import_run.ImportRun.batch
    paused = [False]

    def batch(self: Any, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        if not paused[0]:  # the runner that takes over, inside `pause`, is not paused again
            paused[0] = True
            pause()

    monkeypatch.setattr(import_run.ImportRun, "batch", batch)
    monkeypatch.setattr(jobs._Heartbeat, "start", lambda self: None)
    monkeypatch.setattr(jobs._Heartbeat, "stop", lambda self: None)
    monkeypatch.setattr(get_settings(), "import_batch_size", BATCH)


@pytest.fixture
def records(registry: Registry) -> list[dict[str, Any]]:
    tree = small_tree(registry)
    tag = uniq("F")
    return [person(f"{tree.province}-{tag}-{n:02d}", tree.school_a) for n in range(COUNT)]


def test_a_runner_paused_past_its_lease_writes_nothing_once_another_took_the_job_over(
        registry: Registry, records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = records[0]["external_id"].rsplit("-", 1)[0]
    job_id = _new_job(Actor(name="bootstrap", role="admin"), records)
    mark = cursor(registry)
    runner_b: list[bool] = []

    def lease_expires_and_b_takes_over() -> None:
        with get_session_factory().begin() as session:  # A's heartbeat is older than the lease
            session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
                heartbeat_at=datetime.now(UTC) - timedelta(hours=1)))
        runner_b.append(jobs.run(job_id, stale_only=True))

    _paused_after_first_batch(monkeypatch, lease_expires_and_b_takes_over)
    assert jobs.run(job_id) is False  # runner A: wakes, its next checkpoint is refused, it stops
    assert runner_b == [True]
    job = _job(job_id)
    assert (job.status, job.generation, job.source_path) == ("done", 2, None)
    counts = dict(job.counts)
    recorded_at = counts.pop("recorded_at")  # the moment of the last batch B wrote: known_at then holds them all
    assert counts == {"lines": COUNT, "created": COUNT, "updated": 0, "unchanged": 0, "failed": 0}
    assert job.done == job.total == COUNT and job.errors == []
    assert _persons(prefix) == COUNT
    known = export_records(registry, "persons", known_at=recorded_at)
    assert len([p for p in known if p["external_id"].startswith(prefix)]) == COUNT
    written = [c["key"] for c in changes_after(registry, mark) if c["key"].startswith(prefix)]
    assert sorted(written) == sorted(r["external_id"] for r in records)  # each person once in the feed
    with get_session_factory()() as session:
        assert session.scalar(select(func.count()).select_from(Change).where(Change.key.startswith(prefix))) == COUNT


def test_a_lost_runner_cannot_beat_for_the_new_one(registry: Registry, records: list[dict[str, Any]],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _new_job(Actor(name="bootstrap", role="admin"), records[:1])
    first = jobs._claim(job_id, stale_only=False)
    with get_session_factory().begin() as session:
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(heartbeat_at=None))
    second = jobs._claim(job_id, stale_only=True)
    assert (first, second) == (1, 2)
    assert jobs._claim(job_id, stale_only=True) is None  # the new runner's lease is fresh
    beat = jobs._Heartbeat(job_id, 1)
    with get_session_factory().begin() as session:
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(heartbeat_at=None))
    answers = iter([False, True])  # one beat of the old runner, run here rather than in its thread
    monkeypatch.setattr(beat.stopped, "wait", lambda _every: next(answers))
    beat._beat()
    assert _job(job_id).heartbeat_at is None  # refused: it would have kept runner 2's lease alive for runner 1
    with get_session_factory().begin() as session:  # no runner left for the reaper to find
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(status="failed", source_path=None))


def test_a_job_stops_before_its_next_batch_once_its_token_is_revoked(
        registry: Registry, records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = records[0]["external_id"].rsplit("-", 1)[0]
    made = registry.client.post("/api/v1/tokens", json={"name": uniq("job"), "role": "admin", "org_units": []},
                                headers=registry.headers())
    assert made.status_code == 201, made.text
    with get_session_factory()() as session:
        actor = tokens.authenticate(session, made.json()["token"], bootstrap=None, request_id=None)
    assert actor.token_id == made.json()["id"]
    job_id = _new_job(actor, records)

    def revoke() -> None:
        r = registry.client.delete(f"/api/v1/tokens/{actor.token_id}", headers=registry.headers())
        assert r.status_code == 200, r.text

    _paused_after_first_batch(monkeypatch, revoke)
    assert jobs.run(job_id) is True
    job = _job(job_id)
    assert (job.status, job.code) == ("failed", "owner_token_invalid")
    assert job.message is not None and "revoked" in job.message
    assert _persons(prefix) == BATCH  # the first batch only: nothing written after the revocation
    assert job.done == BATCH and job.counts["created"] == BATCH
    view = registry.client.get(f"/api/v1/imports/{job_id}", headers=registry.headers()).json()
    assert view["status"] == "failed" and "revoked" in view["message"]


def test_an_expired_token_stops_its_job_too(registry: Registry, records: list[dict[str, Any]]) -> None:
    made = registry.client.post("/api/v1/tokens", json={"name": uniq("job"), "role": "admin", "org_units": [],
                                                        "expires_in_days": 1}, headers=registry.headers())
    assert made.status_code == 201, made.text
    with get_session_factory()() as session:
        actor = tokens.authenticate(session, made.json()["token"], bootstrap=None, request_id=None)
    job_id = _new_job(actor, records[:2])
    with get_session_factory().begin() as session:
        session.execute(update(tokens.ApiToken).where(tokens.ApiToken.id == actor.token_id).values(
            expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    assert jobs.run(job_id) is True
    job = _job(job_id)
    assert (job.status, job.code, job.done) == ("failed", "owner_token_invalid", 0)
    assert job.message is not None and "expired" in job.message
    assert _persons(records[0]["external_id"]) == 0


def test_a_bootstrap_job_stops_once_the_bootstrap_token_is_disabled(
        registry: Registry, records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """The bootstrap token has no token row to revoke: disabling it (a security flag) is its revocation."""
    prefix = records[0]["external_id"].rsplit("-", 1)[0]
    job_id = _new_job(Actor(name="bootstrap", role="admin"), records)

    def disable() -> None:
        with get_session_factory().begin() as session:
            session.add(SecurityFlag(name=tokens.BOOTSTRAP_DISABLED, set_at=datetime.now(UTC), set_by="test"))

    def enable() -> None:
        with get_session_factory().begin() as session:
            session.execute(delete(SecurityFlag).where(SecurityFlag.name == tokens.BOOTSTRAP_DISABLED))

    _paused_after_first_batch(monkeypatch, disable)
    try:
        assert jobs.run(job_id) is True
    finally:
        enable()  # the shared registry's other tests sign in with the bootstrap token
    job = _job(job_id)
    assert (job.status, job.code, job.done) == ("failed", "owner_token_invalid", BATCH)
    assert job.message is not None and "bootstrap token" in job.message and "disabled" in job.message
    assert _persons(prefix) == BATCH


def test_an_oidc_job_runs_to_its_end(registry: Registry, records: list[dict[str, Any]]) -> None:
    """An OIDC session cannot be asked about at the identity provider (see app.services.jobs)."""
    job_id = _new_job(Actor(name="oidc:someone", role="admin"), records[:3])
    assert jobs.run(job_id) is True
    assert (_job(job_id).status, _job(job_id).counts["created"]) == ("done", 3)
