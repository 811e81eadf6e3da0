"""Code lists as versioned reference data with Vietnamese and English labels."""

from datetime import date

from sqlalchemy import Boolean, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class CodeItem(Base):
    """One code of one list (e.g. list `ethnicity`, code `05`, Khơ-me / Khmer)."""

    __tablename__ = "code_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_name: Mapped[str] = mapped_column(String(60))
    code: Mapped[str] = mapped_column(String(60))
    vi: Mapped[str] = mapped_column(String(200))
    en: Mapped[str] = mapped_column(String(200))
    ord: Mapped[int | None] = mapped_column(Integer)
    official: Mapped[str | None] = mapped_column(String(60))
    is_minority: Mapped[bool | None] = mapped_column(Boolean)
    is_body: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("list_name", "code"),)
