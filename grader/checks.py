"""Verdicts: comparing what student code produced with what was expected, and saying why it differs.

Everything here runs in the grading process (or in the student's own pytest run) on plain values;
none of it calls student code. Value mismatches read like ``torch.testing.assert_close`` (which
does the comparison), followed by a hint when the difference looks like a known mistake. Whatever
values a child reports (any dtype, shape, NaN or inf, a device that is none), judging them ends in a
verdict: what cannot be checked fails the check and says why, it never raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import torch

from .payload import FIGURE_PNG, Outcome, Value, plain
from .rubric import Case, Check


@dataclass
class Verdict:
    passed: bool
    message: str = ""


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    try:
        return a.shape == b.shape and bool(torch.allclose(a.double(), b.double(), rtol=rtol, atol=atol, equal_nan=True))
    except Exception:  # a dtype or size torch cannot compare is simply not close
        return False


def unchecked(exc: BaseException) -> str:
    """What a verdict says when the results could not be checked: the kind of problem, not a traceback."""
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"the results could not be checked ({type(exc).__name__}{': ' + text if text else ''})"


def shape_of(t: torch.Tensor | None) -> tuple[int, ...] | None:
    """The shape a probe reported as a 1-D tensor of sizes; None unless every entry is a finite whole number >= 0."""
    try:
        if t is None or t.dim() != 1 or t.dtype == torch.bool or t.numel() > 64:
            return None
        sizes = t.double().tolist()
        if not all(math.isfinite(s) and s >= 0 and s == int(s) for s in sizes):
            return None
        return tuple(int(s) for s in sizes)
    except Exception:
        return None


def count_of(t: torch.Tensor | None) -> int | None:
    """The count a probe reported as one number; None unless it is a single finite whole number."""
    try:
        if t is None or t.numel() != 1 or t.dtype == torch.bool:
            return None
        if not t.is_floating_point():
            return int(t.reshape(()).item())
        value = float(t.reshape(()).double().item())
        return int(value) if math.isfinite(value) and value == int(value) else None
    except Exception:
        return None


# --- recognising mistakes ----------------------------------------------------------------------


@dataclass
class Mistake:
    """A recognisable wrong answer: ``test(actual, expected, inputs, output_name)`` says if this is it."""

    text: str
    test: Callable[[torch.Tensor, torch.Tensor, dict, str], bool]
    outputs: Sequence[str] | None = None

    def matches(self, name: str, actual: torch.Tensor, expected: torch.Tensor, inputs: dict) -> bool:
        if self.outputs is not None and name not in self.outputs:
            return False
        try:
            return bool(self.test(actual, expected, inputs, name))
        except Exception:
            return False


def like(text: str, wrong: Callable[[dict], Any], outputs: Sequence[str] | None = None) -> Mistake:
    """The student's output equals ``wrong(inputs)`` (a tensor, or a dict of outputs by name)."""

    def test(actual, expected, inputs, name):
        value = wrong(inputs)
        value = torch.as_tensor(value[name] if isinstance(value, dict) else value).to(actual.device)
        return _close(actual, value) and not _close(expected, value)

    return Mistake(text, test, outputs)


def scaled_by(factor: Callable[[dict], float], text: str, outputs: Sequence[str] | None = None) -> Mistake:
    """The student's output is the expected one times ``factor(inputs)``."""
    return Mistake(text, lambda a, e, i, n: _close(a, e * factor(i)) and not _close(e, e * factor(i)), outputs)


def near(text: str, rtol: float, atol: float = 1e-8, outputs: Sequence[str] | None = None) -> Mistake:
    """The student's output is within a looser tolerance of the expected one (e.g. not converged)."""
    return Mistake(text, lambda a, e, i, n: _close(a, e, rtol=rtol, atol=atol), outputs)


def _constant_factor(a: torch.Tensor, e: torch.Tensor) -> float | None:
    try:
        if a.shape != e.shape or not a.numel() or not torch.isfinite(a).all() or e.double().abs().max() == 0:
            return None
        c = float((a.double() * e.double()).sum() / (e.double() ** 2).sum())
        return c if math.isfinite(c) and _close(a, e * c) and abs(c - 1) > 1e-3 else None
    except Exception:
        return None


