# Ben's exercise 5: the loss forgets its one half; the rest done.
"""Exercise 5: heteroscedastic regression, a model that predicts its own uncertainty.

Most regression models predict a mean and assume the noise is the same everywhere. Here the noise
grows with x, and the model predicts both the mean mu(x) and the log-variance log sigma^2(x) of
y given x, trained by the Gaussian negative log-likelihood. A good model's +-2 sigma band holds
about 95% of fresh data, and its sigma(x) follows the true one.

Data: ``grader.data.heteroscedastic(n, seed)`` gives x, y float32 (n, 1), x in [0, 1], with
true mean ``grader.data.true_mean(x)`` and true standard deviation ``grader.data.true_sigma(x)``.
The grader trains your model on data of the same kind whose mean and noise it draws when it
grades (another amplitude, phase, offset and growth of the noise), so learn them from (x, y).
Check your work with ``pytest exercises/ex05_heteroscedastic.py``.
"""

import math

import torch
from torch import nn


def heteroscedastic_gaussian_nll(mu: torch.Tensor, logvar: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The mean Gaussian negative log-likelihood of y under N(mu, exp(logvar)), element by element:

        NLL = mean_i 0.5 * (log(2 pi) + logvar_i + (y_i - mu_i)^2 / exp(logvar_i))

    This equals ``nn.GaussianNLLLoss(full=True)(mu, y, torch.exp(logvar))``; write it yourself
    with tensor operations (autograd gives its gradient). Predicting the log-variance keeps the
    variance positive without constraints. logvar may be large (near 100 in float32): divide by the
    variance as ``(y - mu)**2 * torch.exp(-logvar)``, since ``exp(logvar)`` overflows to inf there and
    the gradient of a division by it is then NaN.

    Args:
        mu, logvar, y: tensors of the same shape (any shape), same dtype and device.
    Returns:
        a 0-dim tensor of their dtype.
    """
    return (math.log(2 * math.pi) + logvar + (y - mu) ** 2 * torch.exp(-logvar)).mean()


class HeteroscedasticNet(nn.Module):
    """A network with two heads on a shared body: the mean and the log-variance of y given x.

    - ``self.body``: ``nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())``
    - ``self.mu_head``: ``nn.Linear(hidden, 1)``
    - ``self.logvar_head``: ``nn.Linear(hidden, 1)``

    ``forward(x)`` maps x (N, 1) to ``(mu, logvar)``, two (N, 1) tensors.
    """

    def __init__(self, hidden: int = 32):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.mu_head = nn.Linear(hidden, 1)
        self.logvar_head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mu_head(h), self.logvar_head(h)


def fit_heteroscedastic(x: torch.Tensor, y: torch.Tensor, epochs: int = 300, lr: float = 0.02) -> HeteroscedasticNet:
    """Train a ``HeteroscedasticNet()`` on (x, y) by full-batch Adam on the Gaussian NLL.

    Each of the ``epochs`` steps: zero the gradients, ``mu, logvar = model(x)``,
    ``loss = heteroscedastic_gaussian_nll(mu, logvar, y)``, backward, step. The model lives on
    x's device.

    Returns:
        the trained model.
    """
    model = HeteroscedasticNet().to(x.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        optimizer.zero_grad()
        mu, logvar = model(x)
        loss = heteroscedastic_gaussian_nll(mu, logvar, y)
        loss.backward()
        optimizer.step()
    return model


def plot_band(model: HeteroscedasticNet, x: torch.Tensor, y: torch.Tensor):
    """The data, the predicted mean and the +-2 sigma band, on one set of axes.

    Draw the points (``ax.scatter``), the mean mu(x) as a line (``ax.plot``) over x sorted in
    increasing order, and the band mu +- 2 sigma with ``ax.fill_between``, where
    sigma = exp(logvar / 2). Label the axes "x" and "y" and return the figure (no ``plt.show()``).
    Predict under ``torch.no_grad()`` and move tensors to the CPU (``.cpu()``) before plotting.
    """
    import matplotlib.pyplot as plt

    order = torch.argsort(x[:, 0])
    grid = x[order]
    with torch.no_grad():
        mu, logvar = model(grid)
    sigma = torch.exp(logvar / 2)
    grid, mu, sigma = grid[:, 0].cpu(), mu[:, 0].cpu(), sigma[:, 0].cpu()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(x[:, 0].cpu(), y[:, 0].cpu(), s=4, alpha=0.4, label="data")
    ax.plot(grid, mu, color="C1", label="predicted mean")
    ax.fill_between(grid, mu - 2 * sigma, mu + 2 * sigma, color="C1", alpha=0.25, label="mean +- 2 sigma")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Heteroscedastic regression")
    ax.legend()
    return fig
