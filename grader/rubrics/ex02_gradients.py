"""Rubric for exercise 2: gradients by hand and custom autograd Functions."""

import torch

from grader.checks import GradcheckConsistent, Match, like, scaled_by
from grader.probes import Backward, Call, SelfGradcheck
from grader.rubric import Check, Exercise, case, randn

EXERCISE = Exercise("ex02_gradients", "Gradients by hand", time_limit=90, warm=("torch._dynamo",))


# --- inputs ------------------------------------------------------------------------------------------

def linear_model(g, n=8, d=3, dtype=torch.float64, scale=1.0):
    """``scale`` multiplies the features: large ones give logits where a naive sigmoid overflows."""
    return {"X": randn(g, n, d, dtype=dtype, scale=scale), "y": randn(g, n, dtype=dtype),
            "w": randn(g, d, dtype=dtype), "b": randn(g, dtype=dtype)}


def logistic_model(g, n=8, d=3, dtype=torch.float64, scale=1.0):
    inputs = linear_model(g, n, d, dtype, scale)
    inputs["y"] = (torch.rand(n, generator=g) < 0.5).to(dtype)
    return inputs


def classifier(g, n=6, c=4, dtype=torch.float64, scale=2.0):
    return {"logits": randn(g, n, c, dtype=dtype, scale=scale), "targets": torch.randint(c, (n,), generator=g)}


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
def naive_softplus(i):
    return torch.log(1 + torch.exp(i["x"]))


def naive_logsumexp(i):
    return torch.log(torch.exp(i["x"]).sum(dim=-1))


def naive_sigmoid(x):
    return torch.exp(x) / (1 + torch.exp(x))


def naive_softmax(x):
    return torch.exp(x) / torch.exp(x).sum(dim=-1, keepdim=True)


# each overflow hint is the naive formula computed in the inputs' dtype: it fires only where that overflows as yours did
SOFTPLUS_OVERFLOW = like("log(1 + exp(x)) overflows to inf once exp(x) does (x > 88 in float32): use the stable "
                         "form max(x, 0) + log1p(exp(-|x|))", naive_softplus)
LOGSUMEXP_OVERFLOW = like("log(sum(exp(x))) overflows once exp(x) does (or gives -inf when every exp(x) underflows "
                          "to 0): subtract the row's maximum m first, log-sum-exp(x) = m + log(sum(exp(x - m)))",
                          naive_logsumexp)
SOFTMAX_OVERFLOW = like("exp(x) / sum(exp(x)) overflows to NaN for large x: subtract the row's maximum before exp "
                        "(softmax(x) = softmax(x - max))",
                        lambda i: {"grad_x": i["grad_out"].unsqueeze(-1) * naive_softmax(i["x"])})
SIGMOID_FORWARD_OVERFLOW = like("exp(x) / (1 + exp(x)) is inf / inf = NaN for large x: compute 1 / (1 + exp(-x)) "
                                "(or torch.sigmoid(x))", lambda i: naive_sigmoid(i["x"]))
SIGMOID_OVERFLOW = like("exp(x) / (1 + exp(x)) is inf / inf = NaN for large x: use torch.sigmoid(x)",
                        lambda i: {"grad_x": i["grad_out"] * torch.exp(i["x"]) / (1 + torch.exp(i["x"]))})


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
        forward_mistakes=[SIGMOID_FORWARD_OVERFLOW],
        backward_mistakes=[
            like("you returned grad_out * s: the derivative of the sigmoid is s * (1 - s)",
                 lambda i: {"grad_x": i["grad_out"] * sigmoid_of(i)}),
            like("you returned s * (1 - s) without multiplying by grad_out (the chain rule)",
                 lambda i: {"grad_x": sigmoid_of(i) * (1 - sigmoid_of(i))}),
            like(SIGMOID_FORWARD_OVERFLOW.text, lambda i: {"grad_x": i["grad_out"] * naive_sigmoid(i["x"])
                                                           * (1 - naive_sigmoid(i["x"]))})]),
    *function_checks(
        "Softplus", ["x"], elementwise, (case(0), case(1, dtype=torch.float32, scale=100.0, shift=50.0)), (case(0),),
        (case(0, shape=(2, 3)),),
        forward_mistakes=[SOFTPLUS_OVERFLOW],
        backward_mistakes=[
            like("d/dx log(1 + e^x) is e^x / (1 + e^x) = sigmoid(x): the denominator is missing",
                 lambda i: {"grad_x": i["grad_out"] * torch.exp(i["x"])}),
            SIGMOID_OVERFLOW]),
    *function_checks(
        "Linear", ["x", "W", "b"], affine, (case(0),), (case(0),), (case(0, batch=(3,), d_in=2, d_out=2),),
        forward_mistakes=[like("the bias b is missing", lambda i: i["x"] @ i["W"].T)]),
    *function_checks(
        "LogSumExp", ["x"], rows, (case(0), case(1, shift=1000.0)), (case(0),), (case(0, shape=(2, 4)),),
        forward_mistakes=[LOGSUMEXP_OVERFLOW],
        backward_mistakes=[
            like("you returned softmax(x) without multiplying by grad_out (unsqueeze it to broadcast)",
                 lambda i: {"grad_x": torch.softmax(i["x"], -1)}),
            SOFTMAX_OVERFLOW]),
)

