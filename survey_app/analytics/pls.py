"""PLS path modeling: Wold's algorithm, effects, reliability, bootstrap and the ACSI 0-100 index.

The estimation follows Tenenhaus, Esposito Vinzi, Chatelin and Lauro (2005), "PLS path modeling",
Computational Statistics & Data Analysis 48, 159-205, as implemented by the R package plspm
(G. Sanchez, "PLS Path Modeling with R", 2013): the same starting weights, inner schemes,
convergence rule and normalisation, so that results agree with plspm to rounding.

Speed: every step of the iterative outer/inner estimation depends on the data only through the
item covariance matrix ``S = X'X / n`` of the centred (and, when ``scaled``, standardised) items:
with latent scores ``Y = X W`` normalised to unit variance, the LV correlations are ``W' S W``,
and the mode A update ``X' Z / n`` equals ``S W E``. So the ``n`` rows are read twice (for ``S``
and for the final scores) whatever the number of iterations, and the bootstrap needs only one
covariance matrix per resample, all of which come out of a single matrix product (see
:func:`bootstrap`).

Everything is float64 numpy; pandas only carries names in and out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

SCHEMES = ("path", "centroid", "factorial")
MODES = ("A", "B")
MISSING_STRATEGIES = ("listwise", "mean")
_MODEL_KEYS = {"blocks", "modes", "paths", "scheme", "scaled", "scale"}


class PLSError(ValueError):
    """A model or data set the PLS engine cannot estimate; ``str(error)`` says why."""


class ModelError(PLSError):
    """The path model specification is invalid (unknown construct, cycle, bad mode ...)."""


class DataError(PLSError):
    """The data cannot be used with the model (missing column, non-numeric, out of scale ...)."""


class ZeroVarianceError(DataError):
    """An item, or a whole block, does not vary; ``item`` names the culprit."""

    def __init__(self, message: str, item: str):
        super().__init__(message)
        self.item = item


class ConvergenceError(PLSError):
    """Wold's iterations did not meet the tolerance within the iteration limit."""


# --------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True, eq=False)
class PathModel:
    """A PLS path model: blocks of items, their measurement mode, and the structural paths.

    ``blocks`` maps construct -> item columns; ``modes`` construct -> "A" (reflective) or "B"
    (formative), default "A"; ``paths`` are (from, to) pairs forming a directed acyclic graph;
    ``scheme`` is the inner weighting scheme; ``scaled`` standardises items before estimation
    (R plspm ``scaled = TRUE``) or only centres them; ``scales`` maps item -> (min, max), the
    declared ends of its answer scale, used by the 0-100 index (None: no index).
    """

    blocks: Mapping[str, tuple[str, ...]]
    paths: tuple[tuple[str, str], ...]
    modes: Mapping[str, str] = field(default_factory=dict)
    scheme: str = "path"
    scaled: bool = True
    scales: Mapping[str, tuple[float, float]] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.blocks, Mapping) or len(self.blocks) < 2:
            raise ModelError("a path model needs at least two constructs in 'blocks'")
        blocks: dict[str, tuple[str, ...]] = {}
        owner: dict[str, str] = {}
        for construct, items in self.blocks.items():
            if not isinstance(construct, str) or not construct:
                raise ModelError(f"construct names must be non-empty text, got {construct!r}")
            if isinstance(items, str) or not isinstance(items, Sequence) or not items:
                raise ModelError(f"block {construct} must list at least one item column")
            for item in items:
                if not isinstance(item, str) or not item:
                    raise ModelError(f"block {construct}: item names must be text, got {item!r}")
                if item in owner:
                    raise ModelError(
                        f"item {item} appears in blocks {owner[item]} and {construct}; "
                        "each item belongs to one block"
                    )
                owner[item] = construct
            blocks[construct] = tuple(items)
        object.__setattr__(self, "blocks", blocks)

        modes = {c: "A" for c in blocks}
        for construct, mode in dict(self.modes).items():
            if construct not in blocks:
                raise ModelError(f"modes names {construct}, which is not a block")
            mode = str(mode).upper()
            if mode not in MODES:
                raise ModelError(f"mode of {construct} must be 'A' or 'B', got {mode!r}")
            modes[construct] = mode
        object.__setattr__(self, "modes", modes)

        paths: list[tuple[str, str]] = []
        for pair in self.paths:
            if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
                raise ModelError(f"each path must be a [from, to] pair, got {pair!r}")
            source, target = pair
            for end in (source, target):
                if end not in blocks:
                    raise ModelError(f"path {source}->{target} names {end}, which is not a block")
            if source == target:
                raise ModelError(f"path {source}->{target} points to itself")
            if (source, target) in paths:
                raise ModelError(f"path {source}->{target} is listed twice")
            paths.append((source, target))
        object.__setattr__(self, "paths", tuple(paths))
        linked = {c for pair in paths for c in pair}
        lonely = [c for c in blocks if c not in linked]
        if lonely:
            raise ModelError(f"construct {lonely[0]} has no path; every construct needs one")
        _topological_order(list(blocks), paths)  # raises on a cycle

        if self.scheme not in SCHEMES:
            raise ModelError(f"scheme must be one of {', '.join(SCHEMES)}, got {self.scheme!r}")
        if not isinstance(self.scaled, bool):
            raise ModelError(f"scaled must be true or false, got {self.scaled!r}")
        if self.scales is not None:
            scales = {}
            for item, ends in dict(self.scales).items():
                if item not in owner:
                    raise ModelError(f"scale given for {item}, which is in no block")
                low, high = (float(v) for v in ends)
                if not (np.isfinite(low) and np.isfinite(high) and low < high):
                    raise ModelError(f"scale of {item} must have min < max, got {ends!r}")
                scales[item] = (low, high)
            missing = [i for i in owner if i not in scales]
            if missing:
                raise ModelError(f"no scale ends for item {missing[0]}")
            object.__setattr__(self, "scales", scales)

    @property
    def constructs(self) -> tuple[str, ...]:
        return tuple(self.blocks)

    @property
    def items(self) -> tuple[str, ...]:
        return tuple(item for items in self.blocks.values() for item in items)

    @classmethod
    def from_dict(cls, spec: Mapping) -> PathModel:
        """Build a model from the model-file format (docs/methodology.md, "The model file").

        ``{"blocks": {C: [items]}, "modes": {C: "A"|"B"}, "paths": [[from, to], ...],
        "scheme": "path", "scaled": true, "scale": {"min": 1, "max": 10}}``; only ``blocks``
        and ``paths`` are required.
        """
        if not isinstance(spec, Mapping):
            raise ModelError("the model must be a JSON object with 'blocks' and 'paths'")
        unknown = sorted(set(spec) - _MODEL_KEYS)
        if unknown:
            raise ModelError(
                f"unknown key {unknown[0]!r} in model (expected {', '.join(sorted(_MODEL_KEYS))})"
            )
        for key in ("blocks", "paths"):
            if key not in spec:
                raise ModelError(f"the model has no {key!r}")
        if not isinstance(spec["blocks"], Mapping):
            raise ModelError("'blocks' must map each construct to a list of item columns")
        if not isinstance(spec["paths"], list):
            raise ModelError("'paths' must be a list of [from, to] pairs")
        modes = spec.get("modes", {})
        if not isinstance(modes, Mapping):
            raise ModelError("'modes' must map constructs to 'A' or 'B'")
        scales = None
        if spec.get("scale") is not None:
            scale = spec["scale"]
            if not isinstance(scale, Mapping) or not {"min", "max"} <= set(scale):
                raise ModelError("'scale' must be an object with 'min' and 'max'")
            ends = []
            for key in ("min", "max"):
                value = scale[key]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ModelError(f"scale {key} must be a number, got {value!r}")
                ends.append(float(value))
            items = [
                i for block in spec["blocks"].values() if isinstance(block, list) for i in block
            ]
            scales = {item: (ends[0], ends[1]) for item in items if isinstance(item, str)}
        return cls(
            blocks=spec["blocks"],
            paths=tuple(tuple(p) if isinstance(p, list) else p for p in spec["paths"]),
            modes=modes,
            scheme=spec.get("scheme", "path"),
            scaled=spec.get("scaled", True),
            scales=scales,
        )