def _describe_factor(c: float) -> str:
    for k, words in ((2, "twice"), (0.5, "half"), (-1, "minus"), (4, "four times"), (0.25, "a quarter of")):
        if abs(c - k) < 1e-3 * abs(k):
            if k == -1:
                return "the sign is flipped: your result is minus the expected one"
            return f"your result is {words} the expected one: a factor of 2 too many or too few?"
    return f"your result is the expected one times {c:.4g}: a missing or extra constant factor (or a sum instead of a mean)?"


GENERIC = [
    Mistake("your result contains NaN or inf where the expected one is finite: an overflow (exp of a large "
            "number?) or a division by zero", lambda a, e, i, n: not torch.isfinite(a).all() and bool(torch.isfinite(e).all())),
    Mistake("your result is the transpose of the expected one",
            lambda a, e, i, n: a.dim() >= 2 and _close(a, e.transpose(-1, -2)) and not _close(e, e.transpose(-1, -2))),
    Mistake("the values are right but the shape is not: check reshape/squeeze/keepdim",
            lambda a, e, i, n: a.shape != e.shape and a.numel() == e.numel() and _close(a.reshape(e.shape), e)),
    Mistake("the values are right but the dtype is not: keep the dtype of the inputs",
            lambda a, e, i, n: a.dtype != e.dtype and a.shape == e.shape and _close(a, e)),
]


MODE_HINTS = {  # for the flags ``probes.Spy.facts`` reports
    "ran_in_training_mode": "call model.train() before training: the model may come from an evaluation, in "
                            "evaluation mode, and dropout would stay off",
    "ran_in_eval_mode": "the model ran in training mode, so dropout was on and the result is random: call "
                        "model.eval() first",
    "ran_without_autograd": "the model ran with autograd on, building a graph nobody uses: wrap the loop in "
                            "`with torch.no_grad():`",
}


def recognise(name: str, actual: Value, expected: Value, inputs: dict, mistakes: Sequence[Mistake]) -> str:
    """The hint for a wrong answer that looks like a known mistake; empty when none fits (or none can be told)."""
    try:
        a, e = actual.tensor, expected.tensor
        if a is None or e is None:
            return ""
        for mistake in list(mistakes) + GENERIC:
            if mistake.matches(name, a, e, inputs):
                return mistake.text
        if a.is_floating_point() and e.is_floating_point():
            c = _constant_factor(a, e)
            if c is not None:
                return _describe_factor(c)
    except Exception:  # a hint is a courtesy: it never turns a verdict into an error
        pass
    return ""


# --- comparing values --------------------------------------------------------------------------


def _scalar(t: torch.Tensor) -> str:
    if t.numel() != 1:
        return f"a tensor of shape {tuple(t.shape)}"
    value = t.reshape(()).item()
    return f"{value:.6g}" if t.is_floating_point() else str(value)


def _worst(a: torch.Tensor, e: torch.Tensor) -> str:
    """Where two tensors of one shape differ most; empty when that cannot be told."""
    try:
        diff = (a.double() - e.double()).abs()
        diff = torch.where(torch.isnan(diff), torch.full_like(diff, float("inf")), diff)
        idx = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
        return f"At index {idx}: got {_scalar(a[idx])}, expected {_scalar(e[idx])}."
    except Exception:
        return ""


def _device_type(name: str) -> str | None:
    try:
        return torch.device(name).type
    except Exception:
        return None


