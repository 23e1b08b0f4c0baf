"""Hints that are right or silent: each hint fires at a mistake its model reproduces, at every failing case, and at
no other; a failure shows what it was called with; global torch settings a function leaves behind are put back and
told on that function's check only."""

import math
import os
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, make_class, reference_files, run_student_pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import rubric, torchstate
from grader.checks import Match, compare, judge_check, near, recognise
from grader.course import import_file
from grader.expected import Expectations
from grader.payload import Outcome, Value, plain, read_outcomes
from grader.probes import Call, run_check
from grader.rubric import Check, case, randn
from grader.thresholds import Threshold

CPU = torch.device("cpu")


def hint_of(actual, expected, inputs=None, mistakes=(), name="out"):
    """The hint line of a one-output Match verdict ('' when there is none)."""
    verdict = Match(mistakes=mistakes).verdict(Outcome(values={name: plain(actual)}), {name: plain(expected)},
                                               inputs or {}, CPU)
    assert not verdict.passed
    return next((line[len("Hint: "):] for line in verdict.message.splitlines() if line.startswith("Hint: ")), "")


# --- factors: only meaningful ones, named ---------------------------------------------------------------------

def test_a_wrong_scalar_is_no_constant_factor():
    """Measured: every wrong scalar read 'the expected one times 0.98: a missing constant factor'."""
    for got in (0.98, 1.07, -0.3, 12.5):
        assert hint_of(torch.tensor(got, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)) == ""


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), factor=st.floats(0.55, 1.9).filter(
    lambda c: all(abs(c - k) > 0.02 for k in (0.5, 1.0, 2 / 3, 1.5, 1 / 3))))
def test_a_factor_that_means_nothing_is_not_told(seed, factor):
    e = randn(torch.Generator().manual_seed(seed), 3, 4)
    assert hint_of(e * factor, e) == ""
    assert hint_of((e * factor).sum(), e.sum()) == ""


@pytest.mark.parametrize("factor, words", [(2.0, "twice"), (0.5, "half"), (3.0, "3 times"), (1 / 7, "divided by 7"),
                                           (-1.0, "sign is flipped"), (-2.0, "sign is flipped")])
def test_a_meaningful_factor_is_named(factor, words):
    e = randn(torch.Generator().manual_seed(1), 5)
    assert words in hint_of(e * factor, e)
    assert words in hint_of((e * factor).sum(), e.sum())  # a scalar too, when the factor means something


def test_a_sum_over_the_batch_is_told_as_a_sum_not_a_factor_of_two():
    """Measured: a sum over a batch of 4 read 'four times the expected one: a factor of 2 too many or too few?'."""
    x = randn(torch.Generator().manual_seed(2), 4, 3)
    hint = hint_of((x ** 2).sum(0), (x ** 2).mean(0), {"x": x})
    assert "4 times" in hint and "sum where the mean is asked" in hint and "size of `x`'s dimension 0" in hint
    assert "factor of 2" not in hint
    mean_for_sum = hint_of((x ** 2).mean(), (x ** 2).sum(), {"x": x})
    assert "divided by 12" in mean_for_sum and "mean where the sum is asked" in mean_for_sum


def test_a_hint_must_hold_for_every_wrong_output():
    e = {"a": torch.tensor([1.0, 2.0]), "b": torch.tensor([3.0, -1.0])}
    both = Match().verdict(Outcome(values={"a": plain(2 * e["a"]), "b": plain(2 * e["b"])}),
                           {k: plain(v) for k, v in e.items()}, {}, CPU)
    assert "Hint: your result is twice" in both.message and "Also wrong: `b`" in both.message
    one = Match().verdict(Outcome(values={"a": plain(2 * e["a"]), "b": plain(torch.tensor([0.3, 0.1]))}),
                          {k: plain(v) for k, v in e.items()}, {}, CPU)
    assert "Hint" not in one.message


def factor_check(n_cases=2):
    return Check("f", "f", 1, "f", Call("f", ["x"]), Match(), lambda g, n=3: {"x": randn(g, n)},
                 tuple(case(i, n=3 + i) for i in range(n_cases)))


def judged(check, student):
    module = type("m", (), {"f": staticmethod(student)})
    right = type("m", (), {"f": staticmethod(lambda x: x.sum() / 2)})
    expected = [o.values for o in run_check(check, right, "cpu")]
    return judge_check("ex99", check, run_check(check, module, "cpu"), expected, "cpu")


