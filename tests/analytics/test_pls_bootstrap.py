"""The vectorised bootstrap: reproducible, equal to re-estimating each resample, sane errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from survey_app.analytics import pls
from tests.analytics.simulate import BLOCKS, PATHS, items

SCALES = {item: (1.0, 10.0) for block in BLOCKS.values() for item in block}


@pytest.fixture(scope="module")
def survey():
    return items(300, seed=21, likert=(1, 10))


def model(scaled=True, modes=None, scheme="path"):
    return pls.PathModel(
        BLOCKS, tuple(PATHS), modes=modes or {}, scheme=scheme, scaled=scaled, scales=SCALES
    )


def test_same_seed_same_answer_other_seed_other_answer(survey):
    first = pls.bootstrap(survey, model(), resamples=60, seed=7)
    again = pls.bootstrap(survey, model(), resamples=60, seed=7)
    other = pls.bootstrap(survey, model(), resamples=60, seed=8)
    assert first == again
    key = ("VAL", "SAT")
    assert first.path_coefficients[key].se != other.path_coefficients[key].se
    assert (first.resamples, first.failed, first.seed) == (60, 0, 7)


@pytest.mark.parametrize(
    ("scaled", "modes", "scheme"),
    [(True, {}, "path"), (False, {"QUAL": "B"}, "centroid")],
    ids=["scaled-modeA-path", "centred-modeB-centroid"],
)
def test_each_resample_is_an_ordinary_estimation(survey, scaled, modes, scheme):
    """The covariance-product shortcut and the batched iterations give, resample by resample,
    what estimate() gives on the resampled rows (resample b: rows
    default_rng(seed).integers(0, n, size=(resamples, n))[b])."""
    spec, resamples, seed = model(scaled, modes, scheme), 40, 3
    boot = pls.bootstrap(survey, spec, resamples=resamples, seed=seed)
    draws = np.random.default_rng(seed).integers(0, len(survey), size=(resamples, len(survey)))
    paths, loadings, index, r2 = [], [], [], []
    for rows in draws:
        fit = pls.estimate(survey.iloc[rows].reset_index(drop=True), spec)
        paths.append(fit.path_coefficients["QUAL", "SAT"])
        loadings.append(fit.loadings["QUAL"]["qual2"])
        index.append(fit.index["SAT"].value)
        r2.append(fit.r_squared["SAT"])
    for interval, values in [
        (boot.path_coefficients["QUAL", "SAT"], paths),
        (boot.loadings["QUAL"]["qual2"], loadings),
        (boot.index["SAT"], index),
        (boot.r_squared["SAT"], r2),
    ]:
        values = pd.Series(values)
        assert interval.se == pytest.approx(values.std(), rel=1e-6)
        assert interval.mean == pytest.approx(values.mean(), rel=1e-6)
        assert interval.low == pytest.approx(values.quantile(0.025), rel=1e-6)
        assert interval.high == pytest.approx(values.quantile(0.975), rel=1e-6)


def test_standard_error_of_a_simple_path_is_close_to_the_analytic_one():
    rng = np.random.default_rng(1)
    n, beta = 4000, 0.4
    x = rng.standard_normal(n)
    y = beta * x + np.sqrt(1 - beta**2) * rng.standard_normal(n)
    data = pd.DataFrame({"x": x, "y": y})
    spec = pls.PathModel({"X": ["x"], "Y": ["y"]}, (("X", "Y"),))
    boot = pls.bootstrap(data, spec, resamples=400, seed=2)
    interval = boot.path_coefficients["X", "Y"]
    r = np.corrcoef(x, y)[0, 1]
    analytic = (1 - r**2) / np.sqrt(n)  # asymptotic SE of a correlation (normal data)
    assert interval.estimate == pytest.approx(r)
    assert interval.se == pytest.approx(analytic, rel=0.15)
    assert interval.low < r < interval.high
    assert interval.high - interval.low == pytest.approx(2 * 1.96 * analytic, rel=0.2)


def test_every_figure_has_an_interval_around_its_estimate(survey):
    boot = pls.bootstrap(survey, model(), resamples=100, seed=1)
    result = pls.estimate(survey, model())
    assert set(boot.path_coefficients) == set(result.path_coefficients)
    assert set(boot.total_effects) == set(result.total_effects)
    assert set(boot.r_squared) == set(result.r_squared)
    assert set(boot.index) == set(BLOCKS)
    for construct, block in boot.outer_weights.items():
        assert set(block) == set(BLOCKS[construct])
    for interval in [*boot.path_coefficients.values(), *boot.index.values()]:
        assert interval.se > 0
        assert interval.low <= interval.high


def test_resamples_where_an_item_is_constant_are_counted_not_fatal():
    rng = np.random.default_rng(4)
    n = 40
    common = rng.standard_normal(n)
    rare = np.zeros(n)
    rare[0] = 1.0  # answered once: constant in about a third of the resamples
    data = pd.DataFrame(
        {
            "a1": common + rng.standard_normal(n),
            "a2": rare,
            "b1": common + rng.standard_normal(n),
            "b2": common + rng.standard_normal(n),
        }
    )
    spec = pls.PathModel({"A": ["a1", "a2"], "B": ["b1", "b2"]}, (("A", "B"),))
    boot = pls.bootstrap(data, spec, resamples=60, seed=0)
    assert 5 < boot.failed < 40
    assert np.isfinite(boot.path_coefficients["A", "B"].se)


def test_too_few_resamples_is_refused(survey):
    with pytest.raises(pls.PLSError, match="at least 2 resamples"):
        pls.bootstrap(survey, model(), resamples=1)
