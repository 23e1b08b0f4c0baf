"""Exercise 2: gradients by hand.

Part A: derive the gradient of three losses on paper and write it as code, without autograd.
Part B: write custom ``torch.autograd.Function``s whose ``backward`` you derive yourself.
They are checked against the reference at random inputs (batches of several shapes included) and
with ``torch.autograd.gradcheck``'s test: your backward must agree with finite differences of
your own forward, in float64.

Shapes: n samples, d features, C classes. Every function keeps the dtype and device of its
inputs. Check your work with ``pytest exercises/ex02_gradients.py`` (one class: ``pytest exercises/ -m Linear``).
"""

import torch

# ---------------------------------------------------------------- Part A: gradients of losses


def mse_linear_grad(X, y, w, b):
    """Gradient of the mean squared error of a linear model, by hand (no autograd).

    L(w, b) = (1/n) sum_i (x_i . w + b - y_i)^2

    Args:
        X: (n, d) inputs.  y: (n,) targets.  w: (d,) weights.  b: 0-dim bias.
    Returns:
        (dL/dw, dL/db): shapes (d,) and (), X's dtype.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex02.mse_linear_grad")


def logistic_nll_grad(X, y, w, b):
    """Gradient of the mean negative log-likelihood of logistic regression, by hand.

    p_i = sigmoid(x_i . w + b),  L(w, b) = -(1/n) sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)]

    The logits x_i . w + b may be large (hundreds, positive or negative): ``torch.sigmoid`` gives p
    without overflow, where exp(z) / (1 + exp(z)) is inf / inf = NaN.

    Args:
        X: (n, d) inputs.  y: (n,) labels in {0., 1.}.  w: (d,) weights.  b: 0-dim bias.
    Returns:
        (dL/dw, dL/db): shapes (d,) and (), X's dtype.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex02.logistic_nll_grad")


def softmax_ce_grad(logits, targets):
    """Gradient of the mean softmax cross-entropy with respect to the logits, by hand.

    L = -(1/n) sum_i log softmax(z_i)[t_i], where softmax(z)_c = exp(z_c) / sum_k exp(z_k).

    The logits may be large (hundreds): compute the softmax without overflow, with ``torch.softmax``
    or by subtracting each row's maximum before ``exp`` (which changes nothing in the ratio).

    Args:
        logits: (n, C) floating tensor.  targets: (n,) int64 class indices in [0, C).
    Returns:
        dL/dlogits: (n, C), logits' dtype.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex02.softmax_ce_grad")


# ---------------------------------------------------------------- Part B: custom Functions
#
# Each Function is used as ``Name.apply(...)``. ``forward`` saves what ``backward`` needs with
# ``ctx.save_for_backward``; ``backward(ctx, grad_out)`` receives dL/d(output) and returns
# dL/d(input) for every input of forward, each with that input's shape.


class Sigmoid(torch.autograd.Function):
    """s = sigmoid(x) = 1 / (1 + exp(-x)), element-wise, for x of any shape."""

    @staticmethod
    def forward(ctx, x):
        # YOUR CODE HERE
        raise NotImplementedError("ex02.Sigmoid.forward")

    @staticmethod
    def backward(ctx, grad_out):
        """ds/dx = s (1 - s)."""
        # YOUR CODE HERE
        raise NotImplementedError("ex02.Sigmoid.backward")


class Softplus(torch.autograd.Function):
    """softplus(x) = log(1 + exp(x)), element-wise, without overflow for large x.

    exp(x) overflows for large x (float32: x > 88); use log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)).
    """

    @staticmethod
    def forward(ctx, x):
        # YOUR CODE HERE
        raise NotImplementedError("ex02.Softplus.forward")

    @staticmethod
    def backward(ctx, grad_out):
        """d softplus(x)/dx = exp(x) / (1 + exp(x)) = sigmoid(x)."""
        # YOUR CODE HERE
        raise NotImplementedError("ex02.Softplus.backward")


class Linear(torch.autograd.Function):
    """y = x W^T + b, as ``torch.nn.functional.linear``.

    x: (..., d_in) with any number of batch dimensions; W: (d_out, d_in); b: (d_out,).
    y: (..., d_out). The gradient of W and b sums over every batch dimension.
    """

    @staticmethod
    def forward(ctx, x, W, b):
        # YOUR CODE HERE
        raise NotImplementedError("ex02.Linear.forward")

    @staticmethod
    def backward(ctx, grad_out):
        """Return (dL/dx, dL/dW, dL/db) with the shapes of x, W and b."""
        # YOUR CODE HERE
        raise NotImplementedError("ex02.Linear.backward")


class LogSumExp(torch.autograd.Function):
    """lse(x) = log(sum_k exp(x[..., k])) over the last dimension.

    x: (..., K) -> (...,). Subtract the maximum m of each row first, so that nothing overflows:
    lse(x) = m + log(sum_k exp(x[..., k] - m)).
    """

    @staticmethod
    def forward(ctx, x):
        # YOUR CODE HERE
        raise NotImplementedError("ex02.LogSumExp.forward")

    @staticmethod
    def backward(ctx, grad_out):
        """d lse/dx[..., k] = softmax(x)[..., k] = exp(x[..., k] - lse(x))."""
        # YOUR CODE HERE
        raise NotImplementedError("ex02.LogSumExp.backward")