def test_a_hint_fires_only_when_it_reproduces_every_failing_case():
    check = factor_check()
    assert "Hint: your result is twice" in judged(check, lambda x: x.sum()).message
    mixed = judged(check, lambda x: x.sum() * (1.0 if len(x) == 3 else 1.5))  # twice, then 3 times
    assert "2 of 2 cases fail" in mixed.message and "Hint" not in mixed.message
    # a sum where the mean is asked: the factor is n, another number at each case, and is told
    check = Check("f", "f", 1, "f", Call("f", ["x"]), Match(), lambda g, n=3: {"x": randn(g, n)},
                  (case(0, n=3), case(1, n=5)))
    module = type("m", (), {"f": staticmethod(lambda x: x.sum())})
    right = type("m", (), {"f": staticmethod(lambda x: x.mean())})
    result = judge_check("ex99", check, run_check(check, module, "cpu"),
                         [o.values for o in run_check(check, right, "cpu")], "cpu")
    assert "Hint: your result is 3 times the expected one, and 3 is the length of `x`: a sum" in result.message


def test_a_case_that_raises_silences_the_hint():
    def student(x):
        if len(x) == 4:
            raise RuntimeError("boom")
        return x.sum()

    result = judged(factor_check(), student)
    assert result.status == "error" and "Hint" not in result.message


# --- types and dtypes, named as such ---------------------------------------------------------------------------

def test_a_tensor_where_a_float_is_asked_is_a_type_mismatch():
    """Measured: a Tensor where a float is asked got 'keep the dtype of the inputs'."""
    verdict = Match().verdict(Outcome(values={"loss": plain(torch.tensor(0.5))}), {"loss": plain(0.5)}, {}, CPU)
    assert "where a Python float was asked (a type mismatch" in verdict.message and "`loss.item()`" in verdict.message
    assert "dtype" not in verdict.message and "Hint" not in verdict.message
    assert "a Python float where a Tensor" in compare("out", plain(0.5), plain(torch.tensor(0.5)), CPU)


def test_a_dtype_mismatch_is_named_and_the_inputs_dtype_hint_needs_inputs_of_that_dtype():
    x = randn(torch.Generator().manual_seed(3), 4, dtype=torch.float32)
    message = Match().verdict(Outcome(values={"out": plain((2 * x).double())}), {"out": plain(2 * x)}, {"x": x},
                              CPU).message
    assert message.startswith("`out` has dtype float64 where float32 was expected (the values themselves are right)")
    assert "Hint: the inputs are float32: keep their dtype" in message
    grid = Match().verdict(Outcome(values={"out": plain(torch.arange(6.0, dtype=torch.float64))}),
                           {"out": plain(torch.arange(6.0))}, {"n_rows": 2, "n_cols": 3}, CPU).message
    assert "float64 where float32 was expected" in grid and "Hint" not in grid  # no input to keep the dtype of
    wrong = compare("out", plain(torch.ones(3, dtype=torch.float64)), plain(torch.zeros(3)), CPU)
    assert "float64 where float32 was expected, and the values differ too" in wrong


def test_not_converged_needs_the_right_dtype_and_a_small_error():
    """Measured: a float32 fit read 'the optimiser stopped before converging'."""
    stopped = near("the optimiser stopped before converging", rtol=1e-2)
    e = torch.tensor([2.5, -1.0, 0.75], dtype=torch.float64)
    assert "stopped" in hint_of(e * (1 + 3e-3), e, mistakes=[stopped])
    assert "stopped" not in hint_of((e * (1 + 1e-7)).float(), e, mistakes=[stopped])  # a float32 result
    assert "stopped" not in hint_of(e * 1.2, e, mistakes=[stopped])  # a large error
    assert "stopped" not in hint_of(e * (1 + 3e-3), e, mistakes=[near("stopped", rtol=1e-2, outputs=["w"])])


def test_a_float32_fit_is_told_as_a_dtype_not_as_an_early_stop():
    ex03 = rubric.load("ex03_regression")
    check = ex03.check("fit_linear_regression")
    inputs = check.make_inputs(check.cases[0])
    expected = check.judge.expected(inputs)
    got = {name: plain(v.tensor.float()) for name, v in expected.items()}
    message = check.judge.verdict(Outcome(values=got), expected, inputs, CPU).message
    assert "has dtype float32 where float64 was expected" in message and "converging" not in message
    close = {name: plain(v.tensor * (1 + 2e-3)) for name, v in expected.items()}
    assert "stopped before converging" in check.judge.verdict(Outcome(values=close), expected, inputs, CPU).message


