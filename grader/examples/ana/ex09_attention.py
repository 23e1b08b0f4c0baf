# Ana's exercise 9: attention by hand done; the heads are merged without a transpose;
# the look-up model and its heatmap not started.
"""Exercise 9: attention as an ``nn.Module``: scaled dot-product attention by hand, multi-head self-attention.

Attention lets every position of a sequence read from every other position, with weights it computes
from the data: each query is compared with every key, the scores become weights by a softmax, and
the output is the weighted mean of the values. Here you write scaled dot-product attention by hand
(with a boolean mask and a causal option), multi-head self-attention as an ``nn.Module`` (the grader
checks it against ``torch.nn.functional.scaled_dot_product_attention`` and ``nn.MultiheadAttention``),
and a one-layer attention model that learns a key-value look-up no MLP on the flattened sequence can
learn from the same data; then you draw what it attends to.

Data: ``grader.data.token_selection_split()`` gives 2,000 training sequences and 1,000 held out:
``X`` int64 (n, 9, 2), eight (key, value) pairs and a query, and ``y`` int64 (n,), the value paired
with the query's key (see ``grader.data.token_selection``). Keep the dtype and the device of the
tensors you are given. The grader measures your trained model on the held-out sequences and on new
sequences it draws when it grades, through ``self.key_embed``, ``self.value_embed``,
``self.attention`` and ``self.head``.
Check your work with ``pytest exercises/ex09_attention.py``.
"""

import math

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
                                 causal: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention, by hand: ``weights = softmax(q k^T / sqrt(d))``, ``out = weights v``.

    The scores ``q @ k^T / sqrt(d)`` (d = q.shape[-1], the size of a query and of a key) compare every
    query with every key; the softmax over the keys (the last dimension) turns each query's scores into
    weights that sum to 1. A key a query may not attend to gets a weight of exactly 0: give its score
    ``-inf`` before the softmax (``masked_fill``), and the other weights still sum to 1. Subtract each
    row's maximum before ``exp`` (``torch.softmax`` does), so that large scores do not overflow.

    Args:
        q: (..., L, d) queries; k: (..., S, d) keys; v: (..., S, dv) values. The leading dimensions
            (none, a batch, a batch and heads...) are the same for the three.
        mask: None, or a bool tensor broadcastable to (..., L, S): True where query i may attend to key
            j (the convention of ``torch.nn.functional.scaled_dot_product_attention``'s boolean
            ``attn_mask``; ``nn.MultiheadAttention``'s ``attn_mask`` means the opposite).
        causal: when True, query i may attend to key j only if j <= i (the lower triangle of an L x S
            matrix, as torch's ``is_causal``). With a mask too, a key must be allowed by both.
        (Whatever the mask and causal, every query is allowed at least one key.)
    Returns:
        (out, weights): out (..., L, dv) and weights (..., L, S), both of q's dtype and device.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    allowed = mask
    if causal:
        L, S = scores.shape[-2:]
        lower = torch.ones(L, S, dtype=torch.bool, device=q.device).tril()
        allowed = lower if mask is None else lower & mask
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


class SelfAttention(nn.Module):
    """Multi-head self-attention: ``self.q_proj``, ``self.k_proj``, ``self.v_proj`` and ``self.out_proj``,
    each ``nn.Linear(d_model, d_model)`` (with a bias), and ``n_heads`` heads of size d_model / n_heads.

    Raise ``ValueError`` when d_model is not a multiple of n_heads.

    ``forward(x, mask=None, causal=False)``, x (B, L, d_model):

    1. q, k, v = q_proj(x), k_proj(x), v_proj(x), each (B, L, d_model);
    2. split each into heads: (B, L, d_model) -> (B, L, n_heads, d_head) -> (B, n_heads, L, d_head)
       (reshape, then transpose: head h holds features h * d_head to (h + 1) * d_head - 1);
    3. ``scaled_dot_product_attention`` on every head at once (scaled by sqrt(d_head)), with the same
       mask (bool, broadcastable to (B, L, L), True where a position may attend) and ``causal`` for
       every head;
    4. merge the heads back: (B, n_heads, L, d_head) -> (B, L, n_heads, d_head) -> (B, L, d_model);
    5. return out_proj of it, (B, L, d_model), of x's dtype and device.

    This is what ``nn.MultiheadAttention(d_model, n_heads, batch_first=True)`` computes with
    ``in_proj_weight = cat([q_proj.weight, k_proj.weight, v_proj.weight])`` (and the biases alike) and
    its ``out_proj``.
    """

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model = {d_model} is not a multiple of n_heads = {n_heads}")
        self.n_heads = n_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, causal: bool = False) -> torch.Tensor:
        B, L, d_model = x.shape

        def heads(t):
            return t.reshape(B, L, self.n_heads, d_model // self.n_heads).transpose(1, 2)

        if mask is not None:
            mask = mask.unsqueeze(-3)  # the same mask for every head
        out, _ = scaled_dot_product_attention(heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x)),
                                              mask, causal)
        return self.out_proj(out.reshape(B, L, d_model))


