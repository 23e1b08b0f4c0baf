# Hostile submission: a syntax error: the file cannot even be compiled.
import torch


def make_grid(n_rows, n_cols, device)
    return torch.arange(n_rows * n_cols, dtype=torch.float32, device=device).reshape(n_rows, n_cols) + 1