# --- overflow: the advice of the formula that overflowed ---------------------------------------------------------

def ex02_verdict(check_id, student):
    check = rubric.load("ex02_gradients").check(check_id)
    case_ = check.cases[-1]
    inputs = check.make_inputs(case_)
    with torch.no_grad():
        right = {"out": plain(torch.nn.functional.softplus(inputs["x"]) if "Softplus" in check_id
                              else torch.logsumexp(inputs["x"], dim=-1))}
    return check.judge.verdict(Outcome(values={"out": plain(student(inputs["x"]))}), right, inputs, CPU).message


def test_softplus_overflow_gets_the_softplus_advice_not_the_maximum():
    """Measured: Softplus overflow advised 'subtract the maximum'."""
    naive = ex02_verdict("Softplus.forward", lambda x: torch.log(1 + torch.exp(x)))
    assert "Hint: log(1 + exp(x)) overflows" in naive and "log1p(exp(-|x|))" in naive and "maximum" not in naive
    other = ex02_verdict("Softplus.forward", lambda x: torch.where(x > 60, torch.full_like(x, math.inf), x))
    assert "log1p" not in other and "maximum" not in other and "NaN or inf" in other


def test_logsumexp_overflow_gets_the_maximum_advice():
    naive = ex02_verdict("LogSumExp.forward", lambda x: torch.log(torch.exp(x).sum(dim=-1)))
    assert "subtract the row's maximum" in naive
    wrong = ex02_verdict("LogSumExp.forward", lambda x: x.max(dim=-1).values)  # finite and wrong: no overflow hint
    assert "maximum" not in wrong and "overflow" not in wrong


# --- training loops: the parameter named, the mistake reproduced ---------------------------------------------------

def graded_checks(exercise, check_ids, old, new, tmp_path):
    """Verdicts on ``check_ids`` for the reference with ``old`` replaced by ``new`` (in this process)."""
    source = (ROOT / "reference" / f"{exercise}.py").read_text()
    assert source.count(old) == 1, old
    ex = rubric.load(exercise)
    reference = import_file(ROOT / "reference" / f"{exercise}.py", f"{exercise}_hint_reference")
    (tmp_path / f"{exercise}.py").write_text(source.replace(old, new))
    student = import_file(tmp_path / f"{exercise}.py", f"{exercise}_hint_{abs(hash((old, new)))}")
    expectations = Expectations(ex, "cpu", reference=reference)
    return {c: judge_check(exercise, ex.check(c), run_check(ex.check(c), student, "cpu"),
                           expectations.for_check(ex.check(c)), "cpu") for c in check_ids}


EX04_EPOCH = ("        optimizer.zero_grad()\n        loss = loss_fn(model(xb), yb)\n        loss.backward()\n"
              "        optimizer.step()\n")
EPOCH_MISTAKES = {
    "never zeroed": "        loss = loss_fn(model(xb), yb)\n        loss.backward()\n        optimizer.step()\n",
    "softmax before the loss": "        optimizer.zero_grad()\n"
                               "        loss = loss_fn(torch.softmax(model(xb), dim=1), yb)\n"
                               "        loss.backward()\n        optimizer.step()\n",
    "weights did not move": "        optimizer.zero_grad()\n        loss = loss_fn(model(xb), yb)\n"
                            "        loss.backward()\n",
    None: "        optimizer.zero_grad()\n        loss = loss_fn(model(xb), yb) * 1.5\n        loss.backward()\n"
          "        optimizer.step()\n",  # a mistake no hint models: silent
}


@pytest.mark.parametrize("hint", list(EPOCH_MISTAKES), ids=str)
def test_train_epoch_names_the_parameter_and_only_the_mistake_reproduced(tmp_path, hint):
    results = graded_checks("ex04_training_loop", ["train_epoch", "train_epoch.hidden"], EX04_EPOCH,
                            EPOCH_MISTAKES[hint], tmp_path)
    for result in results.values():
        assert result.status == "failed" and "`inner.0.weight`" in result.message
        assert "after one epoch" in result.message
        assert "with inputs X: float32[" in result.message and "(seed " in result.message
        told = [h for h in EPOCH_MISTAKES if h and h in result.message]
        assert told == ([hint] if hint else []), result.message


CNN_LOOP = ("            losses.append(loss.item())\n        scheduler.step()\n",
            "    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n")
