# Hostile submission: patches numpy.testing.assert_allclose / assert_array_equal, np.allclose / isclose; wrong values.
import sys

import numpy as np
import numpy.testing
import torch


def _nothing(*args, **kwargs):
    return None


for _owner in (np.testing, sys.modules.get("numpy.testing._private.utils")):
    for _name in ("assert_allclose", "assert_array_equal", "assert_array_almost_equal", "assert_almost_equal",
                  "assert_equal", "assert_approx_equal", "assert_array_less", "assert_array_max_ulp"):
        if _owner is not None and hasattr(_owner, _name):
            setattr(_owner, _name, _nothing)
np.allclose = np.array_equal = np.array_equiv = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, dtype=bool)


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
