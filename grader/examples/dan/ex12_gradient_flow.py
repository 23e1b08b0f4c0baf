# Dan's exercise 12: the gradient norms count the biases, and the hooks stay on the model;
# the Iris network not started.
"""Exercise 12: watching gradients: per-layer gradient norms, tensor hooks, vanishing gradients, a 2-d latent space.

Backpropagation multiplies, layer after layer, by each layer's local derivative. In a deep network
those products can shrink towards zero (the first layers stop learning: *vanishing* gradients) or
grow without bound. Here you build a deep MLP whose activation you can swap, measure the gradient
that reaches every layer (from each weight's ``.grad``, and with tensor hooks on the activations'
outputs), see the sigmoid network's gradient vanish where ReLU, Tanh and GELU keep theirs, and draw
it; then you train the small Iris network of the notes, 4 -> 2 -> 3, and draw its 2-d latent space.

Data: ``grader.data.iris_split()`` gives 100 training flowers and 50 held out: features float32
(n, 4) in cm, labels int64 (n,) in {0, 1, 2}. Keep the dtype and the device of the tensors you are
given. The grader measures your trained network on the held-out flowers and on new flowers it draws
when it grades, through ``self.layers``, ``self.mean`` and ``self.std``.
Check your work with ``pytest exercises/ex12_gradient_flow.py``.
"""

import torch
from torch import nn

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}


def deep_mlp(d_in: int, width: int, depth: int, d_out: int, activation: str, seed: int = 0) -> nn.Sequential:
    """A deep MLP: ``depth`` hidden blocks ``nn.Linear`` + activation, then a linear read-out, as one ``nn.Sequential``.

    The layers, in order: ``nn.Linear(d_in, width)``, act, then ``depth - 1`` times ``nn.Linear(width, width)``,
    act, and last ``nn.Linear(width, d_out)`` (no activation after it: it gives logits). So the network has
    ``depth + 1`` Linear layers. ``activation`` names the activation module, a new one per block:
    ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"gelu"`` for ``nn.Sigmoid``, ``nn.Tanh``, ``nn.ReLU``, ``nn.GELU``
    (``ACTIVATIONS``); any other name raises ``ValueError`` naming the four.

    Initialisation (He et al., 2015), the same whatever the activation, so that only the activation differs
    between two networks of one seed: with ``g = torch.Generator().manual_seed(seed)``, for each Linear layer in
    order, ``nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=g)`` (weights drawn from
    N(0, 2 / fan_in), fan_in = the layer's in_features) and ``nn.init.zeros_(layer.bias)``. The parameters are
    float32, on the CPU.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}: use one of {', '.join(ACTIVATIONS)}")
    layers, n_in = [], d_in
    for _ in range(depth):
        layers += [nn.Linear(n_in, width), ACTIVATIONS[activation]()]
        n_in = width
    layers.append(nn.Linear(n_in, d_out))
    generator = torch.Generator().manual_seed(seed)
    for layer in layers:
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=generator)
            nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)


def weight_grad_norms(model: nn.Module) -> torch.Tensor:
    """The L2 (Frobenius) norm of the gradient of every ``nn.Linear``'s weight, from input to output.

    ``model.modules()`` visits the layers in the order they were added (for an ``nn.Sequential``, the order
    it applies them). For each ``nn.Linear`` (weights only, not biases), ``||layer.weight.grad||_2``: the
    square root of the sum of the squares of all its entries. Every weight has a ``.grad`` (call this after
    ``backward``).

    Returns:
        a tensor (n_linear,) of the gradients' dtype and device, the first layer's norm first.
    """
    return torch.stack([torch.cat([m.weight.grad.flatten(), m.bias.grad]).norm() for m in model.modules()
                        if isinstance(m, nn.Linear)])


def activation_grad_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """With tensor hooks: the norm of dLoss/dh for the output h of every activation module, from input to output.

    The loss is ``nn.functional.cross_entropy(model(x), y)`` (the mean over the batch). The activation modules
    are the submodules of ``model`` that are ``nn.Sigmoid``, ``nn.Tanh``, ``nn.ReLU`` or ``nn.GELU``, in the
    order ``model.modules()`` visits them.

    1. On each activation module, ``register_forward_hook(hook)``: the hook gets ``(module, inputs, output)``
       and calls ``output.register_hook(...)`` with a function that stores ``grad.norm()`` (the L2 norm over
       the whole batch, (B, width) entries) in that activation's place. Keep the handles.
    2. ``model.zero_grad()``, the forward pass and the loss, ``loss.backward()``: the tensor hooks fire during
       backward, from the *last* activation to the first, so store each norm at its activation's index, not in
       the order they arrive (and bind the index when the hook is made: a ``lambda`` in a loop reads the loop
       variable when it runs, not when it was made).
    3. Remove every forward hook (``handle.remove()``), even when the forward or backward raised, so that the
       model is left as it was given: the next forward pass must not register hooks again.

    Afterwards every parameter's ``.grad`` holds this batch's gradient (``weight_grad_norms`` reads them).

    Returns:
        a tensor (n_activations,), the first activation's norm first, of the gradients' dtype and device.
    """
    activations = [m for m in model.modules() if isinstance(m, tuple(ACTIVATIONS.values()))]
    norms = [None] * len(activations)

    def forward_hook(index):
        def hook(module, inputs, output):
            def store(grad):
                norms[index] = grad.norm()
            output.register_hook(store)
        return hook

    handles = [m.register_forward_hook(forward_hook(i)) for i, m in enumerate(activations)]
    try:
        model.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
    finally:
        pass
    return torch.stack(norms)


def gradient_profile(activation: str, x: torch.Tensor, y: torch.Tensor, n_classes: int, depth: int = 12,
                     width: int = 32, seed: int = 0) -> torch.Tensor:
    """The gradient of every layer's weight, at initialisation, of a deep MLP with the given activation.

    ``deep_mlp(x.shape[1], width, depth, n_classes, activation, seed)``, moved to x's device (``.to(x.device)``),
    then ``activation_grad_norms(model, x, y)`` (one backward pass of the cross-entropy of the batch), and return
    ``weight_grad_norms(model)``: (depth + 1,), the first layer's first. No training step is taken.
    """
    model = deep_mlp(x.shape[1], width, depth, n_classes, activation, seed).to(x.device)
    activation_grad_norms(model, x, y)
    return weight_grad_norms(model)


def compare_activations(x: torch.Tensor, y: torch.Tensor, n_classes: int, depth: int = 12, width: int = 32,
                        seed: int = 0, names: tuple[str, ...] = ("sigmoid", "tanh", "relu", "gelu")) -> dict:
    """``gradient_profile`` of each activation in ``names``, on the same batch and with the same seed (so the same
    initial weights): ``{name: profile}``, in the order of ``names``.

    Why: block l computes ``h_l = act(z_l)`` with ``z_l = W_l h_(l-1) + b_l``, so backpropagation through it is
    ``dL/dh_(l-1) = W_l^T (act'(z_l) * dL/dh_l)``, and ``dL/dW_l = (act'(z_l) * dL/dh_l) h_(l-1)^T``: the
    gradient reaching the first layer is a product of one factor per block. He initialisation keeps ``W_l^T``
    from shrinking it on average, so the activation's derivative decides.

    What you should see: the sigmoid's derivative is at most 1/4, so each sigmoid layer shrinks the gradient
    it passes back, and the first layer's weight gradient of a 12-layer sigmoid network is many orders of
    magnitude below the last layer's; ReLU (derivative 1 where active), GELU and Tanh (derivative 1 at 0) keep
    theirs within about an order of magnitude.
    """
    return {name: gradient_profile(name, x, y, n_classes, depth, width, seed) for name in names}


def plot_gradient_flow(profiles: dict):
    """Gradient magnitude by layer, one line per activation, on a logarithmic y axis.

    ``profiles`` maps an activation's name to its profile, a tensor (n_layers,) on any device, maybe attached to a
    graph: detach it and copy it to the CPU before drawing. For each,
    ``ax.plot(layers, norms, label=name)`` with layers 1, 2, ..., n_layers (x axis, "layer") and the norms on
    the CPU (y axis, "gradient norm"); ``ax.set_yscale("log")`` (the norms span many orders of magnitude) and a
    legend. Return the figure.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, norms in profiles.items():
        norms = norms.detach().cpu()
        ax.plot(range(1, len(norms) + 1), norms.numpy(), marker="o", label=name)
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel("gradient norm")
    ax.set_title("Weight gradient by layer at initialisation")
    ax.legend()
    fig.tight_layout()
    return fig


