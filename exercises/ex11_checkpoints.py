"""Exercise 11: checkpoints and the modes of a model: saving, resuming, ``train()`` and ``eval()``, ``weight_decay``.

A long training run stops: a time limit, a crash, a machine taken back. A checkpoint lets it go on as if nothing had
happened, but only if it holds *everything* the next epochs depend on: the model's parameters and buffers (BatchNorm's
running statistics), the optimiser's state (SGD's momentum buffers), the learning-rate scheduler's position, the
random number generator (dropout masks, the shuffling of the batches) and the epoch reached. Forget one and the run
still goes on, silently different. Here you write the pieces of such a run and a checkpoint that makes the resumed
run give *bit for bit* the parameters of the run that never stopped; then you measure what ``train()`` and
``eval()`` change in BatchNorm and Dropout, write SGD's step with momentum and weight decay by hand, and draw a
resumed run over the one that never stopped.

``Net`` is given: ``Linear -> BatchNorm1d -> ReLU -> Dropout -> Linear``, a classifier whose training depends on
the global random state (dropout) and whose evaluation depends on its mode (BatchNorm's statistics, dropout).
Data: any features X, float (N, d_in), and labels y, int64 (N,) in {0, ..., d_out - 1}; the grader makes small
synthetic ones. Keep the dtype and the device of the tensors you are given.
Check your work with ``pytest exercises/ex11_checkpoints.py``.
"""

import copy

import torch
from torch import nn


