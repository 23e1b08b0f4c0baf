"""Rubric for exercise 1: tensors and autograd."""

import torch
from torch.overrides import TorchFunctionMode

from grader.checks import Match, Mistake, like
from grader.probes import Call
from grader.rubric import Check, Exercise, case, randn

EXERCISE = Exercise("ex01_tensors_autograd", "Tensors and autograd", time_limit=60, warm=("torch._dynamo",))


# --- inputs ----------------------------------------------------------------------------------------

def grid_inputs(g, n_rows=2, n_cols=3):
    return {"n_rows": n_rows, "n_cols": n_cols}


def two_sets(g, n=4, m=3, d=2, dtype=torch.float64):
    return {"A": randn(g, n, d, dtype=dtype), "B": randn(g, m, d, dtype=dtype)}


def factors(g, n=3, k=4, m=2, dtype=torch.float64):
    return {"A": randn(g, n, k, dtype=dtype), "B": randn(g, k, m, dtype=dtype)}


def table(g, n=6, d=3, dtype=torch.float64):
    return {"X": randn(g, n, d, dtype=dtype, scale=3.0, shift=5.0)}


def images(g, n=2, c=3, h=4, w=5):
    return {"x": randn(g, n, c, h, w, dtype=torch.float32)}


def tracked(g, shape=(2, 3), dtype=torch.float64):
    return {"t": randn(g, *shape, dtype=dtype).requires_grad_(True)}


def array_inputs(g, shape=(2, 3), dtype=torch.float64):
    return {"a": randn(g, *shape, dtype=dtype)}


def points(g, shape=(5,), dtype=torch.float64):
    return {"x": randn(g, *shape, dtype=dtype, scale=2.0)}


def two_params(g, dtype=torch.float64, **fixed):
    values = randn(g, 4, scale=2.0)
    return {k: torch.tensor(float(fixed.get(k, values[i])), dtype=dtype)
            for i, k in enumerate(("x", "y", "t1", "t2"))}


def regression(g, n=5, d=3, dtype=torch.float64):
    return {"w": randn(g, d, dtype=dtype), "X": randn(g, n, d, dtype=dtype)}


def batches(g, k=3, b=4, d=2):
    return {"w": randn(g, d), "xs": randn(g, k, b, d), "ys": randn(g, k, b)}


# --- probes that need more than a call --------------------------------------------------------------

def probe_from_numpy(trial):
    array = trial.inputs["a"].cpu().numpy().copy()
    out = trial.target("from_numpy_shared")(array)
    array += 100.0
    return {"out": out}


# every routine that computes a matrix product (or a dot product) itself; broadcast_matmul is asked not to call one
PRODUCT_ROUTINES = {"mm", "matmul", "bmm", "einsum", "tensordot", "linear", "addmm", "addmv", "addbmm", "baddbmm",
                    "mv", "dot", "vdot", "inner", "outer", "chain_matmul", "multi_dot", "__matmul__", "__rmatmul__",
                    "__imatmul__", "kron", "ger"}


class ProductRoutines(TorchFunctionMode):
    """Records whether code run under it called a torch routine that computes a matrix product."""

    def __init__(self):
        super().__init__()
        self.called: set[str] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in PRODUCT_ROUTINES:
            self.called.add(name)
        return func(*args, **(kwargs or {}))


def probe_broadcast_matmul(trial):
    recorder = ProductRoutines()
    with recorder:
        out = trial.target("broadcast_matmul")(trial.inputs["A"], trial.inputs["B"])
    return {"out": out, "called_a_product_routine": bool(recorder.called)}


def probe_no_grad(trial):
    w = trial.inputs["w"].detach().clone().requires_grad_(True)
    out = trial.target("predict_no_grad")(w, trial.inputs["X"])
    return {"out": out, "tracks_grad": bool(getattr(out, "requires_grad", False))}


# --- what wrong answers look like -------------------------------------------------------------------

def f(x):
    return x**2 * torch.sin(x)


PRODUCT_RULE = [
    like("you differentiated each factor separately (2x * cos x); use the product rule "
         "(uv)' = u'v + uv'", lambda i: 2 * i["x"] * torch.cos(i["x"])),
    like("you kept only x^2 cos(x): the product rule also gives 2x sin(x)", lambda i: i["x"] ** 2 * torch.cos(i["x"])),
    like("you kept only 2x sin(x): the product rule also gives x^2 cos(x)", lambda i: 2 * i["x"] * torch.sin(i["x"])),
    like("you returned f(x) itself, not its derivative", lambda i: f(i["x"])),
]


def two_param_wrong(i, which):
    x, y, t1, t2 = i["x"], i["y"], i["t1"], i["t2"]
    dl = 2 * (x * t1 * t2 - y)
    return {"prediction": {"dL_dt1": x * t2, "dL_dt2": x * t1},
            "swapped": {"dL_dt1": dl * x * t1, "dL_dt2": dl * x * t2}}[which]