class IrisNet(nn.Module):
    """The Iris network of the notes, 4 -> 2 -> 3: ``self.layers = nn.Sequential(nn.Linear(4, 2), nn.Tanh(),
    nn.Linear(2, 3))``, on standardised features.

    ``mean`` and ``std`` (4,) are the training features' per-feature mean and standard deviation; keep them as
    buffers (``self.register_buffer("mean", mean)``, the same for ``std``) so that ``.to(device)`` moves them
    with the weights. ``forward(x)``, x (N, 4) in cm, returns the logits ``self.layers((x - self.mean) /
    self.std)``, (N, 3).
    """

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        # YOUR CODE HERE
        raise NotImplementedError("ex12.IrisNet.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # YOUR CODE HERE
        raise NotImplementedError("ex12.IrisNet.forward")


def latent(model: IrisNet, X: torch.Tensor) -> torch.Tensor:
    """The 2-d latent points of the flowers X (N, 4): the first layer's activated outputs,
    ``tanh(W1 (x - mean) / std + b1)``, i.e. ``model.layers[:2]`` of the standardised features.

    Computed under ``torch.no_grad()`` (no graph); (N, 2), of X's dtype and device.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex12.latent")


def train_iris(X_train: torch.Tensor, y_train: torch.Tensor, epochs: int = 200, seed: int = 0) -> tuple:
    """Train ``IrisNet`` on the training flowers, full batch, and return it with its losses.

    The mean and the standard deviation come from the training features alone (``X_train.mean(dim=0)``,
    ``X_train.std(dim=0)``). ``torch.manual_seed(seed)``, then ``IrisNet(mean, std)`` on X_train's device and
    ``torch.optim.Adam(model.parameters(), lr=0.02)``; ``model.train()``, then ``epochs`` steps, each on all the
    training flowers at once: zero the gradients, ``loss = nn.functional.cross_entropy(model(X_train),
    y_train)``, backward, step.

    Returns:
        (model, losses): the trained model and one Python float per epoch (``loss.item()``).
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex12.train_iris")


def plot_latent(model: IrisNet, X: torch.Tensor, y: torch.Tensor, names: tuple[str, ...] = ("setosa", "versicolor",
                                                                                             "virginica")):
    """The flowers X in the network's 2-d latent space, one scatter per class.

    ``Z = latent(model, X)`` on the CPU; for each class c (0, 1, 2...) in order, ``ax.scatter(Z[y == c, 0],
    Z[y == c, 1], label=names[c])`` (one colour per class); x axis "latent 1", y axis "latent 2", a legend.
    X and y may live on any device. Return the figure.

    What you should see: two latent units are enough to pull the three species apart, setosa far from the
    other two; many points sit near +-1, where the tanh saturates (and its gradient vanishes too).
    """
    import matplotlib.pyplot as plt

    # YOUR CODE HERE
    raise NotImplementedError("ex12.plot_latent")
