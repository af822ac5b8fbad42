"""A small hand-made customer base with one customer of each churn status."""

from __future__ import annotations

from datetime import date, timedelta

from tests.customers.factories import add_customer, every

AS_OF = date(2026, 6, 30)
START = date(2025, 1, 1)
#: code -> purchase days (amount 100 each); the default definition gives every one T = 90 days
HISTORIES = {
    "R1": every(10, START, date(2026, 6, 25)),  # active
    "S1": every(10, START, date(2025, 9, 28)),  # lost 90 days after the last purchase
    "W1": every(10, START, date(2025, 6, 30)) + every(10, date(2026, 1, 1), date(2026, 6, 25)),
    "A1": every(10, START, date(2026, 4, 30)),  # 61 days >= 0.6 x 90: at risk
}
EXPECTED = {"R1": "active", "S1": "lost", "W1": "won_back", "A1": "at_risk", "K1": "lost"}


def build(segment_of=None) -> dict[str, int]:
    """Create the customers; returns code -> id. K1 is contractual: cancelled 15 Oct 2025."""
    segment_of = segment_of or {}
    ids = {
        code: add_customer(code, [(d, 100) for d in days], segment=segment_of.get(code, "零售"))
        for code, days in HISTORIES.items()
    }
    ids["K1"] = add_customer(
        "K1",
        [(d, 300) for d in every(30, START, date(2025, 10, 1))],
        segment=segment_of.get("K1", "大客户"),
        contracts=[(date(2024, 1, 1), date(2025, 12, 31), date(2025, 10, 15))],
    )
    return ids


def lost_on(code: str) -> date:
    return HISTORIES[code][-1] + timedelta(days=90)
