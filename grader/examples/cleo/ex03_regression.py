# Cleo's exercise 3: the fits are done, the module part is not.
import torch
from torch import nn


def minimize(loss_fn, params, max_iter=500):
    params = list(params)
    opt = torch.optim.LBFGS(params, max_iter=max_iter, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-12, tolerance_change=1e-15)

    def closure():
        opt.zero_grad()
        value = loss_fn()
        value.backward()
        return value

    opt.step(closure)
    return loss_fn().item()


def _zeros(X, *shape):
    return torch.zeros(shape, dtype=X.dtype, device=X.device, requires_grad=True)


def fit_linear_regression(X, y):
    w, b = _zeros(X, X.shape[1]), _zeros(X)
    minimize(lambda: torch.mean((X @ w + b - y) ** 2), [w, b])
    return w.detach(), b.detach()


def fit_logistic_regression(X, y):
    w, b = _zeros(X, X.shape[1]), _zeros(X)
    minimize(lambda: nn.functional.binary_cross_entropy_with_logits(X @ w + b, y), [w, b])
    return w.detach(), b.detach()
