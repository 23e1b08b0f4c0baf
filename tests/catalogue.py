"""The mistake catalogue: realistic wrong solutions, each the reference with one edit.

Each entry names the checks that must lose their points and, where the rubric claims to
recognise the mistake, words the feedback of the first of them must contain. ``visible=False`` marks a mistake only
the grader's hidden checks can catch (the visible checks pass it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mistake:
    name: str
    exercise: str
    old: str
    new: str
    checks: tuple[str, ...]
    hint: str | None = None
    visible: bool = True

    def source(self, reference: Path) -> str:
        text = (reference / f"{self.exercise}.py").read_text()
        if text.count(self.old) != 1:
            raise AssertionError(f"{self.name}: the snippet to replace occurs {text.count(self.old)} times "
                                 f"in reference/{self.exercise}.py (it must occur once)")
        return text.replace(self.old, self.new)


EX01 = "ex01_tensors_autograd"
EX02 = "ex02_gradients"
EX03 = "ex03_regression"

CATALOGUE = [
    # --- ex01: tensors and autograd
    Mistake("x2sin_no_product_rule", EX01, "return 2 * x * torch.sin(x) + x**2 * torch.cos(x)",
            "return 2 * x * torch.cos(x)", ("x2_sin_grad",), "product rule"),
    Mistake("per_batch_forgot_zero_grad", EX01, "        w.grad = None\n", "", ("per_batch_grads",), "running sums"),
    Mistake("pairwise_took_sqrt", EX01, ".sum(dim=-1)\n", ".sum(dim=-1).sqrt()\n", ("pairwise_sq_dists",),
            "square"),
    Mistake("standardize_sample_std", EX01, "X.std(dim=0, correction=0)", "X.std(dim=0)", ("standardize",),
            "population standard deviation"),
    Mistake("predict_without_no_grad", EX01, "    with torch.no_grad():\n        return X @ w",
            "    return X @ w", ("predict_no_grad",), "torch.no_grad()"),
    Mistake("detach_forgotten", EX01, "(leaf**2 * leaf.detach()).sum()", "(leaf**2 * leaf).sum()",
            ("detached_grad",), ".detach()"),
    Mistake("grid_float64", EX01, "dtype=torch.float32, device=device", "dtype=torch.float64, device=device",
            ("make_grid",), "dtype"),
    Mistake("two_param_prediction_grads", EX01, "loss = (x * t1 * t2 - y) ** 2", "loss = x * t1 * t2",
            ("two_param_grads",), "gradients of the prediction"),
    Mistake("from_numpy_copies", EX01, "return torch.from_numpy(a)", "return torch.tensor(a)",
            ("from_numpy_shared",), "copy"),
    # --- ex02: gradients by hand
    Mistake("linear_grad_W_transposed", EX02, "g.T @ x.reshape(-1, W.shape[1])", "x.reshape(-1, W.shape[1]).T @ g",
            ("Linear.backward",), "transpose"),
    Mistake("sigmoid_grad_s_only", EX02, "return grad_out * s * (1 - s)", "return grad_out * s",
            ("Sigmoid.backward", "Sigmoid.gradcheck"), "s * (1 - s)"),
    Mistake("softmax_ce_not_divided_by_n", EX02, "return (torch.softmax(logits, dim=1) - onehot) / logits.shape[0]",
            "return torch.softmax(logits, dim=1) - onehot", ("softmax_ce_grad",), "divide by n"),
    Mistake("logsumexp_without_max_shift", EX02,
            "out = m.squeeze(-1) + torch.log(torch.exp(x - m).sum(dim=-1))", "out = torch.log(torch.exp(x).sum(dim=-1))",
            ("LogSumExp.forward",), "overflow"),
    Mistake("mse_grad_missing_factor_2", EX02, "return 2.0 / n * (X.T @ residual), 2.0 / n * residual.sum()",
            "return (X.T @ residual) / n, residual.sum() / n", ("mse_linear_grad",), "factor 2"),
    Mistake("logistic_grad_sign_flipped", EX02, "error = torch.sigmoid(X @ w + b) - y",
            "error = y - torch.sigmoid(X @ w + b)", ("logistic_nll_grad",), "sign is flipped"),
    Mistake("linear_forward_without_bias", EX02, "        return x @ W.T + b\n", "        return x @ W.T\n",
            ("Linear.forward",), "bias"),
    Mistake("softplus_overflows", EX02, "torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))",
            "torch.log(1 + torch.exp(x))", ("Softplus.forward",), "overflow"),
    Mistake("softplus_grad_without_denominator", EX02, "return grad_out * torch.sigmoid(x)",
            "return grad_out * torch.exp(x)", ("Softplus.backward", "Softplus.gradcheck"), "denominator"),
    Mistake("linear_backward_2d_only", EX02, "return grad_out @ W, g.T @ x.reshape(-1, W.shape[1]), g.sum(dim=0)",
            "return grad_out @ W, grad_out.T @ x, grad_out.sum(dim=0)", ("Linear.backward.hidden",), visible=False),
    # --- ex03: regression by autograd
    Mistake("logistic_fit_without_intercept", EX03,
            "binary_cross_entropy_with_logits(X @ w + b, y), [w, b])", "binary_cross_entropy_with_logits(X @ w, y), [w, b])",
            ("fit_logistic_regression",), "without an intercept"),
    Mistake("ols_fit_without_intercept", EX03, "minimize(lambda: ((X @ w + b - y) ** 2).mean(), [w, b])",
            "minimize(lambda: ((X @ w - y) ** 2).mean(), [w, b])", ("fit_linear_regression",), "without an intercept"),
    Mistake("forward_applies_sigmoid", EX03, "return self.linear(x).squeeze(-1)",
            "return torch.sigmoid(self.linear(x)).squeeze(-1)", ("LogisticRegression.forward",), "return the logits"),
    Mistake("sigmoid_before_bce_with_logits", EX03, "return nn.BCEWithLogitsLoss()(model(X), y)",
            "return nn.BCEWithLogitsLoss()(torch.sigmoid(model(X)), y)", ("logistic_loss",), "sigmoid before"),
    Mistake("forward_keeps_last_dim", EX03, "return self.linear(x).squeeze(-1)", "return self.linear(x)",
            ("LogisticRegression.forward",), "shape"),
    Mistake("loss_sum_not_mean", EX03, "return nn.BCEWithLogitsLoss()(model(X), y)",
            "return nn.BCEWithLogitsLoss(reduction='sum')(model(X), y)", ("logistic_loss",), "mean"),
    Mistake("lbfgs_stops_early", EX03, "optimizer = torch.optim.LBFGS(params, lr=1, max_iter=max_iter,",
            "optimizer = torch.optim.LBFGS(params, lr=1, max_iter=4,",
            ("minimize", "fit_linear_regression", "fit_logistic_regression"), None),
]