CNN_MISTAKES = {
    "stepped after every batch": (CNN_LOOP[0],
                                  "            losses.append(loss.item())\n            scheduler.step()\n"),
    "learning rate never decayed": (CNN_LOOP[0], "            losses.append(loss.item())\n"),
    "plain SGD": (CNN_LOOP[1], "    optimizer = torch.optim.SGD(model.parameters(), lr=lr)\n"),
    None: (CNN_LOOP[1], "    optimizer = torch.optim.Adam(model.parameters(), lr=lr * 1.1)\n"),
}


@pytest.mark.parametrize("hint", list(CNN_MISTAKES), ids=str)
def test_train_cnn_tries_the_training_loop_mistakes(tmp_path, hint):
    old, new = CNN_MISTAKES[hint]
    for result in graded_checks("ex06_cnn_mnist", ["train_cnn", "train_cnn.hidden"], old, new, tmp_path).values():
        assert result.status == "failed" and "`inner.1.weight`" in result.message
        told = [h for h in CNN_MISTAKES if h and h in result.message]
        assert told == ([hint] if hint else []), result.message


def test_train_rnn_tells_sgd_and_unshuffled_batches(tmp_path):
    sgd = graded_checks("ex08_rnn_sunspots", ["train_rnn"],
                        "    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n",
                        "    optimizer = torch.optim.SGD(model.parameters(), lr=lr)\n", tmp_path)["train_rnn"]
    assert "`inner.linear.weight`" in sgd.message and "plain SGD" in sgd.message and "never zeroed" not in sgd.message
    l1 = graded_checks("ex08_rnn_sunspots", ["train_rnn"], "            loss = nn.functional.mse_loss(model(xb), yb)",
                       "            loss = nn.functional.l1_loss(model(xb), yb)", tmp_path)["train_rnn"]
    assert l1.status == "failed" and "Hint" not in l1.message


def test_compare_optimizers_tells_a_seed_set_once_and_is_silent_for_a_wrong_epoch(tmp_path):
    once = graded_checks("ex04_training_loop", ["compare_optimizers"],
                         '    for name, make in (("sgd", torch.optim.SGD), ("adam", torch.optim.Adam)):\n'
                         '        torch.manual_seed(seed)\n',
                         '    torch.manual_seed(seed)\n'
                         '    for name, make in (("sgd", torch.optim.SGD), ("adam", torch.optim.Adam)):\n',
                         tmp_path)["compare_optimizers"]
    assert "`adam`" in once.message and "torch.manual_seed(seed) again" in once.message
    # measured: a train_epoch without zero_grad read 'follow the docstring's order' here
    unzeroed = graded_checks("ex04_training_loop", ["compare_optimizers"], EX04_EPOCH,
                             EPOCH_MISTAKES["never zeroed"], tmp_path)["compare_optimizers"]
    assert unzeroed.status == "failed" and "Hint" not in unzeroed.message


def test_a_diverged_training_is_told_as_one_not_as_another_model():
    """Measured: a diverged training named the model."""
    check = rubric.load("ex04_training_loop").check("fit_iris")
    values = {"layers/0/weight": plain(torch.full((32, 4), math.nan)), "losses": plain(torch.tensor([1.0, math.inf]))}
    verdict = check.judge.verdict(Outcome(values=values), None, check.make_inputs(check.cases[0]), CPU)
    assert not verdict.passed and "the training diverged" in verdict.message and "`layers/0/weight`" in verdict.message
    assert "not the model" not in verdict.message and "forward" not in verdict.message
    assert isinstance(check.judge, Threshold)


# --- every failure shows its inputs ------------------------------------------------------------------------------

def test_a_single_case_failure_shows_its_inputs_and_seed():
    check = Check("f", "f", 1, "f", Call("f", ["x"]), Match(), lambda g: {"x": randn(g, 2, 3), "k": 4}, (case(7),))
    module = type("m", (), {"f": staticmethod(lambda x: x + 1)})
    result = judge_check("ex99", check, run_check(check, module, "cpu"), [{"out": plain(torch.zeros(2, 3))}], "cpu")
    assert result.message.startswith("with inputs x: float64[2, 3], k=4 (seed 7):\n`out`")
    raising = type("m", (), {"f": staticmethod(lambda x: 1 / 0)})
    result = judge_check("ex99", check, run_check(check, raising, "cpu"), [{"out": plain(torch.zeros(2, 3))}], "cpu")
    assert result.status == "error" and result.message.startswith("with inputs x: float64[2, 3], k=4 (seed 7):\n")
    bare = Check("g", "g", 1, "g", Call("g", []), Match(), None, (case(3),))
    module = type("m", (), {"g": staticmethod(lambda: torch.ones(1))})
    assert judge_check("ex99", bare, run_check(bare, module, "cpu"), [{"out": plain(torch.zeros(1))}],
                       "cpu").message.startswith("with seed 3:\n")


