"""Title standards: minimum qualifications per rank, occupation and category, as editable data."""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import TitleStandard
from app.services import history
from app.services.context import Actor
from app.services.versioning import current_or_at

# domain.md, 'Title standards' (defaults; administrators change them as data).
DEFAULTS: list[tuple[str, list[str], str | None, str | None, str | None]] = [
    ("rank", ["office_deputy", "office_head"], "bachelor", "trung_cap", "chuyen_vien"),
    ("rank", ["department_deputy", "department_head"], "bachelor", "cao_cap", "chuyen_vien_chinh"),
    ("rank", ["province_deputy", "province_head"], "bachelor", "cao_cap", "chuyen_vien_cao_cap"),
    ("occupation", ["teacher_preschool"], "college", None, None),
    ("occupation", ["teacher_primary", "teacher_lower_secondary", "teacher_upper_secondary"], "bachelor", None, None),
    ("occupation", ["lecturer_college", "lecturer_political_school"], "bachelor", None, None),
    ("occupation", ["lecturer_university"], "master", None, None),
    ("occupation", ["doctor"], "bachelor", None, None),
    ("occupation", ["nurse"], "college", None, None),
    ("occupation", ["specialist"], "bachelor", None, None),
    ("category", ["cap_xa_chuyen_trach", "cap_xa_cong_chuc"], "intermediate", "so_cap", None),
]
EPOCH = date(1900, 1, 1)


def seed(session: Session, actor: Actor) -> int:
    """Insert the default standards if none are recorded yet; returns how many rows."""
    if session.scalar(select(TitleStandard.id).limit(1)) is not None:
        return 0
    txn = history.current_txn(session, actor, note="default title standards (domain.md)")
    rows = [TitleStandard(subject=subject, subject_code=code, min_degree=deg, min_political_theory=pt,
                          min_state_management=sm, valid_from=EPOCH, valid_to=None, sys_from=txn.id)
            for subject, codes, deg, pt, sm in DEFAULTS for code in codes]
    session.add_all(rows)
    session.flush()
    return len(rows)


def listing(session: Session, cut: int | None = None) -> list[dict[str, Any]]:
    """The standards as recorded now (or at `cut`)."""
    rows = session.scalars(select(TitleStandard).where(current_or_at(TitleStandard, cut))
                           .order_by(TitleStandard.subject, TitleStandard.subject_code, TitleStandard.valid_from))
    return [{"subject": r.subject, "code": r.subject_code, "min_degree": r.min_degree,
             "min_political_theory": r.min_political_theory, "min_state_management": r.min_state_management,
             "valid_from": r.valid_from.isoformat(), "valid_to": r.valid_to.isoformat() if r.valid_to else None}
            for r in rows]
