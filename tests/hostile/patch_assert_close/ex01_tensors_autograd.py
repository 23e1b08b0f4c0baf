# Hostile submission: patches torch.testing.assert_close (and torch.testing._comparison) to pass; wrong values.
import numpy as np
import torch
import torch.testing
import torch.testing._comparison as _comparison


def _nothing(*args, **kwargs):
    return None


torch.testing.assert_close = torch.testing.assert_allclose = _nothing
_comparison.assert_close = _comparison.assert_equal = _nothing
_comparison.not_close_error_metas = lambda *args, **kwargs: []
for _pair in ("Pair", "TensorLikePair", "NumberPair", "BooleanPair", "NonePair", "ObjectPair"):
    if hasattr(_comparison, _pair):
        getattr(_comparison, _pair).compare = _nothing


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