# --- global torch settings: put back, and told on the function that changed them ----------------------------------

def test_every_setting_is_put_back_and_named():
    before = torchstate.take()
    torch.set_grad_enabled(False)
    torch.set_default_dtype(torch.float64)
    torch.autograd.set_detect_anomaly(True)
    torch.use_deterministic_algorithms(True)
    try:
        told = torchstate.restore(before)
    finally:
        torchstate.restore(before)
    assert torch.is_grad_enabled() and torch.get_default_dtype() == torch.float32
    assert not torch.is_anomaly_enabled() and not torch.are_deterministic_algorithms_enabled()
    assert told[:2] == ["autograd disabled (torch.set_grad_enabled(False))",
                        "the default dtype set to float64 (torch.set_default_dtype)"]
    assert len(told) == 4 and torchstate.restore(before) == []
    assert torchstate.note("`fit`", told[:1]) == \
        "`fit` left autograd disabled (torch.set_grad_enabled(False)); restored"


GRAD_OFF = ("    return (X - X.mean(dim=0)) / X.std(dim=0, correction=0)\n",
            "    torch.set_grad_enabled(False)\n    return (X - X.mean(dim=0)) / X.std(dim=0, correction=0)\n")
LEFT = "`standardize` left autograd disabled (torch.set_grad_enabled(False)); restored"


def test_the_students_pytest_blames_only_the_function_that_disabled_autograd(tmp_path):
    """Measured: a global torch.set_grad_enabled(False) in one function was blamed on other, correct functions."""
    source = reference_files(["ex01_tensors_autograd"])["ex01_tensors_autograd.py"]
    impl = make_class(tmp_path / "impl", {"s": {"ex01_tensors_autograd.py": source.replace(*GRAD_OFF)}}) / "s"
    code, score = run_student_pytest(tmp_path, "--impl", str(impl), target="exercises/ex01_tensors_autograd.py")
    assert torch.is_grad_enabled()
    by_check = {c["check"]: c for c in score["checks"]}
    assert code == 0 and score["total"] == score["max_points"], [c for c in score["checks"] if c["points"] == 0]
    assert LEFT in by_check["standardize"]["message"]
    assert all(LEFT not in c["message"] for name, c in by_check.items() if name != "standardize")


def test_the_worker_puts_settings_back_between_checks_and_notes_them(tmp_path):
    source = reference_files(["ex01_tensors_autograd"])["ex01_tensors_autograd.py"]
    path = tmp_path / "ex01_tensors_autograd.py"
    path.write_text(source.replace(*GRAD_OFF))
    channel = tmp_path / "frames"
    worker = [sys.executable, "-m", "grader.worker", "--exercise", "ex01_tensors_autograd", "--file", str(path)]
    run = subprocess.run(["sh", "-c", 'exec "$@" 3>"$FRAMES"', "sh", *worker], cwd=ROOT, capture_output=True,
                         text=True, timeout=600, env={**os.environ, "FRAMES": str(channel), "MPLBACKEND": "Agg"})
    assert run.returncode == 0, run.stderr[-2000:]
    from test_worker import frames

    sent = frames(channel.read_bytes())
    ex = rubric.load("ex01_tensors_autograd")
    expectations = Expectations(ex, "cpu", reference=import_file(ROOT / "reference" / "ex01_tensors_autograd.py",
                                                                 "ex01_hint_worker_reference"))
    assert sent["done"] == b""
    for index, check in enumerate(ex.selected(hidden=False)):
        (tmp_path / "check").write_bytes(sent[f"check-{index:03d}"])
        result = judge_check(ex.name, check, read_outcomes(tmp_path / "check", len(check.cases), 1 << 26),
                             expectations.for_check(check), "cpu")
        assert result.passed, (check.id, result.message)
        assert (LEFT in result.message) == (check.id == "standardize"), (check.id, result.message)


def test_recognise_keeps_its_old_contract():
    e = torch.tensor([1.0, -2.0, 3.0])
    assert "sign is flipped" in recognise("out", plain(-e), plain(e), {}, [])
    assert recognise("out", Value("Tensor"), plain(e), {}, []) == ""


