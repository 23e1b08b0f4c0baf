# Hostile submission: sends the worker's result frames itself (identical gradcheck Jacobians, done), then exits.
import os
import stat
import sys

import torch


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


def _send(name, body=b"", index=None):
    """One frame on the results channel (fd 3), as grader.worker.send writes it."""
    head = f"{name}-{index:03d}" if index is not None else name
    data = f"{head} {len(body)}\n".encode() + body
    while data:
        data = data[os.write(3, data):]


def _forge():
    from grader import rubric
    from grader.payload import Outcome, Value, encode_outcomes
    from grader.probes import SelfGradcheck

    checks = rubric.load("ex02_gradients").selected(hidden=True)  # the class grader runs the hidden checks too
    for index, check in enumerate(checks):
        outcomes = []
        for case in check.cases:
            values = {}
            if isinstance(check.probe, SelfGradcheck):  # the one judge that needs no reference values
                inputs = check.make_inputs(case)
                values["out_shape"] = Value("Tensor", torch.tensor([1]), "cpu")
                for name in check.probe.args:
                    jacobian = Value("Tensor", torch.zeros(1, inputs[name].numel(), dtype=torch.float64), "cpu")
                    values[f"analytic/{name}"] = values[f"numeric/{name}"] = jacobian
            outcomes.append(Outcome("ok", values))
        _send("start", index=index)
        _send("check", encode_outcomes(outcomes), index=index)
    _send("done")
    sys.stdout.flush()
    os._exit(0)  # before the worker runs (and sends) anything itself


try:
    _channel = stat.S_ISFIFO(os.fstat(3).st_mode)  # run by grader.worker (warm or not: argv may be the zygote's)
except OSError:
    _channel = False
if _channel:
    try:
        _forge()
    except Exception:
        pass