class Net(nn.Module):
    """``self.layers = nn.Sequential(nn.Linear(d_in, d_hidden), nn.BatchNorm1d(d_hidden), nn.ReLU(),
    nn.Dropout(p), nn.Linear(d_hidden, d_out))``: (N, d_in) features to (N, d_out) logits. Given, not to write."""

    def __init__(self, d_in: int, d_hidden: int, d_out: int, p: float = 0.2):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(d_in, d_hidden), nn.BatchNorm1d(d_hidden), nn.ReLU(), nn.Dropout(p),
                                    nn.Linear(d_hidden, d_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def make_training(model: nn.Module, lr: float, momentum: float, weight_decay: float,
                  epochs: int) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """The optimiser and the learning-rate schedule of a training run of ``epochs`` epochs.

    ``torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)`` (no dampening, no
    Nesterov) and ``torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)``: stepped once per epoch, it
    takes the learning rate from ``lr`` at epoch 0 down to 0 at epoch ``epochs`` along half a cosine,
    ``lr_t = lr * (1 + cos(pi * t / epochs)) / 2``.

    Returns:
        (optimizer, scheduler).
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex11.make_training")


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor,
                batch_size: int) -> float:
    """One epoch of mini-batch training on the cross-entropy of the logits.

    ``model.train()`` (BatchNorm normalises by each batch's statistics and updates its running ones; dropout is on).
    The order of the rows comes from the global random state: ``perm = torch.randperm(len(X), device=X.device)``;
    the batches are ``perm[i:i + batch_size]`` for i = 0, batch_size, 2 batch_size... (the last one may be smaller).
    For each batch ``idx``: zero the gradients, ``loss = nn.functional.cross_entropy(model(X[idx]), y[idx])``,
    backward, step. Use no other random numbers: a resumed run must draw exactly what the uninterrupted one draws.

    Returns:
        the mean of the batches' losses, as a Python float (``loss.item()``).
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex11.train_epoch")


def fit(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler,
        X: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int, start_epoch: int = 0) -> list[float]:
    """Train from epoch ``start_epoch`` up to (not including) epoch ``epochs``: ``train_epoch``, then
    ``scheduler.step()``, once per epoch. A fresh run starts at 0; a resumed one at the epoch its checkpoint holds.

    Returns:
        the ``epochs - start_epoch`` losses ``train_epoch`` returned, in order.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex11.fit")


def save_checkpoint(path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: torch.optim.lr_scheduler.LRScheduler, epoch: int) -> None:
    """Everything a run needs to go on after ``epoch`` finished epochs, in one ``torch.save(checkpoint, path)``.

    ``checkpoint`` is a dict with the keys ``"model"``, ``"optimizer"`` and ``"scheduler"`` (their
    ``state_dict()``: the model's parameters *and buffers*, SGD's momentum buffers and hyperparameters, the
    scheduler's epoch count), ``"rng"`` (``torch.get_rng_state()``, the CPU generator that draws dropout masks and
    the order of the batches on the CPU), ``"cuda_rng"`` (``torch.cuda.get_rng_state_all()`` when the model's
    parameters are on a GPU, where those draws come from the GPU's generators; None otherwise) and ``"epoch"``.
    ``path`` is a file name or a binary file object (an ``io.BytesIO``), as ``torch.save`` takes.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex11.save_checkpoint")


def load_checkpoint(path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: torch.optim.lr_scheduler.LRScheduler) -> int:
    """Restore what ``save_checkpoint`` saved into freshly built objects; return the epoch to resume from.

    ``torch.load(path, map_location=device, weights_only=True)``, with ``device`` that of the model's parameters
    (``weights_only`` refuses to run code a file may hide, so load only files of tensors and plain values), then
    ``load_state_dict`` of the model, the optimiser and the scheduler, and put back the random state:
    ``torch.set_rng_state`` (it takes a CPU ``torch.uint8`` tensor: ``map_location`` may have moved it) and, when
    the checkpoint holds the GPU's, ``torch.cuda.set_rng_state_all``.

    Returns:
        the checkpoint's ``"epoch"``, an int: the ``start_epoch`` for ``fit``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex11.load_checkpoint")


def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """The mean cross-entropy of the model's logits on (X, y), measured without changing the model.

    In evaluation mode (``model.eval()``: BatchNorm normalises by its running statistics and leaves them as they
    are, dropout is off, so the answer is the same at every call) and under ``torch.no_grad()`` (no graph is
    built). Afterwards put the model back in the mode it was in (``model.train(was_training)``, with
    ``was_training = model.training`` read first): a training loop that evaluates every epoch must go on training.

    Returns:
        ``nn.functional.cross_entropy(model(X), y)`` as a Python float.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex11.evaluate")


def mode_effects(model: nn.Module, x: torch.Tensor) -> dict[str, bool]:
    """What a forward pass on ``x`` does in each mode, measured on a copy of the model (``copy.deepcopy``), so that
    ``model`` itself, its buffers and its mode, is left as it was.

    For mode in ("train", "eval"), on a copy put in that mode (``copy.train()`` / ``copy.eval()``), under
    ``torch.no_grad()``:

    - ``f"{mode}/updates_buffers"``: one forward pass changes a buffer of the copy (``copy.buffers()``: BatchNorm's
      ``running_mean``, ``running_var``, ``num_batches_tracked``). Compare each buffer with a *clone* taken before
      the pass (``torch.equal``): ``state_dict()`` and ``buffers()`` hand out the tensors themselves, which the
      pass changes in place.
    - ``f"{mode}/random"``: two forward passes on the same ``x``, one after the other, give outputs that differ
      (``not torch.equal``): dropout draws a new mask at every pass.

    The answers depend on the model: a model without BatchNorm has no buffers to change, dropout with p = 0 draws
    nothing, a BatchNorm with ``track_running_stats=False`` keeps no statistics.

    Returns:
        the four answers, Python bools, under the keys ``"train/updates_buffers"``, ``"train/random"``,
        ``"eval/updates_buffers"`` and ``"eval/random"``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex11.mode_effects")


def sgd_step(params: list[torch.Tensor], grads: list[torch.Tensor], buffers: list[torch.Tensor] | None, lr: float,
             momentum: float, weight_decay: float) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """One step of ``torch.optim.SGD(params, lr, momentum, weight_decay)`` by hand, for each tensor p with gradient g:

    - weight decay is an L2 penalty ``weight_decay / 2 * |p|^2`` added to the loss, so it adds
      ``weight_decay * p`` to the gradient: ``d = g + weight_decay * p`` (it is *coupled*: it then goes through the
      momentum, unlike AdamW's decoupled decay, which shrinks p directly);
    - the momentum buffer: ``b = d`` at the first step (``buffers`` is None), ``b = momentum * b + d`` after;
    - the step: ``p_new = p - lr * b``.

    Args:
        params, grads: lists of tensors of one shape each (any shape, any floating dtype, any device).
        buffers: the momentum buffers the previous step returned, or None at the first step.
    Returns:
        (new_params, new_buffers): two lists of new tensors (the inputs are left as they are), of the params'
        dtypes and devices.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex11.sgd_step")


def plot_resume(losses, resumed, stop: int):
    """The training losses of the run without interruption and of the resumed run, per epoch, with the checkpoint.

    ``losses`` holds the E losses of the run that never stopped (epochs 1 to E), ``resumed`` the losses of the run
    resumed from a checkpoint saved after epoch ``stop`` (epochs stop + 1 to E): lists of floats or 1-D tensors, on
    any device (copy a tensor to the CPU, ``.cpu()``, before drawing it). Draw, on one ``fig, ax = plt.subplots()``:

    - ``ax.plot(range(1, E + 1), losses, label="uninterrupted")``;
    - ``ax.plot(range(stop + 1, E + 1), resumed, "o", label="resumed")``: on a resumed run that equals the
      uninterrupted one, the points sit on the line;
    - ``ax.axvline(stop, label="checkpoint")``, a vertical line where the run stopped;
    - the axes labelled "epoch" and "training loss", and a legend. Return the figure.
    """
    import matplotlib.pyplot as plt

    # YOUR CODE HERE
    raise NotImplementedError("ex11.plot_resume")
