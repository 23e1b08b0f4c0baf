"""Verdicts: the judges of a check (Match, GradcheckConsistent, Require, Holds) and a check's score from its cases.

Everything here runs in the grading process (or in the student's own pytest run) on plain values;
none of it calls student code. Value mismatches read like ``torch.testing.assert_close`` (which
does the comparison), followed by a hint when the difference looks like a known mistake. Whatever
values a child reports (any dtype, shape, NaN or inf, a device that is none), judging them ends in a
verdict: what cannot be checked fails the check and says why, it never raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import torch

from .hints import (GENERIC, MODE_HINTS, Hint, Mistake, _close, adam_loop_mistakes, agreed,  # noqa: F401 (the
                    case_hints, like, near, recognise, scaled_by)                     # rubrics' names for them)
from .compare import (TOLERANCES, _dtype, _scalar, compare, count_of, shape_of,  # noqa: F401 (the rubrics'
                      unchecked)                                                           # names for them)
from .figures import text_of
from .payload import FIGURE_PNG, Outcome, Value, plain
from .rubric import Case, Check
from .torchstate import exclusive


@dataclass
class Verdict:
    """A judge's verdict on one case. A judge that recognises mistakes also gives ``problem`` (the message
    without a hint) and ``hints``, every hint whose model reproduces this case, for ``judge_check`` to
    keep only those that reproduce every failing case."""

    passed: bool
    message: str = ""
    problem: str = ""
    hints: tuple[Hint, ...] | None = None


class Match:
    """Every output equals the expected one, within tolerances.

    The expected values are the reference's at the same inputs, or ``oracle(inputs)`` when one is
    given (e.g. statsmodels' estimates). ``mistakes`` are tried, in order, before the generic ones
    and the meaningful factors (``grader.hints``): a hint is given only when its model reproduces
    the wrong outputs. ``explain`` gives the hint for an output that is wrong whatever its value (a
    flag such as "the model was in training mode"); ``names`` how the verdict names an output (e.g.
    "`model[1].weight` after two epochs"). Tensors must be on the inputs' device unless
    ``check_device`` is false.
    """

    def __init__(self, rtol: float | None = None, atol: float | None = None,
                 mistakes: Sequence[Mistake] = (), oracle: Callable[[dict], dict] | None = None,
                 check_device: bool = True, explain: Mapping[str, str] | None = None,
                 names: Mapping[str, str] | None = None):
        if (rtol is None) != (atol is None):
            raise ValueError("give both rtol and atol, or neither")
        self.rtol, self.atol, self.mistakes, self.oracle = rtol, atol, tuple(mistakes), oracle
        self.check_device, self.explain, self.names = check_device, dict(explain or {}), dict(names or {})

    @property
    def needs_reference(self) -> bool:
        return self.oracle is None

    def expected(self, inputs: dict) -> dict[str, Value] | None:
        return None if self.oracle is None else {k: plain(v) for k, v in self.oracle(inputs).items()}

    def verdict(self, actual: Outcome, expected: dict[str, Value], inputs: dict, device: torch.device) -> Verdict:
        problems, valued, others = {}, {}, {}
        for name, want in expected.items():
            got = actual.values.get(name)
            text = compare(name, got, want, device if self.check_device else None, self.rtol, self.atol,
                           self.names.get(name))
            if text:
                problems[name] = text
                pair = (got if got is not None else Value("nothing"), want)
                (valued if _values_differ(*pair, self.rtol, self.atol) else others)[name] = pair
        if not problems:
            return Verdict(True)
        order = [*valued, *others]  # wrong values first: the problem the message leads with, and the hints explain
        problem = problems[order[0]]
        if len(order) > 1:
            problem += "\nAlso wrong: " + ", ".join(self.names.get(n) or f"`{n}`" for n in order[1:]) + "."
        hints = case_hints(valued or others, inputs, self.mistakes, self.explain)
        return Verdict(False, problem + (f"\nHint: {hints[0].text}" if hints else ""), problem, hints)


def _values_differ(actual: Value, expected: Value, rtol: float | None, atol: float | None) -> bool:
    """Whether the values themselves are wrong (not only the type, dtype, device or graph around right values)."""
    a, e = actual.tensor, expected.tensor
    if a is None or e is None:
        return a is not None or e is not None or getattr(actual, "shape", None) != getattr(expected, "shape", None)
    try:
        if a.shape != e.shape:
            return True
        if rtol is None or atol is None:
            rtol, atol = TOLERANCES.get(e.dtype, (0.0, 0.0))
        return not bool(torch.allclose(a.double(), e.double(), rtol=rtol, atol=atol, equal_nan=True))
    except Exception:  # values torch cannot compare are not the expected ones
        return True


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


def every_parameter_used(outputs: str, why: str = "") -> Require:
    """Output ``unused_parameters`` (``grader.probes.unused_parameters``) names no parameter: each one influences
    ``outputs``; ``why`` says what usually leaves one out."""

    def test(values, inputs):
        unused = text_of(values.get("unused_parameters"))
        return f"these parameters never influence {outputs}: {unused}{f' ({why})' if why else ''}" if unused else None

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
    """The inputs a case called the code with: names, dtypes and shapes (values of single numbers), and the seed."""
    parts = []
    for name, v in inputs.items():
        if isinstance(v, torch.Tensor):
            if v.numel() == 1 and v.dim() == 0 and not v.is_meta:
                parts.append(f"{name}={_scalar(v)} ({_dtype(v)})")
            else:
                parts.append(f"{name}: {_dtype(v)}{list(v.shape)}" + (" on meta" if v.is_meta else ""))
        elif isinstance(v, (int, float, str, bool)):
            parts.append(f"{name}={v!r}")
        elif isinstance(v, (tuple, list)) and len(v) <= 8 and all(isinstance(x, (int, float)) for x in v):
            parts.append(f"{name}={v!r}")
    return f"{', '.join(parts)} (seed {case.seed})" if parts else f"seed {case.seed}"


def called_with(inputs: dict, case: Case) -> str:
    """The line that introduces a case's failure: what it was called with."""
    described = describe_inputs(inputs, case)
    return f"with inputs {described}:" if described != f"seed {case.seed}" else f"with seed {case.seed}:"


def _judge_case(check: Check, outcome: Outcome, want: dict | None, inputs: dict, device: torch.device,
                anchor: dict | None) -> Verdict:
    """The verdict on one case that ran; any exception on the way is a failed verdict that says why."""
    try:
        verdict = check.judge.verdict(outcome, want, inputs, device)
        if verdict.passed and anchor is not None:
            verdict = check.judge.anchored(outcome, anchor, inputs)
        hints = getattr(verdict, "hints", None)
        hints = tuple(h for h in hints if isinstance(h, Hint)) if isinstance(hints, tuple) else None
        return Verdict(bool(verdict.passed), str(verdict.message), str(getattr(verdict, "problem", "") or ""), hints)
    except Exception as exc:
        return Verdict(False, unchecked(exc))


@dataclass
class _Failure:
    """One failing case: what it was called with, what is wrong, and the hints that reproduce it (None: the
    judge gives no hint models, and its message stands as it is)."""

    called: str
    text: str
    hints: tuple[Hint, ...] | None = None


def _first_failure(failures: list[_Failure]) -> str:
    """The first failure's message, with the one hint (if any) that reproduces every failing case."""
    first = failures[0]
    text = first.text
    if first.hints is not None:
        hint = agreed([f.hints or () for f in failures])
        text += f"\nHint: {hint.text}" if hint else ""
    return f"{first.called}\n{text}"


def judge_check(exercise: str, check: Check, outcomes: Sequence[Outcome],
                expected: Sequence[dict | None], device: str | torch.device,
                anchors: Sequence[dict] | None = None) -> CheckResult:
    """Score one check from the outcomes of its cases (``_judge_check``): a judge may run torch (a hint's model of a
    mistake, a baseline, an oracle) in the class grader's process, beside other judges and the reference's checks,
    so it has torch's global state to itself (``torchstate.exclusive``)."""
    device = torch.device(device)
    with exclusive(device):
        return _judge_check(exercise, check, outcomes, expected, device, anchors)


def _judge_check(exercise: str, check: Check, outcomes: Sequence[Outcome], expected: Sequence[dict | None],
                 device: torch.device, anchors: Sequence[dict] | None) -> CheckResult:
    """Score one check from the outcomes of its cases: full points when every case passes.

    A failure shows the inputs its first failing case was called with, and a hint only when the hint's
    model reproduces every failing case. ``anchors``, for a self-consistency check in the class grader,
    are the reference's values per case: the outcome must also agree with them
    (``GradcheckConsistent.anchored``). What a run noted beside a result that ran (``Outcome.message``
    of an ``ok`` case: a global setting it put back) ends the message.
    """
    if len(outcomes) != len(check.cases) or len(expected) != len(check.cases):
        return CheckResult(exercise, check.id, check.target, check.description, check.points, check.hidden, "error",
                           f"the results cover {len(outcomes)} case(s), not the {len(check.cases)} this check runs")
    status, failures, details, notes = "passed", [], [], []
    for index, (case, outcome, want) in enumerate(zip(check.cases, outcomes, expected)):
        if outcome.status == "not_implemented":
            status, failures = "not_implemented", [_Failure("", str(outcome.message))]
            break
        inputs = check.make_inputs(case, device)
        if outcome.status == "ok":
            if outcome.message and str(outcome.message) not in notes:
                notes.append(str(outcome.message))
            if anchors is not None and index >= len(anchors):
                verdict = Verdict(False, "the reference's values for this case are missing")
            else:
                verdict = _judge_case(check, outcome, want, inputs, case.on(device),
                                      None if anchors is None else anchors[index])
            if verdict.passed:
                details.append(verdict.message)
                continue
            status = "failed"
            text = verdict.problem if verdict.hints is not None and verdict.problem else verdict.message
            failures.append(_Failure(called_with(inputs, case), text, verdict.hints if verdict.problem else None))
        else:
            status = "error"
            failures.append(_Failure(called_with(inputs, case), str(outcome.message), ()))
    if status == "not_implemented":
        message = failures[0].text
    else:
        message = _first_failure(failures) if failures else "; ".join(d for d in details if d)
    if len(failures) > 1:
        message = f"{len(failures)} of {len(check.cases)} cases fail; the first {message}"
    message = "\n".join(m for m in (message, *notes) if m)
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
