# Ben's exercise 7: the biases go unregularised, and recommend() suggests movies already rated.
"""Exercise 7: matrix factorization for movie recommendations (MovieLens-100k).

Predict how user u would rate movie i as

    r_hat(u, i) = mu + b_u + b_i + p_u . q_i

where mu is the mean training rating, b_u and b_i are a user's and a movie's bias, and p_u and
q_i are k-dimensional factor vectors, all learned from 80,000 ratings. The grader trains your
model with a fixed seed and measures its RMSE on 20,000 held-out ratings it keeps to itself,
predicting them from your model's four tables by the formula above, then asks for
recommendations.

Data: ``grader.data.movielens_split()`` gives the seeded 80/20 split: users and items int64,
zero-based (943 users, 1,682 movies), ratings float32 from 1 to 5. The ratings are not part of
this course (GroupLens does not allow redistributing them): ``pip install --no-deps
recbole==1.2.1`` brings a copy, or pass the path of GroupLens' ``ml-100k.zip``.
Check your work with ``pytest exercises/ex07_matrix_factorization.py``.
"""

import torch
from torch import nn

N_USERS, N_ITEMS = 943, 1682


class MatrixFactorization(nn.Module):
    """Biased matrix factorization with ``nn.Embedding`` tables.

    - ``self.user_factors = nn.Embedding(n_users, k)`` (the p_u) and
      ``self.item_factors = nn.Embedding(n_items, k)`` (the q_i), initialised from N(0, 0.05^2)
      (``nn.init.normal_(weight, std=0.05)``);
    - ``self.user_bias = nn.Embedding(n_users, 1)`` and ``self.item_bias = nn.Embedding(n_items, 1)``,
      initialised to zero;
    - ``self.global_mean = global_mean`` (a float, not learned).

    ``forward(users, items)`` takes two int64 (B,) tensors and returns the (B,) predictions
    ``global_mean + b_u + b_i + (p_u * q_i).sum(dim=1)``.
    """

    def __init__(self, n_users: int, n_items: int, k: int, global_mean: float):
        super().__init__()
        self.user_factors = nn.Embedding(n_users, k)
        self.item_factors = nn.Embedding(n_items, k)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        nn.init.normal_(self.user_factors.weight, std=0.05)
        nn.init.normal_(self.item_factors.weight, std=0.05)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)
        self.global_mean = float(global_mean)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        p, q = self.user_factors(users), self.item_factors(items)
        return self.global_mean + self.user_bias(users)[:, 0] + self.item_bias(items)[:, 0] + (p * q).sum(dim=1)


def mf_loss(model: MatrixFactorization, users: torch.Tensor, items: torch.Tensor, ratings: torch.Tensor,
            lam: float) -> torch.Tensor:
    """The regularised squared error of a batch of B ratings:

        sum_j (r_j - r_hat(u_j, i_j))^2 + lam * sum_j (|p_{u_j}|^2 + |q_{i_j}|^2 + b_{u_j}^2 + b_{i_j}^2)

    Both sums run over the batch's ratings j (so a user with three ratings in the batch is
    regularised three times); the global mean is not regularised.

    Returns:
        a 0-dim tensor.
    """
    error = ((ratings - model(users, items)) ** 2).sum()
    penalty = (model.user_factors(users) ** 2).sum() + (model.item_factors(items) ** 2).sum()
    return error + lam * penalty


def train_mf(users: torch.Tensor, items: torch.Tensor, ratings: torch.Tensor, k: int = 128, epochs: int = 15,
             lr: float = 0.01, lam: float = 0.11, batch_size: int = 4096) -> MatrixFactorization:
    """Fit ``MatrixFactorization(N_USERS, N_ITEMS, k, global_mean=ratings.mean().item())`` (a float) by Adam on
    ``mf_loss``.

    Each epoch, shuffle the ratings (``torch.randperm``), and for each slice of ``batch_size``
    ratings: zero the gradients, ``loss = mf_loss(model, ..., lam)``, backward, step. The model
    lives on the device of ``users``.

    Returns:
        the trained model.
    """
    model = MatrixFactorization(N_USERS, N_ITEMS, k, ratings.mean().item()).to(users.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        order = torch.randperm(len(ratings), device=users.device)
        for start in range(0, len(ratings), batch_size):
            batch = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = mf_loss(model, users[batch], items[batch], ratings[batch], lam)
            loss.backward()
            optimizer.step()
    return model


def recommend(model: MatrixFactorization, user: int, rated_items: torch.Tensor, k: int = 10) -> torch.Tensor:
    """The ``k`` movies with the highest predicted rating for ``user``, best first, never one in ``rated_items``.

    The movies are the rows of the model's own item table: ids 0 to
    ``model.item_factors.num_embeddings - 1`` (whatever ``n_items`` the model was built with, not
    necessarily ``N_ITEMS``). Predict each of them for the user (under ``torch.no_grad()``), exclude
    the movies the user has already rated (set their score to ``-inf``), and take ``torch.topk``.

    Args:
        rated_items: int64 (m,), the movies the user rated in training.
    Returns:
        int64 (k,) movie ids (rows of the item table), on the model's device.
    """
    n_items = model.item_factors.num_embeddings
    device = model.item_factors.weight.device
    items = torch.arange(n_items, device=device)
    with torch.no_grad():
        scores = model(torch.full_like(items, int(user)), items)
    return torch.topk(scores, k).indices
