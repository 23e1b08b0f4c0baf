"""Exercise 3: regression fitted by autograd.

Fit linear and logistic regression by minimising their loss with autograd and an optimizer, and
get the same estimates as statsmodels' OLS and Logit (to 1e-4, relative). Then write logistic
regression the way larger models are written: an ``nn.Module`` holding an ``nn.Linear``, trained
on ``nn.BCEWithLogitsLoss``.

Data: float64 tensors X (n, d) and y (n,), on any device; keep that dtype and device. The
visible checks use statsmodels' ``stackloss`` (OLS) and ``spector`` (Logit) data sets.
Check your work with ``pytest exercises/ex03_regression.py``.
"""

import torch
from torch import nn


def minimize(loss_fn, params, max_iter: int = 500) -> float:
    """Minimise ``loss_fn()`` over ``params`` with ``torch.optim.LBFGS`` until it converges.

    Use a strong Wolfe line search (``line_search_fn="strong_wolfe"``), ``lr=1``, ``max_iter``
    iterations, and tight tolerances (``tolerance_grad=1e-12``, ``tolerance_change=1e-15``):
    LBFGS calls a closure that zeroes the gradients, computes the loss, calls ``.backward()``
    and returns the loss.

    Args:
        loss_fn: a function of no arguments returning a 0-dim loss computed from ``params``.
        params: iterable of leaf tensors with ``requires_grad=True``; updated in place.
    Returns:
        the final loss, as a Python float.
    """
    ### BEGIN SOLUTION
    params = list(params)
    optimizer = torch.optim.LBFGS(params, lr=1, max_iter=max_iter, line_search_fn="strong_wolfe",
                                  tolerance_grad=1e-12, tolerance_change=1e-15, history_size=20)  # pragma: no mutate

    def closure():
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return float(loss_fn())
    ### END SOLUTION


def fit_linear_regression(X: torch.Tensor, y: torch.Tensor):
    """Ordinary least squares by autograd: minimise L(w, b) = mean_i (x_i . w + b - y_i)^2.

    Start from w = 0, b = 0 (tensors on X's device, X's dtype, requiring grad) and call
    ``minimize``. The result equals statsmodels' ``OLS(y, add_constant(X))`` estimates.

    Returns:
        (w, b): (d,) and 0-dim tensors, X's dtype and device, detached from the graph.
    """
    ### BEGIN SOLUTION
    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device, requires_grad=True)
    b = torch.zeros((), dtype=X.dtype, device=X.device, requires_grad=True)
    minimize(lambda: ((X @ w + b - y) ** 2).mean(), [w, b])
    return w.detach(), b.detach()
    ### END SOLUTION


def fit_logistic_regression(X: torch.Tensor, y: torch.Tensor):
    """Logistic regression by autograd: minimise the mean negative log-likelihood

    L(w, b) = -mean_i [y_i log p_i + (1 - y_i) log(1 - p_i)],  p_i = sigmoid(x_i . w + b),

    computed stably from the logits z = X w + b with
    ``torch.nn.functional.binary_cross_entropy_with_logits``. Start from zeros, call ``minimize``.
    The result equals statsmodels' ``Logit(y, add_constant(X))`` estimates.

    Returns:
        (w, b): (d,) and 0-dim tensors, X's dtype and device, detached from the graph.
    """
    ### BEGIN SOLUTION
    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device, requires_grad=True)
    b = torch.zeros((), dtype=X.dtype, device=X.device, requires_grad=True)
    minimize(lambda: nn.functional.binary_cross_entropy_with_logits(X @ w + b, y), [w, b])
    return w.detach(), b.detach()
    ### END SOLUTION


class LogisticRegression(nn.Module):
    """Logistic regression as a module: one ``nn.Linear(n_features, 1)`` stored as ``self.linear``."""

    def __init__(self, n_features: int):
        super().__init__()
        ### BEGIN SOLUTION
        self.linear = nn.Linear(n_features, 1)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits z = x W^T + b for x of shape (n, n_features): shape (n,), no sigmoid."""
        ### BEGIN SOLUTION
        return self.linear(x).squeeze(-1)
        ### END SOLUTION


def logistic_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The mean negative log-likelihood of ``model`` on (X, y), with ``nn.BCEWithLogitsLoss``.

    BCEWithLogitsLoss applies the sigmoid itself: give it the logits ``model(X)``.

    Returns:
        0-dim tensor, differentiable with respect to the model's parameters.
    """
    ### BEGIN SOLUTION
    return nn.BCEWithLogitsLoss()(model(X), y)
    ### END SOLUTION


def fit_logistic_module(X: torch.Tensor, y: torch.Tensor) -> LogisticRegression:
    """Build a ``LogisticRegression`` with X's dtype and device and fit it with ``minimize``
    on ``logistic_loss``. Its weights then equal statsmodels' Logit estimates.

    Returns:
        the fitted model.
    """
    ### BEGIN SOLUTION
    model = LogisticRegression(X.shape[1]).to(dtype=X.dtype, device=X.device)
    minimize(lambda: logistic_loss(model, X, y), model.parameters())
    return model
    ### END SOLUTION
