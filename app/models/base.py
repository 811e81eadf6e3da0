"""Declarative base, constraint naming convention and the transaction-time mixin."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, Dialect, ForeignKey, Index, MetaData, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def current_index(name: str, *columns: str) -> Index:
    """An index over the rows believed now (`sys_to IS NULL`), on both engines."""
    where = text("sys_to IS NULL")
    return Index(name, *columns, sqlite_where=where, postgresql_where=where)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SysVersioned:
    """Transaction time: a row is the registry's belief from txn `sys_from` until txn `sys_to`.

    Rows are never updated except to set `sys_to` when a later write retires them, and never
    deleted, so the contents as of any past transaction can be read back.
    """

    sys_from: Mapped[int] = mapped_column(ForeignKey("txn.id"), index=True)
    sys_to: Mapped[int | None] = mapped_column(ForeignKey("txn.id"))  # lookups use partial indexes WHERE sys_to IS NULL


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC on every engine and always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
