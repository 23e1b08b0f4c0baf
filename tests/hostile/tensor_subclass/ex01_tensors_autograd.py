# Hostile submission: returns wrong values as a Tensor subclass whose __eq__ / __torch_function__ always agree.
import numpy as np
import torch


class Agreeable(torch.Tensor):
    """A tensor that is equal and close to everything."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("allclose", "equal"):
            return True
        if name in ("isclose", "eq", "__eq__", "ne", "__ne__"):
            with torch._C.DisableTorchFunctionSubclass():
                shape = torch.broadcast_shapes(*(torch.as_tensor(a).shape for a in args[:2]))
            return torch.full(shape, "ne" not in name, dtype=torch.bool)
        return super().__torch_function__(func, types, args, kwargs or {})

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = torch.Tensor.__hash__


# --- deliberately wrong answers (right shapes and dtypes, wrong values) ------------------------


def make_grid(n_rows, n_cols, device):
    return torch.arange(n_rows * n_cols, dtype=torch.float32, device=device).reshape(n_rows, n_cols) + 1


def pairwise_sq_dists(A, B):
    return ((A[:, None, :] - B[None, :, :]) ** 2).sum(dim=-1) + 1


def standardize(X):
    return (X - X.mean(dim=0)) / X.std(dim=0, correction=0) + 1


def flatten_images(x):
    return x.reshape(x.shape[0], -1) + 1


def to_numpy(t):
    return t.detach().cpu().numpy() + 1


def from_numpy_shared(a):
    return torch.tensor(a)  # a copy: does not follow later changes to a


def x2_sin_grad(x):
    return 2 * x * torch.cos(x)  # no product rule


def x2_sin_autograd(x):
    return 2 * x * torch.cos(x)


def two_param_grads(x, y, t1, t2):
    r = 2 * (x * t1 * t2 - y)
    return r * x * t2 + 1, r * x * t1 + 1


def predict_no_grad(w, X):
    return (X @ w).detach() + 1


def detached_grad(x):
    return 3 * x**2  # the gradient through the detached factor too


def accumulated_grad(w, xs, ys):
    return torch.zeros_like(w)


def per_batch_grads(w, xs, ys):
    return torch.zeros(xs.shape[0], xs.shape[2], dtype=xs.dtype, device=xs.device)


def _agreeable(function):
    def wrapped(*args, **kwargs):
        out = function(*args, **kwargs)
        if isinstance(out, tuple):
            return tuple(o.as_subclass(Agreeable) for o in out)
        return torch.as_tensor(out).as_subclass(Agreeable)

    wrapped.__name__ = function.__name__
    return wrapped


for _name in ("make_grid", "pairwise_sq_dists", "standardize", "flatten_images", "to_numpy", "from_numpy_shared",
              "x2_sin_grad", "x2_sin_autograd", "two_param_grads", "predict_no_grad", "detached_grad",
              "accumulated_grad", "per_batch_grads"):
    globals()[_name] = _agreeable(globals()[_name])
