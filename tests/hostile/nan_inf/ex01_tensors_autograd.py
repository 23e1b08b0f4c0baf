# Hostile submission: returns NaN / inf tensors of the right shape, dtype and device.
import math

import numpy as np
import torch

NAN, INF = math.nan, math.inf


def make_grid(n_rows, n_cols, device):
    return torch.full((n_rows, n_cols), NAN, dtype=torch.float32, device=device)


def pairwise_sq_dists(A, B):
    return torch.full((A.shape[0], B.shape[0]), INF, dtype=A.dtype, device=A.device)


def standardize(X):
    return torch.full_like(X, NAN)


def flatten_images(x):
    return torch.full((x.shape[0], x[0].numel()), NAN, dtype=x.dtype, device=x.device)


def to_numpy(t):
    return torch.full_like(t.detach().cpu(), NAN).numpy()


def from_numpy_shared(a):
    return torch.from_numpy(np.full_like(a, NAN))


def x2_sin_grad(x):
    return torch.full_like(x, INF)


def x2_sin_autograd(x):
    return torch.full_like(x, -INF)


def two_param_grads(x, y, t1, t2):
    return torch.full_like(x, NAN), torch.full_like(x, INF)


def predict_no_grad(w, X):
    return torch.full((X.shape[0],), NAN, dtype=X.dtype, device=X.device)


def detached_grad(x):
    return torch.full_like(x, NAN)


def accumulated_grad(w, xs, ys):
    return torch.full_like(w, INF)


def per_batch_grads(w, xs, ys):
    return torch.full((xs.shape[0], xs.shape[2]), NAN, dtype=xs.dtype, device=xs.device)