def _topological_order(nodes: list[str], paths: Sequence[tuple[str, str]]) -> list[str]:
    indegree = {n: 0 for n in nodes}
    for _, target in paths:
        indegree[target] += 1
    ready = [n for n in nodes if indegree[n] == 0]
    order = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for source, target in paths:
            if source == node:
                indegree[target] -= 1
                if indegree[target] == 0:
                    ready.append(target)
    if len(order) != len(nodes):
        cyclic = next(n for n in nodes if n not in order)
        raise ModelError(f"the paths form a cycle through {cyclic}; PLS needs a recursive model")
    return order


class _Design:
    """Index arithmetic for a model: which item rows belong to which construct column."""

    def __init__(self, model: PathModel):
        self.model = model
        self.constructs = model.constructs
        self.items = model.items
        self.p, self.J = len(self.items), len(self.constructs)
        position = {c: j for j, c in enumerate(self.constructs)}
        self.member = np.zeros((self.p, self.J))
        self.block_rows: list[np.ndarray] = []
        start = 0
        for j, construct in enumerate(self.constructs):
            size = len(model.blocks[construct])
            self.member[start : start + size, j] = 1.0
            self.block_rows.append(np.arange(start, start + size))
            start += size
        self.item_construct = np.argmax(self.member, axis=1)
        self.mode_b = [model.modes[c] == "B" for c in self.constructs]
        # adjacency[i, j] = 1 when construct i points to construct j
        self.adjacency = np.zeros((self.J, self.J))
        for source, target in model.paths:
            self.adjacency[position[source], position[target]] = 1.0
        self.linked = self.adjacency + self.adjacency.T
        self.predecessors = [np.flatnonzero(self.adjacency[:, j]) for j in range(self.J)]
        self.successors = [np.flatnonzero(self.adjacency[j, :]) for j in range(self.J)]
        self.endogenous = [j for j in range(self.J) if len(self.predecessors[j])]
        reach = np.linalg.matrix_power(self.adjacency + np.eye(self.J), self.J) > 0
        np.fill_diagonal(reach, False)
        # every (from, to) pair joined by a directed path: the total-effects table
        self.reachable = [(i, j) for i in range(self.J) for j in range(self.J) if reach[i, j]]


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Reliability:
    """Internal consistency of a reflective block (None for formative blocks, see the docs).

    ``alpha``: Cronbach's alpha of the standardised items, p/(p-1) * (1 - p / sum(R)), R the
    items' correlation matrix (as plspm); None for a single item.
    ``rho``: Dillon-Goldstein's rho / composite reliability from the PLS loadings l,
    (sum l)^2 / ((sum l)^2 + sum(1 - l^2)) (Chin 1998; Hair et al., PLS-SEM primer).
    ``ave``: average variance extracted, mean(l^2) (Fornell and Larcker 1981).
    """

    alpha: float | None
    rho: float | None
    ave: float | None


