"""Helpers for transaction-time tables: read as of a transaction, retire rows."""

from typing import Any

from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy.orm import Session


def current_or_at(model: Any, cut: int | None) -> ColumnElement[bool]:
    """Rows believed now (cut None) or at the end of transaction `cut`."""
    if cut is None:
        return model.sys_to.is_(None)
    return and_(model.sys_from <= cut, or_(model.sys_to.is_(None), model.sys_to > cut))


def retire(session: Session, model: Any, row_ids: list[int], txn_id: int) -> None:
    """End the belief in these rows at `txn_id` (they stay readable for earlier moments)."""
    if row_ids:
        session.execute(update(model).where(model.id.in_(row_ids)).values(sys_to=txn_id))
