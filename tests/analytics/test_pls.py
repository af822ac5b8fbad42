"""PLS path modeling against the plspm package, closed forms and a known structural model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from survey_app.analytics import pls
from tests.analytics.reference import plspm_fit
from tests.analytics.simulate import BLOCKS, PATHS, items

SCHEMES = ["path", "centroid", "factorial"]
FORMATIVE = {"QUAL": "B", "VAL": "B"}


@pytest.fixture(scope="module")
def survey():
    return items(400, seed=11, likert=(1, 10))


def fit(data, *, modes=None, scheme="path", scaled=True, scales=None, **kwargs):
    model = pls.PathModel(
        BLOCKS, tuple(PATHS), modes=modes or {}, scheme=scheme, scaled=scaled, scales=scales
    )
    return pls.estimate(data, model, tol=1e-12, max_iter=500, **kwargs)


def flat(nested):
    return {item: v for block in nested.values() for item, v in block.items()}


@pytest.mark.parametrize("scaled", [True, False], ids=["scaled", "centred"])
@pytest.mark.parametrize("modes", [{}, FORMATIVE], ids=["modeA", "modeB"])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_matches_plspm(survey, scheme, modes, scaled):
    ours = fit(survey, modes=modes, scheme=scheme, scaled=scaled)
    ref = plspm_fit(survey, BLOCKS, PATHS, modes=modes, scheme=scheme, scaled=scaled)
    outer = ref.outer_model()
    weights, loadings = flat(ours.outer_weights), flat(ours.loadings)
    for item in outer.index:
        assert weights[item] == pytest.approx(outer.loc[item, "weight"], abs=1e-6)
        assert loadings[item] == pytest.approx(outer.loc[item, "loading"], abs=1e-6)
    matrix = ref.path_coefficients()
    for (source, target), value in ours.path_coefficients.items():
        assert value == pytest.approx(matrix.loc[target, source], abs=1e-6)
    effects = ref.effects()
    assert len(ours.total_effects) == len(effects)
    for (source, target), value in ours.total_effects.items():
        row = effects.loc[f"{source} -> {target}"]
        assert value == pytest.approx(row["total"], abs=1e-6)
        assert ours.indirect_effects[source, target] == pytest.approx(row["indirect"], abs=1e-6)
        assert ours.direct_effects[source, target] == pytest.approx(row["direct"], abs=1e-6)
    summary = ref.inner_summary()
    for construct, value in ours.r_squared.items():
        assert value == pytest.approx(summary.loc[construct, "r_squared"], abs=1e-6)
    scores = ref.scores()[list(ours.scores.columns)]
    np.testing.assert_allclose(ours.scores.to_numpy(), scores.to_numpy(), atol=1e-5)


def test_single_item_block_is_the_item_itself(survey):
    result = fit(survey, scaled=False)
    assert result.loadings["LOY"] == {"loy1": pytest.approx(1.0)}
    # one centred item with unit-variance scores: weight = 1 / population sd
    assert result.outer_weights["LOY"]["loy1"] == pytest.approx(1 / survey["loy1"].std(ddof=0))
    assert result.reliability["LOY"].alpha is None
    assert result.reliability["LOY"].ave == pytest.approx(1.0)


def test_scores_are_standardised_and_loadings_are_correlations(survey):
    result = fit(survey)
    np.testing.assert_allclose(result.scores.mean(), 0, atol=1e-10)
    np.testing.assert_allclose(result.scores.std(ddof=0), 1, atol=1e-10)
    for construct, block in result.loadings.items():
        for item, value in block.items():
            assert value == pytest.approx(survey[item].corr(result.scores[construct]))


def test_paths_and_r_squared_are_ols_on_the_scores(survey):
    result = fit(survey, scheme="centroid")
    scores = result.scores
    for target in ("SAT", "VAL"):
        before = [s for s, t in PATHS if t == target]
        design = np.column_stack([np.ones(len(scores)), scores[before].to_numpy()])
        beta, *_ = np.linalg.lstsq(design, scores[target].to_numpy(), rcond=None)
        fitted = design @ beta
        r2 = 1 - np.sum((scores[target] - fitted) ** 2) / np.sum(scores[target] ** 2)
        for source, b in zip(before, beta[1:], strict=True):
            assert result.path_coefficients[source, target] == pytest.approx(b)
        assert result.r_squared[target] == pytest.approx(r2)


def test_recovers_known_path_coefficients():
    # nearly error-free items: the composites are the simulated latent variables
    data = items(20_000, seed=5, loading=0.99, spread=0.0)
    result = fit(data)
    for path, truth in PATHS.items():
        assert result.path_coefficients[path] == pytest.approx(truth, abs=0.03)
    # total effect of IMAG on SAT: direct 0.25 + 0.5*0.6*(0.35 + 0.5*0.3)
    assert result.total_effects["IMAG", "SAT"] == pytest.approx(0.25 + 0.3 * 0.5, abs=0.03)


def test_reliability_matches_closed_forms(survey):
    result = fit(survey)
    ref = plspm_fit(survey, BLOCKS, PATHS)
    unidim, summary, outer = ref.unidimensionality(), ref.inner_summary(), ref.outer_model()
    for construct, names in BLOCKS.items():
        reliability = result.reliability[construct]
        lam = outer.loc[names, "loading"].to_numpy()
        assert reliability.ave == pytest.approx(np.mean(lam**2))
        assert reliability.ave == pytest.approx(summary.loc[construct, "ave"])
        rho = lam.sum() ** 2 / (lam.sum() ** 2 + np.sum(1 - lam**2))
        assert reliability.rho == pytest.approx(rho)
        if len(names) > 1:
            z = (survey[names] - survey[names].mean()) / survey[names].std()
            k = len(names)
            alpha = k / (k - 1) * (1 - z.var().sum() / z.sum(axis=1).var())
            assert reliability.alpha == pytest.approx(alpha)
            assert reliability.alpha == pytest.approx(unidim.loc[construct, "cronbach_alpha"])


def test_formative_blocks_have_no_reflective_reliability(survey):
    result = fit(survey, modes=FORMATIVE)
    assert result.reliability["QUAL"] == pls.Reliability(None, None, None)
    assert result.reliability["SAT"].alpha is not None


def test_reversing_a_block_keeps_weights_and_flips_its_paths(survey):
    reversed_sat = survey.copy()
    reversed_sat[BLOCKS["SAT"]] = 11 - reversed_sat[BLOCKS["SAT"]]
    base, flipped = fit(survey), fit(reversed_sat)
    for item, value in base.outer_weights["SAT"].items():
        assert flipped.outer_weights["SAT"][item] == pytest.approx(value)
    assert flipped.path_coefficients["VAL", "SAT"] == pytest.approx(
        -base.path_coefficients["VAL", "SAT"]
    )


# ---------------------------------------------------------------------------------- index


def test_acsi_formula_by_hand():
    # weights 2:1:1 -> 0.5, 0.25, 0.25; means 8, 6, 7 on a 1-10 scale
    value = pls.acsi_index([2, 1, 1], [8, 6, 7], [1, 1, 1], [10, 10, 10])
    assert value == pytest.approx(100 * (0.5 * 7 + 0.25 * 5 + 0.25 * 6) / 9)


@pytest.mark.parametrize("scaled", [True, False], ids=["scaled", "centred"])
def test_index_uses_unstandardised_weights_and_declared_scale_ends(survey, scaled):
    scales = dict.fromkeys(survey.columns, (0.0, 10.0))  # declared 0-10; observed 1-10
    result = fit(survey, scaled=scaled, scales=scales)
    outer = plspm_fit(survey, BLOCKS, PATHS, scaled=scaled).outer_model()
    for construct, names in BLOCKS.items():
        w = outer.loc[names, "weight"].to_numpy()
        if scaled:
            w = w / survey[names].std(ddof=0).to_numpy()  # back to the items' own scale
        w = w / w.sum()
        expected = 100 * (w @ survey[names].mean().to_numpy()) / 10
        index = result.index[construct]
        assert index.value == pytest.approx(expected, abs=1e-6)
        assert sum(index.weights.values()) == pytest.approx(1.0)
        assert not index.flagged
        person = 100 * (survey[names].to_numpy() @ w) / 10
        np.testing.assert_allclose(result.respondent_index[construct], person, atol=1e-6)
        assert result.respondent_index[construct].mean() == pytest.approx(index.value)


def test_negative_outer_weight_is_flagged(survey):
    data = survey.copy()
    # sat3 becomes a reverse-coded item answered as it was asked: a negative weight in SAT
    data["sat3"] = 11 - data["sat3"]
    result = fit(data, scales=dict.fromkeys(data.columns, (1.0, 10.0)))
    assert result.outer_weights["SAT"]["sat3"] < 0
    assert result.index["SAT"].negative_weights == ("sat3",)
    assert result.index["SAT"].flagged
    assert result.negative_weight_flags == {"SAT": ("sat3",)}
    assert not result.index["IMAG"].flagged


def test_out_of_scale_answer_is_refused(survey):
    with pytest.raises(pls.DataError, match="imag1 holds .*outside its declared scale 1-5"):
        fit(survey, scales=dict.fromkeys(survey.columns, (1.0, 5.0)))


# ------------------------------------------------------------------------------- missing


@pytest.fixture(scope="module")
def holes(survey):
    data = survey.copy()
    rng = np.random.default_rng(3)
    data = data.mask(rng.random(data.shape) < 0.02)
    return data


def test_listwise_deletion_equals_estimating_the_complete_rows(holes):
    result = fit(holes, missing="listwise")
    complete = holes.dropna()
    expected = fit(complete)
    assert result.missing.rows_dropped == len(holes) - len(complete) > 0
    assert result.n == len(complete)
    assert result.path_coefficients == pytest.approx(expected.path_coefficients)
    assert list(result.scores.index) == list(complete.index)


def test_mean_imputation_fills_item_means_and_counts_them(holes):
    result = fit(holes, missing="mean")
    expected = fit(holes.fillna(holes.mean()))
    assert result.n == len(holes)
    assert result.missing.imputed == {c: int(n) for c, n in holes.isna().sum().items() if n}
    assert flat(result.outer_weights) == pytest.approx(flat(expected.outer_weights))


# -------------------------------------------------------------------------------- errors


def test_zero_variance_item_is_named(survey):
    data = survey.assign(qual2=4.0)
    with pytest.raises(pls.ZeroVarianceError, match="item qual2 .*QUAL.*zero variance") as caught:
        fit(data)
    assert isinstance(caught.value, ValueError)
    assert caught.value.item == "qual2"


def test_collinear_formative_block_is_refused(survey):
    data = survey.assign(val2=2 * survey["val1"] + 1)
    with pytest.raises(pls.ZeroVarianceError, match="block VAL is degenerate"):
        fit(data, modes=FORMATIVE)


def test_non_convergence_says_so(survey):
    model = pls.PathModel(BLOCKS, tuple(PATHS))
    with pytest.raises(pls.ConvergenceError, match="did not converge within 2 iterations"):
        pls.estimate(survey, model, max_iter=2, tol=1e-15)


def test_missing_and_non_numeric_columns_are_named(survey):
    model = pls.PathModel(BLOCKS, tuple(PATHS))
    with pytest.raises(pls.DataError, match="column val2 of the model is not in the data"):
        pls.estimate(survey.drop(columns="val2"), model)
    with pytest.raises(pls.DataError, match="column sat1 is not numeric"):
        pls.estimate(survey.assign(sat1="high"), model)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"blocks": {"A": ["a"]}, "paths": []}, "at least two constructs"),
        ({"blocks": {"A": ["a"], "B": ["b"]}, "paths": [["A", "C"]]}, "C, which is not a block"),
        ({"blocks": {"A": ["a"], "B": ["a"]}, "paths": [["A", "B"]]}, "item a appears in blocks"),
        (
            {"blocks": {"A": ["a"], "B": ["b"]}, "paths": [["A", "B"], ["B", "A"]]},
            "cycle",
        ),
        ({"blocks": {"A": ["a"], "B": ["b"], "C": ["c"]}, "paths": [["A", "B"]]}, "C has no path"),
        (
            {"blocks": {"A": ["a"], "B": ["b"]}, "paths": [["A", "B"]], "modes": {"A": "C"}},
            "mode of A",
        ),
        ({"blocks": {"A": ["a"], "B": ["b"]}, "paths": [["A", "B"]], "scheme": "x"}, "scheme"),
        ({"blocks": {"A": ["a"], "B": ["b"]}, "paths": [["A", "B"]], "shceme": "path"}, "shceme"),
        ({"blocks": {"A": ["a"], "B": ["b"]}, "paths": [["A", "B"]], "scale": {"min": 5}}, "max"),
        (
            {
                "blocks": {"A": ["a"], "B": ["b"]},
                "paths": [["A", "B"]],
                "scale": {"min": 5, "max": 1},
            },
            "min < max",
        ),
        ({"blocks": {"A": "a", "B": ["b"]}, "paths": [["A", "B"]]}, "block A must list"),
    ],
)
def test_invalid_models_are_explained(spec, message):
    with pytest.raises(pls.ModelError, match=message):
        pls.PathModel.from_dict(spec)


def test_model_file_defaults():
    model = pls.PathModel.from_dict(
        {"blocks": {"A": ["a1", "a2"], "B": ["b"]}, "paths": [["A", "B"]]}
    )
    assert (model.scheme, model.scaled, model.scales) == ("path", True, None)
    assert model.modes == {"A": "A", "B": "A"}


def test_estimation_without_scale_has_no_index(survey):
    result = fit(survey)
    assert result.index == {}
    assert result.respondent_index is None
    assert isinstance(result.scores, pd.DataFrame)


def test_duplicated_reflective_item_is_estimable(survey):
    data = survey.assign(imag3=survey["imag2"])
    result = fit(data)
    assert result.outer_weights["IMAG"]["imag2"] == pytest.approx(
        result.outer_weights["IMAG"]["imag3"]
    )


def test_blocks_without_any_correlation_break_down_with_a_message():
    # columns of a Hadamard matrix: centred and exactly uncorrelated with each other
    h = np.array([[1, 1], [1, -1]])
    h8 = np.kron(np.kron(h, h), h)
    data = pd.DataFrame(h8[:, 1:5], columns=["a1", "a2", "b1", "b2"])
    model = pls.PathModel({"A": ["a1", "a2"], "B": ["b1", "b2"]}, (("A", "B"),))
    with pytest.raises(pls.ConvergenceError, match="broke down.*no variance"):
        pls.estimate(data, model)


def test_predecessors_with_identical_scores_are_refused():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((200, 2))
    c = a.sum(axis=1)[:, None] + rng.standard_normal((200, 2))
    data = pd.DataFrame(np.hstack([a, a, c]), columns=["a1", "a2", "b1", "b2", "c1", "c2"])
    model = pls.PathModel(
        {"A": ["a1", "a2"], "B": ["b1", "b2"], "C": ["c1", "c2"]}, (("A", "C"), ("B", "C"))
    )
    with pytest.raises(pls.DataError, match="perfectly collinear"):
        pls.estimate(data, model)
