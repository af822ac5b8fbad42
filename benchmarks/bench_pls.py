"""PLS path modeling speed: the ECSI model (6 constructs, 27 items) on simulated respondents.

Prints one table: our estimation time and peak memory against the ``plspm`` package (0.5.7) on the
same data at several sizes, the speed-up at every size both ran, and our bootstrap of 500
resamples on 10,000 respondents. Targets: 1,000,000 respondents under 1 s and 2 GiB; bootstrap
under 10 s; at least 10x faster than plspm.

Each measurement runs in a fresh child process so its peak resident memory (VmHWM, reset just
before the call) is its own: the number includes the interpreter, numpy/pandas and the input
data, i.e. what the machine must really have. plspm is measured up to the size where a run
would take minutes (its time grows linearly; larger sizes are skipped and said so).

    .venv/bin/python benchmarks/bench_pls.py [--quick]
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import record  # noqa: E402
from survey_app.analytics import pls  # noqa: E402

BLOCKS = {
    "IMAG": [f"imag{i}" for i in range(1, 6)],
    "EXPE": [f"expe{i}" for i in range(1, 6)],
    "QUAL": [f"qual{i}" for i in range(1, 6)],
    "VAL": [f"val{i}" for i in range(1, 5)],
    "SAT": [f"sat{i}" for i in range(1, 5)],
    "LOY": [f"loy{i}" for i in range(1, 5)],
}
# structural model of the ECSI (Tenenhaus et al. 2005), with plausible coefficients
PATHS = {
    ("IMAG", "EXPE"): 0.55,
    ("IMAG", "SAT"): 0.20,
    ("IMAG", "LOY"): 0.25,
    ("EXPE", "QUAL"): 0.80,
    ("EXPE", "VAL"): 0.10,
    ("EXPE", "SAT"): 0.05,
    ("QUAL", "VAL"): 0.65,
    ("QUAL", "SAT"): 0.15,
    ("VAL", "SAT"): 0.55,
    ("SAT", "LOY"): 0.50,
}
MODEL = pls.PathModel(
    BLOCKS,
    tuple(PATHS),
    scheme="path",
    scaled=False,
    scales=dict.fromkeys([i for items in BLOCKS.values() for i in items], (0.0, 10.0)),
)
PLSPM_LIMIT_SECONDS = 60.0


def simulate(n: int, seed: int = 1) -> pd.DataFrame:
    """Answers on a 0-10 scale from the ECSI structural model with reflective items."""
    rng = np.random.default_rng(seed)
    latent = {}
    for construct in BLOCKS:  # listed in causal order
        before = [(s, b) for (s, t), b in PATHS.items() if t == construct]
        value = rng.standard_normal(n)
        for source, beta in before:
            value = value * 0.6 + beta * latent[source]
        latent[construct] = (value - value.mean()) / value.std()
    columns = {}
    for construct, items in BLOCKS.items():
        for k, item in enumerate(items):
            x = 0.8 * latent[construct] + 0.6 * rng.standard_normal(n)
            columns[item] = np.clip(np.round(7.0 + 0.2 * k + 1.8 * x), 0, 10)
    return pd.DataFrame(columns)


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _ours(data):
    return pls.estimate(data, MODEL)


def _plspm(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from plspm.config import MV, Config, Structure
        from plspm.mode import Mode
        from plspm.plspm import Plspm
        from plspm.scheme import Scheme

        structure = Structure()
        for source, target in PATHS:
            structure.add_path([source], [target])
        config = Config(structure.path(), scaled=False)
        for construct, items in BLOCKS.items():
            config.add_lv(construct, Mode.A, *[MV(i) for i in items])
        return Plspm(data, config, Scheme.PATH)


def _bootstrap(data):
    return pls.bootstrap(data, MODEL, resamples=500, seed=1)


def _child(task, n, repeats, queue):
    data = simulate(n)
    task(data.iloc[:1000])  # warm-up: imports and first-call costs are not the subject
    times = []
    _reset_peak()
    for _ in range(repeats):
        start = time.perf_counter()
        task(data)
        times.append(time.perf_counter() - start)
    queue.put((min(times), _peak_mib()))


def measure(task, n, repeats=1):
    context = mp.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_child, args=(task, n, repeats, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def agreement(n=5000):
    """Largest difference between our path coefficients and plspm's on the same data."""
    data = simulate(n, seed=2)
    ours, theirs = _ours(data), _plspm(data).path_coefficients()
    return max(abs(v - theirs.loc[t, s]) for (s, t), v in ours.path_coefficients.items())


def main(quick: bool = False) -> None:
    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    print(
        f"PLS path modeling, ECSI model: {len(BLOCKS)} constructs, {len(MODEL.items)} items, "
        f"path scheme, mode A; {mp.cpu_count()} cores"
    )
    print(f"max |path coefficient difference| vs plspm on 5,000 respondents: {agreement():.1e}")
    print()
    header = f"{'task':34s} {'n':>10s} {'ours s':>9s} {'ours MiB':>9s} {'plspm s':>9s} "
    header += f"{'plspm MiB':>9s} {'speed-up':>9s}"
    print(header)
    print("-" * len(header))
    plspm_seconds = 0.0
    for n in sizes:
        ours_s, ours_mib = measure(_ours, n, repeats=3)
        row = f"{'estimate':34s} {n:>10,d} {ours_s:>9.3f} {ours_mib:>9.0f} "
        projected = plspm_seconds * 10
        if plspm_seconds and projected > PLSPM_LIMIT_SECONDS:
            row += f"{'skipped':>9s} {'':>9s} {'':>9s}  (plspm would take ~{projected:.0f} s)"
        else:
            plspm_seconds, plspm_mib = measure(_plspm, n)
            row += f"{plspm_seconds:>9.2f} {plspm_mib:>9.0f} {plspm_seconds / ours_s:>8.0f}x"
        print(row, flush=True)
        target = "< 1 s" if n == 1_000_000 else ""
        record("pls", f"PLS estimate, {n:,} respondents", ours_s, "s", target=target)
        if n == 1_000_000:
            record("pls", "PLS estimate, 1,000,000: peak memory", ours_mib, "MiB", target="< 2048")
    boot_s, boot_mib = measure(_bootstrap, 10_000)
    print(f"{'bootstrap, 500 resamples':34s} {10_000:>10,d} {boot_s:>9.3f} {boot_mib:>9.0f}")
    record("pls", "PLS bootstrap, 500 resamples, 10,000", boot_s, "s", target="< 10 s")
    print()
    print("targets: estimate 1,000,000 < 1 s and < 2048 MiB; bootstrap < 10 s; >= 10x plspm")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
