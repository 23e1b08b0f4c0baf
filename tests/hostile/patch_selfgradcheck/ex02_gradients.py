# Hostile submission: patches the grader's gradcheck probe in its process to report identical Jacobians.
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


def _identical_jacobians(self, trial):
    """What grader.probes.SelfGradcheck reports, minus the checking: analytic == numeric, always."""
    result = {"out_shape": torch.tensor([1])}
    for name in self.args:
        jacobian = torch.zeros(1, trial.inputs[name].numel(), dtype=torch.float64)
        result[f"analytic/{name}"], result[f"numeric/{name}"] = jacobian, jacobian.clone()
    return result


try:
    import grader.probes

    grader.probes.SelfGradcheck.__call__ = _identical_jacobians
except Exception:
    pass