def compare(name: str, actual: Value | None, expected: Value, device: torch.device | None,
            rtol: float | None = None, atol: float | None = None) -> str:
    """Why ``actual`` is not ``expected`` (empty when it is), in assert_close's words.

    A tensor must be on ``device`` (the device of the inputs) unless ``device`` is None.
    """
    if actual is None:
        return f"`{name}` was not produced"
    if actual.kind != expected.kind:
        return f"`{name}` is {actual.describe()}, expected {expected.describe()}"
    if expected.tensor is None:
        return ""
    if actual.tensor is None:
        return f"`{name}` is {actual.describe()}, which cannot be compared"
    if device is not None and actual.kind == "Tensor" and actual.device \
            and _device_type(actual.device) != device.type:
        return (f"`{name}` is on {actual.device} but the inputs were on {device}: create new tensors on "
                "the inputs' device (e.g. torch.zeros_like(x) or device=x.device)")
    a, e = actual.tensor, expected.tensor
    try:
        if a.dim() == 0 and e.dim() == 0 and a.dtype == e.dtype:
            try:
                torch.testing.assert_close(a, e, rtol=rtol, atol=atol, equal_nan=False)
                return ""
            except AssertionError:
                return f"`{name}` is {_scalar(a)}, expected {_scalar(e)}"
        try:
            torch.testing.assert_close(a, e, rtol=rtol, atol=atol, check_device=False)
            return ""
        except AssertionError as exc:
            text = str(exc).strip()
    except Exception as exc:  # a value torch cannot compare is not the expected one
        return f"`{name}` is {actual.describe()}, expected {expected.describe()}: {unchecked(exc)}"
    worst = _worst(a, e) if a.shape == e.shape and a.dtype == e.dtype and a.numel() else ""
    return f"`{name}`: {text}" + (f"\n{worst}" if worst else "")


# --- judges ------------------------------------------------------------------------------------


class Match:
    """Every output equals the expected one, within tolerances.

    The expected values are the reference's at the same inputs, or ``oracle(inputs)`` when one is
    given (e.g. statsmodels' estimates). ``mistakes`` are tried, in order, before the generic ones;
    ``explain`` gives the hint for an output that is wrong whatever its value (a flag such as
    "the model was in training mode"). Tensors must be on the inputs' device unless
    ``check_device`` is false.
    """

    def __init__(self, rtol: float | None = None, atol: float | None = None,
                 mistakes: Sequence[Mistake] = (), oracle: Callable[[dict], dict] | None = None,
                 check_device: bool = True, explain: Mapping[str, str] | None = None):
        if (rtol is None) != (atol is None):
            raise ValueError("give both rtol and atol, or neither")
        self.rtol, self.atol, self.mistakes, self.oracle = rtol, atol, tuple(mistakes), oracle
        self.check_device, self.explain = check_device, dict(explain or {})

    @property
    def needs_reference(self) -> bool:
        return self.oracle is None

    def expected(self, inputs: dict) -> dict[str, Value] | None:
        return None if self.oracle is None else {k: plain(v) for k, v in self.oracle(inputs).items()}

    def verdict(self, actual: Outcome, expected: dict[str, Value], inputs: dict, device: torch.device) -> Verdict:
        for name, want in expected.items():
            got = actual.values.get(name)
            problem = compare(name, got, want, device if self.check_device else None, self.rtol, self.atol)
            if problem:
                hint = self.explain.get(name) or (recognise(name, got, want, inputs, self.mistakes)
                                                  if got is not None else "")
                return Verdict(False, problem + (f"\nHint: {hint}" if hint else ""))
        return Verdict(True)


