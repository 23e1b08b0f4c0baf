# Hostile submission: imports the grader's modules in its process and patches every verdict to passed; wrong values.
import sys

import numpy as np
import torch


def _patch_the_grader():
    import grader.checks as checks
    import grader.payload as payload
    import grader.probes as probes

    def passed(self, *args, **kwargs):
        return checks.Verdict(True)

    def judge_check(exercise, check, outcomes, expected, device):
        return checks.CheckResult(exercise, check.id, check.target, check.description, check.points, check.hidden,
                                  "passed")

    checks._close = lambda *args, **kwargs: True
    checks.compare = lambda *args, **kwargs: ""  # "no difference"
    checks.recognise = lambda *args, **kwargs: ""
    for cls in list(vars(checks).values()):
        if isinstance(cls, type) and hasattr(cls, "verdict"):
            cls.verdict = passed
    checks.CheckResult.__post_init__ = lambda self: setattr(self, "points", self.max_points)
    checks.CheckResult.passed = property(lambda self: True)
    for name, module in list(sys.modules.items()):  # also where judge_check was imported by name
        if name.startswith("grader") and hasattr(module, "judge_check"):
            module.judge_check = judge_check

    run_case, encode_outcomes = probes.run_case, payload.encode_outcomes

    def ok_run_case(*args, **kwargs):
        outcome = run_case(*args, **kwargs)
        outcome.status, outcome.message = "ok", "all checks passed"
        return outcome

    def ok_encode_outcomes(outcomes):
        for outcome in outcomes:
            outcome.status, outcome.message = "ok", "all checks passed"
        return encode_outcomes(outcomes)

    probes.run_case, payload.encode_outcomes = ok_run_case, ok_encode_outcomes


try:
    _patch_the_grader()
except Exception:
    pass


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
