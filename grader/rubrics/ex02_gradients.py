"""Rubric for exercise 2: gradients by hand and custom autograd Functions."""

import torch

from grader.checks import GradcheckConsistent, Match, Mistake, like, scaled_by
from grader.probes import Backward, Call, SelfGradcheck
from grader.rubric import Check, Exercise, case, randn

EXERCISE = Exercise("ex02_gradients", "Gradients by hand", time_limit=90)


# --- inputs ------------------------------------------------------------------------------------------

def linear_model(g, n=8, d=3, dtype=torch.float64):
    return {"X": randn(g, n, d, dtype=dtype), "y": randn(g, n, dtype=dtype),
            "w": randn(g, d, dtype=dtype), "b": randn(g, dtype=dtype)}


def logistic_model(g, n=8, d=3, dtype=torch.float64):
    inputs = linear_model(g, n, d, dtype)
    inputs["y"] = (torch.rand(n, generator=g) < 0.5).to(dtype)
    return inputs


def classifier(g, n=6, c=4, dtype=torch.float64):
    return {"logits": randn(g, n, c, dtype=dtype, scale=2.0), "targets": torch.randint(c, (n,), generator=g)}


def elementwise(g, shape=(3, 4), dtype=torch.float64, scale=2.0, shift=0.0):
    return {"x": randn(g, *shape, dtype=dtype, scale=scale, shift=shift), "grad_out": randn(g, *shape, dtype=dtype)}


def affine(g, batch=(4,), d_in=3, d_out=2, dtype=torch.float64):
    return {"x": randn(g, *batch, d_in, dtype=dtype), "W": randn(g, d_out, d_in, dtype=dtype),
            "b": randn(g, d_out, dtype=dtype), "grad_out": randn(g, *batch, d_out, dtype=dtype)}


def rows(g, shape=(3, 5), dtype=torch.float64, scale=2.0, shift=0.0):
    return {"x": randn(g, *shape, dtype=dtype, scale=scale, shift=shift), "grad_out": randn(g, *shape[:-1], dtype=dtype)}


def n_samples(i):
    return (i["X"] if "X" in i else i["logits"]).shape[0]


# --- what wrong answers look like -------------------------------------------------------------------

SUM_NOT_MEAN = scaled_by(n_samples, "your gradient is n times too large: the loss is a mean over the n "
                                    "samples, so divide by n (sum instead of mean?)")
OVERFLOW = Mistake("your result overflowed to inf/NaN for large inputs: rewrite the formula so that exp() "
                   "only sees numbers <= 0 (subtract the maximum first)",
                   lambda a, e, i, n: not torch.isfinite(a).all() and bool(torch.isfinite(e).all()))


def sigmoid_of(i):
    return torch.sigmoid(i["x"])


# --- checks: part A -----------------------------------------------------------------------------------

EXERCISE.add(
    Check("mse_linear_grad", "mse_linear_grad", 2, "gradient of the mean squared error, by hand",
          Call("mse_linear_grad", ["X", "y", "w", "b"], ("grad_w", "grad_b")),
          Match(mistakes=[scaled_by(lambda i: 0.5, "your gradient is half the right one: the derivative of "
                                                   "r^2 is 2r (the factor 2 is missing)"), SUM_NOT_MEAN]),
          linear_model, (case(0),)),
    Check("logistic_nll_grad", "logistic_nll_grad", 2, "gradient of the logistic negative log-likelihood, by hand",
          Call("logistic_nll_grad", ["X", "y", "w", "b"], ("grad_w", "grad_b")),
          Match(mistakes=[
              SUM_NOT_MEAN,
              like("you used the logits z where the probabilities sigmoid(z) belong",
                   lambda i: {"grad_w": i["X"].T @ (i["X"] @ i["w"] + i["b"] - i["y"]) / n_samples(i),
                              "grad_b": (i["X"] @ i["w"] + i["b"] - i["y"]).mean()})]),
          logistic_model, (case(0),)),
    Check("softmax_ce_grad", "softmax_ce_grad", 2, "gradient of the mean softmax cross-entropy, by hand",
          Call("softmax_ce_grad", ["logits", "targets"]),
          Match(mistakes=[
              SUM_NOT_MEAN,
              like("you forgot to subtract the one-hot targets: dL/dz = (softmax(z) - onehot(t)) / n",
                   lambda i: torch.softmax(i["logits"], 1) / n_samples(i))]),
          classifier, (case(0),)),
)


# --- checks: part B, one forward, one backward and one gradcheck per Function -----------------------

def function_checks(name, args, inputs, forward_cases, backward_cases, gradcheck_cases,
                    forward_mistakes=(), backward_mistakes=()):
    return (
        Check(f"{name}.forward", f"{name}.forward", 1, f"{name}.apply(...) values",
              Call(f"{name}.apply", args), Match(mistakes=forward_mistakes), inputs, forward_cases),
        Check(f"{name}.backward", f"{name}.backward", 2, f"{name} gradients equal the reference's",
              Backward(f"{name}.apply", args), Match(mistakes=backward_mistakes), inputs, backward_cases),
        Check(f"{name}.gradcheck", f"{name}.backward", 1, f"{name} backward agrees with finite differences "
              "of its forward (gradcheck, float64)",
              SelfGradcheck(f"{name}.apply", args), GradcheckConsistent(args), inputs, gradcheck_cases),
    )


