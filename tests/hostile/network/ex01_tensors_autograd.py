# Hostile submission: connects to 127.0.0.1:PORT (TCP, UDP), to 1.1.1.1:53 and looks up a name at import; wrong values.
import socket
import threading

import numpy as np
import torch

PORT = "__PORT__"
MESSAGE = b"__SENTINEL__: a submission reached the network\n"


def _tcp(host, port):
    with socket.create_connection((host, int(port)), timeout=2) as s:
        s.sendall(MESSAGE)


def _udp(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(MESSAGE, (host, int(port)))


def _quietly(attempt, *args):
    try:
        attempt(*args)
    except Exception:
        pass


_threads = [threading.Thread(target=_quietly, args=a, daemon=True) for a in [
    (_tcp, "127.0.0.1", PORT), (_tcp, "localhost", PORT), (_udp, "127.0.0.1", PORT), (_tcp, "1.1.1.1", 53),
    (socket.getaddrinfo, "example.com", 443)]]
for _t in _threads:
    _t.start()
for _t in _threads:
    _t.join(3)  # no attempt may hold the import up for long


# --- deliberately wrong answers (right shapes and dtypes, wrong values) ------------------------


def make_grid(n_rows, n_cols, device):
    return torch.arange(n_rows * n_cols, dtype=torch.float32, device=device).reshape(n_rows, n_cols) + 1


def pairwise_sq_dists(A, B):
    return ((A[:, None, :] - B[None, :, :]) ** 2).sum(dim=-1) + 1


def standardize(X):
    return (X - X.mean(dim=0)) / X.std(dim=0, correction=0) + 1


def flatten_images(x):
    return x.reshape(x.shape[0], -1) + 1


def to_numpy(t):
    return t.detach().cpu().numpy() + 1


def from_numpy_shared(a):
    return torch.tensor(a)  # a copy: does not follow later changes to a


def x2_sin_grad(x):
    return 2 * x * torch.cos(x)  # no product rule


def x2_sin_autograd(x):
    return 2 * x * torch.cos(x)


def two_param_grads(x, y, t1, t2):
    r = 2 * (x * t1 * t2 - y)
    return r * x * t2 + 1, r * x * t1 + 1


def predict_no_grad(w, X):
    return (X @ w).detach() + 1


def detached_grad(x):
    return 3 * x**2  # the gradient through the detached factor too


def accumulated_grad(w, xs, ys):
    return torch.zeros_like(w)


def per_batch_grads(w, xs, ys):
    return torch.zeros(xs.shape[0], xs.shape[2], dtype=xs.dtype, device=xs.device)