@dataclass(frozen=True)
class ConstructIndex:
    """The ACSI 0-100 index of one construct and how it was obtained.

    ``weights`` are the unstandardised outer weights normalised to sum to 1; ``negative_weights``
    lists items whose weight is negative: the rescaling is then not meaningful and the value must
    be shown as flagged (``flagged``), never silently.
    """

    value: float | None
    weights: dict[str, float]
    item_means: dict[str, float]
    negative_weights: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return bool(self.negative_weights) or self.value is None


@dataclass(frozen=True)
class MissingReport:
    """What was done about missing answers: ``listwise`` drops rows with any missing item,
    ``mean`` fills each missing answer with its item's mean (counts per item in ``imputed``)."""

    strategy: str
    rows_in: int
    rows_dropped: int
    imputed: dict[str, int]


@dataclass(frozen=True)
class PLSResult:
    """Everything a PLS path model estimation produces. Keys of effect dicts are (from, to)."""

    model: PathModel
    n: int
    iterations: int
    outer_weights: dict[str, dict[str, float]]
    loadings: dict[str, dict[str, float]]
    cross_loadings: pd.DataFrame
    path_coefficients: dict[tuple[str, str], float]
    r_squared: dict[str, float]
    direct_effects: dict[tuple[str, str], float]
    indirect_effects: dict[tuple[str, str], float]
    total_effects: dict[tuple[str, str], float]
    reliability: dict[str, Reliability]
    scores: pd.DataFrame
    index: dict[str, ConstructIndex]
    respondent_index: pd.DataFrame | None
    missing: MissingReport
    item_sd: dict[str, float]

    @property
    def negative_weight_flags(self) -> dict[str, tuple[str, ...]]:
        """Construct -> items with a negative outer weight, for every indexed construct."""
        return {c: ix.negative_weights for c, ix in self.index.items() if ix.negative_weights}


# --------------------------------------------------------------------------------------------
# Data preparation


_CHUNK_ROWS = 16_384  # rows per slab: a few MiB, so each slab is worked on in cache


_threadpools: list[ThreadpoolController] = []


def _one_blas_thread():
    """The slab products are small and memory-bound: a second BLAS thread gains nothing and,
    on a busy machine, its synchronisation made a pass several times slower (benchmark).
    The controller scans the loaded libraries once; numpy's BLAS is loaded by then."""
    if not _threadpools:
        _threadpools.append(ThreadpoolController())
    return _threadpools[0].limit(limits=1, user_api="blas")


@dataclass
class _Prepared:
    columns: list[np.ndarray]  # the item columns as float64 (views of the input when possible)
    n: int
    S: np.ndarray  # covariance matrix of the items as estimated (correlations when scaled)
    means: np.ndarray
    sd: np.ndarray  # population standard deviations of the raw items
    scale: np.ndarray  # what the centred items are divided by: sd when scaled, else 1
    rows: pd.Index  # labels of the rows kept
    missing: MissingReport

    def slabs(self):
        """(start, stop, rows x p array of the raw items) in row order, C-contiguous."""
        for start in range(0, self.n, _CHUNK_ROWS):
            stop = min(self.n, start + _CHUNK_ROWS)
            yield start, stop, np.column_stack([c[start:stop] for c in self.columns])

    def project(self, M: np.ndarray) -> np.ndarray:
        """(X - means) @ M for the n x p item matrix X, one slab at a time."""
        out = np.empty((self.n, M.shape[1]))
        offset = self.means @ M
        with _one_blas_thread():
            for start, stop, slab in self.slabs():
                np.matmul(slab, M, out=out[start:stop])
                out[start:stop] -= offset
        return out

    def centred(self) -> np.ndarray:
        return np.column_stack(self.columns) - self.means


def _moments(columns: list[np.ndarray], n: int):
    """One pass over the rows: sums, cross-products, minima and maxima of the items.

    Values are shifted by the first slab's means before the products are accumulated, so the
    covariance S = sum((x - c)(x - c)') / n - (m - c)(m - c)' does not lose digits to large
    means. NaN or infinity anywhere shows up as a non-finite sum.
    """
    p = len(columns)
    cross, sums = np.zeros((p, p)), np.zeros(p)
    low, high = np.full(p, np.inf), np.full(p, -np.inf)
    shift = None
    with _one_blas_thread():
        for start in range(0, n, _CHUNK_ROWS):
            slab = np.column_stack([c[start : start + _CHUNK_ROWS] for c in columns])
            if shift is None:
                shift = slab.mean(axis=0)
            slab -= shift
            cross += slab.T @ slab
            sums += slab.sum(axis=0)
            np.minimum(low, slab.min(axis=0), out=low)
            np.maximum(high, slab.max(axis=0), out=high)
    offset = sums / n
    return shift + offset, cross / n - np.outer(offset, offset), shift + low, shift + high


