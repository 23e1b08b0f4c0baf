# Hostile submission: returns the right numbers with a wrong shape, a wrong dtype or on the meta device.
import numpy as np
import torch


def make_grid(n_rows, n_cols, device):
    return torch.arange(n_rows * n_cols, dtype=torch.float16, device=device).reshape(n_rows, n_cols)  # dtype


def pairwise_sq_dists(A, B):
    return ((A[:, None, :] - B[None, :, :]) ** 2).sum(dim=-1).to("meta")  # device


def standardize(X):
    return ((X - X.mean(dim=0)) / X.std(dim=0, correction=0)).reshape(-1)  # shape


def flatten_images(x):
    return x.reshape(x.shape[0], x.shape[1], -1)  # shape


def to_numpy(t):
    return t.detach().cpu().numpy().astype(np.float16)  # dtype


def from_numpy_shared(a):
    return torch.from_numpy(a)[None]  # shape (shares memory all the same)


def x2_sin_grad(x):
    return (2 * x * torch.sin(x) + x**2 * torch.cos(x)).to(torch.int64)  # dtype


def x2_sin_autograd(x):
    return (2 * x * torch.sin(x) + x**2 * torch.cos(x)).to(torch.float16)  # dtype


def two_param_grads(x, y, t1, t2):
    r = 2 * (x * t1 * t2 - y)
    return (r * x * t2).reshape(1), (r * x * t1).reshape(1)  # shape


def predict_no_grad(w, X):
    return (X @ w).detach().to("meta")  # device


def detached_grad(x):
    return torch.empty_like(x, device="meta")  # device


def accumulated_grad(w, xs, ys):
    residual = torch.einsum("kbd,d->kb", xs, w) - ys
    return (2 * torch.einsum("kbd,kb->d", xs, residual) / xs.shape[1]).to(torch.bfloat16)  # dtype


def per_batch_grads(w, xs, ys):
    residual = torch.einsum("kbd,d->kb", xs, w) - ys
    return (2 * torch.einsum("kbd,kb->kd", xs, residual) / xs.shape[1]).T  # shape
