# Ana's exercise 1: everything done.
import torch


def make_grid(n_rows, n_cols, device):
    return torch.arange(0, n_rows * n_cols, device=device).float().view(n_rows, n_cols)


def pairwise_sq_dists(A, B):
    diff = A.unsqueeze(1) - B.unsqueeze(0)
    return (diff * diff).sum(-1)


def broadcast_matmul(A, B):
    return (A.unsqueeze(2) * B.unsqueeze(0)).sum(dim=1)


def standardize(X):
    mu = X.mean(0, keepdim=True)
    sigma = ((X - mu) ** 2).mean(0, keepdim=True).sqrt()
    return (X - mu) / sigma


def flatten_images(x):
    return x.flatten(start_dim=1)


def to_numpy(t):
    return t.detach().to("cpu").numpy()


def from_numpy_shared(a):
    return torch.as_tensor(a)


def x2_sin_grad(x):
    return x * (2 * torch.sin(x) + x * torch.cos(x))


def x2_sin_autograd(x):
    x = x.clone().detach().requires_grad_()
    y = x**2 * torch.sin(x)
    y.backward(torch.ones_like(y))
    return x.grad


def two_param_grads(x, y, t1, t2):
    t1 = t1.clone().requires_grad_()
    t2 = t2.clone().requires_grad_()
    ((x * t1 * t2 - y) ** 2).backward()
    return t1.grad, t2.grad


def predict_no_grad(w, X):
    with torch.no_grad():
        out = X @ w
    return out


def detached_grad(x):
    x = x.clone().detach().requires_grad_()
    torch.sum(x * x * x.detach()).backward()
    return x.grad


def accumulated_grad(w, xs, ys):
    w = w.clone().detach().requires_grad_()
    for i in range(xs.shape[0]):
        torch.mean((xs[i] @ w - ys[i]) ** 2).backward()
    return w.grad


def per_batch_grads(w, xs, ys):
    w = w.clone().detach().requires_grad_()
    grads = []
    for i in range(xs.shape[0]):
        if w.grad is not None:
            w.grad.zero_()
        torch.mean((xs[i] @ w - ys[i]) ** 2).backward()
        grads.append(w.grad.detach().clone())
    return torch.stack(grads)
