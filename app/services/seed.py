"""Reference data every registry starts with: code lists, title standards, the indicator catalog."""

from sqlalchemy.orm import Session

from app.services import codelists, standards
from app.services.context import Actor

SEED_ACTOR = Actor(name="system:migrate", role="admin", source="migrate")


def reference_data(session: Session) -> dict[str, int]:
    """Seed what is missing (idempotent); returns what was added."""
    added = {"codes": codelists.seed(session), "title_standards": standards.seed(session, SEED_ACTOR)}
    try:
        from app.services.indicators import catalog
    except ImportError:  # pragma: no cover - during bootstrap of the engine
        return added
    added["indicators"] = catalog.seed(session, SEED_ACTOR)
    return added
