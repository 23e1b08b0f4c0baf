"""Inputs standing in for a GPU's: NumPy and matplotlib read them only after ``.cpu()``, on any machine."""

import types

import matplotlib
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import rubric
from grader.checks import judge_check
from grader.offhost import REFUSAL, OffHost, place
from grader.probes import Call, run_check
from grader.rubric import Check, case, randn
from grader.checks import Match

matplotlib.use("Agg")


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=6))
def test_results_stay_off_the_host_until_copied(values):
    x = place(torch.tensor(values))
    assert isinstance(x * 2 + 1, OffHost) and isinstance(torch.nn.functional.relu(x)[:1], OffHost)
    for copied in (x.cpu(), x.to("cpu"), x.to(torch.device("cpu")), x.to(device="cpu"), x.detach().cpu()):
        assert type(copied) is torch.Tensor and np.asarray(copied).tolist() == pytest.approx(values)
    assert x.numpy(force=True).tolist() == pytest.approx(values)
    assert x.tolist() == pytest.approx(values) and float(x.sum()) == pytest.approx(sum(values), abs=1e-2)


@pytest.mark.parametrize("convert", [np.asarray, lambda t: t.numpy(), lambda t: t.detach().numpy(),
                                     lambda t: __import__("matplotlib.pyplot").pyplot.subplots()[1].plot(t)])
def test_numpy_and_matplotlib_refuse_what_was_not_copied(convert):
    with pytest.raises(TypeError, match="call .cpu"):
        convert(place(torch.arange(3.0)))


def _module(**functions):
    m = types.ModuleType("student")
    m.__dict__.update(functions)
    return m


def test_a_function_that_forgets_cpu_fails_an_offhost_case_on_a_cpu_machine():
    check = Check("to_numpy", "to_numpy", 1, "a copy", Call("to_numpy", ["t"]), Match(),
                  lambda g: {"t": randn(g, 3)}, (case(0), case(1, device="offhost")))
    right = _module(to_numpy=lambda t: t.detach().cpu().numpy().copy())
    wrong = _module(to_numpy=lambda t: t.detach().numpy().copy())
    expected = [o.values for o in run_check(check, right, "cpu")]
    assert judge_check("ex", check, run_check(check, right, "cpu"), expected, "cpu").passed
    verdict = judge_check("ex", check, run_check(check, wrong, "cpu"), expected, "cpu")
    assert not verdict.passed and REFUSAL.split(":")[0] in verdict.message
    assert "stand-in for a GPU" in check.cases[1].describe()


def test_the_rubrics_that_plot_or_convert_to_numpy_try_an_offhost_case():
    wanted = [("ex01_tensors_autograd", "to_numpy"), ("ex05_heteroscedastic", "plot_band"),
              ("ex08_rnn_sunspots", "plot_forecast"), ("ex09_attention", "plot_attention"),
              ("ex10_data_pipeline", "plot_augmented"), ("ex11_checkpoints", "plot_resume"),
              ("ex12_gradient_flow", "plot_gradient_flow"), ("ex12_gradient_flow", "plot_latent")]
    for name, target in wanted:
        checks = [c for c in rubric.load(name).selected(hidden=True) if c.target == target]
        assert any(k.device == "offhost" for c in checks for k in c.cases), name