def _prepare(data: pd.DataFrame, design: _Design, missing: str) -> _Prepared:
    """Validate the item columns and compute their means and covariance matrix.

    The input is read in slabs of rows and never copied whole (unless answers are missing);
    centring and standardisation are applied to the covariance matrix and the weights instead
    of the n rows.
    """
    if missing not in MISSING_STRATEGIES:
        raise PLSError(f"missing must be one of {', '.join(MISSING_STRATEGIES)}, got {missing!r}")
    if not isinstance(data, pd.DataFrame):
        raise DataError("data must be a pandas DataFrame with one column per item")
    absent = [item for item in design.items if item not in data.columns]
    if absent:
        raise DataError(f"column {absent[0]} of the model is not in the data")
    columns = []
    for item in design.items:
        column = data[item]
        if not isinstance(column, pd.Series):
            raise DataError(f"column {item} appears more than once in the data")
        dtype = column.dtype
        if not (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)):
            raise DataError(f"column {item} is not numeric")
        columns.append(column.to_numpy(dtype=np.float64, na_value=np.nan))
    rows, n = data.index, len(data)
    imputed = {}
    means, S, low, high = _moments(columns, n) if n else (None, None, None, None)
    if n and not (np.isfinite(S).all() and np.isfinite(means).all()):
        X = np.column_stack(columns)
        if np.isinf(X).any():
            item = design.items[int(np.flatnonzero(np.isinf(X).any(axis=0))[0])]
            raise DataError(f"column {item} holds an infinite value")
        gaps = np.isnan(X)
        if missing == "listwise":
            keep = ~gaps.any(axis=1)
            X, rows = X[keep], rows[keep]
        else:
            counts = gaps.sum(axis=0)
            empty = np.flatnonzero(counts == n)
            if len(empty):
                raise DataError(f"column {design.items[empty[0]]} has no answers at all")
            fill = np.nanmean(X, axis=0)
            X[gaps] = np.broadcast_to(fill, X.shape)[gaps]
            imputed = {design.items[k]: int(counts[k]) for k in np.flatnonzero(counts)}
        X = np.asfortranarray(X)
        columns = [X[:, k] for k in range(design.p)]
        n = X.shape[0]
        if n:
            means, S, low, high = _moments(columns, n)
    report = MissingReport(missing, len(data), len(data) - n, imputed)
    # a formative block of k items is an OLS regression: it needs more than k respondents
    needed = max(
        [3] + [len(r) + 1 for r, b in zip(design.block_rows, design.mode_b, strict=True) if b]
    )
    if n < needed:
        raise DataError(f"only {n} complete respondents: too few to estimate this model")
    if design.model.scales is not None:
        declared_low, declared_high = _scale_ends(design.model, design.items)
        outside = (low < declared_low) | (high > declared_high)
        if outside.any():
            k = int(np.flatnonzero(outside)[0])
            value = low[k] if low[k] < declared_low[k] else high[k]
            raise DataError(
                f"column {design.items[k]} holds {value:g}, outside its declared scale "
                f"{declared_low[k]:g}-{declared_high[k]:g}"
            )
    sd = np.sqrt(np.clip(np.diag(S), 0.0, None))
    flat = sd <= 1e-12 * np.maximum(1.0, np.abs(means))
    if flat.any():
        k = int(np.flatnonzero(flat)[0])
        construct = design.constructs[design.item_construct[k]]
        raise ZeroVarianceError(
            f"item {design.items[k]} (block {construct}) has the same answer from every "
            "respondent: zero variance, it cannot be used",
            design.items[k],
        )
    scale = sd if design.model.scaled else np.ones(design.p)
    S = S / np.outer(scale, scale)
    return _Prepared(columns, n, S, means, sd, scale, rows, report)


def _check_blocks(S: np.ndarray, design: _Design) -> None:
    """Refuse formative blocks whose items are perfectly collinear: their weights (a regression
    on the items) would not be unique. Reflective blocks need no such check."""
    corr = S / np.sqrt(np.outer(np.diag(S), np.diag(S)))
    for j, rows in enumerate(design.block_rows):
        if len(rows) < 2 or not design.mode_b[j]:
            continue
        block = corr[np.ix_(rows, rows)]
        eigen = np.linalg.eigvalsh(block)
        if eigen[0] < 1e-10 * len(rows):
            vector = np.linalg.eigh(block)[1][:, 0]
            item = design.items[rows[int(np.argmax(np.abs(vector)))]]
            raise ZeroVarianceError(
                f"block {design.constructs[j]} is degenerate: its items are perfectly collinear "
                f"(a combination including {item} has zero variance)",
                item,
            )


# --------------------------------------------------------------------------------------------
# Wold's algorithm on a batch of covariance matrices


def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched solve of A x = b for A (B x k x k) and b (B x k)."""
    return np.linalg.solve(A, b[:, :, None])[:, :, 0]


def _normalise(S: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Scale each construct's weights so its scores X w have unit (population) variance.

    A construct whose scores have no variance gets NaN weights (see :func:`_wold`)."""
    variance = np.einsum("bpj,bpq,bqj->bj", W, S, W)
    with np.errstate(divide="ignore", invalid="ignore"):
        return W / np.sqrt(np.where(variance > 0, variance, np.nan))[:, None, :]


def _inner_weights(C: np.ndarray, design: _Design, scheme: str) -> np.ndarray:
    """Inner weights E (Tenenhaus et al. 2005, section 2.3) from LV correlations C (B x J x J).

    centroid: sign(cor) for adjacent constructs; factorial: cor; path: for a construct's
    predecessors the coefficients of its multiple regression on them, for its successors the
    correlations. Column k of E gives the inner estimate Z_k = sum_j E[j, k] Y_j.
    """
    if scheme == "centroid":
        return np.sign(C) * design.linked
    if scheme == "factorial":
        return C * design.linked
    E = np.zeros_like(C)
    for k in range(design.J):
        before, after = design.predecessors[k], design.successors[k]
        if len(before):
            E[:, before, k] = _solve(C[:, before[:, None], before], C[:, before, k])
        if len(after):
            E[:, after, k] = C[:, after, k]
    return E


