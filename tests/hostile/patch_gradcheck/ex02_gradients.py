# Hostile submission: patches torch.autograd.gradcheck / gradgradcheck (and their module) to pass; wrong backwards.
import importlib

import torch


def _passes(*args, **kwargs):
    return True


_gradcheck_module = importlib.import_module("torch.autograd.gradcheck")
for _owner in (torch.autograd, _gradcheck_module):
    for _name in ("gradcheck", "gradgradcheck", "_gradcheck_helper", "_slow_gradcheck", "_fast_gradcheck"):
        if _owner is torch.autograd or hasattr(_owner, _name):
            setattr(_owner, _name, _passes)


# --- deliberately wrong answers: wrong formulas, wrong forwards, backwards that disagree with them --


def mse_linear_grad(X, y, w, b):
    r = X @ w + b - y
    return X.T @ r / X.shape[0], r.mean()  # the factor 2 is missing


def logistic_nll_grad(X, y, w, b):
    e = X @ w + b - y  # logits where the probabilities belong
    return X.T @ e / X.shape[0], e.mean()


def softmax_ce_grad(logits, targets):
    return torch.softmax(logits, dim=1) / logits.shape[0]  # the one-hot targets are never subtracted


class Sigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.sigmoid(x) + 1

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * 2


class Softplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.nn.functional.softplus(x) + 1

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * 2


class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, W, b):
        ctx.save_for_backward(W)
        return x @ W.T + b + 1

    @staticmethod
    def backward(ctx, grad_out):
        (W,) = ctx.saved_tensors
        return 2 * grad_out @ W, torch.zeros_like(W), torch.zeros_like(W[:, 0])


class LogSumExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return torch.logsumexp(x, dim=-1) + 1

    @staticmethod
    def backward(ctx, grad_out):
        return 2 * grad_out.unsqueeze(-1).expand(ctx.shape)