def batch_grads(i):
    w, xs, ys = i["w"], i["xs"], i["ys"]
    residual = torch.einsum("kbd,d->kb", xs, w) - ys
    return 2 * torch.einsum("kbd,kb->kd", xs, residual) / xs.shape[1]


# --- checks -----------------------------------------------------------------------------------------

EXERCISE.add(
    Check("make_grid", "make_grid", 1, "0..n-1 as a float32 (n_rows, n_cols) grid on the requested device",
          Call("make_grid", ["n_rows", "n_cols", "device"]), Match(), grid_inputs,
          (case(0, n_rows=2, n_cols=3), case(0, n_rows=4, n_cols=1))),
    Check("pairwise_sq_dists", "pairwise_sq_dists", 2, "squared distances between rows, by broadcasting",
          Call("pairwise_sq_dists", ["A", "B"]),
          Match(mistakes=[like("these are distances; square them (do not take the square root)",
                               lambda i: torch.cdist(i["A"], i["B"]))]),
          two_sets, (case(0), case(1, n=1, m=5, d=1))),
    Check("broadcast_matmul", "broadcast_matmul", 2, "A @ B by broadcasting and a sum, no product routine",
          probe_broadcast_matmul,
          Match(mistakes=[
              Mistake("the product came from a matrix-product routine (@, torch.mm, torch.matmul, torch.einsum...): "
                      "multiply A[:, :, None] by B[None, :, :] and sum over k, as the docstring asks",
                      lambda a, e, i, n: bool(a) and not bool(e), ["called_a_product_routine"]),
              like("that is the element-wise product A * B; the matrix product sums A[i, k] * B[k, j] over k",
                   lambda i: i["A"] * i["B"], ["out"]),
              like("you multiplied A by B's transpose: C[i, j] sums A[i, k] * B[k, j], row i of A against "
                   "column j of B", lambda i: i["A"] @ i["B"].T, ["out"]),
              like("you summed over the wrong axis: after A[:, :, None] * B[None, :, :] the shared index k is "
                   "axis 1", lambda i: (i["A"][:, :, None] * i["B"][None, :, :]).sum(dim=0), ["out"])]),
          factors, (case(0), case(1, n=3, k=3, m=3))),
    Check("standardize", "standardize", 1, "columns scaled to mean 0 and population std 1",
          Call("standardize", ["X"]),
          Match(mistakes=[
              like("use the population standard deviation (correction=0), not the sample one",
                   lambda i: (i["X"] - i["X"].mean(0)) / i["X"].std(0)),
              like("you standardised the rows (dim=1); standardise each column (dim=0)",
                   lambda i: (i["X"] - i["X"].mean(1, keepdim=True)) / i["X"].std(1, correction=0, keepdim=True)),
              like("you subtracted the mean but did not divide by the standard deviation",
                   lambda i: i["X"] - i["X"].mean(0))]),
          table, (case(0),)),
    Check("flatten_images", "flatten_images", 1, "(N, C, H, W) to (N, C*H*W)",
          Call("flatten_images", ["x"]),
          Match(mistakes=[like("you moved the channels last before flattening; keep C, H, W order",
                               lambda i: i["x"].permute(0, 2, 3, 1).reshape(i["x"].shape[0], -1))]),
          images, (case(0),)),
    Check("to_numpy", "to_numpy", 1, "a NumPy copy of a tensor that requires grad",
          Call("to_numpy", ["t"]), Match(), tracked, (case(0),)),
    Check("from_numpy_shared", "from_numpy_shared", 1, "a tensor sharing memory with a NumPy array",
          probe_from_numpy,
          Match(check_device=False, mistakes=[like(
              "your tensor is a copy: changing the array did not change it (torch.from_numpy shares "
              "memory, torch.tensor copies)", lambda i: i["a"].cpu())]),
          array_inputs, (case(0),)),
    Check("x2_sin_grad", "x2_sin_grad", 2, "d/dx x^2 sin x by hand",
          Call("x2_sin_grad", ["x"]), Match(mistakes=PRODUCT_RULE), points, (case(0), case(1, shape=(2, 3)))),
    Check("x2_sin_autograd", "x2_sin_autograd", 1, "d/dx x^2 sin x by .backward()",
          Call("x2_sin_autograd", ["x"]), Match(mistakes=PRODUCT_RULE), points, (case(0),)),
    Check("two_param_grads", "two_param_grads", 2, "dL/dt1 and dL/dt2 of L = (x t1 t2 - y)^2 (80 and 60 at x=1, y=2, t1=3, t2=4)",
          Call("two_param_grads", ["x", "y", "t1", "t2"], ("dL_dt1", "dL_dt2")),
          Match(mistakes=[
              like("these are the gradients of the prediction x*t1*t2, not of the loss: call .backward() on L",
                   lambda i: two_param_wrong(i, "prediction")),
              like("dL/dt1 and dL/dt2 are swapped", lambda i: two_param_wrong(i, "swapped"))]),
          two_params, (case(0, x=1.0, y=2.0, t1=3.0, t2=4.0),)),
    Check("predict_no_grad", "predict_no_grad", 1, "predictions outside the autograd graph",
          probe_no_grad,
          Match(mistakes=[Mistake("the result is still tracked by autograd: compute it inside `with torch.no_grad():`",
                                  lambda a, e, i, n: bool(a) and not bool(e), ["tracks_grad"])]),
          regression, (case(0),)),
    Check("detached_grad", "detached_grad", 1, "a gradient stopped by .detach()",
          Call("detached_grad", ["x"]),
          Match(mistakes=[like("the gradient also flowed through the second factor (3x^2): multiply by x.detach()",
                               lambda i: 3 * i["x"] ** 2)]),
          points, (case(0),)),
    Check("accumulated_grad", "accumulated_grad", 1, "gradients accumulated over mini-batches",
          Call("accumulated_grad", ["w", "xs", "ys"]),
          Match(mistakes=[like("this is the last mini-batch's gradient only: let .grad add up across the "
                               "backward calls (do not reset it in between)", lambda i: batch_grads(i)[-1])]),
          batches, (case(0),)),
    Check("per_batch_grads", "per_batch_grads", 1, "one gradient per mini-batch",
          Call("per_batch_grads", ["w", "xs", "ys"]),
          Match(mistakes=[like("the rows are running sums: .grad accumulates across backward calls; reset it "
                               "(w.grad = None, or optimizer.zero_grad()) before each one",
                               lambda i: batch_grads(i).cumsum(0))]),
          batches, (case(0),)),
)

