"""``make bench``: every benchmark in this folder, on SQLite and on a throwaway PostgreSQL
(``scripts/with-postgres.sh``), each printing its own table as it goes; then one table of the key
numbers side by side, with the targets from the issues.

    .venv/bin/python benchmarks/run_all.py [--quick] [--only NAME ...]

``--quick`` runs smaller sizes (a few minutes in all) to check that everything works; the full run
uses the sizes the targets are stated for and takes much longer (seeding 2,000,000 transactions
and 200,000 survey responses, twice).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
from benchmarks.report import scratch_dir  # noqa: E402

#: name, arguments (full, quick), extra environment (full, quick), where it runs:
#: "both" = once on SQLite and once on PostgreSQL; "self" = the script picks its databases itself
#: (http: both; instructions: SQLite, where the database runs in-process and is counted too);
#: "none" = no database involved
BENCHMARKS = [
    ("http", "bench_http.py", ([], ["--seconds", "2"]), ({}, {}), "self"),
    ("instructions", "bench_instructions.py", ([], ["--requests", "30"]), ({}, {}), "self"),
    ("pages", "bench_pages.py", ([], ["--repeat", "10"]), ({}, {}), "both"),
    (
        "survey_results",
        "bench_survey_results.py",
        ([], []),
        ({}, {"BENCH_RESPONSES": "20000"}),
        "both",
    ),
    ("complaints", "bench_complaints.py", ([], ["--complaints", "10000"]), ({}, {}), "both"),
    ("churn", "bench_churn.py", (["100000"], ["5000"]), ({}, {}), "both"),
    ("index", "bench_index.py", ([], []), ({}, {}), "both"),
    ("pls", "bench_pls.py", ([], ["--quick"]), ({}, {}), "none"),
]


def run(command: list[str], env: dict, label: str) -> bool:
    print(f"\n=== {label}: {' '.join(command)}", flush=True)
    began = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603 (our scripts)
    print(f"=== {label}: exit {result.returncode} after {time.monotonic() - began:.0f} s")
    return result.returncode == 0


def table(lines: list[dict]) -> None:
    rows: dict[tuple[str, str], dict] = {}
    for line in lines:
        key = (line["what"], line["unit"])
        row = rows.setdefault(key, {"target": line["target"]})
        row[line["engine"] or "any"] = line["value"]

    def cell(value) -> str:
        if value is None:
            return "-"
        return f"{value:.2f}" if abs(value) < 10 else f"{value:,.0f}"

    width = max(len(what) for what, _unit in rows) + 2
    head = f"{'measurement':<{width}} {'unit':<6} {'SQLite':>10} {'PostgreSQL':>11}  target"
    print("\n" + head)
    print("-" * len(head))
    for (what, unit), row in rows.items():
        sqlite, postgres = row.get("SQLite"), row.get("PostgreSQL")
        if "any" in row:  # no database involved: one number
            sqlite, postgres = row["any"], None
        print(f"{what:<{width}} {unit:<6} {cell(sqlite):>10} {cell(postgres):>11}  {row['target']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", help="names: " + ", ".join(b[0] for b in BENCHMARKS))
    args = parser.parse_args()
    unlisted = {p.name for p in HERE.glob("bench_*.py")} - {b[1] for b in BENCHMARKS}
    if unlisted:
        sys.exit(f"add these to BENCHMARKS in run_all.py: {', '.join(sorted(unlisted))}")
    size = 1 if args.quick else 0
    results = scratch_dir("bench-all-") / "results.jsonl"
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base_env["BENCH_RESULTS"] = str(results)
    failed = []
    for name, script, arguments, extra, where in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        command = [sys.executable, str(HERE / script), *arguments[size]]
        env = {**base_env, **extra[size]}
        if not run(command, env, name if where != "both" else f"{name} (SQLite)"):
            failed.append(name)
        if where == "both":
            wrapped = [str(ROOT / "scripts" / "with-postgres.sh"), *command]
            if not run(wrapped, env, f"{name} (PostgreSQL)"):
                failed.append(f"{name} (PostgreSQL)")
    lines = []
    if results.exists():
        lines = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    print("\n\nSummary" + (" (quick sizes: not the sizes the targets are for)" if size else ""))
    table(lines)
    if failed:
        print("\nFAILED: " + ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