def _wold(S: np.ndarray, design: _Design, tol: float, max_iter: int):
    """Wold's iterations for every covariance matrix in S (B x p x p) at once.

    Returns normalised weights (B x p x J), iterations used, a converged mask and a mask of
    estimations that broke down (a construct's scores without variance). Starting
    weights, update and stopping rule are those of R plspm: all-ones weights; mode A
    w_k = X_k' Z_k / n; mode B w_k = (X_k' X_k)^-1 X_k' Z_k; stop when
    sum((|w_old| - |w_new|)^2) < tol over all items.
    """
    batch = S.shape[0]
    W = _normalise(S, np.broadcast_to(design.member, (batch, design.p, design.J)).copy())
    w_old = W.sum(axis=2)
    formative = {}
    for k, rows in enumerate(design.block_rows):
        if design.mode_b[k] and len(rows) > 1:
            formative[k] = np.linalg.inv(S[:, rows[:, None], rows])
    active = np.ones(batch, dtype=bool)
    broken = np.zeros(batch, dtype=bool)
    iterations = np.zeros(batch, dtype=int)
    for iteration in range(1, max_iter + 1):
        idx = np.flatnonzero(active)
        Sa = S[idx]
        Wn = _normalise(Sa, W[idx])
        # a construct whose scores lost all variance (e.g. items uncorrelated with every
        # linked construct) has no solution: stop that estimation as failed
        bad = ~np.isfinite(Wn).all(axis=(1, 2))
        if bad.any():
            broken[idx[bad]], active[idx[bad]] = True, False
            idx, Sa, Wn = idx[~bad], Sa[~bad], Wn[~bad]
            if not len(idx):
                break
        SW = Sa @ Wn
        E = _inner_weights(np.swapaxes(Wn, 1, 2) @ SW, design, design.model.scheme)
        T = SW @ E  # column k: covariance of each item with the inner estimate Z_k
        W_new = T * design.member
        for k, inverse in formative.items():
            rows = design.block_rows[k]
            W_new[:, rows, k] = np.einsum("bij,bj->bi", inverse[idx], T[:, rows, k])
        w_new = W_new.sum(axis=2)
        change = ((np.abs(w_old[idx]) - np.abs(w_new)) ** 2).sum(axis=1)
        W[idx], w_old[idx], iterations[idx] = W_new, w_new, iteration
        active[idx[change < tol]] = False
        if not active.any():
            break
    W = _normalise(S, W)
    broken |= ~np.isfinite(W).all(axis=(1, 2))
    return W, iterations, ~active & ~broken, broken


@dataclass
class _Stats:
    """Derived quantities for a batch: loadings, LV correlations, paths, R^2, effects."""

    W: np.ndarray  # B x p x J, normalised
    loadings: np.ndarray  # B x p x J (cross-loadings: corr(item, LV))
    paths: np.ndarray  # B x J x J, paths[b, to, from]
    r_squared: np.ndarray  # B x J
    total: np.ndarray  # B x J x J, total[b, to, from]


def _loadings(S: np.ndarray, W: np.ndarray) -> np.ndarray:
    return (S @ W) / np.sqrt(np.diagonal(S, axis1=1, axis2=2))[:, :, None]


def _derive(S: np.ndarray, W: np.ndarray, design: _Design) -> _Stats:
    loadings = _loadings(S, W)
    C = np.swapaxes(W, 1, 2) @ S @ W
    batch = S.shape[0]
    paths = np.zeros((batch, design.J, design.J))
    r_squared = np.zeros((batch, design.J))
    for k in design.endogenous:
        before = design.predecessors[k]
        beta = _solve(C[:, before[:, None], before], C[:, before, k])
        paths[:, k, before] = beta
        r_squared[:, k] = np.einsum("bi,bi->b", beta, C[:, before, k])
    eye = np.eye(design.J)
    total = np.linalg.inv(eye - paths) - eye
    return _Stats(W, loadings, paths, r_squared, total)


def _orient(S: np.ndarray, W: np.ndarray, design: _Design, reference: np.ndarray | None):
    """Fix each construct's sign (a latent variable is defined up to its sign).

    Without a reference: make the sum of a construct's loadings on its own items non-negative.
    With reference loadings (bootstrap): flip a construct when its loadings are closer to the
    negated reference ones, sum|l - l0| > sum|l + l0| (the "construct level" sign change of
    Tenenhaus et al. 2005, section 3.2).
    """
    own = _loadings(S, W) * design.member
    if reference is None:
        flip = own.sum(axis=1) < 0
    else:
        ref = reference * design.member
        flip = np.abs(own - ref).sum(axis=1) > np.abs(own + ref).sum(axis=1)
    return W * np.where(flip, -1.0, 1.0)[:, None, :]


# --------------------------------------------------------------------------------------------
# Estimation


def estimate(
    data: pd.DataFrame,
    model: PathModel,
    *,
    tol: float = 1e-6,
    max_iter: int = 100,
    missing: str = "listwise",
) -> PLSResult:
    """Estimate a PLS path model on item data (one row per respondent, one column per item).

    Steps (Tenenhaus et al. 2005; R plspm): centre the items (and standardise them when
    ``model.scaled``); iterate outer and inner estimation until the weights change by less
    than ``tol`` (sum of squared changes of absolute weights) or raise
    :class:`ConvergenceError` after ``max_iter`` iterations; latent scores Y = X W with unit
    population variance; loadings corr(x, Y); path coefficients by OLS of each endogenous
    construct on its predecessors; total effects (I - B)^-1 - I; reliability and the ACSI index.

    Missing answers: ``missing="listwise"`` (default) drops respondents with any missing item;
    ``"mean"`` fills a missing answer with the item's mean. ``result.missing`` says what was done.
    """
    if not (tol > 0):
        raise PLSError("tolerance must be positive")
    if int(max_iter) < 1:
        raise PLSError("the iteration limit must be at least 1")
    design = _Design(model)
    prepared = _prepare(data, design, missing)
    S = prepared.S[None]
    _check_blocks(S[0], design)
    try:
        W, iterations, converged, broken = _wold(S, design, tol, int(max_iter))
    except np.linalg.LinAlgError:
        raise DataError(
            "two latent variables are perfectly collinear: the inner model cannot be estimated"
        ) from None
    if broken[0]:
        raise ConvergenceError(
            "the PLS algorithm broke down: a construct's scores have no variance "
            "(its items are uncorrelated with every construct it is linked to)"
        )
    if not converged[0]:
        raise ConvergenceError(
            f"the PLS algorithm did not converge within {max_iter} iterations "
            f"(tolerance {tol:g}); try more iterations or another inner scheme"
        )
    W = _orient(S, W, design, None)
    try:
        stats = _derive(S, W, design)
    except np.linalg.LinAlgError:
        raise DataError(
            "two predecessors of a construct have perfectly collinear scores: "
            "the path coefficients are not unique"
        ) from None
    return _assemble(model, design, prepared, S[0], stats, int(iterations[0]))


