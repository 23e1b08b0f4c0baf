# Ana's exercise 2: part A done; Linear only handles 2-d inputs; LogSumExp overflows.
import torch


def mse_linear_grad(X, y, w, b):
    r = X @ w + b - y
    return 2 * X.T @ r / len(y), 2 * r.mean()


def logistic_nll_grad(X, y, w, b):
    d = torch.sigmoid(X @ w + b) - y
    return X.T @ d / len(y), d.mean()


def softmax_ce_grad(logits, targets):
    p = torch.softmax(logits, dim=1)
    p[torch.arange(len(targets)), targets] -= 1
    return p / len(targets)


class Sigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + torch.exp(-x))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad_out):
        (s,) = ctx.saved_tensors
        return grad_out * s * (1 - s)


class Softplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x > 0, x + torch.log1p(torch.exp(-x)), torch.log1p(torch.exp(x)))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / (1 + torch.exp(-x))


class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, W, b):
        ctx.save_for_backward(x, W)
        return x @ W.T + b

    @staticmethod
    def backward(ctx, grad_out):
        x, W = ctx.saved_tensors
        return grad_out @ W, grad_out.T @ x, grad_out.sum(0)


class LogSumExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        out = torch.exp(x).sum(-1).log()
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, out = ctx.saved_tensors
        return grad_out[..., None] * torch.exp(x - out[..., None])
