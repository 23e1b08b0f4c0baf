"""Mistake hints: models of wrong answers, and the rule that a hint is given only when its model reproduces them.

A hint names a mistake. It is given only when a model of that mistake (the reference computed
the wrong way, a meaningful factor, a transpose...) reproduces the student's wrong output within
tolerance, at every output the model covers, and at every failing case of the check
(``agreed``); otherwise the verdict stays silent. Nothing here calls student code, and a hint
that cannot be worked out is no hint, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import torch

from .payload import Value


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    try:
        return a.shape == b.shape and bool(torch.allclose(a.double(), b.double(), rtol=rtol, atol=atol, equal_nan=True))
    except Exception:  # a dtype or size torch cannot compare is simply not close
        return False


@dataclass(frozen=True)
class Hint:
    """One claim about a wrong answer: ``key`` names the claim (the same claim at two cases has the same key).

    ``scope`` is the outputs the claim covers (None: every output); a case is explained by a hint
    only when every wrong output in its scope is.
    """

    key: str
    text: str
    scope: frozenset | None = None


def agreed(per_case: Sequence[Sequence[Hint]]) -> Hint | None:
    """The first hint of the first failing case that every failing case supports; None when there is none."""
    if not per_case:
        return None
    for hint in per_case[0]:
        if all(any(h.key == hint.key for h in hints) for hints in per_case[1:]):
            return hint
    return None


# --- models of mistakes -------------------------------------------------------------------------


@dataclass
class Mistake:
    """A recognisable wrong answer: ``test(actual, expected, inputs, output_name)`` says if this is it.

    ``model``, where there is one, computes the wrong answer itself (``like``): what a test can feed the
    verdict to see the hint fire.
    """

    text: str
    test: Callable[[torch.Tensor, torch.Tensor, dict, str], bool]
    outputs: Sequence[str] | None = None
    model: Callable[[dict], Any] | None = None

    def covers(self, name: str) -> bool:
        return self.outputs is None or name in self.outputs

    def matches(self, name: str, actual: torch.Tensor, expected: torch.Tensor, inputs: dict) -> bool:
        if not self.covers(name):
            return False
        try:
            return bool(self.test(actual, expected, inputs, name))
        except Exception:
            return False

    def hint(self) -> Hint:
        return Hint(f"mistake:{self.text}", self.text, None if self.outputs is None else frozenset(self.outputs))


def _once(wrong: Callable[[dict], Any]) -> Callable[[dict], Any]:
    """``wrong`` remembering its last result, so that the outputs of one case share one computation of the model."""
    last: list = []  # one (inputs, value) pair, replaced whole: judges running in threads never mix two

    def cached(inputs: dict) -> Any:
        entry = last[0] if last else None
        if entry is None or entry[0] is not inputs:
            entry = (inputs, wrong(inputs))
            last[:] = [entry]
        return entry[1]

    return cached


def like(text: str, wrong: Callable[[dict], Any], outputs: Sequence[str] | None = None) -> Mistake:
    """The student's output equals ``wrong(inputs)`` (a tensor, or a dict of outputs by name)."""
    model = _once(wrong)

    def test(actual, expected, inputs, name):
        value = model(inputs)
        value = torch.as_tensor(value[name] if isinstance(value, dict) else value).to(actual.device)
        return _close(actual, value) and not _close(expected, value)

    return Mistake(text, test, outputs, wrong)


def scaled_by(factor: Callable[[dict], float], text: str, outputs: Sequence[str] | None = None) -> Mistake:
    """The student's output is the expected one times ``factor(inputs)``."""
    return Mistake(text, lambda a, e, i, n: _close(a, e * factor(i)) and not _close(e, e * factor(i)), outputs)


def near(text: str, rtol: float, atol: float = 1e-8, outputs: Sequence[str] | None = None) -> Mistake:
    """The student's output has the expected dtype and is within a small relative error ``rtol`` of the
    expected one (e.g. an optimiser stopped short of the minimum); a wrong dtype or a large error is not this."""

    def test(a, e, i, n):
        return a.dtype == e.dtype and bool(torch.isfinite(a).all()) and _close(a, e, rtol=rtol, atol=atol)

    return Mistake(text, test, outputs)


