"""What every benchmark script hands to ``run_all.py`` besides its own printed table: one JSON line
per measurement, appended to the file named by ``BENCH_RESULTS`` (nothing happens when it is unset,
so each script still runs on its own); the timing helper the scripts share; and their scratch
directories, removed when the script ends."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


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


_kept: set[Path] = set()


def scratch_dir(prefix: str) -> Path:
    """A new temporary directory for a benchmark's databases and logs (hundreds of megabytes a
    run), removed when the script ends unless ``keep_scratch`` asks to keep it."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(_remove, path)
    return path


def keep_scratch(path: Path, why: str) -> None:
    """Keep a scratch directory after the script ends, and say where it is."""
    _kept.add(path)
    print(f"{why}: kept {path}", file=sys.stderr)


def _remove(path: Path) -> None:
    if path not in _kept:
        shutil.rmtree(path, ignore_errors=True)
