from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from survey_app.extensions import db


class Reason(db.Model):
    """A complaint category and/or a reason for leaving. Never deleted once used: deactivate it."""

    __tablename__ = "reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable key for code, imports and the API ("quality", "price", ...)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(80))
    name_en: Mapped[str] = mapped_column(sa.String(80))
    #: offered as a complaint category
    for_complaints: Mapped[bool] = mapped_column(default=True)
    #: offered as a reason a customer left
    for_losses: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    def label(self, locale: str | None) -> str:
        """The name in the page's language, falling back to the other one."""
        if locale and str(locale).startswith("en"):
            return self.name_en or self.name_zh
        return self.name_zh or self.name_en

    def __repr__(self) -> str:
        return f"<Reason {self.code}>"


#: the list a new installation starts with: (code, zh, en, for_complaints, for_losses)
DEFAULT_REASONS = [
    ("quality", "产品质量", "Product quality", True, True),
    ("service", "服务态度", "Service attitude", True, True),
    ("delivery", "配送", "Delivery", True, True),
    ("after_sales", "售后服务", "After-sales service", True, True),
    ("billing", "账单与收费", "Billing", True, False),
    ("price", "价格", "Price", False, True),
    ("competitor", "转向竞争对手", "Went to a competitor", False, True),
    ("no_longer_needed", "不再需要", "No longer needed", False, True),
    ("moved", "搬迁", "Moved away", False, True),
    ("other", "其他", "Other", True, False),
    ("unknown", "原因不明", "Unknown", False, True),
]
