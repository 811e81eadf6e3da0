"""Migrations: one head, and the models match the migrated schema on each backend."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from app.db import normalise_url
from app.migrate import alembic_config
from app.models import Base
from tests.conftest import Registry


def test_single_head(registry: Registry) -> None:
    script = ScriptDirectory.from_config(alembic_config(registry.url))
    assert len(script.get_heads()) == 1


def test_no_drift_between_models_and_migrations(registry: Registry) -> None:
    """The equivalent of `alembic check`: autogenerate finds nothing to do."""
    engine = create_engine(normalise_url(registry.url))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []
