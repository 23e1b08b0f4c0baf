"""Running student code on one case of a check: the probes, and what happened as an ``Outcome``.

A probe only runs code and reports plain values; it never decides whether they are right. When
grading a class this module runs inside the child process; under ``pytest exercises/`` it runs in
the student's own pytest process.
"""

from __future__ import annotations

import io
import os
import re
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator, Sequence

import torch

from . import figures, offhost
from .payload import FIGURE_PNG, Numbers, Outcome, plain
from .rubric import Case, Check

STUB_NAME = re.compile(r"^ex\d\d\.[\w.]+$")
os.environ.setdefault("MPLBACKEND", "Agg")  # figures are drawn to files, never to a screen


class StudentError(Exception):
    """Student code cannot be used as asked (a missing name, a wrong number of outputs...)."""


@dataclass
class Trial:
    """What a probe gets: the student's module, this case's inputs, the device and the seed."""

    module: ModuleType
    inputs: dict
    device: torch.device
    seed: int
    offhost: bool = False  # the case stands in for a GPU (``grader.offhost``)

    def place(self, value: Any) -> Any:
        """A tensor the probe gives the student, on this case's device (an ``OffHost`` one for such a case)."""
        if not isinstance(value, torch.Tensor):
            return value
        value = value.to(self.device)
        return offhost.place(value) if self.offhost else value

    def target(self, path: str) -> Any:
        """The object at a dotted path in the student's module, e.g. ``Linear.apply``."""
        obj: Any = self.module
        for i, part in enumerate(path.split(".")):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                where = ".".join(path.split(".")[:i]) or f"{self.module.__name__.rsplit('.', 1)[-1]}.py"
                raise StudentError(f"{where} has no `{part}` (looked for `{path}`)") from None
        return obj


def outputs_named(result: Any, names: str | Sequence[str], target: str) -> dict:
    """Name a function's return value(s): one name for one value, several for a tuple."""
    if isinstance(names, str):
        return {names: result}
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = f"a {type(result).__name__}" + (f" of {len(result)}" if isinstance(result, (tuple, list)) else "")
        raise StudentError(f"{target} should return {len(names)} values ({', '.join(names)}); it returned {got}")
    return dict(zip(names, result))


class Call:
    """Call ``target`` with the named inputs, in order; name what it returns.

    The argument name ``device`` passes the device the check runs on.
    """

    def __init__(self, target: str, args: Sequence[str], outputs: str | Sequence[str] = "out"):
        self.target, self.args, self.outputs = target, tuple(args), outputs

    def __call__(self, trial: Trial) -> dict:
        fn = trial.target(self.target)
        args = (trial.device if a == "device" else trial.inputs[a] for a in self.args)
        return outputs_named(fn(*args), self.outputs, self.target)


def _leaves(trial: Trial, args: Sequence[str], dtype: torch.dtype | None = None) -> list[torch.Tensor]:
    return [trial.inputs[a].detach().clone().to(dtype or trial.inputs[a].dtype).requires_grad_(True) for a in args]


def _forward(trial: Trial, target: str, leaves: list[torch.Tensor]) -> torch.Tensor:
    out = trial.target(target)(*leaves)
    if not isinstance(out, torch.Tensor):
        raise StudentError(f"{target} should return a Tensor; it returned a {type(out).__name__}")
    if not out.requires_grad:
        raise StudentError(f"the result of {target} does not depend on its inputs through autograd "
                           "(was it detached, or computed under torch.no_grad()?)")
    return out


class Backward:
    """Run a function forward, then backward with the case's upstream gradient ``grad_output``.

    Reports the gradient of every argument as autograd delivers it (``grad_<arg>``). When autograd
    rejects what a custom ``Function.backward`` returned (a wrong shape), reports the raw values
    instead, so that the verdict can say what is wrong with them.
    """

    def __init__(self, target: str, args: Sequence[str], grad_output: str = "grad_out"):
        self.target, self.args, self.grad_output = target, tuple(args), grad_output

    def __call__(self, trial: Trial) -> dict:
        leaves = _leaves(trial, self.args)
        out = _forward(trial, self.target, leaves)
        upstream = trial.inputs[self.grad_output]
        if out.shape != upstream.shape:
            raise StudentError(f"{self.target} returned shape {tuple(out.shape)}, expected {tuple(upstream.shape)}, "
                               "so its backward cannot be checked")
        try:
            grads = torch.autograd.grad(out, leaves, upstream, allow_unused=True)
        except RuntimeError as exc:
            node = out.grad_fn
            if "invalid gradient" not in str(exc) or not hasattr(node, "apply"):
                raise
            grads = node.apply(upstream)
            grads = grads if isinstance(grads, tuple) else (grads,)
        return {f"grad_{a}": g for a, g in zip(self.args, grads)}


