"""Checks a CPU-only machine can make: results on the inputs' device (cases on the meta device), results detached
or attached as the reference's are, and parameters that all influence a model's output."""

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file
from torch import nn

from grader import rubric
from grader.checks import Match, compare, describe_inputs, judge_check
from grader.figures import text_of
from grader.payload import (PayloadError, Value, plain, read_outcomes, value_from_json, value_to_json,
                            write_outcomes)
from grader.payload import Outcome
from grader.probes import Call, Trial, run_check, standing_in, unused_parameters
from grader.rubric import Check, case, randn

META, CPU = torch.device("meta"), torch.device("cpu")
LIMIT = 1 << 20


def test_a_meta_tensor_travels_as_its_device_shape_and_dtype(tmp_path):
    value = plain(torch.empty(3, 4, dtype=torch.float32, device="meta").requires_grad_())
    assert value.dataless and value.tensor is None
    assert (value.shape, value.dtype, value.device) == ((3, 4), torch.float32, "meta")
    assert value.describe() == "a Tensor (float32, 3x4 on meta)"
    path = tmp_path / "000.safetensors"
    write_outcomes(path, [Outcome("ok", {"y": value})])
    back = read_outcomes(path, 1, LIMIT)[0].values["y"]
    assert (back.shape, back.dtype, back.device, back.requires_grad) == ((3, 4), torch.float32, "meta", True)
    again = value_from_json(json.loads(json.dumps(value_to_json(value))))
    assert (again.shape, again.dtype, again.requires_grad) == ((3, 4), torch.float32, True) and again.dataless


@pytest.mark.parametrize("info, problem", [
    ({"kind": "Tensor", "device": "cpu", "shape": [2], "dtype": "float32"}, "not a meta tensor"),
    ({"kind": "Tensor", "device": "meta", "shape": [2], "dtype": "float32", "tensor": True}, "not a meta tensor"),
    ({"kind": "Tensor", "device": "meta", "shape": [-1], "dtype": "float32"}, "shape"),
    ({"kind": "Tensor", "device": "meta", "shape": [True], "dtype": "float32"}, "shape"),
    ({"kind": "Tensor", "device": "meta", "shape": "2x3", "dtype": "float32"}, "shape"),
    ({"kind": "Tensor", "device": "meta", "shape": [2], "dtype": "complex64"}, "dtype"),
    ({"kind": "Tensor", "device": "meta", "shape": [2]}, "dtype"),
])
def test_a_forged_tensor_without_data_is_refused(tmp_path, info, problem):
    path = tmp_path / "000.safetensors"
    save_file({}, str(path), metadata={"outcomes": json.dumps([{"status": "ok", "values": {"y": info}}])})
    with pytest.raises(PayloadError, match=problem):
        read_outcomes(path, 1, LIMIT)


def meta(*shape, dtype=torch.float64, requires_grad=False):
    return plain(torch.empty(*shape, dtype=dtype, device="meta").requires_grad_(requires_grad))


def test_results_from_meta_inputs_are_judged_on_device_dtype_and_shape():
    expected = meta(2, 3)
    assert compare("out", meta(2, 3), expected, META) == ""
    on_cpu = compare("out", plain(torch.zeros(2, 3, dtype=torch.float64)), expected, META)
    assert "is on cpu but the inputs were on meta" in on_cpu and "no data" in on_cpu
    assert "dtype float32 where float64" in compare("out", meta(2, 3, dtype=torch.float32), expected, META)
    assert "shape (3, 2) where (2, 3)" in compare("out", meta(3, 2), expected, META)
    assert "attached to the autograd graph" in compare("out", meta(2, 3, requires_grad=True), expected, META)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3), seed=st.integers(0, 1000))
def test_right_values_attached_or_detached_unlike_the_reference_fail_and_say_so(shape, seed):
    t = randn(torch.Generator().manual_seed(seed), *shape)
    detached, attached = plain(t), plain(t.clone().requires_grad_())
    assert compare("w", detached, detached, CPU) == "" and compare("w", attached, attached, CPU) == ""
    assert "still attached to the autograd graph" in compare("w", attached, detached, CPU)
    assert "does not track gradients" in compare("w", detached, attached, CPU)
    assert "requires_grad" not in compare("w", plain(t + 1), detached, CPU)  # wrong values: the values are the news