def _assemble(model, design, prepared, S, stats, iterations) -> PLSResult:
    constructs, items = design.constructs, design.items
    W, loadings = stats.W[0], stats.loadings[0]
    weight_of = W.sum(axis=1)
    loading_of = (loadings * design.member).sum(axis=1)
    outer_weights, own_loadings = {}, {}
    for j, construct in enumerate(constructs):
        rows = design.block_rows[j]
        outer_weights[construct] = {items[r]: float(weight_of[r]) for r in rows}
        own_loadings[construct] = {items[r]: float(loading_of[r]) for r in rows}
    paths = {
        (s, t): float(stats.paths[0, constructs.index(t), constructs.index(s)])
        for s, t in model.paths
    }
    total, indirect = {}, {}
    for i, j in design.reachable:
        key = (constructs[i], constructs[j])
        total[key] = float(stats.total[0, j, i])
        indirect[key] = float(stats.total[0, j, i] - stats.paths[0, j, i])
    direct = {key: paths.get(key, 0.0) for key in total}
    r_squared = {constructs[k]: float(stats.r_squared[0, k]) for k in design.endogenous}
    reliability = {
        construct: _reliability(S, design, j, loading_of) for j, construct in enumerate(constructs)
    }
    raw_weights = _raw_weights(W, prepared.sd, model.scaled)
    projection = [W / prepared.scale[:, None]]
    index = {}
    if model.scales is not None:
        low, high = _scale_ends(model, items)
        index = _index(design, raw_weights, prepared.means, low, high)
        projection.append(_index_matrix(design, raw_weights))
    projected = prepared.project(np.hstack(projection))
    scores = pd.DataFrame(projected[:, : design.J], index=prepared.rows, columns=list(constructs))
    respondent_index = None
    if model.scales is not None:
        respondent_index = _respondent_index(
            design, projected[:, design.J :], raw_weights, prepared, low, high
        )
    return PLSResult(
        model=model,
        n=prepared.n,
        iterations=iterations,
        outer_weights=outer_weights,
        loadings=own_loadings,
        cross_loadings=pd.DataFrame(loadings, index=list(items), columns=list(constructs)),
        path_coefficients=paths,
        r_squared=r_squared,
        direct_effects=direct,
        indirect_effects=indirect,
        total_effects=total,
        reliability=reliability,
        scores=scores,
        index=index,
        respondent_index=respondent_index,
        missing=prepared.missing,
        item_sd={item: float(s) for item, s in zip(items, prepared.sd, strict=True)},
    )


def _reliability(S: np.ndarray, design: _Design, j: int, loading_of: np.ndarray) -> Reliability:
    if design.mode_b[j]:
        return Reliability(None, None, None)
    rows = design.block_rows[j]
    size = len(rows)
    lam = loading_of[rows]
    ave = float(np.mean(lam**2))
    rho = float(lam.sum() ** 2 / (lam.sum() ** 2 + np.sum(1.0 - lam**2)))
    if size < 2:
        return Reliability(None, rho, ave)
    block = S[np.ix_(rows, rows)]
    sd = np.sqrt(np.diag(block))
    corr = block / np.outer(sd, sd)
    alpha = float(size / (size - 1) * (1.0 - size / corr.sum()))
    return Reliability(alpha, rho, ave)


# --------------------------------------------------------------------------------------------
# The ACSI 0-100 index


def _raw_weights(W: np.ndarray, sd: np.ndarray, scaled: bool) -> np.ndarray:
    """Outer weights on the items' own scale: w / sd when the items were standardised.

    W is p x J; returns one weight per item (each item has one construct).
    """
    weight_of = W.sum(axis=-1)
    return weight_of / sd if scaled else weight_of