class TokenSelector(nn.Module):
    """A one-layer attention model of the key-value look-up: embeddings, ``SelfAttention``, a linear read-out.

    ``self.key_embed = nn.Embedding(n_keys, d_model)``, ``self.value_embed = nn.Embedding(n_values + 1,
    d_model)`` (the last id, n_values, is the query's unknown value), ``self.attention =
    SelfAttention(d_model, n_heads)`` and ``self.head = nn.Linear(d_model, n_values)``.

    ``forward(X)``, X int64 (B, T, 2) of (key, value) ids, the query last:
    ``h = key_embed(X[..., 0]) + value_embed(X[..., 1])`` (B, T, d_model), no mask; returns the logits
    ``head(attention(h)[:, -1])``, (B, n_values): the read-out at the query's position.
    """

    def __init__(self, n_keys: int = 16, n_values: int = 10, d_model: int = 32, n_heads: int = 2):
        super().__init__()
        # YOUR CODE HERE
        raise NotImplementedError("ex09.TokenSelector.__init__")

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        # YOUR CODE HERE
        raise NotImplementedError("ex09.TokenSelector.forward")


def train_selector(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int = 4, lr: float = 5e-3,
                   batch_size: int = 64, seed: int = 0) -> list[float]:
    """Mini-batch training on the cross-entropy of the logits with ``torch.optim.Adam(model.parameters(), lr=lr)``.

    The batches come from ``DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True,
    generator=torch.Generator().manual_seed(seed))``. ``model.train()``, then for each of the ``epochs``
    epochs and each batch ``(xb, yb)``: zero the gradients, ``loss = nn.functional.cross_entropy(model(xb),
    yb)``, backward, step.

    Returns:
        one float per epoch: the mean of that epoch's batch losses.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex09.train_selector")


def fit_selector(X_train: torch.Tensor, y_train: torch.Tensor, epochs: int = 4) -> tuple[TokenSelector, list[float]]:
    """Train ``TokenSelector()`` (16 keys, 10 values, d_model 32, 2 heads) on the training sequences.

    Build the model on the device of ``X_train``, then ``train_selector(model, X_train, y_train, epochs,
    lr=5e-3, batch_size=64, seed=0)``.

    Returns:
        (model, losses): the trained model and the ``epochs`` losses ``train_selector`` returned.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex09.fit_selector")


def plot_attention(weights: torch.Tensor, labels: list[str]):
    """The attention weights of one sequence as a heatmap: ``ax.imshow(weights)``, rows the queries
    (y axis, "query"), columns the keys (x axis, "key"), each tick named by ``labels`` (one per position),
    with a colour bar. ``weights`` is (T, T), rows summing to 1, on any device and maybe attached to a
    graph: detach it and copy it to the CPU before drawing. Return the figure.
    """
    import matplotlib.pyplot as plt

    # YOUR CODE HERE
    raise NotImplementedError("ex09.plot_attention")
