"""Data simulated from a known structural model, for the PLS tests and the benchmark."""

from __future__ import annotations

import numpy as np
import pandas as pd

# A small ECSI-like model: a single-item block (LOY), two-item and four-item blocks.
BLOCKS = {
    "IMAG": ["imag1", "imag2", "imag3"],
    "EXPE": ["expe1", "expe2", "expe3"],
    "QUAL": ["qual1", "qual2", "qual3", "qual4"],
    "VAL": ["val1", "val2"],
    "SAT": ["sat1", "sat2", "sat3"],
    "LOY": ["loy1"],
}
PATHS = {
    ("IMAG", "EXPE"): 0.5,
    ("EXPE", "QUAL"): 0.6,
    ("QUAL", "VAL"): 0.5,
    ("IMAG", "SAT"): 0.25,
    ("QUAL", "SAT"): 0.35,
    ("VAL", "SAT"): 0.3,
    ("SAT", "LOY"): 0.6,
}


def latent(n: int, paths: dict, constructs: list[str], rng: np.random.Generator) -> dict:
    """Standardised latent variables from a recursive model: each endogenous construct is the
    weighted sum of its predecessors plus a disturbance scaled so that its variance is 1."""
    order, values, cov = [], {}, {}
    for c in constructs:  # constructs are listed in causal order
        before = [(s, b) for (s, t), b in paths.items() if t == c]
        if not before:
            values[c] = rng.standard_normal(n)
        else:
            names = [s for s, _ in before]
            beta = np.array([b for _, b in before])
            sigma = np.array([[cov[a, b] for b in names] for a in names])
            explained = beta @ sigma @ beta
            assert explained < 1, "paths imply a variance above 1"
            values[c] = sum(b * values[s] for s, b in before) + np.sqrt(
                1 - explained
            ) * rng.standard_normal(n)
        order.append(c)
        for other in order:
            cov[c, other] = cov[other, c] = _population_cov(c, other, paths, cov, order)
    return values


def _population_cov(a, b, paths, cov, order):
    if a == b:
        return 1.0
    later, earlier = (a, b) if order.index(a) > order.index(b) else (b, a)
    return sum(beta * cov[s, earlier] for (s, t), beta in paths.items() if t == later)


def items(
    n: int,
    seed: int,
    *,
    blocks: dict = BLOCKS,
    paths: dict = PATHS,
    loading: float = 0.8,
    spread: float = 0.05,
    likert: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Reflective items x = l * LV + noise with unit variance (l = loading -/+ spread, at least
    0.95 for a single item), optionally cut to a Likert scale (low..high) by rounding a linear
    map of x; item columns in block order."""
    rng = np.random.default_rng(seed)
    lv = latent(n, paths, list(blocks), rng)
    columns = {}
    for c, names in blocks.items():
        for k, name in enumerate(names):
            lam = loading if len(names) > 1 else max(loading, 0.95)
            lam = min(0.99, lam + spread * (k % 3 - 1))
            x = lam * lv[c] + np.sqrt(1 - lam**2) * rng.standard_normal(n)
            if likert is not None:
                low, high = likert
                middle, width = (low + high) / 2 + 0.3 * k, (high - low) / 5
                x = np.clip(np.round(middle + width * x), low, high)
            columns[name] = x
    return pd.DataFrame(columns)
