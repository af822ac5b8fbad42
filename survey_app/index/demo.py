"""The demo story's index chapter: the composite index of the last twelve months and their
quarters, computed from what the earlier chapters made."""

from __future__ import annotations

from . import services

DEMO_MONTHS = 18


def seed_demo(ctx) -> list[str]:
    periods = services.recent_periods(ctx.as_of, months=DEMO_MONTHS)
    summary = services.compute(periods)
    return [f"Satisfaction index: {summary.values} values for {summary.periods} periods"]
