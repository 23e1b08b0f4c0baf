# Ana's exercise 4: the loop and the MLP done; the epoch's loss is a mean of batch means.
"""Exercise 4: the training loop, Datasets and DataLoaders, an MLP on Iris, SGD against Adam.

Every model in the rest of the course is trained by the same loop: for each mini-batch, zero the
gradients, run the model forward, compute the loss, backpropagate, take an optimizer step. Here
you write that loop once (``train_epoch``) with its partner ``evaluate``, the ``Dataset`` and
``DataLoader`` that feed it, and an MLP that classifies Iris flowers; then compare SGD with Adam.

Data: ``grader.data.iris_split()`` gives 100 training flowers and 50 held out: features float32
(n, 4) in cm, labels int64 (n,) in {0, 1, 2}. Keep the device of the tensors you are given. The
grader measures your trained MLP on the held-out flowers and on new flowers it draws when it
grades (from each species' spread in the training flowers), through ``self.layers``.
Check your work with ``pytest exercises/ex04_training_loop.py``.
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class TensorPairs(Dataset):
    """The pairs ``(X[i], y[i])`` of two tensors with the same first dimension, as a Dataset.

    ``len(dataset)`` is N, the length of the first dimension; ``dataset[i]`` is the tuple
    ``(X[i], y[i])`` (the rows themselves, not copies). Raise ``ValueError`` when X and y do not
    have the same length.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor):
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        self.X, self.y = X, y

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


def make_loader(X: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool = False, seed: int = 0) -> DataLoader:
    """A ``DataLoader`` over ``TensorPairs(X, y)`` giving mini-batches of ``batch_size`` pairs.

    With ``shuffle=True`` the order is drawn from ``torch.Generator().manual_seed(seed)`` (pass it
    as the loader's ``generator``), so the same seed gives the same batches. The last batch may be
    smaller. Each batch is a pair ``(xb, yb)`` of stacked rows: (B, ...) and (B,).
    """
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(TensorPairs(X, y), batch_size=batch_size, shuffle=shuffle, generator=generator)


def train_epoch(model: nn.Module, loader, loss_fn, optimizer: torch.optim.Optimizer) -> float:
    """One pass of mini-batch training over ``loader``; returns the mean loss per sample.

    Put the model in training mode (``model.train()``), then for each batch ``(xb, yb)``:
    ``optimizer.zero_grad()``, ``out = model(xb)``, ``loss = loss_fn(out, yb)`` (a mean over the
    batch), ``loss.backward()``, ``optimizer.step()``.

    Returns:
        the epoch's mean loss per sample: sum over batches of ``loss * len(yb)``, divided by the
        number of samples, as a Python float (use ``loss.item()``, so no graph is kept).
    """
    model.train()
    total, count = 0.0, 0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item()
        count += 1
    return total / count


def evaluate(model: nn.Module, loader, loss_fn) -> tuple[float, float]:
    """The mean loss per sample and the accuracy of a classifier over ``loader``, without training.

    Put the model in evaluation mode (``model.eval()``: dropout off) and run it under
    ``torch.no_grad()`` (no graph is built). Accuracy is the fraction of samples whose largest
    logit is at the true label.

    Returns:
        (mean_loss, accuracy), two Python floats.
    """
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            out = model(xb)
            total += loss_fn(out, yb).item() * len(yb)
            correct += (out.argmax(dim=1) == yb).sum().item()
            count += len(yb)
    return total / count, correct / count


class MLP(nn.Module):
    """A multi-layer perceptron classifier, as ``self.layers = nn.Sequential(...)`` of, in order:

    ``nn.Linear(n_in, n_hidden)``, ``nn.ReLU()``, ``nn.Dropout(p_drop)``,
    ``nn.Linear(n_hidden, n_hidden)``, ``nn.ReLU()``, ``nn.Linear(n_hidden, n_out)``.

    ``forward(x)`` maps (N, n_in) features to (N, n_out) logits (no softmax:
    ``nn.CrossEntropyLoss`` applies log-softmax itself).
    """

    def __init__(self, n_in: int, n_hidden: int, n_out: int, p_drop: float = 0.2):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Dropout(p_drop),
            nn.Linear(n_hidden, n_hidden), nn.ReLU(),
            nn.Linear(n_hidden, n_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def fit_iris(X_train: torch.Tensor, y_train: torch.Tensor, epochs: int = 60) -> tuple[MLP, list[float]]:
    """Train ``MLP(4, 32, 3)`` on Iris and return it with its per-epoch training losses.

    Use ``make_loader(X_train, y_train, batch_size=16, shuffle=True, seed=0)``,
    ``nn.CrossEntropyLoss()``, ``torch.optim.Adam(model.parameters(), lr=0.01)`` and
    ``train_epoch`` once per epoch. The model lives on the device of ``X_train``.

    Returns:
        (model, losses): the trained model, and ``epochs`` floats, the value of each
        ``train_epoch``.
    """
    hidden, batch_size, lr, seed = 32, 16, 0.01, 0  # pragma: no mutate (other values train as well)
    model = MLP(X_train.shape[1], hidden, 3).to(X_train.device)
    loader = make_loader(X_train, y_train, batch_size=batch_size, shuffle=True, seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    losses = [train_epoch(model, loader, loss_fn, optimizer) for _ in range(epochs)]
    return model, losses


def compare_optimizers(X: torch.Tensor, y: torch.Tensor, epochs: int = 30, seed: int = 0) -> dict[str, list[float]]:
    """Training-loss curves of the same MLP trained by plain SGD and by Adam.

    For each optimizer, in this order: ``torch.manual_seed(seed)``, a fresh ``MLP(4, 32, 3,
    p_drop=0.0)`` on X's device, ``make_loader(X, y, batch_size=16, shuffle=True, seed=seed)``,
    then ``epochs`` calls of ``train_epoch`` with ``nn.CrossEntropyLoss()``:

    - ``"sgd"``: ``torch.optim.SGD(model.parameters(), lr=0.01)``
    - ``"adam"``: ``torch.optim.Adam(model.parameters(), lr=0.01)``

    Both start from the same weights (the same seed), so the curves differ only by the optimizer.

    Returns:
        ``{"sgd": [...], "adam": [...]}``, each a list of ``epochs`` floats.
    """
    curves = {}
    for name, make in (("sgd", torch.optim.SGD), ("adam", torch.optim.Adam)):
        torch.manual_seed(seed)
        model = MLP(X.shape[1], 32, 3, p_drop=0.0).to(X.device)
        loader = make_loader(X, y, batch_size=16, shuffle=True, seed=seed)
        optimizer = make(model.parameters(), lr=0.01)
        curves[name] = [train_epoch(model, loader, nn.CrossEntropyLoss(), optimizer) for _ in range(epochs)]
    return curves


def plot_loss_curves(curves: dict[str, list[float]]):
    """One line per optimizer: training loss (y axis, "loss") against epoch (x axis, "epoch").

    Label each line with its key (``label=name``) and show a legend. Use
    ``fig, ax = plt.subplots()`` and return ``fig`` (do not call ``plt.show()``).
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, losses in curves.items():
        ax.plot(range(1, len(losses) + 1), losses, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("Training loss on Iris")
    ax.legend()
    return fig