### BEGIN HIDDEN TESTS
# Beside other shapes and dtypes, the hidden variants run large-magnitude inputs, float32 included, where a naive
# formula overflows (exp of a large number: inf, then inf / inf = NaN), and one case on the meta device (shapes and
# dtypes, no data), where every result must stay on the inputs' device.
F32 = torch.float32
EXERCISE.add(
    EXERCISE.check("mse_linear_grad").hidden_variant(
        2, case(401, n=1, d=1), case(402, n=50, d=5), case(403, n=9, d=2, dtype=F32),
        case(431, n=4, d=2, device="meta")),
    EXERCISE.check("logistic_nll_grad").hidden_variant(
        2, case(404, n=1, d=1), case(405, n=40, d=6), case(406, n=7, d=2, dtype=F32),
        case(432, n=8, d=3, scale=3000.0), case(433, n=6, d=2, dtype=F32, scale=400.0),
        case(434, n=5, d=2, device="meta")),
    EXERCISE.check("softmax_ce_grad").hidden_variant(
        2, case(407, n=1, c=2), case(408, n=30, c=10), case(409, n=5, c=3, dtype=F32),
        case(435, n=6, c=5, scale=600.0), case(436, n=4, c=3, dtype=F32, scale=100.0),
        case(437, n=3, c=4, device="meta")),
    EXERCISE.check("Sigmoid.forward").hidden_variant(
        1, case(430, shape=(2, 3, 4), dtype=F32, scale=30.0), case(438, shape=(4, 5), scale=1000.0),
        case(439, shape=(2, 6), dtype=F32, scale=200.0), case(440, shape=(3,), device="meta")),
    EXERCISE.check("Sigmoid.backward").hidden_variant(
        1, case(410, shape=(7,)), case(411, shape=(2, 3, 4), dtype=F32, scale=8.0),
        case(441, shape=(4, 5), scale=1000.0), case(442, shape=(2, 6), dtype=F32, scale=200.0),
        case(443, shape=(3,), device="meta")),
    EXERCISE.check("Sigmoid.gradcheck").hidden_variant(1, case(412, shape=(5,))),
    EXERCISE.check("Softplus.forward").hidden_variant(
        1, case(413, shape=(2, 2, 2), dtype=F32, scale=200.0), case(444, shape=(3, 4), scale=1000.0),
        case(445, shape=(2, 3), device="meta")),
    EXERCISE.check("Softplus.backward").hidden_variant(
        1, case(414, shape=(6,)), case(415, shape=(3, 3), scale=30.0), case(446, shape=(3, 4), scale=1000.0),
        case(447, shape=(2, 5), dtype=F32, scale=100.0, shift=50.0), case(448, shape=(4,), device="meta")),
    EXERCISE.check("Softplus.gradcheck").hidden_variant(1, case(416, shape=(4, 1))),
    EXERCISE.check("Linear.forward").hidden_variant(
        1, case(417, batch=(2, 5), d_in=3, d_out=4), case(418, batch=(1,), d_in=1, d_out=1),
        case(449, batch=(2, 3), d_in=2, d_out=3, device="meta")),
    EXERCISE.check("Linear.backward").hidden_variant(
        2, case(419, batch=(2, 5), d_in=3, d_out=4), case(420, batch=(1,), d_in=1, d_out=1),
        case(421, batch=(7,), d_in=4, d_out=4, dtype=F32), case(450, batch=(2, 3), d_in=2, d_out=3, device="meta")),
    EXERCISE.check("Linear.gradcheck").hidden_variant(1, case(422, batch=(2, 2), d_in=3, d_out=2)),
    EXERCISE.check("LogSumExp.forward").hidden_variant(
        1, case(423, shape=(2, 3, 4)), case(424, shape=(1, 1)), case(425, shape=(4, 6), dtype=F32, shift=-500.0),
        case(451, shape=(3, 5), dtype=F32, scale=300.0), case(452, shape=(2, 4), device="meta")),
    EXERCISE.check("LogSumExp.backward").hidden_variant(
        2, case(426, shape=(2, 3, 4)), case(427, shape=(5, 1)), case(428, shape=(3, 8), shift=800.0),
        case(453, shape=(4, 6), dtype=F32, shift=200.0), case(454, shape=(3, 5), scale=1000.0),
        case(455, shape=(2, 4), device="meta")),
    EXERCISE.check("LogSumExp.gradcheck").hidden_variant(1, case(429, shape=(2, 2, 3))),
)
### END HIDDEN TESTS