class SelfGradcheck:
    """The Jacobian from the student's backward next to finite differences of the student's forward.

    Both are computed in float64 at the case's inputs, as ``torch.autograd.gradcheck`` does; the
    comparison (with gradcheck's tolerances) is the judge's job, not the probe's.
    """

    def __init__(self, target: str, args: Sequence[str], eps: float = 1e-6):
        self.target, self.args, self.eps = target, tuple(args), eps

    def __call__(self, trial: Trial) -> dict:
        leaves = _leaves(trial, self.args, torch.float64)
        out = _forward(trial, self.target, leaves)
        flat = out.reshape(-1)
        analytic = [torch.zeros(flat.numel(), x.numel(), dtype=torch.float64, device=x.device) for x in leaves]
        for j in range(flat.numel()):
            grads = torch.autograd.grad(flat[j], leaves, retain_graph=True, allow_unused=True)
            for i, g in enumerate(grads):
                if g is not None:
                    analytic[i][j] = g.reshape(-1)
        fn = trial.target(self.target)
        result = {}
        with torch.no_grad():
            for i, (name, x) in enumerate(zip(self.args, leaves)):
                numeric = torch.zeros_like(analytic[i])
                args = [leaf.detach() for leaf in leaves]
                for k in range(x.numel()):
                    base = args[i]
                    up, down = base.clone(), base.clone()
                    up.view(-1)[k] += self.eps
                    down.view(-1)[k] -= self.eps
                    f_up = fn(*args[:i], up, *args[i + 1:])
                    f_down = fn(*args[:i], down, *args[i + 1:])
                    numeric[:, k] = ((f_up - f_down) / (2 * self.eps)).reshape(-1)
                result[f"analytic/{name}"] = analytic[i]
                result[f"numeric/{name}"] = numeric
        result["out_shape"] = Numbers(list(out.shape), dtype=torch.int64)
        return result


class Spy(torch.nn.Module):
    """Wraps a model; remembers for each forward call whether it was in training mode and autograd was on, and
    how many samples it was given (``batch_sizes``)."""

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner, self.training_flags, self.grad_flags, self.batch_sizes = inner, [], [], []

    def forward(self, *args):
        self.training_flags.append(self.training)
        self.grad_flags.append(torch.is_grad_enabled())
        if args and isinstance(args[0], torch.Tensor) and args[0].dim():
            self.batch_sizes.append(int(args[0].shape[0]))
        return self.inner(*args)

    def facts(self) -> dict:
        return {"ran_in_training_mode": bool(self.training_flags) and all(self.training_flags),
                "ran_in_eval_mode": bool(self.training_flags) and not any(self.training_flags),
                "ran_without_autograd": bool(self.grad_flags) and not any(self.grad_flags)}


@contextmanager
def standing_in(trial: Trial, name: str, replacement: Any) -> Iterator[None]:
    """The student's module-level ``name`` replaced by ``replacement`` while the block runs, then put back.

    For a case on the meta device, where tensors hold no data: a helper that needs values (an optimiser's
    line search) gives way to one that does not, so that what the function under test does around it (where
    it creates its tensors, what it returns) can still be checked.
    """
    namespace = vars(trial.module)
    missing = object()
    before = namespace.get(name, missing)
    namespace[name] = replacement
    try:
        yield
    finally:
        if before is missing:
            namespace.pop(name, None)
        else:
            namespace[name] = before


def unused_parameters(model: torch.nn.Module, outputs: Sequence[torch.Tensor]) -> Numbers:
    """The names of the parameters of ``model`` that do not influence ``outputs`` (as a text, comma-separated).

    Backpropagates a seeded random weighting of the outputs (so that no sum cancels) and lists each parameter
    whose gradient is missing or zero everywhere: a layer the forward never uses, or whose result it discards.
    """
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    tracked = [o for o in outputs if isinstance(o, torch.Tensor) and o.requires_grad and o.is_floating_point()]
    if not named or not tracked:
        return figures.text_tensor(", ".join(name for name, _ in named))
    generator = torch.Generator().manual_seed(0)
    total = sum((o * torch.randn(o.shape, generator=generator, dtype=o.dtype).to(o.device)).sum() for o in tracked)
    grads = torch.autograd.grad(total, [p for _, p in named], allow_unused=True)
    return figures.text_tensor(", ".join(name for (name, _), g in zip(named, grads)
                                         if g is None or not bool((g != 0).any())))


