"""The catalogue of alternative correct solutions: the reference rewritten as another student would write it.

Each entry edits ``reference/exNN_*.py`` in one or more places (functional against module forms, ``einsum``
against ``matmul``, ``torch.where`` against masking, decorators against context managers, other loops,
reshapes and architectures the docstrings allow), stays correct for every input its docstrings allow and
must keep full marks, visible and hidden. An entry with ``rejected_by`` does what its docstrings say yet
loses the checks it names, for the reason ``why`` gives: a gap between docstring and rubric, kept visible
as a strict expected failure. ex01-ex03 are here, ex04-ex05 (training loops) in ``alternatives_training``,
ex06-ex08 (trained models measured by thresholds) in ``alternatives_models``, ex09 (attention) in
``alternatives_attention``, ex10 (the data pipeline) in ``alternatives_pipeline``, ex11 (checkpoints) in
``alternatives_checkpoints``, ex12 (gradients) in ``alternatives_gradients``; ``ALTERNATIVES`` holds them all.
"""

from __future__ import annotations

from alternative import EX01, EX02, EX03, Alternative, code
from alternatives_attention import ATTENTION_ALTERNATIVES
from alternatives_checkpoints import CHECKPOINT_ALTERNATIVES
from alternatives_gradients import GRADIENT_ALTERNATIVES
from alternatives_models import MODEL_ALTERNATIVES
from alternatives_pipeline import PIPELINE_ALTERNATIVES
from alternatives_training import TRAINING_ALTERNATIVES

ALTERNATIVES: list[Alternative] = []

# --- ex01: tensors and autograd ----------------------------------------------------------------------

