"""Exercise 1: tensors and autograd.

Part A practises making tensors, broadcasting, reshaping and moving data between NumPy and
PyTorch. Part B computes derivatives: by hand, then with ``.backward()``, and shows how
``torch.no_grad()``, ``.detach()`` and gradient accumulation change what autograd does.

Rules for every function: no Python loops over tensor elements; keep the dtype and the device of
the inputs (create new tensors with ``device=x.device`` or ``torch.zeros_like``).

Check your work with ``pytest exercises/ex01_tensors_autograd.py`` (one function:
``pytest exercises/ -m pairwise_sq_dists``).
"""

import numpy as np
import torch

# ---------------------------------------------------------------- Part A: tensors


def make_grid(n_rows: int, n_cols: int, device: torch.device) -> torch.Tensor:
    """The numbers 0, 1, ..., n_rows * n_cols - 1, laid out row by row.

    Example: ``make_grid(2, 3, "cpu")`` is ``[[0., 1., 2.], [3., 4., 5.]]``.

    Returns:
        float32 tensor of shape (n_rows, n_cols) on ``device``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex01.make_grid")


def pairwise_sq_dists(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances between every row of A and every row of B, by broadcasting.

    D[i, j] = sum_k (A[i, k] - B[j, k])^2

    Args:
        A: (n, d) tensor.  B: (m, d) tensor of the same dtype.
    Returns:
        (n, m) tensor of A's dtype. No loops: insert axes with ``A[:, None, :]``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex01.pairwise_sq_dists")


def broadcast_matmul(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """The matrix product A B written with broadcasting and a sum, as ``A @ B`` computes it.

    C[i, j] = sum_k A[i, k] * B[k, j]

    Multiply A, seen as (n, k, 1), by B, seen as (1, k, m): the (n, k, m) products broadcast, and
    summing over k leaves (n, m). Do not call ``@``, ``torch.mm``, ``torch.matmul``, ``torch.einsum``
    or another product routine: the point is to see what they compute.

    Args:
        A: (n, k) tensor.  B: (k, m) tensor of the same dtype and device.
    Returns:
        (n, m) tensor of A's dtype, equal to ``A @ B`` (up to rounding).
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex01.broadcast_matmul")


def standardize(X: torch.Tensor) -> torch.Tensor:
    """Standardise each column: subtract its mean, divide by its standard deviation.

    Z[i, j] = (X[i, j] - mean_j) / std_j, with mean_j and std_j over the rows of column j and
    the population standard deviation (divide by n, i.e. ``correction=0``).

    Args:
        X: (n, d) floating tensor, n >= 2, no constant column.
    Returns:
        (n, d) tensor of X's dtype.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex01.standardize")


def flatten_images(x: torch.Tensor) -> torch.Tensor:
    """Flatten a batch of images into one row per image, as a fully connected layer expects.

    Args:
        x: (N, C, H, W) tensor.
    Returns:
        (N, C * H * W) tensor: row n holds image n's values in C, H, W order.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex01.flatten_images")


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A NumPy array holding t's values; works when t requires grad and when t is on a GPU.

    Returns:
        np.ndarray of t's shape and matching dtype (float64 -> float64, float32 -> float32).
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex01.to_numpy")


def from_numpy_shared(a: np.ndarray) -> torch.Tensor:
    """A CPU tensor that shares memory with ``a``: changing ``a`` afterwards changes the tensor.

    Returns:
        tensor of a's shape and dtype, on the CPU, without copying the data.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex01.from_numpy_shared")


# ---------------------------------------------------------------- Part B: autograd


def x2_sin_grad(x: torch.Tensor) -> torch.Tensor:
    """The derivative of f(x) = x^2 sin(x), derived by hand (no autograd), element by element.

    Args:
        x: tensor of any shape.
    Returns:
        f'(x), same shape and dtype as x.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex01.x2_sin_grad")


def x2_sin_autograd(x: torch.Tensor) -> torch.Tensor:
    """The same derivative as ``x2_sin_grad``, computed by autograd with ``.backward()``.

    Make a leaf copy of x that requires grad, compute f(x).sum() and call ``.backward()``:
    the gradient of a sum of independent terms is the element-wise derivative.

    Returns:
        f'(x), same shape and dtype as x (a tensor that does not require grad).
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex01.x2_sin_autograd")


def two_param_grads(x, y, t1, t2):
    """Gradients of a two-parameter model, by autograd.

    y_pred = x * t1 * t2,  L = (y_pred - y)^2.  Return (dL/dt1, dL/dt2).
    At x=1, y=2, t1=3, t2=4 they are 80 and 60.

    Args:
        x, y, t1, t2: 0-dim floating tensors (t1 and t2 do not require grad yet).
    Returns:
        (dL/dt1, dL/dt2): two 0-dim tensors of the inputs' dtype.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex01.two_param_grads")


def predict_no_grad(w: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Predictions X @ w that autograd does not track, although w requires grad.

    Args:
        w: (d,) weights with ``requires_grad=True``.  X: (n, d) inputs.
    Returns:
        (n,) tensor with ``requires_grad == False``: compute it under ``torch.no_grad()``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex01.predict_no_grad")


def detached_grad(x: torch.Tensor) -> torch.Tensor:
    """dL/dx for L = sum(x^2 * s), where s is x with its gradient stopped (``x.detach()``).

    The second factor is treated as a constant, so dL/dx = 2 x s = 2 x^2, not 3 x^2.

    Args:
        x: tensor of any shape.
    Returns:
        dL/dx, same shape and dtype as x.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex01.detached_grad")


def accumulated_grad(w: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Gradient accumulation: the sum of the gradients of k mini-batch losses, by calling
    ``.backward()`` once per mini-batch and letting ``.grad`` add up.

    Mini-batch i has loss L_i = mean_j (xs[i, j] . w - ys[i, j])^2.

    Args:
        w: (d,) weights (a leaf that does not require grad yet).
        xs: (k, b, d) inputs.  ys: (k, b) targets.
    Returns:
        (d,) tensor: sum_i dL_i/dw.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex01.accumulated_grad")


def per_batch_grads(w: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Each mini-batch's own gradient dL_i/dw (same losses as ``accumulated_grad``).

    ``.grad`` accumulates, so reset it (``w.grad = None``) before each ``.backward()``.

    Returns:
        (k, d) tensor whose row i is dL_i/dw.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex01.per_batch_grads")