EXERCISE.add(
    *function_checks(
        "Sigmoid", ["x"], elementwise, (case(0),), (case(0),), (case(0, shape=(2, 3)),),
        backward_mistakes=[
            like("you returned grad_out * s: the derivative of the sigmoid is s * (1 - s)",
                 lambda i: {"grad_x": i["grad_out"] * sigmoid_of(i)}),
            like("you returned s * (1 - s) without multiplying by grad_out (the chain rule)",
                 lambda i: {"grad_x": sigmoid_of(i) * (1 - sigmoid_of(i))})]),
    *function_checks(
        "Softplus", ["x"], elementwise, (case(0), case(1, dtype=torch.float32, scale=100.0, shift=50.0)), (case(0),),
        (case(0, shape=(2, 3)),),
        forward_mistakes=[OVERFLOW],
        backward_mistakes=[
            like("d/dx log(1 + e^x) is e^x / (1 + e^x) = sigmoid(x): the denominator is missing",
                 lambda i: {"grad_x": i["grad_out"] * torch.exp(i["x"])})]),
    *function_checks(
        "Linear", ["x", "W", "b"], affine, (case(0),), (case(0),), (case(0, batch=(3,), d_in=2, d_out=2),),
        forward_mistakes=[like("the bias b is missing", lambda i: i["x"] @ i["W"].T)]),
    *function_checks(
        "LogSumExp", ["x"], rows, (case(0), case(1, shift=1000.0)), (case(0),), (case(0, shape=(2, 4)),),
        forward_mistakes=[OVERFLOW],
        backward_mistakes=[
            like("you returned softmax(x) without multiplying by grad_out (unsqueeze it to broadcast)",
                 lambda i: {"grad_x": torch.softmax(i["x"], -1)})]),
)

### BEGIN HIDDEN TESTS
EXERCISE.add(
    EXERCISE.check("mse_linear_grad").hidden_variant(2, case(401, n=1, d=1), case(402, n=50, d=5),
                                                     case(403, n=9, d=2, dtype=torch.float32)),
    EXERCISE.check("logistic_nll_grad").hidden_variant(2, case(404, n=1, d=1), case(405, n=40, d=6),
                                                       case(406, n=7, d=2, dtype=torch.float32)),
    EXERCISE.check("softmax_ce_grad").hidden_variant(2, case(407, n=1, c=2), case(408, n=30, c=10),
                                                     case(409, n=5, c=3, dtype=torch.float32)),
    EXERCISE.check("Sigmoid.forward").hidden_variant(1, case(430, shape=(2, 3, 4), dtype=torch.float32, scale=30.0)),
    EXERCISE.check("Sigmoid.backward").hidden_variant(
        1, case(410, shape=(7,)), case(411, shape=(2, 3, 4), dtype=torch.float32, scale=8.0)),
    EXERCISE.check("Sigmoid.gradcheck").hidden_variant(1, case(412, shape=(5,))),
    EXERCISE.check("Softplus.forward").hidden_variant(1, case(413, shape=(2, 2, 2), dtype=torch.float32, scale=200.0)),
    EXERCISE.check("Softplus.backward").hidden_variant(1, case(414, shape=(6,)), case(415, shape=(3, 3), scale=30.0)),
    EXERCISE.check("Softplus.gradcheck").hidden_variant(1, case(416, shape=(4, 1))),
    EXERCISE.check("Linear.forward").hidden_variant(
        1, case(417, batch=(2, 5), d_in=3, d_out=4), case(418, batch=(1,), d_in=1, d_out=1)),
    EXERCISE.check("Linear.backward").hidden_variant(
        2, case(419, batch=(2, 5), d_in=3, d_out=4), case(420, batch=(1,), d_in=1, d_out=1),
        case(421, batch=(7,), d_in=4, d_out=4, dtype=torch.float32)),
    EXERCISE.check("Linear.gradcheck").hidden_variant(1, case(422, batch=(2, 2), d_in=3, d_out=2)),
    EXERCISE.check("LogSumExp.forward").hidden_variant(
        1, case(423, shape=(2, 3, 4)), case(424, shape=(1, 1)), case(425, shape=(4, 6), dtype=torch.float32, shift=-500.0)),
    EXERCISE.check("LogSumExp.backward").hidden_variant(
        2, case(426, shape=(2, 3, 4)), case(427, shape=(5, 1)), case(428, shape=(3, 8), shift=800.0)),
    EXERCISE.check("LogSumExp.gradcheck").hidden_variant(1, case(429, shape=(2, 2, 3))),
)
### END HIDDEN TESTS
