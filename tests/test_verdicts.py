"""Verdicts made on plain values: assert_close-style messages, recognised mistakes, gradcheck, scoring."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.checks import GradcheckConsistent, Match, compare, judge_check, recognise
from grader.payload import Numbers, Outcome, Value, plain
from grader.probes import Call, SelfGradcheck, run_check
from grader.rubric import Check, case, randn

CPU = torch.device("cpu")

shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3)


def tensor(shape, seed):
    return randn(torch.Generator().manual_seed(seed), *shape)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 10_000))
def test_a_flipped_sign_is_named(shape, seed):
    e = tensor(shape, seed)
    assert "sign is flipped" in recognise("out", plain(-e), plain(e), {}, [])


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 10_000), factor=st.sampled_from([2.0, 0.5]))
def test_a_factor_of_two_is_named(shape, seed, factor):
    e = tensor(shape, seed)
    assert "factor of 2" in recognise("out", plain(e * factor), plain(e), {}, [])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 5), m=st.integers(2, 5), seed=st.integers(0, 10_000))
def test_a_transpose_is_named(n, m, seed):
    e = tensor((n, m), seed)
    if n == m and torch.allclose(e, e.T):
        return
    assert "transpose" in recognise("out", plain(e.T.contiguous()), plain(e), {}, [])


def test_no_hint_for_an_unrelated_wrong_answer():
    e = tensor((4, 3), 1)
    assert recognise("out", plain(tensor((4, 3), 2)), plain(e), {}, []) == ""


def test_mismatch_messages_read_like_assert_close():
    e = torch.zeros(4, 5, dtype=torch.float64)
    a = e.clone()
    a[2, 3] = 0.5
    message = compare("out", plain(a), plain(e), CPU)
    assert "Mismatched elements: 1 / 20 (5.0%)" in message
    assert "Greatest absolute difference: 0.5 at index (2, 3)" in message
    assert "At index (2, 3): got 0.5, expected 0." in message
    assert "shape" in compare("out", plain(torch.zeros(5, 4)), plain(torch.zeros(4, 5)), CPU)
    assert "dtype" in compare("out", plain(torch.zeros(3)), plain(torch.zeros(3, dtype=torch.float64)), CPU)
    assert compare("out", plain(e.numpy()), plain(e), CPU).startswith("`out` is a ndarray (float64, 4x5), expected a Tensor")
    assert compare("out", plain(None), plain(e), CPU) == "`out` is a NoneType, expected a Tensor (float64, 4x5 on cpu)"
    assert compare("out", plain(e), plain(e), CPU) == ""


def test_a_tensor_on_the_wrong_device_is_refused():
    value = Value("Tensor", torch.zeros(2), "cpu")
    assert "on cpu but the inputs were on cuda" in compare("out", value, plain(torch.zeros(2)), torch.device("cuda"))


def test_numbers_a_probe_read_off_student_code_belong_to_no_device():
    cuda = torch.device("cuda")  # only a name here: nothing is allocated on it
    sizes = plain(Numbers([4, 4, 2]))
    assert sizes.device is None and compare("batch_sizes", sizes, plain(torch.tensor([4, 4, 2])), cuda) == ""
    assert "Tensor-likes are not equal" in compare("batch_sizes", plain(Numbers([4, 4, 3])), sizes, cuda)
    assert "on cpu but the inputs were on cuda" in compare("out", plain(torch.tensor([4, 4, 2])), sizes, cuda)


def test_nan_where_finite_values_are_expected_is_named():
    e = torch.ones(3)
    message = Match().verdict(Outcome(values={"out": plain(torch.tensor([1.0, float("nan"), 1.0]))}),
                              {"out": plain(e)}, {}, CPU).message
    assert "NaN or inf" in message


class Halves(torch.autograd.Function):
    """A forward with a backward that is wrong by a factor of 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**2

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x


class Right(Halves):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * g * x


def gradcheck_of(function):
    module = type("m", (), {"F": function})
    check = Check("F.gradcheck", "F.backward", 1, "gradcheck", SelfGradcheck("F.apply", ["x"]),
                  GradcheckConsistent(["x"]), lambda g: {"x": randn(g, 3, 2)}, (case(0),))
    return judge_check("ex99", check, run_check(check, module, "cpu"), [None], "cpu")


def test_gradcheck_accepts_a_right_backward_and_locates_a_wrong_one():
    assert gradcheck_of(Right).passed
    result = gradcheck_of(Halves)
    assert result.status == "failed" and result.points == 0
    assert "your backward disagrees with finite differences of your forward in 6 of 36 Jacobian entries" in result.message
    assert "d out[" in result.message and "/ d x[" in result.message


def test_a_check_scores_only_when_every_case_passes():
    check = Check("double", "double", 3, "doubles", Call("double", ["x"]), Match(),
                  lambda g, n=2: {"x": randn(g, n)}, (case(0), case(1, n=5)))
    good = type("m", (), {"double": staticmethod(lambda x: 2 * x)})
    bad = type("m", (), {"double": staticmethod(lambda x: 2 * x if x.numel() == 2 else x)})
    expected = [o.values for o in run_check(check, good, "cpu")]
    assert judge_check("ex99", check, run_check(check, good, "cpu"), expected, "cpu").points == 3
    result = judge_check("ex99", check, run_check(check, bad, "cpu"), expected, "cpu")
    assert result.points == 0 and result.message.startswith("with inputs x: float64[5] (seed 1):")


def test_student_exceptions_become_verdicts_that_point_at_the_line(tmp_path):
    from grader.course import import_file

    path = tmp_path / "ex99_demo.py"
    path.write_text("def double(x):\n    y = x * 2\n    return y.no_such_method()\n")
    module = import_file(path, "ex99_demo_test")
    check = Check("double", "double", 1, "doubles", Call("double", ["x"]), Match(), lambda g: {"x": randn(g, 2)})
    outcome = run_check(check, module, "cpu")[0]
    assert outcome.status == "error"
    assert outcome.message.startswith("AttributeError: 'Tensor' object has no attribute 'no_such_method'")
    assert "in double(), ex99_demo.py line 3: return y.no_such_method()" in outcome.message
