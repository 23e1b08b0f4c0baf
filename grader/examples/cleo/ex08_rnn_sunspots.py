# Cleo's exercise 8: the windows are one year short; the model and its training done.
"""Exercise 8: a recurrent network that forecasts the yearly sunspot number.

Turn a time series into supervised examples (the previous ``history`` years as input, the next
year as target), standardise it with statistics of the training years only, train an ``nn.LSTM``
(or ``nn.RNN``) with a linear read-out, and forecast each of the 62 held-out years one step
ahead. The grader trains your model with a fixed seed and measures its RMSE on the held-out
years, against persistence (next year = this year) and an AR(9) model, and on windows of
sunspot series it simulates when it grades; each window is forecast on its own, through
``self.rnn`` and ``self.head``.

Data: ``grader.data.sunspots()`` gives years and activity, float64 (309,) for 1700-2008;
``grader.data.sunspots_split()`` holds out the last 62 years.
Check your work with ``pytest exercises/ex08_rnn_sunspots.py``.
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def make_windows(series: torch.Tensor, history: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every run of ``history`` consecutive values as an input, and the value after it as its target.

    For a series s_0 .. s_{T-1}, window j (j = 0 .. T - history - 1) is
    ``X[j] = s[j : j + history]`` with target ``y[j] = s[j + history]``: the first window starts
    at s_0, the last one's target is s_{T-1}.

    Args:
        series: (T,) tensor, T > history.
    Returns:
        X: (T - history, history, 1), the windows with a feature dimension of 1 (what
        ``nn.LSTM(batch_first=True)`` expects); y: (T - history,). Both of the series' dtype and device.
    """
    X = series.unfold(0, history, 1)[:-2].unsqueeze(-1)
    y = series[history:-1]
    return X, y


def standardize(series: torch.Tensor, n_train: int) -> tuple[torch.Tensor, float, float]:
    """Standardise the whole series with the mean and standard deviation of its first ``n_train`` values.

    The held-out years must not influence the statistics: compute ``mean`` and ``std``
    (``torch.std``, unbiased) over ``series[:n_train]`` only, then z = (series - mean) / std.

    Returns:
        (z, mean, std): z of the series' shape and dtype; mean and std as Python floats.
    """
    train = series[:n_train]
    mean, std = train.mean().item(), train.std().item()
    return (series - mean) / std, mean, std


class SunspotRNN(nn.Module):
    """``self.rnn = nn.LSTM(1, hidden, batch_first=True)`` and ``self.head = nn.Linear(hidden, 1)``.

    ``forward(X)`` maps windows (B, history, 1) to one prediction per window, (B,): the head
    applied to the LSTM's output at the last time step.
    """

    def __init__(self, hidden: int = 32):
        super().__init__()
        self.rnn = nn.LSTM(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(X)
        return self.head(out[:, -1])[:, 0]


def train_rnn(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int = 80, lr: float = 5e-3,
              batch_size: int = 64, seed: int = 0) -> list[float]:
    """Mini-batch training on the mean squared error with ``torch.optim.Adam(model.parameters(), lr=lr)``.

    The batches come from ``DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True,
    generator=torch.Generator().manual_seed(seed))``. ``model.train()``, then for each of the
    ``epochs`` epochs and each batch ``(xb, yb)``: zero the gradients,
    ``loss = nn.functional.mse_loss(model(xb), yb)``, backward, step.

    Returns:
        one float per epoch: the mean of that epoch's batch losses.
    """
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    history = []
    for _ in range(epochs):
        losses = []
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        history.append(sum(losses) / len(losses))
    return history


def plot_forecast(years: torch.Tensor, series: torch.Tensor, test_years: torch.Tensor, predictions: torch.Tensor):
    """The observed series and the one-step-ahead forecasts of the held-out years, as two labelled lines.

    x axis "year", y axis "sunspot number", a legend; return the figure.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(years.cpu(), series.cpu(), color="0.4", label="observed")
    ax.plot(test_years.cpu(), predictions.detach().cpu(), color="C3", label="one-step-ahead forecast")
    ax.set_xlabel("year")
    ax.set_ylabel("sunspot number")
    ax.set_title("Yearly sunspots")
    ax.legend()
    return fig