ALTERNATIVES += [
    Alternative("ex01_library_forms", EX01, (
        ("return torch.arange(n_rows * n_cols, dtype=torch.float32, device=device).reshape(n_rows, n_cols)",
         "return torch.arange(n_rows * n_cols, device=device).float().view(n_rows, n_cols)"),
        ("    return ((A[:, None, :] - B[None, :, :]) ** 2).sum(dim=-1)\n", code("""
            diff = A.unsqueeze(1) - B.unsqueeze(0)
            return torch.einsum("nmd,nmd->nm", diff, diff)
            """)),
        ("return (A[:, :, None] * B[None, :, :]).sum(dim=1)", "return (A.unsqueeze(-1) * B).sum(dim=-2)"),
        ("    return (X - X.mean(dim=0)) / X.std(dim=0, correction=0)\n", code("""
            mean = X.mean(dim=0, keepdim=True)
            std = X.var(dim=0, unbiased=False, keepdim=True).sqrt()
            return (X - mean) / std
            """)),
        ("return x.reshape(x.shape[0], -1)", "return x.flatten(start_dim=1)"),
        ("return t.detach().cpu().numpy()", "return t.cpu().detach().numpy()"),
        ("return torch.from_numpy(a)", "return torch.as_tensor(a)"),
        ("return 2 * x * torch.sin(x) + x**2 * torch.cos(x)", "return x * (2 * torch.sin(x) + x * torch.cos(x))"),
        ("    (leaf**2 * torch.sin(leaf)).sum().backward()\n", code("""
            f = leaf.pow(2) * leaf.sin()
            f.sum().backward()
            """)),
        ("def predict_no_grad(", "@torch.no_grad()\ndef predict_no_grad("),
        (code("""
            with torch.no_grad():
                return X @ w
            """),
         "    return torch.mv(X, w)\n"),
        (code("""
            (leaf**2 * leaf.detach()).sum().backward()
            return leaf.grad
            """),
         code("""
            s = leaf.detach()
            (grad,) = torch.autograd.grad(torch.sum(leaf * leaf * s), leaf)
            return grad
            """)),
        (code("""
            for x, y in zip(xs, ys):
                ((x @ w - y) ** 2).mean().backward()
            """),
         code("""
            for i in range(xs.shape[0]):
                torch.nn.functional.mse_loss(xs[i] @ w, ys[i]).backward()
            """)),
        (code("""
            rows = []
            for x, y in zip(xs, ys):
                w.grad = None
                ((x @ w - y) ** 2).mean().backward()
                rows.append(w.grad.clone())
            return torch.stack(rows)
            """),
         code("""
            grads = torch.empty(xs.shape[0], w.shape[0], dtype=w.dtype, device=w.device)
            for i in range(xs.shape[0]):
                if w.grad is not None:
                    w.grad.zero_()
                ((xs[i] @ w - ys[i]) ** 2).mean().backward()
                grads[i] = w.grad
            return grads
            """)),
    ), "view, einsum, var().sqrt(), flatten, as_tensor, a @torch.no_grad() decorator, autograd.grad, "
       "mse_loss, grad.zero_() into a preallocated tensor"),
    Alternative("ex01_float64_and_cat", EX01, (
        ("return torch.arange(n_rows * n_cols, dtype=torch.float32, device=device).reshape(n_rows, n_cols)",
         "return torch.arange(n_rows * n_cols, dtype=torch.float32).reshape(-1, n_cols).to(device)"),
        ("return ((A[:, None, :] - B[None, :, :]) ** 2).sum(dim=-1)",
         "return (A.unsqueeze(-2) - B.unsqueeze(-3)).square().sum(-1)"),
        ("    return (A[:, :, None] * B[None, :, :]).sum(dim=1)\n", code("""
            products = A.double().unsqueeze(2) * B.double().unsqueeze(0)  # (n, k, m), summed in float64
            return products.sum(dim=1).to(A.dtype)
            """)),
        ("    return (X - X.mean(dim=0)) / X.std(dim=0, correction=0)\n", code("""
            X64 = X.double()
            Z = (X64 - X64.mean(dim=0)) / X64.std(dim=0, correction=0)
            return Z.to(X.dtype)
            """)),
        ("return x.reshape(x.shape[0], -1)", "return x.reshape(x.shape[0], x.shape[1] * x.shape[2] * x.shape[3])"),
        ("return t.detach().cpu().numpy()", "return np.asarray(t.detach().to(\"cpu\"))"),
        ("return torch.from_numpy(a)", "return torch.as_tensor(a, device=\"cpu\")"),
        ("return 2 * x * torch.sin(x) + x**2 * torch.cos(x)", "return torch.sin(x) * 2 * x + torch.cos(x) * x.pow(2)"),
        (code("""
            leaf = x.detach().clone().requires_grad_(True)
            (leaf**2 * torch.sin(leaf)).sum().backward()
            return leaf.grad
            """),
         code("""
            leaf = x.clone().detach().requires_grad_(True)
            torch.sum(leaf**2 * torch.sin(leaf)).backward()
            return leaf.grad.detach()
            """)),
        (code("""
            t1 = t1.detach().clone().requires_grad_(True)
            t2 = t2.detach().clone().requires_grad_(True)
            loss = (x * t1 * t2 - y) ** 2
            loss.backward()
            return t1.grad, t2.grad
            """),
         code("""
            t1, t2 = (t.detach().clone().requires_grad_() for t in (t1, t2))
            y_pred = x * t1 * t2
            loss = (y_pred - y).pow(2)
            return torch.autograd.grad(loss, (t1, t2))
            """)),
        (code("""
            with torch.no_grad():
                return X @ w
            """),
         code("""
            with torch.no_grad():
                out = torch.matmul(X, w)
            return out
            """)),
        (code("""
            for x, y in zip(xs, ys):
                ((x @ w - y) ** 2).mean().backward()
            """),
         code("""
            for x, y in zip(xs, ys):
                loss = torch.mean(torch.square(x.matmul(w) - y))
                loss.backward()
            """)),
        ("        w.grad = None\n", "        w.grad = torch.zeros_like(w)\n"),
        ("    return torch.stack(rows)\n", "    return torch.cat(rows).view(len(rows), -1)\n"),
    ), "created on the CPU and moved, float64 intermediates cast back, square(), np.asarray, autograd.grad "
       "for two leaves, torch.cat + view instead of torch.stack, .grad reset to zeros"),
]

# --- ex02: gradients by hand ---------------------------------------------------------------------------

