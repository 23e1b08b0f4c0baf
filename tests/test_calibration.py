"""Calibration: every training threshold has a committed record, over at least 5 seeds, with the margin the rubric declares."""

import pytest
from conftest import ROOT, run_grader

from grader import calibration, rubric

TRAINING_CHECKS = [(e, c) for e in rubric.load_all() for c in calibration.training_checks(e)]


def test_every_training_exercise_has_calibrated_checks():
    assert {e.key for e, _ in TRAINING_CHECKS} == {"ex04", "ex05", "ex06", "ex07", "ex08", "ex09", "ex12"}


def record_of(exercise, check) -> dict:
    record = calibration.load()["devices"]["cpu"]["checks"].get(f"{exercise.name}::{check.id}")
    assert record is not None, f"{exercise.name}::{check.id} was never calibrated: run `grader calibrate`"
    return record


@pytest.mark.parametrize("exercise, check", TRAINING_CHECKS, ids=lambda x: getattr(x, "key", getattr(x, "id", "")))
def test_the_recorded_margin_is_at_least_what_the_rubric_declares(exercise, check):
    record = record_of(exercise, check)
    judge = check.judge
    assert set(record["measures"]) == {m.metric for m in judge.measures}, "the rubric changed since calibration"
    assert len(set(record["seeds"])) >= calibration.MIN_SEEDS
    assert {c.seed for c in check.cases} <= set(record["seeds"])
    assert record["reference_sha256"] == calibration.file_sha256(ROOT / "reference" / f"{exercise.name}.py"), \
        f"reference/{exercise.name}.py changed since it was calibrated: run `grader calibrate --only {exercise.key}`"
    for m in judge.measures:
        entry = record["measures"][m.metric]
        assert (entry["threshold"], entry["higher_is_better"]) == (m.threshold, m.higher_is_better), \
            f"the threshold of {m.metric} changed since calibration"
        assert len(entry["values"]) == len(record["seeds"])
        worst = min(entry["values"], key=m.margin_of)
        assert entry["worst"] == worst and entry["margin"] == pytest.approx(m.margin_of(worst))
        assert entry["margin"] >= m.margin > 0, (
            f"the reference's worst {m.metric} ({worst:.4g}) is only {entry['margin']:.4g} beyond the threshold "
            f"{m.threshold:.4g}; the rubric requires {m.margin:.4g}")


@pytest.mark.parametrize("exercise, check", TRAINING_CHECKS, ids=lambda x: getattr(x, "key", getattr(x, "id", "")))
def test_every_threshold_sits_beyond_what_needs_no_learning_or_the_check_verifies_the_model(exercise, check):
    """A baseline (majority class, persistence, the generating function...) that reaches a threshold would pass
    the check without learning: only a check that verifies the asked model may let it."""
    record, judge = record_of(exercise, check), check.judge
    assert judge.baselines, f"{exercise.name}::{check.id} records no baseline"
    assert record["asked_model"] == bool(judge.asked_model)
    for m in judge.measures:
        scored = record["measures"][m.metric]["baselines"]
        assert set(scored) == set(judge.baselines)
        for name, b in scored.items():
            if b["best"] is None:  # the baseline cannot even be measured: it fails
                continue
            assert b["margin"] == pytest.approx(m.margin_of(b["best"]))
            if not judge.asked_model:
                assert b["margin"] <= -judge.baseline_margin, (
                    f"{name} reaches {b['best']:.4g} on {m.metric}, within {judge.baseline_margin:g} of the "
                    f"threshold {m.threshold:g}: raise the threshold or verify the asked model")
    assert calibration.shortfalls({f"{exercise.name}::{check.id}": record}) == []


def test_a_baseline_that_reaches_the_threshold_is_a_shortfall_unless_the_model_is_verified():
    measure = {"threshold": 0.9, "higher_is_better": True, "required_margin": 0.02, "worst": 0.97, "margin": 0.07,
               "baselines": {"1-nearest neighbour": {"best": 0.95, "margin": 0.05}}}
    entry = {"measures": {"accuracy": measure}, "asked_model": False, "baseline_margin": 0.0}
    assert "1-nearest neighbour reaches 0.95" in calibration.shortfalls({"ex::fit": entry})[0]
    assert calibration.shortfalls({"ex::fit": {**entry, "asked_model": True}}) == []


def test_the_calibration_table_names_every_check():
    entries = calibration.load()["devices"]["cpu"]["checks"]
    text = calibration.table(entries)
    assert text.splitlines()[0].split()[:3] == ["check", "metric", "threshold"]
    assert all(name in text for name in entries)


def test_calibrate_refuses_fewer_than_five_seeds():
    run = run_grader("calibrate", "--only", "ex04", "--seeds", "3", "--dry-run")
    assert run.returncode == 2 and "at least 5 seeds" in run.stderr and "Traceback" not in run.stderr


def sunspot_baselines():
    """One-step-ahead RMSE on the held-out years of persistence and of AutoReg(9) fitted on the training years."""
    from statsmodels.tsa.ar_model import AutoReg

    from grader import data

    split = data.sunspots_split()
    series = data.sunspots()[1].numpy()
    n_train = len(split.train)
    truth = split.test.numpy()
    persistence = float((((series[n_train - 1:-1] - truth) ** 2).mean()) ** 0.5)
    fitted = AutoReg(split.train.numpy(), lags=9, trend="c").fit()
    ar9 = AutoReg(series, lags=9, trend="c").predict(params=fitted.params, start=n_train, end=len(series) - 1)
    return persistence, float((((ar9 - truth) ** 2).mean()) ** 0.5)


def test_the_sunspot_reference_beats_persistence_widely_and_nears_autoreg9():
    persistence, ar9 = sunspot_baselines()
    assert 33 < persistence < 34 and 19 < ar9 < 20  # 33.3 and 19.4 on these held-out years
    record = calibration.load()["devices"]["cpu"]["checks"]["ex08_rnn_sunspots::test_rmse"]
    held_out = record["measures"]["held-out RMSE"]
    assert held_out["worst"] < persistence - 10
    assert held_out["median"] < ar9 + 1.0
    assert held_out["threshold"] < persistence - 5
    assert held_out["baselines"]["persistence"]["best"] == pytest.approx(persistence, abs=0.05)
