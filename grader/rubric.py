"""The rubric: what each exercise checks, with which inputs, for how many points, and who sees it.

Each exercise declares its checks once, in ``grader/rubrics/<exercise>.py``. The student pytest
plugin runs the visible checks; ``grader grade`` runs all of them. Checks made only by the grader
sit between nbgrader's hidden-test markers (BEGIN and END HIDDEN TESTS, as comments) and are cut
from the copy students receive.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import torch

from . import GraderError

RUBRIC_PACKAGE = "grader.rubrics"


@dataclass(frozen=True)
class Case:
    """One set of inputs for a check: a seed for the input builder and its keyword arguments.

    ``device``, when given, is where this case's inputs live whatever device the run uses:
    ``"meta"`` (tensors with a shape and a dtype but no data) checks on any machine that a
    function keeps its results on the device of its inputs, as a GPU run would; ``"offhost"``
    (``grader.offhost``: CPU tensors that NumPy reads only after ``.cpu()``) that it copies its
    results to the host before NumPy or a plot.
    """

    seed: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)
    device: str | None = None

    def describe(self) -> str:
        extra = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        where = (", inputs on a stand-in for a GPU (NumPy reads them only after .cpu())" if self.device == "offhost"
                 else f", inputs on {self.device}" if self.device else "")
        return f"seed {self.seed}" + (f", {extra}" if extra else "") + where

    def on(self, device: str | torch.device) -> torch.device:
        """The device this case runs on when the run uses ``device`` (the CPU for ``"offhost"``)."""
        from .offhost import DEVICE

        return torch.device("cpu" if self.device == DEVICE else self.device or device)


def case(seed: int = 0, *, device: str | None = None, **params: Any) -> Case:
    """A case; ``device="meta"`` puts its inputs on the meta device, ``"offhost"`` on a stand-in for a GPU (see
    ``Case``)."""
    return Case(seed, dict(params), device)


InputBuilder = Callable[..., dict]


@dataclass(frozen=True)
class Check:
    """One graded claim about a student's code.

    ``probe`` runs the student's code (in the child process when grading) and returns plain values;
    ``judge`` compares them with the expected values in the grading process and gives the verdict.
    """

    id: str
    target: str
    points: float
    description: str
    probe: Any
    judge: Any
    inputs: InputBuilder | None = None
    cases: tuple[Case, ...] = (Case(),)
    hidden: bool = False

    @property
    def function(self) -> str:
        """The function or class under test: ``Linear`` for ``Linear.backward`` (a pytest marker)."""
        return self.target.split(".")[0]

    def hidden_variant(self, points: float, *cases: Case, id: str | None = None) -> "Check":
        """The same check at inputs only the grader uses."""
        return replace(self, id=id or f"{self.id}.hidden", points=points, cases=tuple(cases), hidden=True)

    def make_inputs(self, case: Case, device: str | torch.device = "cpu") -> dict:
        """Build this case's inputs on the CPU from its seed, then move tensors to ``device`` (or the case's own)."""
        if self.inputs is None:
            return {}
        generator = torch.Generator().manual_seed(case.seed)
        built = self.inputs(generator, **case.params)
        from .offhost import DEVICE, place

        moved = {k: (v.to(case.on(device)) if isinstance(v, torch.Tensor) else v) for k, v in built.items()}
        return {k: place(v) for k, v in moved.items()} if case.device == DEVICE else moved


@dataclass
class Exercise:
    """An exercise: one module students write (``name``.py) and the checks that grade it."""

    name: str
    title: str
    time_limit: float = 120.0
    checks: list[Check] = field(default_factory=list)
    # what the warm zygote imports before forking this exercise's children, for the code they run: the first
    # optimizer step and the first operation on a "meta" tensor import torch._dynamo (seconds), a figure matplotlib
    warm: tuple[str, ...] = ("torch._dynamo", "matplotlib.pyplot")

    @property
    def key(self) -> str:
        """The short name used in messages: ``ex02`` for ``ex02_gradients``."""
        return self.name.split("_", 1)[0]

    def add(self, *checks: Check) -> "Exercise":
        for check in checks:
            if any(c.id == check.id for c in self.checks):
                raise ValueError(f"{self.name}: two checks are called {check.id!r}")
            self.checks.append(check)
        return self

    def selected(self, hidden: bool) -> list[Check]:
        """The visible checks, plus the hidden ones when ``hidden`` is true."""
        return [c for c in self.checks if hidden or not c.hidden]

    def max_points(self, hidden: bool) -> float:
        return sum(c.points for c in self.selected(hidden))

    def check(self, check_id: str) -> Check:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(f"{self.name} has no check {check_id!r}")


def exercise_names() -> list[str]:
    """Every exercise with a rubric, in course order."""
    package = importlib.import_module(RUBRIC_PACKAGE)
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name[:2] == "ex")


def load(name: str) -> Exercise:
    """The rubric of one exercise, by module name (``ex02_gradients``) or short name (``ex02``)."""
    matches = [n for n in exercise_names() if n == name or n.split("_", 1)[0] == name]
    if not matches:
        raise KeyError(f"no exercise {name!r}; the exercises are: {', '.join(exercise_names())}")
    module = importlib.import_module(f"{RUBRIC_PACKAGE}.{matches[0]}")
    return module.EXERCISE


def load_all() -> list[Exercise]:
    return [load(n) for n in exercise_names()]


def select(only: str | None) -> list[Exercise]:
    """Exercises named in a comma-separated ``--only`` value (all when empty); an unknown name is a clear error
    for every command that takes ``--only``."""
    if not only:
        return load_all()
    try:
        return [load(part.strip()) for part in only.split(",") if part.strip()]
    except KeyError as exc:
        raise GraderError(f"--only {only}: {exc.args[0]}") from None


# --- helpers for input builders -----------------------------------------------------------------


def randn(generator: torch.Generator, *shape: int, dtype: torch.dtype = torch.float64, scale: float = 1.0,
          shift: float = 0.0) -> torch.Tensor:
    """Seeded normal values (built on the CPU, so every device sees the same numbers)."""
    return torch.randn(shape, generator=generator, dtype=dtype) * scale + shift
