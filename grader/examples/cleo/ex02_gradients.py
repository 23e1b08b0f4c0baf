# Cleo's exercise 2: a missing colon stops the whole file from importing.
import torch


def mse_linear_grad(X, y, w, b)
    r = X @ w + b - y
    return 2 * X.T @ r / X.shape[0], 2 * r.mean()
