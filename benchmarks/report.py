"""What every benchmark script hands to ``run_all.py`` besides its own printed table: one JSON line
per measurement, appended to the file named by ``BENCH_RESULTS`` (nothing happens when it is unset,
so each script still runs on its own); and the timing helper the scripts share."""

from __future__ import annotations

import json
import os
import time


def engine_of(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


def record(
    bench: str, what: str, value: float, unit: str, *, engine: str = "", target: str = ""
) -> None:
    """Add one measurement: ``engine`` is "SQLite", "PostgreSQL" or "" (no database involved)."""
    path = os.environ.get("BENCH_RESULTS")
    if not path:
        return
    line = {"bench": bench, "what": what, "value": value, "unit": unit, "engine": engine}
    line["target"] = target
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def best_of(n: int, fn) -> float:
    """The shortest of ``n`` timed calls of ``fn``, in seconds."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