class GradcheckConsistent:
    """The student's backward agrees with finite differences of the student's forward.

    Uses ``torch.autograd.gradcheck``'s criterion: ``|analytic - numeric| <= atol + rtol * |numeric|``
    for every Jacobian entry, in float64.
    """

    needs_reference = False

    def __init__(self, args: Sequence[str], atol: float = 1e-5, rtol: float = 1e-3):
        self.args, self.atol, self.rtol = tuple(args), atol, rtol

    def expected(self, inputs: dict) -> None:
        return None

    def verdict(self, actual: Outcome, expected: None, inputs: dict, device: torch.device) -> Verdict:
        return self._agree(actual, actual, inputs, "finite differences of your forward")

    def anchored(self, actual: Outcome, reference: dict, inputs: dict) -> Verdict:
        """The class grader's second test: the student's backward against finite differences of the reference.

        Both Jacobians that ``verdict`` compares come from the student's process, which could report
        any pair that agrees; the reference's finite differences are computed by the grader.
        """
        return self._agree(actual, Outcome(values=reference), inputs,
                           "finite differences of the correct forward (computed by the grader; a forward that "
                           "differs from the reference's cannot pass this check)")

    def _agree(self, analytic: Outcome, numeric: Outcome, inputs: dict, source: str) -> Verdict:
        shape = analytic.values.get("out_shape")
        if shape is None or shape.tensor is None:
            return Verdict(False, "the gradient check produced no Jacobian")
        out_shape = shape_of(shape.tensor)
        if out_shape is None or not math.prod(out_shape):
            return Verdict(False, f"the gradient check reported no usable output shape ({shape.describe()})")
        for name in self.args:
            an, nu = analytic.values.get(f"analytic/{name}"), numeric.values.get(f"numeric/{name}")
            if an is None or nu is None or an.tensor is None or nu.tensor is None:
                return Verdict(False, f"the gradient check produced no Jacobian for `{name}`")
            a, n = an.tensor.double().cpu(), nu.tensor.double().cpu()
            layout = (math.prod(out_shape), inputs[name].numel())  # one row per output, one column per input
            if a.shape != n.shape or tuple(a.shape) != layout:
                return Verdict(False, f"the Jacobians for `{name}` have shapes {tuple(a.shape)} and {tuple(n.shape)}; "
                                      f"both should be {layout} (outputs x inputs)")
            bad = (a - n).abs() > self.atol + self.rtol * n.abs()
            bad |= ~torch.isfinite(a) | ~torch.isfinite(n)
            if bad.any():
                diff = torch.where(bad, (a - n).abs().nan_to_num(float("inf")), torch.zeros_like(a))
                j, k = (int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
                out_idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(j), out_shape)) if out_shape else ()
                in_idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(k), inputs[name].shape)) \
                    if inputs[name].dim() else ()
                return Verdict(False, (
                    f"gradcheck failed for `{name}`: your backward disagrees with {source} "
                    f"in {int(bad.sum())} of {bad.numel()} Jacobian entries "
                    f"(allowed: atol {self.atol:g} + rtol {self.rtol:g} * |numeric|).\n"
                    f"Worst: d out{list(out_idx)} / d {name}{list(in_idx)}: backward gives {a[j, k].item():.6g}, "
                    f"finite differences give {n[j, k].item():.6g}."))
        return Verdict(True)


class Require:
    """One property an output must have: ``test(values, inputs)`` returns what is wrong, or None.

    ``values`` maps output names to tensors (or None for outputs that are not tensors).
    """

    def __init__(self, test: Callable[[dict, dict], str | None]):
        self.test = test

    def __call__(self, values: dict, inputs: dict) -> str | None:
        try:
            problem = self.test(values, inputs)
            return None if problem is None else str(problem)
        except Exception as exc:  # whatever the values, a requirement ends in a verdict
            return unchecked(exc)


def _reported(t: torch.Tensor | None) -> str:
    if t is None:
        return "nothing"
    return _scalar(t) if t.numel() == 1 else f"a tensor of shape {tuple(t.shape)}"


def at_least(name: str, minimum: int, what: str) -> Require:
    """Output ``name`` is a count of at least ``minimum``; ``what`` says what is counted."""

    def test(values, inputs):
        count = count_of(values.get(name))
        if count is None:
            return f"expected at least {minimum} {what}; `{name}` is not a count (found {_reported(values.get(name))})"
        return None if count >= minimum else f"expected at least {minimum} {what}; found {count}"

    return Require(test)


def is_true(name: str, text: str) -> Require:
    """Output ``name`` is one true value (True or 1); otherwise ``text`` is what is wrong."""

    def test(values, inputs):
        t = values.get(name)
        return None if t is not None and t.numel() == 1 and float(t.reshape(()).double()) == 1.0 else text

    return Require(test)


class Holds:
    """Every requirement holds of the outputs; the verdict lists each one that does not."""

    needs_reference = False

    def __init__(self, *requirements: Require):
        self.requirements = requirements

    def expected(self, inputs: dict) -> None:
        return None

    def verdict(self, actual: Outcome, expected: None, inputs: dict, device: torch.device) -> Verdict:
        values = {name: v.tensor for name, v in actual.values.items()}
        problems = [p for p in (r(values, inputs) for r in self.requirements) if p]
        return Verdict(not problems, "\n".join(f"- {p}" for p in problems))


# --- scoring a check ---------------------------------------------------------------------------


