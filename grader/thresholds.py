"""Verdicts on trained models: metrics against calibrated thresholds, the baselines they must beat, the model asked for.

A training check measures, in the grading process, what the student's trained model predicts:
on the public held-out split and on fresh inputs drawn at grading time (``grader.fresh``), each
metric against its threshold. Where the docstring fixes the model's layers, the predictions are
made here, by the model rebuilt from the weights the child reports (``derive``, ``grader.rebuild``). Its ``baselines`` are what needs no learning (a majority class,
persistence, the generating function...): ``grader calibrate`` records how each one scores, and a
test holds every threshold beyond every baseline by ``baseline_margin``, unless the check also
verifies what makes the model the asked one (``asked_model``: the layer types the docstring names,
predictions made through them, parameters that moved in training).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import torch

from .checks import Require, Verdict, unchecked
from .payload import Outcome, Value


def prediction(values: dict, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    """Output ``name`` as a finite float64 tensor of ``shape``; otherwise a ValueError saying why."""
    t = values.get(name)
    if t is None:
        raise ValueError(f"`{name}` was not produced (or is not a tensor)")
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f"`{name}` has shape {tuple(t.shape)}, expected {tuple(shape)}")
    if not t.is_floating_point() and t.dtype != torch.int64:
        raise ValueError(f"`{name}` has dtype {t.dtype}, expected a floating-point tensor")
    t = t.double()
    if not torch.isfinite(t).all():
        raise ValueError(f"`{name}` holds {int((~torch.isfinite(t)).sum())} NaN or infinite value(s)")
    return t


@dataclass(frozen=True)
class Measure:
    """One metric of a trained model, ``measure(values, inputs)``, against its threshold.

    ``margin`` is how far beyond the threshold the reference's worst result over the calibration
    seeds must lie. ``measure`` raises ValueError when the outputs cannot be measured.
    """

    metric: str
    measure: Callable[[dict, dict], float]
    threshold: float
    higher_is_better: bool = True
    margin: float = 0.0
    digits: int = 3

    def passes(self, value: float) -> bool:
        return value >= self.threshold if self.higher_is_better else value <= self.threshold

    def margin_of(self, value: float) -> float:
        """How far ``value`` lies beyond the threshold, on its good side (negative: it fails)."""
        return value - self.threshold if self.higher_is_better else self.threshold - value

    def score(self, values: Mapping[str, torch.Tensor | None], inputs: dict) -> float:
        value = float(self.measure(dict(values), inputs))
        if not math.isfinite(value):
            raise ValueError(f"the {self.metric} is {value}")
        return value

    def requirement(self) -> str:
        return f"{'>=' if self.higher_is_better else '<='} {self.threshold:.{self.digits}f} required"

    def describe(self, value: float) -> str:
        text = f"{self.metric} {value:.{self.digits}f}"
        if self.passes(value):
            return f"{text} ({self.requirement()})"
        op = "<" if self.higher_is_better else ">"
        return f"{text} {op} {self.threshold:.{self.digits}f} required (short by {abs(self.margin_of(value)):.{self.digits}f})"


def _trained(name: str) -> bool:
    """A reported tensor that training produced: a rebuilt layer's weights (``layers/0/weight``), or the losses."""
    return name == "losses" or ("/" in name and not name.startswith(("rebuilt/", "figure/"))
                                and name.rsplit("/", 1)[-1] not in ("settings", "kinds", "kind"))


def _not_finite(values: Mapping[str, Value]) -> str:
    """What says that the trained weights or the losses hold NaN or inf; empty when none does."""
    names = []
    for name, value in values.items():
        t = value.tensor
        try:
            if _trained(name) and t is not None and t.is_floating_point() and not torch.isfinite(t).all():
                names.append(f"`{name}`")
        except Exception:  # a value that cannot be read is judged by the requirements, not here
            continue
    if not names:
        return ""
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return f"the trained model's {shown} hold{'s' if len(names) == 1 else ''} NaN or inf values: the training diverged"