GENERIC = [
    Mistake("your result contains NaN or inf where the expected one is finite: an overflow (exp of a large "
            "number?), a log of 0 or a division by zero",
            lambda a, e, i, n: not torch.isfinite(a).all() and bool(torch.isfinite(e).all())),
    Mistake("your result is the transpose of the expected one",
            lambda a, e, i, n: a.dim() >= 2 and _close(a, e.transpose(-1, -2)) and not _close(e, e.transpose(-1, -2))),
    Mistake("the values are right but the shape is not: check reshape/squeeze/keepdim",
            lambda a, e, i, n: a.shape != e.shape and a.numel() == e.numel() and _close(a.reshape(e.shape), e)),
]


def adam_loop_mistakes(train: Callable[..., Any], outputs: Sequence[str]) -> list[Mistake]:
    """The mistakes of a loop of Adam steps over shuffled mini-batches, each modelled by ``train(inputs, **slip)``:
    ``zero_grad``, ``step`` or ``shuffle`` False, or ``optimizer="sgd"``."""
    return [
        like("the gradients were never zeroed: call optimizer.zero_grad() before each backward()",
             lambda i: train(i, zero_grad=False), outputs=outputs),
        like("these are the weights plain SGD gives: the docstring asks for torch.optim.Adam(model.parameters(), "
             "lr=lr)", lambda i: train(i, optimizer="sgd"), outputs=outputs),
        like("the batches came in order: shuffle them with DataLoader(..., shuffle=True, "
             "generator=torch.Generator().manual_seed(seed))", lambda i: train(i, shuffle=False), outputs=outputs),
        like("the weights did not move: call optimizer.step() after each loss.backward()",
             lambda i: train(i, step=False), outputs=outputs),
    ]


MODE_HINTS = {  # for the flags ``probes.Spy.facts`` reports
    "ran_in_training_mode": "call model.train() before training: the model may come from an evaluation, in "
                            "evaluation mode, and dropout would stay off",
    "ran_in_eval_mode": "the model ran in training mode, so dropout was on and the result is random: call "
                        "model.eval() first",
    "ran_without_autograd": "the model ran with autograd on, building a graph nobody uses: wrap the loop in "
                            "`with torch.no_grad():`",
}


# --- factors: only meaningful ones ---------------------------------------------------------------

SMALL = range(2, 11)  # the constant factors a formula plausibly gains or loses


