# Hostile submission: raises odd exceptions: SystemExit, GeneratorExit, bad stub labels, a __str__ that raises.
import torch


def _stub(name):
    def stub(*args, **kwargs):
        raise NotImplementedError(f"ex01.{name}")

    stub.__name__ = stub.__qualname__ = name
    return stub


for _name in ("make_grid", "pairwise_sq_dists", "standardize", "flatten_images", "to_numpy", "from_numpy_shared",
              "x2_sin_grad", "x2_sin_autograd", "two_param_grads", "predict_no_grad", "detached_grad",
              "accumulated_grad", "per_batch_grads"):
    globals()[_name] = _stub(_name)  # every function is an unimplemented stub



class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("this exception cannot be printed")

    __repr__ = __str__


def make_grid(n_rows, n_cols, device):
    raise SystemExit(0)


def pairwise_sq_dists(A, B):
    raise NotImplementedError("ex99.somebody_else")  # a stub label of another exercise


def standardize(X):
    return standardize(X)  # RecursionError


def flatten_images(x):
    raise ValueError("x" * 10_000_000)


def to_numpy(t):
    raise GeneratorExit


def from_numpy_shared(a):
    raise NotImplementedError(Unprintable())  # a stub whose label is not a string (and cannot be printed)


def x2_sin_grad(x):
    raise Unprintable()
