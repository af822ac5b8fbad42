"""Complaint-handling statistics over plain arrays (no Flask, no database)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DurationSummary:
    count: int
    median: float | None
    p90: float | None
    mean: float | None


def duration_summary(hours) -> DurationSummary:
    """Median, 90th percentile (linear interpolation, numpy's default) and mean of durations."""
    values = np.asarray(hours, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return DurationSummary(0, None, None, None)
    return DurationSummary(
        int(values.size),
        float(np.median(values)),
        float(np.percentile(values, 90)),
        float(values.mean()),
    )


#: histogram edges in hours: within 1 h, 4 h, 1 day, 2 days, 1 week, 2 weeks, 30 days, more
DURATION_EDGES = (0.0, 1.0, 4.0, 24.0, 48.0, 168.0, 336.0, 720.0, np.inf)


def duration_histogram(hours, edges=DURATION_EDGES) -> list[int]:
    """How many durations fall in each [edge_i, edge_i+1) bucket."""
    values = np.asarray(hours, dtype=float)
    values = values[~np.isnan(values)]
    counts, _ = np.histogram(np.clip(values, 0, None), bins=np.asarray(edges, dtype=float))
    return [int(c) for c in counts]


def pareto(counts: dict) -> list[tuple[object, int, float, float]]:
    """Rows (key, count, share %, cumulative share %), largest first (ties by key order given)."""
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    total = sum(counts.values())
    rows, running = [], 0
    for key, count in items:
        running += count
        rows.append(
            (
                key,
                int(count),
                100.0 * count / total if total else 0.0,
                100.0 * running / total if total else 0.0,
            )
        )
    return rows


def net_promoter(scores) -> float | None:
    """NPS: % of 9-10 answers minus % of 0-6 answers (Reichheld 2003)."""
    values = np.asarray(scores, dtype=float)
    if values.size == 0:
        return None
    return float(100.0 * ((values >= 9).mean() - (values <= 6).mean()))
