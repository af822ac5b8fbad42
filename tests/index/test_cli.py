"""``flask index estimate``: JSON output checked against plspm, and every kind of bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.analytics.reference import plspm_fit
from tests.analytics.simulate import BLOCKS, PATHS, items

KEYS = {
    "path_coefficients",
    "outer_weights",
    "loadings",
    "r_squared",
    "total_effects",
    "reliability",
    "index",
    "diagnostics",
}


@pytest.fixture(scope="module")
def survey():
    return items(300, seed=31, likert=(1, 7))


def model_spec(**changes):
    spec = {
        "blocks": BLOCKS,
        "modes": {c: "A" for c in BLOCKS},
        "paths": [list(p) for p in PATHS],
        "scheme": "centroid",
        "scaled": False,
        "scale": {"min": 1, "max": 7},
    }
    spec.update(changes)
    return spec


@pytest.fixture
def files(tmp_path, survey):
    def write(data=None, spec=None, *, raw_csv=None, raw_model=None):
        data_path, model_path = tmp_path / "items.csv", tmp_path / "model.json"
        if raw_csv is not None:
            data_path.write_text(raw_csv)
        else:
            (survey if data is None else data).to_csv(data_path)
        if raw_model is not None:
            model_path.write_text(raw_model)
        else:
            model_path.write_text(json.dumps(model_spec() if spec is None else spec))
        return ["--data", str(data_path), "--model", str(model_path)]

    return write


def run(runner, args):
    return runner.invoke(args=["index", "estimate", *args])


def test_estimate_prints_the_documented_json(runner, files, survey):
    result = run(runner, files())
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == KEYS
    ref = plspm_fit(survey, BLOCKS, PATHS, scheme="centroid", scaled=False)
    matrix, outer, effects = ref.path_coefficients(), ref.outer_model(), ref.effects()
    assert set(out["path_coefficients"]) == {f"{s}->{t}" for s, t in PATHS}
    for source, target in PATHS:
        assert out["path_coefficients"][f"{source}->{target}"] == pytest.approx(
            matrix.loc[target, source], abs=1e-5
        )
    assert out["total_effects"]["IMAG->LOY"] == pytest.approx(
        effects.loc["IMAG -> LOY", "total"], abs=1e-5
    )
    for construct, names in BLOCKS.items():
        assert list(out["outer_weights"][construct]) == names
        for name in names:
            assert out["outer_weights"][construct][name] == pytest.approx(
                outer.loc[name, "weight"], abs=1e-5
            )
            assert out["loadings"][construct][name] == pytest.approx(
                outer.loc[name, "loading"], abs=1e-5
            )
        assert set(out["reliability"][construct]) == {"alpha", "rho", "ave"}
        w = outer.loc[names, "weight"].to_numpy()
        w = w / w.sum()
        expected = 100 * (w @ survey[names].mean().to_numpy() - 1) / 6
        assert out["index"][construct] == pytest.approx(expected, abs=1e-4)
    assert set(out["r_squared"]) == {"EXPE", "QUAL", "VAL", "SAT", "LOY"}
    assert out["diagnostics"]["respondents"] == 300
    assert out["diagnostics"]["negative_weights"] == {}


def test_bootstrap_is_seeded_and_summarised(runner, files):
    args = [*files(), "--bootstrap", "30", "--seed", "5"]
    first, again = run(runner, args), run(runner, args)
    assert first.exit_code == 0, first.output
    assert first.stdout == again.stdout
    boot = json.loads(first.stdout)["bootstrap"]
    assert (boot["resamples"], boot["seed"], boot["failed"]) == (30, 5, 0)
    interval = boot["path_coefficients"]["VAL->SAT"]
    low, high = interval["ci95"]
    assert interval["se"] > 0 and low < high
    assert set(boot) >= {"outer_weights", "loadings", "total_effects", "r_squared", "index"}
    assert set(boot["outer_weights"]["SAT"]) == set(BLOCKS["SAT"])
    other = json.loads(run(runner, [*files(), "--bootstrap", "30", "--seed", "6"]).stdout)
    assert other["bootstrap"]["path_coefficients"]["VAL->SAT"] != interval


def test_missing_answers_follow_the_chosen_strategy(runner, files, survey):
    data = survey.copy()
    data.loc[[3, 8], "sat2"] = np.nan
    listwise = json.loads(run(runner, files(data)).stdout)["diagnostics"]
    assert (listwise["respondents"], listwise["rows_dropped"]) == (298, 2)
    mean = json.loads(run(runner, [*files(data), "--missing", "mean"]).stdout)["diagnostics"]
    assert (mean["respondents"], mean["imputed"]) == (300, {"sat2": 2})


def test_negative_weight_is_flagged_in_output_and_warning(runner, files, survey):
    data = survey.assign(sat3=8 - survey["sat3"])
    result = run(runner, files(data))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["diagnostics"]["negative_weights"] == {"SAT": ["sat3"]}
    assert "SAT has negative outer weights (sat3)" in result.stderr


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no data file", "cannot read"),
        ("no model file", "cannot read"),
        ("bad json", "is not valid JSON"),
        ("unknown column", "column loy1 of the model is not in"),
        ("text cell", "column qual2, line 6 of"),
        ("cycle", "cycle"),
        ("constant item", "item val1 (block VAL) has the same answer"),
        ("out of scale", "outside its declared scale 1-7"),
        ("not converged", "did not converge within 1 iterations"),
        ("empty csv", "is not a readable CSV file"),
    ],
)
def test_bad_input_gives_a_clear_error(runner, files, survey, tmp_path, case, message):
    args = files()
    if case == "no data file":
        args[1] = str(tmp_path / "absent.csv")
    elif case == "no model file":
        args[3] = str(tmp_path / "absent.json")
    elif case == "bad json":
        args = files(raw_model='{"blocks": {')
    elif case == "unknown column":
        args = files(survey.drop(columns="loy1"))
    elif case == "text cell":
        data = survey.astype(object)
        data.loc[4, "qual2"] = "good"
        args = files(data)
    elif case == "cycle":
        args = files(spec=model_spec(paths=[*model_spec()["paths"], ["LOY", "IMAG"]]))
    elif case == "constant item":
        args = files(survey.assign(val1=5))
    elif case == "out of scale":
        args = files(survey.assign(imag2=survey["imag2"] + 3))
    elif case == "not converged":
        args = [*files(), "--max-iter", "1", "--tol", "1e-15"]
    elif case == "empty csv":
        args = files(raw_csv="")
    result = run(runner, args)
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)  # a click error, not a traceback
    assert message in result.output
    assert "Traceback" not in result.output
