"""A statement that fails keeps its parameters out of the server's log: SQLAlchemy formats them into the text of
the error (`[parameters: ('079190001234', 'Nguyễn …')]`), which the error handlers log with its traceback, and a
failing statement's parameters are a person's data (a national id being written, a name searched for). The engines
are built with `hide_parameters` (app/db.py): the statement is logged, its values are not."""

import logging

import pytest
from sqlalchemy import text

from app.db import build_engine
from app.services import persons
from tests.conftest import Registry, uniq

SECRET_ID = "079190001234"
SECRET_NAME = "Nguyễn Thị Bí Mật"


def test_a_failing_statement_during_a_read_is_logged_without_its_values(registry: Registry,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    pid = uniq("HIDE-")

    def failing_read(session, actor, external_id, *args, **kwargs):  # type: ignore[no-untyped-def]
        session.execute(text("SELECT no_such_column FROM person WHERE external_id = :x AND :n <> :i"),
                        {"x": external_id, "n": SECRET_NAME, "i": SECRET_ID})
        raise AssertionError("the statement above fails")

    monkeypatch.setattr(persons, "read", failing_read)
    with caplog.at_level(logging.INFO):
        now = registry.client.get(f"/api/v1/persons/{pid}", headers=registry.headers())  # the route ahead of routing
        known = registry.client.get(f"/api/v1/persons/{pid}", params={"known_at": "2030-01-01T00:00:00Z"},
                                    headers=registry.headers())
    assert now.status_code == known.status_code and now.status_code >= 500, (now.text, known.text)
    for answer in (now, known):
        assert answer.json()["code"] == "database_unavailable"
        for secret in (SECRET_ID, SECRET_NAME, "no_such_column"):  # (the problem's instance is the URL asked)
            assert secret not in answer.text
    form = logging.Formatter("%(name)s %(message)s")  # each message with its traceback, as the handlers log them
    logged = "\n".join(form.format(r) for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert "no_such_column" in logged  # the statement is there, with its traceback
    for secret in (pid, SECRET_ID, SECRET_NAME):
        assert secret not in logged, secret


def test_the_engines_hide_parameters(registry: Registry) -> None:
    engine = build_engine(registry.url)
    try:
        with engine.connect() as conn, pytest.raises(Exception) as failed:
            conn.execute(text("SELECT no_such_column FROM person WHERE external_id = :x"), {"x": SECRET_ID})
        assert "no_such_column" in str(failed.value) and SECRET_ID not in str(failed.value)
    finally:
        engine.dispose()