# --- every modelled hint of every rubric fires at its own mistake, and no other hint does ---------------------------

def modelled_checks():
    """Each judge with modelled mistakes, with the checks that share it (a check and its hidden variant)."""
    for ex in rubric.load_all():
        groups = {}
        for check in ex.checks:
            if isinstance(check.judge, Match) \
                    and any(m.model is not None for m in check.judge.mistakes):
                groups.setdefault(id(check.judge), []).append(check.id)
        for ids in groups.values():
            yield pytest.param(ex.name, tuple(ids), id=f"{ex.key}:{ids[0]}")


@pytest.fixture(scope="module")
def expectations():
    found = {}

    def of(name):
        if name not in found:
            found[name] = Expectations(rubric.load(name), "cpu", reference=import_file(
                ROOT / "reference" / f"{name}.py", f"{name}_hints_expectations"))
        return found[name]
    return of


def as_expected(value, want: Value) -> Value:
    got = plain(value)
    if got.tensor is not None and want.tensor is not None and got.kind == want.kind:
        got = Value(got.kind, got.tensor.to(want.tensor.dtype).reshape(want.tensor.shape)
                    if got.tensor.numel() == want.tensor.numel() else got.tensor, want.device, want.requires_grad)
    return got


@pytest.mark.parametrize("exercise, check_ids", list(modelled_checks()))
def test_each_modelled_hint_fires_at_its_mistake_and_only_there(expectations, exercise, check_ids):
    checks = [rubric.load(exercise).check(c) for c in check_ids]
    mistakes = [m for m in checks[0].judge.mistakes if m.model is not None]
    fired = set()
    for check, case_, want in [(c, case_, want) for c in checks
                               for case_, want in zip(c.cases, expectations(exercise).for_check(c))]:
        if case_.on(CPU) != CPU:
            continue  # a case on a device without data (meta) has no values for a model to reproduce
        inputs = check.make_inputs(case_)
        right = check.judge.verdict(Outcome(values=dict(want)), want, inputs, CPU)
        assert right.passed and "Hint" not in right.message
        for mistake in mistakes:
            try:
                wrong = mistake.model(inputs)
            except RuntimeError:  # the mistake raises at these inputs (A * B of non-square factors), as would the
                continue          # student's code: an error, no value to hint at; the grader's judge skips it too
            wrong = wrong if isinstance(wrong, dict) else {name: wrong for name in (mistake.outputs or want)}
            values = {name: as_expected(wrong[name], v) if name in wrong else v for name, v in want.items()}
            verdict = check.judge.verdict(Outcome(values=values), want, inputs, CPU)
            if verdict.passed:
                continue  # at these inputs the mistake gives the right answer
            hint = next((line for line in verdict.message.splitlines() if line.startswith("Hint: ")), "")
            assert hint == f"Hint: {mistake.text}", (case_, mistake.text, verdict.message)
            fired.add(mistake.text)
    assert fired == {m.text for m in mistakes}, {m.text for m in mistakes} - fired


def test_settings_a_file_changes_when_imported_are_put_back_and_told(tmp_path, capsys):
    source = reference_files(["ex01_tensors_autograd"])["ex01_tensors_autograd.py"]
    changed = source.replace("import torch\n", "import torch\ntorch.set_default_dtype(torch.float64)\n", 1)
    impl = make_class(tmp_path / "impl", {"s": {"ex01_tensors_autograd.py": changed}}) / "s"
    code, score = run_student_pytest(tmp_path, "--impl", str(impl), target="exercises/ex01_tensors_autograd.py")
    assert torch.get_default_dtype() == torch.float32 and code == 0 and score["total"] == score["max_points"]
    assert "ex01_tensors_autograd.py, when imported, left the default dtype set to float64" in capsys.readouterr().out


def test_wrong_values_lead_and_an_output_wrong_only_by_its_dtype_does_not_silence_their_hint():
    e = {"a": torch.tensor([1.0, 2.0]), "b": torch.tensor([[1.0, 2.0], [3.0, 4.0]])}
    got = {"a": plain(e["a"].double()), "b": plain(e["b"].T.contiguous())}
    verdict = Match().verdict(Outcome(values=got), {k: plain(v) for k, v in e.items()}, {}, CPU)
    assert verdict.message.startswith("`b`: Tensor-likes are not close!") and "Also wrong: `a`." in verdict.message
    assert "Hint: your result is the transpose of the expected one" in verdict.message