ALTERNATIVES += [
    Alternative("ex02_einsum_and_library_forms", EX02, (
        (code("""
            residual = X @ w + b - y
            n = X.shape[0]
            return 2.0 / n * (X.T @ residual), 2.0 / n * residual.sum()
            """),
         code("""
            residual = torch.mv(X, w) + b - y
            return 2 * torch.einsum("nd,n->d", X, residual) / len(y), 2 * residual.mean()
            """)),
        (code("""
            error = torch.sigmoid(X @ w + b) - y
            n = X.shape[0]
            return X.T @ error / n, error.sum() / n
            """),
         code("""
            error = torch.special.expit(X @ w + b) - y
            return error @ X / len(y), error.mean()
            """)),
        (code("""
            onehot = torch.nn.functional.one_hot(targets, logits.shape[1]).to(logits.dtype)
            return (torch.softmax(logits, dim=1) - onehot) / logits.shape[0]
            """),
         code("""
            n = logits.shape[0]
            grad = torch.softmax(logits, dim=-1)
            grad[torch.arange(n, device=logits.device), targets] -= 1
            return grad / n
            """)),
        (code("""
            s = torch.sigmoid(x)
            ctx.save_for_backward(s)
            return s
            """, 8),
         code("""
            ctx.save_for_backward(x)
            return torch.sigmoid(x)
            """, 8)),
        (code("""
            (s,) = ctx.saved_tensors
            return grad_out * s * (1 - s)
            """, 8),
         code("""
            (x,) = ctx.saved_tensors
            s = torch.sigmoid(x)
            return grad_out * s * (1 - s)
            """, 8)),
        ("return torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))",
         "return torch.logaddexp(x, torch.zeros_like(x))"),
        ("return grad_out * torch.sigmoid(x)", "return grad_out * torch.special.expit(x)"),
        ("        return x @ W.T + b\n", "        return torch.nn.functional.linear(x, W, b)\n"),
        (code("""
            g = grad_out.reshape(-1, W.shape[0])
            return grad_out @ W, g.T @ x.reshape(-1, W.shape[1]), g.sum(dim=0)
            """, 8),
         code("""
            grad_W = torch.einsum("...o,...i->oi", grad_out, x)
            grad_b = grad_out.reshape(-1, grad_out.shape[-1]).sum(dim=0)
            return torch.matmul(grad_out, W), grad_W, grad_b
            """, 8)),
        (code("""
            m = x.max(dim=-1, keepdim=True).values
            out = m.squeeze(-1) + torch.log(torch.exp(x - m).sum(dim=-1))
            """, 8),
         "        out = torch.logsumexp(x, dim=-1)\n"),
        ("        return grad_out.unsqueeze(-1) * torch.exp(x - out.unsqueeze(-1))\n",
         "        return grad_out.unsqueeze(-1) * torch.softmax(x, dim=-1)\n"),
    ), "einsum, expit, softmax with the targets subtracted in place, Sigmoid saving its input, logaddexp, "
       "F.linear, logsumexp and softmax"),
    Alternative("ex02_stable_by_hand", EX02, (
        ("    return 2.0 / n * (X.T @ residual), 2.0 / n * residual.sum()\n",
         "    return 2 * (residual[:, None] * X).mean(dim=0), 2 * residual.mean()\n"),
        (code("""
            error = torch.sigmoid(X @ w + b) - y
            n = X.shape[0]
            return X.T @ error / n, error.sum() / n
            """),
         code("""
            error = 1 / (1 + torch.exp(-(X @ w + b))) - y
            return (error[:, None] * X).mean(dim=0), error.mean()
            """)),
        (code("""
            onehot = torch.nn.functional.one_hot(targets, logits.shape[1]).to(logits.dtype)
            return (torch.softmax(logits, dim=1) - onehot) / logits.shape[0]
            """),
         code("""
            z = logits - logits.max(dim=1, keepdim=True).values
            p = z.exp() / z.exp().sum(dim=1, keepdim=True)
            onehot = torch.zeros_like(logits).scatter_(1, targets.unsqueeze(1), 1.0)
            return (p - onehot) / len(targets)
            """)),
        ("        s = torch.sigmoid(x)\n",
         "        s = torch.where(x >= 0, 1 / (1 + torch.exp(-x)), torch.exp(x) / (1 + torch.exp(x)))\n"),
        ("        return grad_out * s * (1 - s)\n", code("""
            ds_dx = s * (1 - s)
            return ds_dx * grad_out
            """, 8)),
        ("return torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))",
         "return torch.where(x > 0, x + torch.log1p(torch.exp(-x)), torch.log1p(torch.exp(x)))"),
        ("return grad_out * torch.sigmoid(x)", "return grad_out / (1 + torch.exp(-x))"),
        ("        return x @ W.T + b\n", "        return x.matmul(W.transpose(0, 1)) + b\n"),
        (code("""
            g = grad_out.reshape(-1, W.shape[0])
            return grad_out @ W, g.T @ x.reshape(-1, W.shape[1]), g.sum(dim=0)
            """, 8),
         code("""
            x2 = x.reshape(-1, x.shape[-1])
            g2 = grad_out.reshape(-1, grad_out.shape[-1])
            return grad_out.matmul(W), torch.mm(g2.t(), x2), g2.sum(dim=0)
            """, 8)),
        (code("""
            m = x.max(dim=-1, keepdim=True).values
            out = m.squeeze(-1) + torch.log(torch.exp(x - m).sum(dim=-1))
            """, 8),
         code("""
            m = x.amax(dim=-1, keepdim=True)
            out = (m + (x - m).exp().sum(dim=-1, keepdim=True).log()).squeeze(-1)
            """, 8)),
        ("        return grad_out.unsqueeze(-1) * torch.exp(x - out.unsqueeze(-1))\n", code("""
            softmax = torch.exp(x - out[..., None])
            return softmax * grad_out[..., None]
            """, 8)),
    ), "means of outer products, 1 / (1 + exp(-z)), a shifted softmax and a scattered one-hot, torch.where "
       "for the stable sigmoid and softplus, mm on flattened batches, amax"),
]

