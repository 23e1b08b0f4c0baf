# Ana's exercise 6: everything done.
"""Exercise 6: a convolutional network that reads handwritten digits.

Build a small CNN from ``nn.Conv2d``, ``nn.MaxPool2d`` and ``nn.Linear``, train it on MNIST
mini-batches with ``nn.CrossEntropyLoss`` on its logits, and predict the digits of images it
has never seen. The grader trains your network with a fixed seed and measures its accuracy on
1,000 held-out images whose labels only the grader sees, and on the same digits moved by a pixel
and speckled with noise when it grades.

Data: ``grader.data.mnist_split()`` gives 4,000 training and 1,000 held-out images, float32
(N, 1, 28, 28) in [0, 1], and labels int64 (N,) in 0..9 (the offline 5,000-image subset;
``grader.data.mnist(source="mnist")`` downloads all 70,000 when you are online).
Check your work with ``pytest exercises/ex06_cnn_mnist.py``.
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class CNN(nn.Module):
    """A LeNet-style convolutional classifier for 28x28 grey images, giving 10 logits per image.

    ``self.features = nn.Sequential(...)``: ``nn.Conv2d(1, 16, 5)``, ``nn.ReLU()``,
    ``nn.MaxPool2d(2)`` (28 -> 24 -> 12), ``nn.Conv2d(16, 32, 5)``, ``nn.ReLU()``,
    ``nn.MaxPool2d(2)`` (12 -> 8 -> 4);
    ``self.classifier = nn.Sequential(...)``: ``nn.Flatten()``, ``nn.Linear(32 * 4 * 4, 128)``,
    ``nn.ReLU()``, ``nn.Dropout(0.5)``, ``nn.Linear(128, 10)``.

    ``forward(x)`` maps (N, 1, 28, 28) images to (N, 10) logits: no softmax at the end
    (``nn.CrossEntropyLoss`` applies log-softmax itself).
    """

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 4 * 4, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def mnist_loader(images: torch.Tensor, labels: torch.Tensor, batch_size: int = 32, seed: int = 0) -> DataLoader:
    """Shuffled mini-batches of (images, labels): a ``DataLoader`` over ``TensorDataset(images, labels)``
    with ``shuffle=True`` and ``generator=torch.Generator().manual_seed(seed)``."""
    return DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=True,
                      generator=torch.Generator().manual_seed(seed))


def train_cnn(model: nn.Module, loader, epochs: int = 10, lr: float = 3e-3) -> list[float]:
    """Train ``model`` with Adam on ``nn.CrossEntropyLoss()``, the learning rate decaying along a cosine.

    ``optimizer = torch.optim.Adam(model.parameters(), lr=lr)`` and
    ``scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)``.
    ``model.train()``, then for each epoch: for each batch ``(xb, yb)`` of ``loader``: zero the
    gradients, ``logits = model(xb)``, ``loss = loss_fn(logits, yb)`` (pass the logits, not
    probabilities), backward, ``optimizer.step()``; after the epoch, ``scheduler.step()``.

    Returns:
        one float per epoch: the mean of that epoch's batch losses.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    history = []
    for _ in range(epochs):
        losses = []
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        history.append(sum(losses) / len(losses))
    return history


def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The predicted digit of each image: the index of its largest logit.

    Evaluation mode (``model.eval()``, so dropout is off) and ``torch.no_grad()``; run the
    images through the model ``batch_size`` at a time.

    Returns:
        int64 (N,) on the images' device.
    """
    model.eval()
    with torch.no_grad():
        return torch.cat([model(images[i:i + batch_size]).argmax(dim=1) for i in range(0, len(images), batch_size)])


def plot_predictions(images: torch.Tensor, predicted: torch.Tensor, n: int = 12):
    """The first ``n`` images in a grid, each titled with its predicted digit (e.g. "predicted 7").

    One subplot per image (``plt.subplots(rows, cols)``), drawn with ``ax.imshow(image, cmap="gray")``
    and ``ax.set_title(...)``, axes hidden (``ax.axis("off")``). Return the figure.
    """
    import matplotlib.pyplot as plt

    cols = 6  # pragma: no mutate (any number of columns shows the grid)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.9 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(images[k, 0].cpu(), cmap="gray")
            ax.set_title(f"predicted {int(predicted[k])}", fontsize=9)
    fig.tight_layout()
    return fig