def _sizes(inputs: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """(key, words, size) for every size the inputs' shapes carry: each dimension of each tensor input, and its
    number of elements (a batch, n samples, the elements a mean runs over)."""
    found = []
    for name, v in inputs.items():
        if not isinstance(v, torch.Tensor):
            continue
        if v.dim() == 1:
            found.append((f"{name}.0", f"the length of `{name}`", int(v.shape[0])))
            continue
        for k, size in enumerate(v.shape):
            found.append((f"{name}.{k}", f"the size of `{name}`'s dimension {k}", int(size)))
        if v.dim() > 1:
            found.append((f"{name}.numel", f"the number of elements of `{name}`", int(v.numel())))
    return [s for s in found if s[2] > 1]


def _times(k: float) -> str:
    return f"{k:g}"


def _constant_words(k: float) -> str:
    if k == -1:
        return "the sign is flipped: your result is minus the expected one"
    if k == 2:
        return "your result is twice the expected one: a factor of 2 too many?"
    if k == 0.5:
        return "your result is half the expected one: a factor of 2 missing?"
    if k > 1:
        return f"your result is {_times(k)} times the expected one: a factor of {_times(k)} too many?"
    if 0 < k < 1:
        return f"your result is the expected one divided by {_times(1 / k)}: a factor of {_times(1 / k)} missing?"
    if k < -1:
        return (f"your result is {_times(k)} times the expected one: the sign is flipped, and a factor of "
                f"{_times(-k)} too many?")
    return f"your result is the expected one divided by {_times(-1 / k)}, with the sign flipped"


def factor_hints(actual: torch.Tensor, expected: torch.Tensor, inputs: Mapping[str, Any]) -> list[Hint]:
    """Hints for an output that is the expected one times a meaningful factor: a size of the inputs (a sum
    where a mean is asked, or the other way round), a small whole number or its inverse, or -1."""
    try:
        if not (actual.is_floating_point() and expected.is_floating_point()) or actual.shape != expected.shape \
                or not actual.numel() or not torch.isfinite(actual).all() or not torch.isfinite(expected).all() \
                or expected.double().abs().max() == 0:
            return []
        a, e = actual.double(), expected.double()

        def reproduces(k: float) -> bool:
            return _close(a, e * k) and not _close(e, e * k)

        constants = [k for base in SMALL for k in (base, 1 / base, -base, -1 / base) if reproduces(k)]
        if reproduces(-1.0):
            constants.insert(0, -1.0)
        hints, by_size = [], {}
        for key, words, size in _sizes(inputs):
            for k in (size, 1 / size):
                if reproduces(k):
                    by_size.setdefault(k, []).append((key, words))
        for k, sources in by_size.items():
            size = round(k if k > 1 else 1 / k)
            told = " and ".join(words for _, words in sources)
            if k > 1:
                text = (f"your result is {size} times the expected one, and {size} is {told}: a sum where the mean "
                        "is asked?")
            else:
                text = f"your result is the expected one divided by {size}, {told}: a mean where the sum is asked?"
            if any(abs(c - k) < 1e-12 for c in constants):
                text += f" (or a constant factor of {size} {'too many' if k > 1 else 'missing'})"
            hints += [Hint(f"factor:{key}:{'sum' if k > 1 else 'mean'}", text) for key, _ in sources]
        hints += [Hint(f"factor:{k!r}", _constant_words(k)) for k in constants]
        return hints
    except Exception:  # a hint is a courtesy: it never turns a verdict into an error
        return []


def dtype_hints(actual: torch.Tensor, expected: torch.Tensor, inputs: Mapping[str, Any]) -> list[Hint]:
    """The inputs' floating dtype is the expected one and the result's is another: the dtype was not kept."""
    floats = {v.dtype for v in inputs.values() if isinstance(v, torch.Tensor) and v.is_floating_point()}
    if actual.dtype == expected.dtype or floats != {expected.dtype}:
        return []
    dtype = str(expected.dtype).replace("torch.", "")
    return [Hint("dtype:inputs", f"the inputs are {dtype}: keep their dtype (create new tensors with dtype=x.dtype "
                                 "or torch.zeros_like(x), and do not convert the inputs)")]


# --- what explains one case ----------------------------------------------------------------------


def output_hints(name: str, actual: Value, expected: Value, inputs: dict, mistakes: Sequence[Mistake]) -> list[Hint]:
    """Every hint whose model reproduces one wrong output, most specific first."""
    try:
        a, e = actual.tensor, expected.tensor
        if a is None or e is None or actual.kind != expected.kind:
            return []
        found = [m.hint() for m in list(mistakes) + GENERIC if m.matches(name, a, e, inputs)]
        found += [Hint(h.key, h.text, frozenset([name])) for h in dtype_hints(a, e, inputs)]
        return found + factor_hints(a, e, inputs)
    except Exception:  # a hint is a courtesy: it never turns a verdict into an error
        return []


def case_hints(wrong: Mapping[str, tuple[Value, Value]], inputs: dict, mistakes: Sequence[Mistake],
               explain: Mapping[str, str]) -> tuple[Hint, ...]:
    """The hints that explain one case: found for its first wrong output (``wrong`` is ordered) and for every
    other wrong output in their scope. ``explain`` gives the hint for an output whatever its wrong value."""
    names = list(wrong)
    if not names:
        return ()
    found = {name: output_hints(name, *wrong[name], inputs, mistakes) for name in names}
    first = names[0]
    hints = [Hint(f"explain:{first}", explain[first], frozenset([first]))] if explain.get(first) else []
    for hint in found[first]:
        others = [n for n in names[1:] if hint.scope is None or n in hint.scope]
        if all(any(h.key == hint.key for h in found[n]) for n in others):
            hints.append(hint)
    return tuple(hints)


def recognise(name: str, actual: Value, expected: Value, inputs: dict, mistakes: Sequence[Mistake]) -> str:
    """The hint for one wrong output that looks like a known mistake; empty when none fits (or none can be told)."""
    hints = output_hints(name, actual, expected, inputs, mistakes)
    return hints[0].text if hints else ""
