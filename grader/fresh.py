"""Inputs drawn at grading time: flowers, series, tasks and digits no file holds, whose answers only the grader keeps.

A trained model is measured twice: on the public held-out split (which anyone can look up) and on
inputs drawn here from a seed. The grading process draws them from a secret seed (``secret_seed``:
derived from the reference solutions, which a sandboxed child never sees) and writes only their
inputs into the child's data pack; the answers stay in the grading process. Everywhere else (a
student's own ``pytest``, calibration) the seed is public: ``PUBLIC_SEED``, or the calibration
seed.

| data set | fresh inputs |
|---|---|
| Iris | flowers from per-class Gaussians fitted to the training split |
| sunspots | windows of series simulated from an AR model fitted to the training years, each from its own run |
| heteroscedastic | a task (mean and noise functions) whose coefficients are drawn from the seed |
| MNIST | the held-out digits, each shifted and speckled at random |
| token selection | new sequences of the key-value look-up, from the same rule |
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

PUBLIC_SEED = 0  # what a student's own pytest run and the public checks draw
SEED_ENV = "COURSE_FRESH_SEED"  # overrides the grading process's secret seed (a test, a re-run of an audit)
N_FLOWERS, N_WINDOWS, SEGMENT, AR_ORDER, SIM_BURN_IN = 150, 300, 32, 9, 40
N_TRAIN, N_FRESH = 1000, 2000  # heteroscedastic training points and fresh points
N_SEQUENCES = 1000  # token-selection sequences
_SEED: int | None = None


class FreshAnswersUnavailable(RuntimeError):
    """The answers to fresh inputs were asked for where only their inputs exist (a sandboxed child)."""


def set_seed(seed: int | None) -> None:
    """The seed of this process's fresh draws (the grading process sets its secret seed; None: public)."""
    global _SEED
    _SEED = seed


def seed() -> int:
    return PUBLIC_SEED if _SEED is None else _SEED