@dataclass
class CheckResult:
    """The verdict on one check, with its points; this is what reports and the pytest plugin show."""

    exercise: str
    check: str
    target: str
    description: str
    max_points: float
    hidden: bool
    status: str  # passed, failed, not_implemented, error
    message: str = ""
    seconds: float = 0.0
    figure: bytes | None = None  # a PNG the student's plotting code drew
    points: float = field(init=False)

    def __post_init__(self):
        self.points = self.max_points if self.status == "passed" else 0.0

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def describe_inputs(inputs: dict, case: Case) -> str:
    parts = []
    for name, v in inputs.items():
        if isinstance(v, torch.Tensor):
            if v.numel() == 1 and v.dim() == 0:
                parts.append(f"{name}={_scalar(v)}")
            else:
                parts.append(f"{name}: {str(v.dtype).replace('torch.', '')}{list(v.shape)}")
        elif isinstance(v, (int, float, str, bool)):
            parts.append(f"{name}={v!r}")
    return f"{', '.join(parts)} (seed {case.seed})" if parts else f"seed {case.seed}"


def _judge_case(check: Check, outcome: Outcome, want: dict | None, inputs: dict, device: torch.device,
                anchor: dict | None) -> Verdict:
    """The verdict on one case that ran; any exception on the way is a failed verdict that says why."""
    try:
        verdict = check.judge.verdict(outcome, want, inputs, device)
        if verdict.passed and anchor is not None:
            verdict = check.judge.anchored(outcome, anchor, inputs)
        return Verdict(bool(verdict.passed), str(verdict.message))
    except Exception as exc:
        return Verdict(False, unchecked(exc))


def judge_check(exercise: str, check: Check, outcomes: Sequence[Outcome],
                expected: Sequence[dict | None], device: str | torch.device,
                anchors: Sequence[dict] | None = None) -> CheckResult:
    """Score one check from the outcomes of its cases: full points when every case passes.

    ``anchors``, for a self-consistency check in the class grader, are the reference's values
    per case: the outcome must also agree with them (``GradcheckConsistent.anchored``).
    """
    device = torch.device(device)
    if len(outcomes) != len(check.cases) or len(expected) != len(check.cases):
        return CheckResult(exercise, check.id, check.target, check.description, check.points, check.hidden, "error",
                           f"the results cover {len(outcomes)} case(s), not the {len(check.cases)} this check runs")
    status, failures, details = "passed", [], []
    for index, (case, outcome, want) in enumerate(zip(check.cases, outcomes, expected)):
        if outcome.status == "not_implemented":
            status, failures = "not_implemented", [str(outcome.message)]
            break
        inputs = check.make_inputs(case, device)
        if outcome.status == "ok":
            if anchors is not None and index >= len(anchors):
                verdict = Verdict(False, "the reference's values for this case are missing")
            else:
                verdict = _judge_case(check, outcome, want, inputs, device, None if anchors is None else anchors[index])
            if verdict.passed:
                details.append(verdict.message)
                continue
            status, text = "failed", verdict.message
        else:
            status, text = "error", str(outcome.message)
        if len(check.cases) > 1:
            text = f"with inputs {describe_inputs(inputs, case)}:\n{text}"
        failures.append(text)
    message = failures[0] if failures else "; ".join(d for d in details if d)
    if len(failures) > 1:
        message = f"{len(failures)} of {len(check.cases)} cases fail; the first {message}"
    return CheckResult(exercise, check.id, check.target, check.description, check.points, check.hidden,
                       status, message, sum(o.seconds for o in outcomes), figure_of(outcomes))


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_FIGURE_BYTES = 4 * 1024 * 1024


def figure_of(outcomes: Sequence[Outcome]) -> bytes | None:
    """The PNG a plotting check's first case drew, if it is one (signature and size checked)."""
    try:
        value = outcomes[0].values.get(FIGURE_PNG) if outcomes else None
        t = value.tensor if value is not None else None
        if t is None or t.dtype != torch.uint8 or t.dim() != 1 or not 8 < t.numel() <= MAX_FIGURE_BYTES:
            return None
        data = t.contiguous().numpy().tobytes()
    except Exception:  # no figure is better than no verdict
        return None
    return data if data.startswith(PNG_SIGNATURE) else None