def _scale_ends(model: PathModel, items: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    low = np.array([model.scales[i][0] for i in items])
    high = np.array([model.scales[i][1] for i in items])
    return low, high


def acsi_index(
    weights: Sequence[float], means: Sequence[float], low: Sequence[float], high: Sequence[float]
) -> float:
    """The ACSI rescaling of a construct to 0-100 (Fornell et al. 1996, "The American Customer
    Satisfaction Index: nature, purpose, and findings", Journal of Marketing 60(4)):

        index = 100 * (sum_i w_i mean_i - sum_i w_i min_i) / (sum_i w_i max_i - sum_i w_i min_i)

    with w the unstandardised outer weights normalised to sum to 1, mean_i the item means and
    min_i / max_i the declared ends of the item scales (never the observed extremes).
    """
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    return float(100.0 * (w @ np.asarray(means, float) - w @ low) / (w @ high - w @ low))


def _normalised_index_weights(design: _Design, raw: np.ndarray, j: int) -> np.ndarray | None:
    w = raw[design.block_rows[j]]
    total = w.sum()
    if not np.isfinite(total) or abs(total) < 1e-12 * np.abs(w).sum():
        return None
    return w / total


def _index(design, raw, means, low, high) -> dict[str, ConstructIndex]:
    out = {}
    for j, construct in enumerate(design.constructs):
        rows = design.block_rows[j]
        names = [design.items[r] for r in rows]
        negative = tuple(name for name, w in zip(names, raw[rows], strict=True) if w < 0)
        w = _normalised_index_weights(design, raw, j)
        value = None
        if w is not None:
            value = float(100.0 * (w @ (means[rows] - low[rows])) / (w @ (high[rows] - low[rows])))
        out[construct] = ConstructIndex(
            value=value,
            weights={} if w is None else dict(zip(names, map(float, w), strict=True)),
            item_means=dict(zip(names, map(float, means[rows]), strict=True)),
            negative_weights=negative,
        )
    return out


def _index_matrix(design: _Design, raw: np.ndarray) -> np.ndarray:
    """p x J matrix of each construct's normalised index weights (zeros when undefined)."""
    M = np.zeros((design.p, design.J))
    for j, rows in enumerate(design.block_rows):
        w = _normalised_index_weights(design, raw, j)
        if w is not None:
            M[rows, j] = w
    return M


def _respondent_index(design, projected, raw, prepared: _Prepared, low, high) -> pd.DataFrame:
    """Each respondent's 0-100 score per construct: the same formula on their own answers,
    100 * sum_i w_i (x_i - min_i) / sum_i w_i (max_i - min_i); ``projected`` holds
    sum_i w_i (x_i - mean_i) for every respondent and construct.

    Its mean over respondents is the construct's index. Rows dropped for missing answers
    (listwise) do not appear; with mean imputation the imputed answers are used.
    """
    out = np.full(projected.shape, np.nan)
    for j, rows in enumerate(design.block_rows):
        w = _normalised_index_weights(design, raw, j)
        if w is None:
            continue
        span = w @ (high[rows] - low[rows])
        offset = w @ (prepared.means[rows] - low[rows])
        out[:, j] = 100.0 * (projected[:, j] + offset) / span
    return pd.DataFrame(out, index=prepared.rows, columns=list(design.constructs))


# --------------------------------------------------------------------------------------------
# Bootstrap


@dataclass(frozen=True)
class Interval:
    """Bootstrap summary of one figure: the full-sample estimate, the resamples' mean and
    standard deviation (the bootstrap standard error) and the 95% percentile interval."""

    estimate: float
    mean: float
    se: float
    low: float
    high: float


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap intervals keyed like :class:`PLSResult`; ``failed`` resamples are left out."""

    resamples: int
    failed: int
    seed: int
    path_coefficients: dict[tuple[str, str], Interval]
    outer_weights: dict[str, dict[str, Interval]]
    loadings: dict[str, dict[str, Interval]]
    total_effects: dict[tuple[str, str], Interval]
    r_squared: dict[str, Interval]
    index: dict[str, Interval]


def bootstrap(
    data: pd.DataFrame,
    model: PathModel,
    *,
    resamples: int = 500,
    seed: int = 0,
    tol: float = 1e-6,
    max_iter: int = 100,
    missing: str = "listwise",
    result: PLSResult | None = None,
) -> BootstrapResult:
    """Nonparametric bootstrap: ``resamples`` samples of n respondents drawn with replacement
    (numpy ``default_rng(seed)``), each estimated exactly as :func:`estimate` does.

    Vectorised: with ``c_b`` the counts of each respondent in resample b and ``K`` the n x q
    matrix of item cross-products x_i x_k (q = p(p+1)/2), the covariance matrices of all
    resamples are ``C K / n - m m'`` with ``C`` the resamples x n count matrix: one matrix
    product instead of one pass over the data per resample. Wold's iterations then run on all
    resamples at once. Signs are aligned to the full-sample solution construct by construct.
    Resamples that fail (no convergence, an item constant in the resample, a singular formative
    block or collinear scores) are left out and counted in ``failed``. ``result``, when given,
    must be :func:`estimate`'s result for the same data and model (it is the sign reference).
    Standard error: standard deviation of the resample estimates (ddof=1); interval: 2.5th and
    97.5th percentiles.
    """
    if int(resamples) < 2:
        raise PLSError("the bootstrap needs at least 2 resamples")
    if result is None:
        result = estimate(data, model, tol=tol, max_iter=max_iter, missing=missing)
    design = _Design(model)
    prepared = _prepare(data, design, missing)
    Xc = prepared.centred()  # in the items' own units
    n, p = Xc.shape
    reference = result.cross_loadings.to_numpy()[None]
    upper = np.triu_indices(p)
    rng = np.random.default_rng(seed)
    chunk = int(max(1, min(resamples, 20_000_000 // n)))
    row_chunk = int(max(1, 8_000_000 // len(upper[0])))
    products = None
    if n <= row_chunk:
        products = Xc[:, upper[0]] * Xc[:, upper[1]]
    collected: list[dict[str, np.ndarray]] = []
    failed = 0
    done = 0
    while done < resamples:
        size = min(chunk, resamples - done)
        draws = rng.integers(0, n, size=(size, n))
        offsets = (np.arange(size) * n)[:, None]
        counts = np.bincount((draws + offsets).ravel(), minlength=size * n).reshape(size, n)
        counts = counts.astype(np.float64)
        done += size
        mean = counts @ Xc / n  # resample mean of the centred items
        second = np.zeros((size, len(upper[0])))
        for start in range(0, n, row_chunk):
            stop = min(n, start + row_chunk)
            block = (
                products[start:stop]
                if products is not None
                else Xc[start:stop, upper[0]] * Xc[start:stop, upper[1]]
            )
            second += counts[:, start:stop] @ block
        S = np.zeros((size, p, p))
        S[:, upper[0], upper[1]] = second / n
        S[:, upper[1], upper[0]] = second / n
        S -= mean[:, :, None] * mean[:, None, :]
        variance = np.diagonal(S, axis1=1, axis2=2).copy()
        good = np.all(variance > 1e-12 * np.maximum(1.0, prepared.sd**2), axis=1)
        S, mean, sd = S[good], mean[good], np.sqrt(variance[good])
        if model.scaled:
            S = S / (sd[:, :, None] * sd[:, None, :])
        usable = np.ones(len(S), dtype=bool)
        for k, rows in enumerate(design.block_rows):
            if design.mode_b[k] and len(rows) > 1:
                block = S[:, rows[:, None], rows]
                scale = np.sqrt(np.diagonal(block, axis1=1, axis2=2))
                corr = block / (scale[:, :, None] * scale[:, None, :])
                usable &= np.linalg.eigvalsh(corr)[:, 0] > 1e-10 * len(rows)
        failed += size - int(usable.sum())
        S, mean, sd = S[usable], mean[usable], sd[usable]
        if not len(S):
            continue
        try:
            draw, lost = _bootstrap_batch(S, sd, mean, design, prepared, reference, tol, max_iter)
        except np.linalg.LinAlgError:
            # a singular system somewhere in the batch (perfectly collinear scores in one
            # resample): estimate the batch's resamples one at a time and drop the culprits
            draw, lost = None, 0
            for b in range(len(S)):
                try:
                    one, one_lost = _bootstrap_batch(
                        S[b : b + 1],
                        sd[b : b + 1],
                        mean[b : b + 1],
                        design,
                        prepared,
                        reference,
                        tol,
                        max_iter,
                    )
                except np.linalg.LinAlgError:
                    lost += 1
                    continue
                lost += one_lost
                if one is not None:
                    collected.append(one)
        failed += lost
        if draw is not None:
            collected.append(draw)
    if not collected or sum(len(d["weights"]) for d in collected) < 2:
        raise ConvergenceError(
            f"only {resamples - failed} of {resamples} bootstrap resamples could be estimated"
        )
    draws = {key: np.concatenate([d[key] for d in collected]) for key in collected[0]}
    return _summarise(result, design, draws, int(resamples), failed, int(seed))


def _bootstrap_batch(S, sd, mean, design, prepared, reference, tol, max_iter):
    """Estimate a batch of resamples from their covariance matrices: (draws, number lost)."""
    W, _, converged, _ = _wold(S, design, tol, int(max_iter))
    lost = int((~converged).sum())
    S, W, sd, mean = S[converged], W[converged], sd[converged], mean[converged]
    if not len(S):
        return None, lost
    W = _orient(S, W, design, reference)
    stats = _derive(S, W, design)
    draw = {
        "weights": W.sum(axis=2),
        "loadings": (stats.loadings * design.member).sum(axis=2),
        "paths": stats.paths,
        "total": stats.total,
        "r_squared": stats.r_squared,
    }
    if design.model.scales is not None:
        draw["index"] = _bootstrap_index(design, W, sd, prepared.means + mean, design.model)
    return draw, lost


def _bootstrap_index(design, W, sd, means, model) -> np.ndarray:
    raw = W.sum(axis=2) / sd if model.scaled else W.sum(axis=2)
    low, high = _scale_ends(model, design.items)
    out = np.full((W.shape[0], design.J), np.nan)
    for j, rows in enumerate(design.block_rows):
        w = raw[:, rows]
        total = w.sum(axis=1, keepdims=True)
        w = np.divide(w, total, out=np.full_like(w, np.nan), where=np.abs(total) > 1e-12)
        out[:, j] = (
            100.0
            * np.einsum("bi,bi->b", w, means[:, rows] - low[rows])
            / (w @ (high[rows] - low[rows]))
        )
    return out


def _interval(estimate: float, values: np.ndarray) -> Interval:
    values = values[np.isfinite(values)]
    if len(values) < 2:
        nan = float("nan")
        return Interval(float(estimate), nan, nan, nan, nan)
    low, high = np.percentile(values, [2.5, 97.5])
    return Interval(
        float(estimate), float(values.mean()), float(values.std(ddof=1)), float(low), float(high)
    )


def _summarise(result, design, draws, resamples, failed, seed) -> BootstrapResult:
    constructs, items = design.constructs, design.items
    position = {c: j for j, c in enumerate(constructs)}
    item_position = {item: r for r, item in enumerate(items)}

    def per_item(source, key):
        return {
            c: {
                item: _interval(value, draws[key][:, item_position[item]])
                for item, value in source[c].items()
            }
            for c in constructs
        }

    paths = {
        (s, t): _interval(v, draws["paths"][:, position[t], position[s]])
        for (s, t), v in result.path_coefficients.items()
    }
    total = {
        (s, t): _interval(v, draws["total"][:, position[t], position[s]])
        for (s, t), v in result.total_effects.items()
    }
    r_squared = {
        c: _interval(v, draws["r_squared"][:, position[c]]) for c, v in result.r_squared.items()
    }
    index = {}
    if "index" in draws:
        index = {
            c: _interval(ix.value, draws["index"][:, position[c]])
            for c, ix in result.index.items()
            if ix.value is not None
        }
    return BootstrapResult(
        resamples=resamples,
        failed=failed,
        seed=seed,
        path_coefficients=paths,
        outer_weights=per_item(result.outer_weights, "weights"),
        loadings=per_item(result.loadings, "loadings"),
        total_effects=total,
        r_squared=r_squared,
        index=index,
    )