def secret_seed(reference: Path) -> int:
    """A seed no sandboxed child can compute: a digest of every reference solution (``$COURSE_FRESH_SEED`` wins)."""
    if os.environ.get(SEED_ENV, "").strip().isdigit():
        return int(os.environ[SEED_ENV])
    h = hashlib.sha256(b"course-pack fresh inputs\0")
    for path in sorted(Path(reference).glob("ex*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return int.from_bytes(h.digest()[:7], "big")


_DRAWN: dict[tuple, object] = {}


def _drawn(name: str, at: int | None, build):
    """``build(seed)`` once per data set and seed (measures and baselines ask for the same draw many times)."""
    key = (name, seed() if at is None else at)
    if key not in _DRAWN:
        if len(_DRAWN) > 32:
            _DRAWN.clear()
        _DRAWN[key] = build(key[1])
    return _DRAWN[key]


def _generator(name: str, at: int | None) -> torch.Generator:
    digest = hashlib.sha256(f"{name}:{seed() if at is None else at}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:7], "big"))


def _packed(name: str) -> dict[str, torch.Tensor] | None:
    """In a sandboxed child: the fresh inputs the grader packed for ``name`` (no answers)."""
    from . import data

    if not data.packed():
        return None
    found = {k.split("/", 2)[2]: v.clone() for k, v in data.pack().items() if k.startswith(f"fresh/{name}/")}
    if not found:
        raise data.DataUnavailable(f"the fresh {name} inputs were not available to the grader")
    return found


@dataclass(frozen=True)
class Draw:
    """Fresh inputs and, where this process may hold them, their answers (None in a sandboxed child)."""

    inputs: torch.Tensor
    answers: torch.Tensor | None

    def needed_answers(self) -> torch.Tensor:
        if self.answers is None:
            raise FreshAnswersUnavailable("the answers to fresh inputs stay with the grader")
        return self.answers


# --- Iris ---------------------------------------------------------------------------------------


def iris(at: int | None = None) -> Draw:
    """``N_FLOWERS`` flowers, a third per class, from Gaussians with each class's mean and covariance
    in the training split: X float32 (150, 4), y int64 (150,)."""
    packed = _packed("iris")
    if packed is not None:
        return Draw(packed["X"], None)
    return _drawn("iris", at, _iris)


def _iris(at: int) -> Draw:
    from . import data

    split = data.iris_split()
    g = _generator("iris", at)
    X, y = [], []
    per_class = N_FLOWERS // 3
    for label in range(3):
        rows = split.X_train[split.y_train == label].double()
        mean, cov = rows.mean(0), torch.cov(rows.T) + 1e-4 * torch.eye(rows.shape[1], dtype=torch.float64)
        noise = torch.randn(per_class, rows.shape[1], generator=g, dtype=torch.float64)
        X.append(mean + noise @ torch.linalg.cholesky(cov).T)
        y.append(torch.full((per_class,), label, dtype=torch.int64))
    order = torch.randperm(N_FLOWERS, generator=g)
    return Draw(torch.cat(X)[order].clamp_min(0.05).float(), torch.cat(y)[order])


# --- sunspots -------------------------------------------------------------------------------------


def ar_fit(series: torch.Tensor, order: int = AR_ORDER) -> tuple[torch.Tensor, float]:
    """Least-squares AR(``order``) with an intercept: coefficients [c, a_1 .. a_p] (a_1 for the latest) and the
    residuals' standard deviation."""
    s = series.double()
    rows = torch.stack([s[t - order:t].flip(0) for t in range(order, len(s))])
    design = torch.cat([torch.ones(len(rows), 1, dtype=torch.float64), rows], dim=1)
    coef = torch.linalg.lstsq(design, s[order:].unsqueeze(1)).solution[:, 0]
    residuals = s[order:] - design @ coef
    return coef, float(residuals.std())


def sunspots(at: int | None = None) -> Draw:
    """``N_WINDOWS`` runs of ``SEGMENT`` sunspot numbers (float64 (300, 32)) simulated by an AR model fitted to the
    training years, each run of its own, and the simulated value after each (300,): take a run's last ``history``
    values as a window.

    Each run starts from a random stretch of the training years and goes ``SIM_BURN_IN`` steps further
    before its values are kept, so no run holds an observed year, and no target appears in another run.
    """
    packed = _packed("sunspots")
    if packed is not None:
        return Draw(packed["runs"], None)
    return _drawn("sunspots", at, _sunspots)


def _sunspots(at: int) -> Draw:
    from . import data

    train = data.sunspots_split().train.double()
    coef, sigma = ar_fit(train)
    g = _generator("sunspots", at)
    p = len(coef) - 1
    starts = torch.randint(p, len(train) + 1, (N_WINDOWS,), generator=g)
    values = torch.stack([train[int(s) - p:int(s)] for s in starts])  # (runs, p), oldest first
    kept = []
    for step in range(SIM_BURN_IN + SEGMENT + 1):
        noise = sigma * torch.randn(N_WINDOWS, generator=g, dtype=torch.float64)
        new = (coef[0] + values[:, -p:].flip(1) @ coef[1:] + noise).clamp_min(0.0)
        values = torch.cat([values[:, 1:], new.unsqueeze(1)], dim=1)
        if step >= SIM_BURN_IN:
            kept.append(new)
    runs = torch.stack(kept, dim=1)  # (runs, SEGMENT + 1)
    return Draw(runs[:, :-1].contiguous(), runs[:, -1].contiguous())


# --- heteroscedastic regression -----------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """y = amplitude * sin(2 pi (frequency x + phase)) + offset + (noise0 + noise1 * x^power) * N(0, 1), x ~ U(0, 1).

    The public task is sin(2 pi x) with noise 0.1 + 0.4 x (``grader.data.true_mean``/``true_sigma``).
    """

    amplitude: float = 1.0
    frequency: float = 1.0
    phase: float = 0.0
    offset: float = 0.0
    noise0: float = 0.1
    noise1: float = 0.4
    power: float = 1.0

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        return self.amplitude * torch.sin(2 * math.pi * (self.frequency * x + self.phase)) + self.offset

    def sigma(self, x: torch.Tensor) -> torch.Tensor:
        return self.noise0 + self.noise1 * x.clamp_min(0) ** self.power

    def sample(self, n: int, sample_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(sample_seed)
        x = torch.rand(n, 1, generator=g)
        return x, self.mean(x) + self.sigma(x) * torch.randn(n, 1, generator=g)


def task(at: int | None = None) -> Task:
    """The heteroscedastic task of this draw: the public one at ``PUBLIC_SEED``, otherwise drawn coefficients."""
    if (seed() if at is None else at) == PUBLIC_SEED:
        return Task()
    g = _generator("heteroscedastic", at)

    def uniform(low: float, high: float) -> float:
        return low + (high - low) * float(torch.rand(1, generator=g, dtype=torch.float64))

    return Task(amplitude=uniform(0.6, 1.4), frequency=uniform(0.7, 1.3), phase=uniform(-0.25, 0.25),
                offset=uniform(-0.5, 0.5), noise0=uniform(0.05, 0.15), noise1=uniform(0.3, 0.6),
                power=uniform(0.75, 1.5))


def heteroscedastic(at: int | None = None) -> dict[str, torch.Tensor]:
    """The task's ``N_TRAIN`` training points (``x_train``, ``y_train``) and ``N_FRESH`` fresh inputs ``x_fresh``
    (with ``y_fresh`` only where this process may hold it), all float32 (n, 1)."""
    packed = _packed("heteroscedastic")
    if packed is not None:
        return packed
    return dict(_drawn("heteroscedastic", at, _heteroscedastic))


def _heteroscedastic(at: int) -> dict[str, torch.Tensor]:
    t = task(at)
    x_train, y_train = t.sample(N_TRAIN, 0)
    x_fresh, y_fresh = t.sample(N_FRESH, 5)
    return {"x_train": x_train, "y_train": y_train, "x_fresh": x_fresh, "y_fresh": y_fresh}


# --- MNIST ------------------------------------------------------------------------------------------


def mnist(at: int | None = None) -> Draw:
    """The 1,000 held-out digits, each moved by up to a pixel in each direction and speckled with noise,
    in a drawn order: float32 (1000, 1, 28, 28) in [0, 1] and their labels."""
    packed = _packed("mnist")
    if packed is not None:
        return Draw(packed["images"], None)
    return _drawn("mnist", at, _mnist)


def _mnist(at: int) -> Draw:
    from . import data

    split = data.mnist_split()
    g = _generator("mnist", at)
    images = split.X_test.clone()
    shifts = torch.randint(-1, 2, (len(images), 2), generator=g)
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1))
    for i, (dy, dx) in enumerate(shifts.tolist()):
        images[i] = padded[i, :, 1 - dy:29 - dy, 1 - dx:29 - dx]
    images = (images + 0.05 * torch.randn(images.shape, generator=g)).clamp(0, 1)
    order = torch.randperm(len(images), generator=g)
    return Draw(images[order], split.y_test[order])


# --- token selection ---------------------------------------------------------------------------------


def token_selection(at: int | None = None) -> Draw:
    """``N_SEQUENCES`` new sequences of the key-value look-up (``grader.data.token_selection``'s rule), X int64
    (1000, 9, 2), and the value each one asks for, int64 (1000,)."""
    packed = _packed("token_selection")
    if packed is not None:
        return Draw(packed["X"], None)
    return _drawn("token_selection", at, _token_selection)


def _token_selection(at: int) -> Draw:
    from . import data

    return Draw(*data.token_sequences(N_SEQUENCES, _generator("token_selection", at)))


def pack_entries(missing: list[str] = ()) -> dict[str, torch.Tensor]:
    """The fresh inputs (never the answers) of this process's seed, for a sandboxed child's data pack; data sets in
    ``missing`` (not available here) are left out."""
    entries = {"fresh/sunspots/runs": sunspots().inputs, "fresh/token_selection/X": token_selection().inputs}
    entries.update({f"fresh/heteroscedastic/{k}": v for k, v in heteroscedastic().items() if k != "y_fresh"})
    if "iris" not in missing:
        entries["fresh/iris/X"] = iris().inputs
    if "mnist" not in missing:
        entries["fresh/mnist/images"] = mnist().inputs
    return {k: v.contiguous() for k, v in entries.items()}