Baseline = Callable[[dict], dict]  # inputs -> the outputs (derived ones included) a no-learning strategy gives
NOT_ASKED = "this is not the model the exercise asks for, so its predictions were not measured"


class Threshold:
    """A trained model reaches a calibrated threshold on every measure, and is the model the exercise asks for.

    The first measure is given by the leading arguments (usually the public held-out split);
    ``fresh`` adds measures on inputs drawn at grading time. ``asked_model`` requirements are
    checked first: a model that is not the asked one (its predictions not made through the layers
    the docstring names, nothing trained) scores nothing, whatever it predicts.
    """

    needs_reference = False

    def __init__(self, metric: str, measure: Callable[[dict, dict], float], threshold: float,
                 higher_is_better: bool = True, margin: float = 0.0, hint: str = "", digits: int = 3, *,
                 fresh: Sequence[Measure] = (), baselines: Mapping[str, Baseline] | None = None,
                 baseline_margin: float = 0.0, asked_model: Sequence[Require] = (),
                 derive: Callable[[dict, dict], dict] | None = None):
        self.measures = (Measure(metric, measure, threshold, higher_is_better, margin, digits), *fresh)
        self.hint, self.baselines, self.baseline_margin = hint, dict(baselines or {}), baseline_margin
        self.asked_model, self.derive = tuple(asked_model), derive

    # the first measure's settings, as every threshold has them
    @property
    def metric(self) -> str:
        return self.measures[0].metric

    @property
    def threshold(self) -> float:
        return self.measures[0].threshold

    @property
    def higher_is_better(self) -> bool:
        return self.measures[0].higher_is_better

    @property
    def margin(self) -> float:
        return self.measures[0].margin

    def expected(self, inputs: dict) -> None:
        return None

    def derived(self, values: Mapping[str, Value], inputs: dict) -> dict:
        """The reported tensors, and what the grading process derives from them (``derive``: predictions of the
        model rebuilt from its weights), which no reported value of the same name can replace."""
        tensors = {name: v.tensor for name, v in values.items()}
        return {**tensors, **(self.derive(tensors, inputs) if self.derive else {})}

    def scores(self, values: Mapping[str, Value], inputs: dict) -> dict[str, float]:
        """Every measure's value, by metric; ValueError (or another exception) when one cannot be measured."""
        tensors = self.derived(values, inputs)
        return {m.metric: m.score(tensors, inputs) for m in self.measures}

    def verdict(self, actual: Outcome, expected: None, inputs: dict, device: torch.device) -> Verdict:
        diverged = _not_finite(actual.values)
        if diverged:  # a training that blew up: not a model of another kind
            hint = f"\nHint: {self.hint}" if self.hint else ""
            return Verdict(False, f"{diverged}, so nothing was measured{hint}")
        try:
            tensors = self.derived(actual.values, inputs)
        except Exception as exc:  # weights that make no model of the asked kind
            reason = str(exc) if isinstance(exc, (ValueError, KeyError)) else unchecked(exc)
            return Verdict(False, f"{NOT_ASKED}:\n- the grader cannot rebuild your model from its layers: {reason}")
        problems = [p for p in (r(tensors, inputs) for r in self.asked_model) if p]
        if problems:
            return Verdict(False, f"{NOT_ASKED}:\n" + "\n".join(f"- {p}" for p in problems))
        lines, passed = [], True
        for m in self.measures:
            try:
                value = m.score(tensors, inputs)
            except Exception as exc:  # whatever the values, a measurement ends in a verdict
                reason = str(exc) if isinstance(exc, (ValueError, KeyError)) else unchecked(exc)
                lines.append(f"the {m.metric} could not be measured: {reason}")
                passed = False
                continue
            lines.append(m.describe(value))
            passed = passed and m.passes(value)
        hint = f"\nHint: {self.hint}" if self.hint and not passed else ""
        return Verdict(passed, "; ".join(lines) + hint)