def test_a_recorded_expectation_keeps_requires_grad():
    value = plain(torch.ones(2).requires_grad_())
    assert value_from_json(value_to_json(value)).requires_grad
    assert "requires_grad" not in value_to_json(plain(torch.ones(2)))  # the files students get stay as they were


def grid(n_rows, n_cols, device):
    return torch.arange(n_rows * n_cols, dtype=torch.float32, device=device).reshape(n_rows, n_cols)


def grid_on_cpu(n_rows, n_cols, device):
    return torch.arange(n_rows * n_cols, dtype=torch.float32).reshape(n_rows, n_cols)


def module(**functions):
    import types

    m = types.ModuleType("student")
    m.__dict__.update(functions)
    return m


def test_a_case_on_the_meta_device_catches_a_function_that_ignores_the_device_on_a_cpu_run():
    check = Check("grid", "make_grid", 1, "a grid", Call("make_grid", ["n_rows", "n_cols", "device"]), Match(),
                  lambda g, n_rows=2, n_cols=3: {"n_rows": n_rows, "n_cols": n_cols},
                  (case(0), case(0, n_rows=3, n_cols=1, device="meta")))
    expected = [o.values for o in run_check(check, module(make_grid=grid), "cpu")]
    assert expected[1]["out"].dataless and expected[1]["out"].device == "meta"
    right = judge_check("ex", check, run_check(check, module(make_grid=grid), "cpu"), expected, "cpu")
    wrong = judge_check("ex", check, run_check(check, module(make_grid=grid_on_cpu), "cpu"), expected, "cpu")
    assert right.passed and not wrong.passed
    assert "inputs on meta" in check.cases[1].describe() and "is on cpu but the inputs were on meta" in wrong.message


def test_inputs_on_meta_are_described_without_reading_their_values():
    check = Check("f", "f", 1, "f", Call("f", ["x"]), Match(), lambda g: {"x": randn(g), "y": randn(g, 2)},
                  (case(3, device="meta"),))
    inputs = check.make_inputs(check.cases[0], "cpu")
    assert all(t.is_meta for t in inputs.values())
    assert describe_inputs(inputs, check.cases[0]) == "x: float64[] on meta, y: float64[2] on meta (seed 3)"


def test_every_exercise_checks_results_on_the_inputs_device_in_a_hidden_case():
    for exercise in rubric.load_all():
        on_meta = [c.id for c in exercise.checks if any(k.device == "meta" for k in c.cases)]
        assert on_meta and all(exercise.check(i).hidden for i in on_meta), exercise.name


class TwoLayers(nn.Module):
    def __init__(self, skip_second: bool):
        super().__init__()
        self.first, self.second, self.skip = nn.Linear(3, 4), nn.Linear(4, 2), skip_second
        self.head = nn.Linear(4 if skip_second else 2, 1)

    def forward(self, x):
        h = torch.tanh(self.first(x))
        return self.head(h if self.skip else self.second(h))


def test_parameters_that_never_influence_the_output_are_named():
    x = torch.randn(5, 3)
    used = TwoLayers(skip_second=False)
    skipping = TwoLayers(skip_second=True)
    assert text_of(unused_parameters(used, [used(x)]).tensor) == ""
    assert text_of(unused_parameters(skipping, [skipping(x)]).tensor) == "second.weight, second.bias"
    with torch.no_grad():
        untracked = used(x)
    assert "first.weight" in text_of(unused_parameters(used, [untracked]).tensor)


def test_a_stand_in_is_put_back_whatever_happens():
    student = module(minimize=len)
    trial = Trial(student, {}, CPU, 0)
    with pytest.raises(RuntimeError):
        with standing_in(trial, "minimize", abs):
            assert student.minimize is abs
            raise RuntimeError("the student's fit failed")
    assert student.minimize is len
    with standing_in(trial, "helper", abs):
        assert student.helper is abs
    assert not hasattr(student, "helper")


def test_a_value_that_is_not_a_tensor_is_still_compared_by_kind():
    assert "expected a Tensor" in compare("out", Value("list"), meta(2), META)