# --- ex03: regression by autograd -----------------------------------------------------------------------

ALTERNATIVES += [
    Alternative("ex03_module_losses_default_history", EX03, (
        ("tolerance_change=1e-15, history_size=20)  # pragma: no mutate",
         "tolerance_change=1e-15)"),
        (code("""
            with torch.no_grad():
                return float(loss_fn())
            """),
         "    return loss_fn().item()\n"),
        (code("""
            w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device, requires_grad=True)
            b = torch.zeros((), dtype=X.dtype, device=X.device, requires_grad=True)
            minimize(lambda: ((X @ w + b - y) ** 2).mean(), [w, b])
            """),
         code("""
            w = X.new_zeros(X.shape[1]).requires_grad_()
            b = X.new_zeros(()).requires_grad_()
            minimize(lambda: nn.functional.mse_loss(X @ w + b, y), [w, b])
            """)),
        ("    minimize(lambda: nn.functional.binary_cross_entropy_with_logits(X @ w + b, y), [w, b])\n",
         "    minimize(lambda: nn.BCEWithLogitsLoss()(torch.addmv(b, X, w), y), (w, b))\n"),
        ("return self.linear(x).squeeze(-1)", "return self.linear(x)[:, 0]"),
        ("return nn.BCEWithLogitsLoss()(model(X), y)",
         "return nn.functional.binary_cross_entropy_with_logits(model(X), y)"),
        (code("""
            model = LogisticRegression(X.shape[1]).to(dtype=X.dtype, device=X.device)
            minimize(lambda: logistic_loss(model, X, y), model.parameters())
            """),
         code("""
            model = LogisticRegression(X.shape[1]).to(X)
            minimize(lambda: logistic_loss(model, X, y), list(model.parameters()))
            """)),
    ), "LBFGS' default history, the final loss by .item(), new_zeros, F.mse_loss, BCEWithLogitsLoss as a "
       "module and as a function, addmv, [:, 0], Module.to(tensor)"),
    Alternative("ex03_stacked_intercept", EX03, (
        (code("""
            def closure():
                optimizer.zero_grad()
            """),
         code("""
            def closure():
                for p in params:
                    p.grad = None
            """)),
        (code("""
            with torch.no_grad():
                return float(loss_fn())
            """),
         code("""
            with torch.no_grad():
                final = loss_fn()
            return final.item()
            """)),
        (code("""
            w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device, requires_grad=True)
            b = torch.zeros((), dtype=X.dtype, device=X.device, requires_grad=True)
            minimize(lambda: ((X @ w + b - y) ** 2).mean(), [w, b])
            return w.detach(), b.detach()
            """),
         code("""
            ones = torch.ones(X.shape[0], 1, dtype=X.dtype, device=X.device)
            Xa = torch.cat([X, ones], dim=1)
            theta = torch.zeros(X.shape[1] + 1, dtype=X.dtype, device=X.device, requires_grad=True)
            minimize(lambda: ((Xa @ theta - y) ** 2).mean(), [theta])
            return theta[:-1].detach(), theta[-1].detach()
            """)),
        (code("""
            w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device, requires_grad=True)
            b = torch.zeros((), dtype=X.dtype, device=X.device, requires_grad=True)
            minimize(lambda: nn.functional.binary_cross_entropy_with_logits(X @ w + b, y), [w, b])
            return w.detach(), b.detach()
            """),
         code("""
            Xa = torch.cat([X, torch.ones_like(X[:, :1])], dim=1)
            theta = torch.zeros(Xa.shape[1], dtype=X.dtype, device=X.device, requires_grad=True)
            minimize(lambda: nn.functional.binary_cross_entropy_with_logits(Xa @ theta, y), [theta])
            return theta[:-1].detach(), theta[-1].detach()
            """)),
        ("return self.linear(x).squeeze(-1)", "return self.linear(x).flatten()"),
        ("    return nn.BCEWithLogitsLoss()(model(X), y)\n", code("""
            loss_fn = nn.BCEWithLogitsLoss(reduction="mean")
            logits = model(X)
            return loss_fn(logits, y)
            """)),
        ("    model = LogisticRegression(X.shape[1]).to(dtype=X.dtype, device=X.device)\n", code("""
            model = LogisticRegression(X.shape[1])
            model.to(device=X.device, dtype=X.dtype)
            """)),
    ), "the intercept as a column of ones in one parameter vector (statsmodels' add_constant), grads reset "
       "by hand, flatten, the loss module named first, Module.to in place"),
]

ALTERNATIVES += (TRAINING_ALTERNATIVES + MODEL_ALTERNATIVES + ATTENTION_ALTERNATIVES + PIPELINE_ALTERNATIVES
                 + CHECKPOINT_ALTERNATIVES + GRADIENT_ALTERNATIVES)