_MEMO: dict = {}


def memo(trial: Trial, key: str, build) -> Any:
    """``build()``, once per module, key, seed, device and fresh draw: checks of one trained model share it.

    An exception is remembered too, so every check that needs the model reports the same error
    without training again.
    """
    from . import fresh

    k = (trial.module, key, trial.seed, str(trial.device), fresh.seed())
    if k not in _MEMO:
        try:
            _MEMO[k] = (True, build())
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # student code may raise anything
            _MEMO[k] = (False, exc)
    ok, value = _MEMO[k]
    if not ok:
        raise value
    return value


def describe_figure(fig: Any, owner: str, dpi: int = 72) -> dict:
    """What a matplotlib figure shows (counts of axes, lines, bands, points, images, labels), the data it draws
    (``grader.figures.report``: each line's x and y, each band's bounds, the texts...), and its PNG."""
    from matplotlib.collections import PathCollection, PolyCollection
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise StudentError(f"{owner} should return a matplotlib Figure (e.g. `fig, ax = plt.subplots()` ... "
                           f"`return fig`); it returned a {type(fig).__name__}")
    axes = fig.get_axes()
    drawn = [ax for ax in axes if ax.get_lines() or ax.collections]
    facts = {
        "figure/axes": len(axes),
        "figure/lines": sum(len(ax.get_lines()) for ax in axes),
        "figure/bands": sum(isinstance(c, PolyCollection) for ax in axes for c in ax.collections),
        "figure/points": sum(isinstance(c, PathCollection) for ax in axes for c in ax.collections),
        "figure/images": sum(len(ax.get_images()) for ax in axes),
        "figure/titled_axes": sum(bool(ax.get_title().strip()) for ax in axes),
        "figure/labelled": bool(drawn) and all(ax.get_xlabel().strip() and ax.get_ylabel().strip() for ax in drawn),
        "figure/legend": any(ax.get_legend() is not None for ax in axes) or bool(fig.legends),
        **figures.report(fig),
    }
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    import matplotlib.pyplot as plt

    plt.close(fig)
    facts[FIGURE_PNG] = torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8)
    return facts


# --- running one case ---------------------------------------------------------------------------


def describe_exception(exc: BaseException, module: ModuleType | None) -> str:
    """``Type: message``, plus where in the student's file it happened."""
    text = f"{type(exc).__name__}: {exc}".strip()
    if isinstance(exc, SystemExit):
        text = f"called exit({exc.code!r})"
    filename = getattr(module, "__file__", None)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if filename and f.filename == filename]
    if frames:
        f = frames[-1]
        text += f"\n  in {f.name}(), {f.filename.rsplit('/', 1)[-1]} line {f.lineno}: {(f.line or '').strip()}"
    return text


def describe_import_error(exc: BaseException, path: Path) -> str:
    """Why a student's file did not import, pointing at the line when there is one."""
    if isinstance(exc, SyntaxError):
        return f"{path.name} does not import: SyntaxError: {exc.msg} (line {exc.lineno}: {(exc.text or '').strip()})"
    text = describe_exception(exc, None)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    if frames:
        text += f" (line {frames[-1].lineno}: {(frames[-1].line or '').strip()})"
    return f"{path.name} does not import: {text}"


def run_case(check: Check, case: Case, module: ModuleType, device: str | torch.device) -> Outcome:
    """Run the student's code for one case of a check (on the case's own device, if it has one) and report what
    happened."""
    device = case.on(device)
    inputs = check.make_inputs(case, device)
    start = time.perf_counter()
    try:
        torch.manual_seed(case.seed)
        raw = check.probe(Trial(module, inputs, device, case.seed, case.device == offhost.DEVICE))
        values = {name: plain(offhost.plain(v)) for name, v in raw.items()}
        return Outcome("ok", values, seconds=time.perf_counter() - start)
    except NotImplementedError as exc:
        name = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
        if STUB_NAME.match(name):
            return Outcome("not_implemented", message=f"not implemented yet: {name}",
                           seconds=time.perf_counter() - start)
        return Outcome("error", message=describe_exception(exc, module), seconds=time.perf_counter() - start)
    except StudentError as exc:
        return Outcome("error", message=str(exc), seconds=time.perf_counter() - start)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # student code may raise anything, SystemExit included
        return Outcome("error", message=describe_exception(exc, module), seconds=time.perf_counter() - start)


def run_check(check: Check, module: ModuleType, device: str | torch.device) -> list[Outcome]:
    return [run_case(check, c, module, device) for c in check.cases]