### BEGIN HIDDEN TESTS
# Each hidden variant also runs a case on the meta device (shapes and dtypes, no data): the results must stay on the
# inputs' device, which a run on a CPU-only machine cannot otherwise tell.
EXERCISE.add(
    EXERCISE.check("make_grid").hidden_variant(1, case(0, n_rows=1, n_cols=7), case(0, n_rows=5, n_cols=6),
                                               case(0, n_rows=3, n_cols=2, device="meta")),
    EXERCISE.check("pairwise_sq_dists").hidden_variant(
        1, case(301, n=7, m=2, d=4), case(302, n=3, m=3, d=5, dtype=torch.float32),
        case(319, n=2, m=3, d=2, dtype=torch.float32, device="meta")),
    EXERCISE.check("broadcast_matmul").hidden_variant(
        1, case(334, n=1, k=5, m=4), case(335, n=6, k=1, m=3), case(336, n=4, k=4, m=4, dtype=torch.float32),
        case(337, n=2, k=3, m=5, dtype=torch.float32, device="meta")),
    EXERCISE.check("standardize").hidden_variant(1, case(303, n=2, d=1), case(304, n=20, d=6, dtype=torch.float32),
                                                 case(320, n=4, d=2, device="meta")),
    EXERCISE.check("flatten_images").hidden_variant(1, case(305, n=1, c=1, h=2, w=2), case(306, n=5, c=2, h=3, w=1),
                                                    case(321, n=2, c=1, h=2, w=3, device="meta")),
    EXERCISE.check("to_numpy").hidden_variant(1, case(307, shape=(4,), dtype=torch.float32),
                                              case(308, shape=(2, 2, 2)), case(399, shape=(3,), device="offhost")),
    EXERCISE.check("from_numpy_shared").hidden_variant(1, case(322, shape=(5,), dtype=torch.float32),
                                                       case(323, shape=(2, 1, 3))),
    EXERCISE.check("x2_sin_grad").hidden_variant(
        1, case(309, shape=(3, 1, 2)), case(310, shape=(4,), dtype=torch.float32),
        case(324, shape=(2, 2), dtype=torch.float32, device="meta")),
    EXERCISE.check("x2_sin_autograd").hidden_variant(
        1, case(311, shape=(2, 2)), case(312, shape=(3,), dtype=torch.float32), case(325, shape=(3,), device="meta")),
    EXERCISE.check("two_param_grads").hidden_variant(
        1, case(313), case(314), case(315), case(326, dtype=torch.float32),
        case(327, dtype=torch.float32, device="meta")),
    EXERCISE.check("predict_no_grad").hidden_variant(
        1, case(328, n=1, d=4), case(329, n=7, d=2, dtype=torch.float32), case(330, n=3, d=2, device="meta")),
    EXERCISE.check("detached_grad").hidden_variant(1, case(316, shape=(2, 3)), case(331, shape=(4,), device="meta")),
    EXERCISE.check("accumulated_grad").hidden_variant(1, case(317, k=5, b=2, d=3),
                                                      case(332, k=2, b=3, d=2, device="meta")),
    EXERCISE.check("per_batch_grads").hidden_variant(1, case(318, k=4, b=3, d=1),
                                                     case(333, k=3, b=2, d=2, device="meta")),
)
### END HIDDEN TESTS
