"""Rubric for exercise 3: linear and logistic regression fitted by autograd, checked against statsmodels."""

import numpy as np
import torch
from torch import nn

from grader import data
from grader.checks import Match, like, near, scaled_by
from grader.probes import Call, StudentError, standing_in
from grader.rubric import Check, Exercise, case, randn

EXERCISE = Exercise("ex03_regression", "Regression by autograd", time_limit=120)
STATSMODELS = dict(rtol=1e-4, atol=1e-8)  # "to 1e-4 relative"; atol only guards exact zeros


# --- data ------------------------------------------------------------------------------------------

def ols_data(g, dataset=None, n=40, d=3):
    """statsmodels' stackloss data, or a seeded synthetic regression with features on unequal scales."""
    if dataset:
        X, y = data.statsmodels_table(dataset)
        return {"X": X, "y": y}
    X = randn(g, n, d) * torch.linspace(1.0, 10.0, d, dtype=torch.float64) + 5.0
    y = X @ randn(g, d) + randn(g, scale=3.0) + randn(g, n)
    return {"X": X, "y": y}


def logit_data(g, dataset=None, n=300, d=3):
    """statsmodels' spector data, or seeded synthetic labels drawn from a logistic model."""
    if dataset:
        X, y = data.statsmodels_table(dataset)
        return {"X": X, "y": y}
    X = randn(g, n, d)
    p = torch.sigmoid(X @ randn(g, d) + randn(g, scale=0.5))
    return {"X": X, "y": (torch.rand(n, generator=g, dtype=torch.float64) < p).to(torch.float64)}


def quadratic(g, n=6, d=3, max_iter=None):
    """A least-squares problem; ``max_iter``, when given, is passed to ``minimize``."""
    return {"A": randn(g, n, d), "c": randn(g, n), **({"max_iter": max_iter} if max_iter is not None else {})}


def module_inputs(g, n=6, d=3, scale=1.0):
    """``scale`` multiplies the weights: large logits, where log(sigmoid(z)) computed naively is -inf."""
    return {"X": randn(g, n, d), "y": (torch.rand(n, generator=g) < 0.5).double(),
            "W": randn(g, 1, d, scale=scale), "b": randn(g, 1), "n_features": d}


# --- statsmodels as the oracle -------------------------------------------------------------------

def _numpy(i):
    return i["X"].cpu().numpy(), i["y"].cpu().numpy()


def _as_outputs(params, intercept=True):
    params = torch.from_numpy(np.asarray(params, dtype=np.float64))
    return {"w": params[1:], "b": params[0]} if intercept else {"w": params, "b": torch.tensor(0.0, dtype=torch.float64)}


def ols(i, intercept=True):
    import statsmodels.api as sm

    X, y = _numpy(i)
    return _as_outputs(sm.OLS(y, sm.add_constant(X, has_constant="add") if intercept else X).fit().params, intercept)


def logit(i, intercept=True):
    import statsmodels.api as sm

    X, y = _numpy(i)
    exog = sm.add_constant(X, has_constant="add") if intercept else X
    return _as_outputs(sm.Logit(y, exog).fit(disp=0, method="newton", tol=1e-12, maxiter=100).params, intercept)


def lstsq(i):
    return {"p": torch.linalg.lstsq(i["A"].cpu(), i["c"].cpu().unsqueeze(1)).solution.squeeze(1)}


def at_the_minimum(i):
    """The least-squares solution, and the loss there: what ``minimize`` returns is the loss at the parameters it
    leaves (not the loss LBFGS' ``step`` returns, which is the one it started from)."""
    p = lstsq(i)["p"]
    return {"p": p, "final_loss": float(((i["A"].cpu() @ p - i["c"].cpu()) ** 2).mean()), "final_loss_is_float": True}


def on_meta(oracle):
    """``oracle``, or, for inputs on the meta device, tensors of the shapes and dtype it would give, on meta."""
    def expected(i):
        if i["X"].device.type != "meta":
            return oracle(i)
        X = i["X"]
        return {"w": torch.empty(X.shape[1], dtype=X.dtype, device=X.device),
                "b": torch.empty((), dtype=X.dtype, device=X.device)}
    return expected


NOT_CONVERGED = near("close to statsmodels' estimates but not equal: the optimiser stopped before converging "
                     "(use minimize's LBFGS with tight tolerances, or more iterations)", rtol=1e-2)


def no_intercept(fit):
    return like("these are the estimates of a model without an intercept: add the bias b", lambda i: fit(i, False))


# --- probes ----------------------------------------------------------------------------------------

def probe_minimize(trial):
    A, c = trial.inputs["A"], trial.inputs["c"]
    p = torch.zeros(A.shape[1], dtype=A.dtype, device=A.device, requires_grad=True)
    extra = (trial.inputs["max_iter"],) if "max_iter" in trial.inputs else ()
    final = trial.target("minimize")(lambda: ((A @ p - c) ** 2).mean(), [p], *extra)
    return {"p": p.detach(), "final_loss": _number(final), "final_loss_is_float": isinstance(final, float)}


def _number(x):
    try:
        return float(x)
    except (TypeError, ValueError, RuntimeError):  # not one number: the check says what it is not
        return None


def one_evaluation(loss_fn, params, *args, **kwargs):
    """Stands in for the student's ``minimize`` on meta inputs (no values to optimise): the loss and its gradient,
    once, so that the tensors the fit creates meet its inputs."""
    loss_fn().backward()
    return 0.0


class Fit:
    """Call a fitting function; on meta inputs, with ``minimize`` standing in by one evaluation of the loss."""

    def __init__(self, target, outputs=("w", "b")):
        self.target, self.outputs = target, outputs

    def __call__(self, trial):
        if trial.device.type != "meta":
            return self.fit(trial)
        with standing_in(trial, "minimize", one_evaluation):
            return self.fit(trial)

    def fit(self, trial):
        return Call(self.target, ["X", "y"], self.outputs)(trial)


def _linear_of(model, owner):
    if not isinstance(model, nn.Module):
        raise StudentError(f"{owner} should give an nn.Module; got a {type(model).__name__}")
    linear = getattr(model, "linear", None)
    if not isinstance(linear, nn.Linear):
        raise StudentError(f"{owner}: the model must keep its nn.Linear(n_features, 1) as `self.linear`")
    return linear


def probe_structure(trial):
    model = trial.target("LogisticRegression")(trial.inputs["n_features"])
    linear = _linear_of(model, "LogisticRegression")
    return {"in_features": linear.in_features, "out_features": linear.out_features,
            "n_parameters": sum(p.numel() for p in model.parameters())}


def probe_forward(trial):
    X = trial.inputs["X"]
    model = trial.target("LogisticRegression")(X.shape[1])
    linear = _linear_of(model, "LogisticRegression")
    model.to(dtype=X.dtype, device=X.device)
    with torch.no_grad():
        linear.weight.copy_(trial.inputs["W"])
        linear.bias.copy_(trial.inputs["b"])
    return {"logits": model(X)}


class FixedLogits(nn.Module):
    """A stand-in model with given weights, so that the loss is checked on its own."""

    def __init__(self, W, b):
        super().__init__()
        self.W, self.b = nn.Parameter(W.clone()), nn.Parameter(b.clone())

    def forward(self, x):
        return (x @ self.W.T + self.b).squeeze(-1)


def probe_loss(trial):
    i = trial.inputs
    return {"loss": trial.target("logistic_loss")(FixedLogits(i["W"], i["b"]), i["X"], i["y"])}


class FitModule(Fit):
    def fit(self, trial):
        model = trial.target("fit_logistic_module")(trial.inputs["X"], trial.inputs["y"])
        linear = _linear_of(model, "fit_logistic_module")
        return {"w": linear.weight.detach().reshape(-1), "b": linear.bias.detach().reshape(())}


def logits_of(i):
    return i["X"] @ i["W"][0] + i["b"][0]


# --- checks ----------------------------------------------------------------------------------------

EXERCISE.add(
    Check("minimize", "minimize", 2, "LBFGS reaches the least-squares minimum of a quadratic",
          probe_minimize, Match(rtol=1e-6, atol=1e-9, oracle=at_the_minimum,
                                mistakes=[near("close to the minimum but not there: LBFGS needs "
                                               "line_search_fn='strong_wolfe' and tight tolerances", rtol=1e-2)]),
          quadratic, (case(0),)),
    Check("fit_linear_regression", "fit_linear_regression", 3, "OLS by autograd equals statsmodels OLS (1e-4 relative)",
          Fit("fit_linear_regression"),
          Match(**STATSMODELS, oracle=on_meta(ols), mistakes=[no_intercept(ols), NOT_CONVERGED]),
          ols_data, (case(0, dataset="stackloss"),)),
    Check("fit_logistic_regression", "fit_logistic_regression", 3,
          "logistic regression by autograd equals statsmodels Logit (1e-4 relative)",
          Fit("fit_logistic_regression"),
          Match(**STATSMODELS, oracle=on_meta(logit), mistakes=[no_intercept(logit), NOT_CONVERGED]),
          logit_data, (case(0, dataset="spector"),)),
    Check("LogisticRegression.__init__", "LogisticRegression.__init__", 1, "the module holds nn.Linear(n_features, 1)",
          probe_structure, Match(), module_inputs, (case(0),)),
    Check("LogisticRegression.forward", "LogisticRegression.forward", 2, "forward returns the (n,) logits",
          probe_forward,
          Match(mistakes=[like("forward applied a sigmoid: return the logits, BCEWithLogitsLoss applies the "
                               "sigmoid itself", lambda i: {"logits": torch.sigmoid(logits_of(i))})]),
          module_inputs, (case(0),)),
    Check("logistic_loss", "logistic_loss", 2, "mean BCEWithLogitsLoss on the model's logits",
          probe_loss,
          Match(mistakes=[
              like("you applied a sigmoid before BCEWithLogitsLoss, which applies one itself: pass the logits",
                   lambda i: {"loss": nn.functional.binary_cross_entropy_with_logits(torch.sigmoid(logits_of(i)), i["y"])}),
              scaled_by(lambda i: i["X"].shape[0], "your loss is n times too large: use the mean over "
                                                   "samples (reduction='mean'), not the sum")]),
          module_inputs, (case(0),)),
    Check("fit_logistic_module", "fit_logistic_module", 2, "the fitted module's weights equal statsmodels Logit",
          FitModule("fit_logistic_module"),
          Match(**STATSMODELS, oracle=on_meta(logit), mistakes=[no_intercept(logit), NOT_CONVERGED]),
          logit_data, (case(0, dataset="spector"),)),
)

### BEGIN HIDDEN TESTS
# The fits also run once on the meta device (shapes and dtypes, no data), with ``minimize`` standing in: w and b
# must be created on the inputs' device. Large weights give logits where a naive log(sigmoid(z)) is -inf.
EXERCISE.add(
    EXERCISE.check("minimize").hidden_variant(1, case(501, n=30, d=5), case(502, n=3, d=1)),
    EXERCISE.check("fit_linear_regression").hidden_variant(2, case(503, n=60, d=2), case(504, n=25, d=5),
                                                           case(514, n=5, d=3, device="meta")),
    EXERCISE.check("fit_logistic_regression").hidden_variant(2, case(505, n=400, d=2), case(506, n=250, d=4),
                                                             case(515, n=6, d=2, device="meta")),
    EXERCISE.check("LogisticRegression.__init__").hidden_variant(1, case(507, d=1), case(508, d=7)),
    EXERCISE.check("LogisticRegression.forward").hidden_variant(1, case(509, n=1, d=2), case(510, n=9, d=5),
                                                                case(516, n=4, d=3, device="meta")),
    EXERCISE.check("logistic_loss").hidden_variant(
        1, case(511, n=1, d=1), case(512, n=20, d=4), case(517, n=8, d=3, scale=300.0),
        case(518, n=4, d=2, device="meta")),
    EXERCISE.check("fit_logistic_module").hidden_variant(2, case(513, n=300, d=3), case(519, n=5, d=2, device="meta")),
    Check("minimize.max_iter", "minimize", 1, "stops after max_iter LBFGS iterations and returns the loss at the "
          "parameters it leaves", probe_minimize, Match(rtol=1e-6, atol=1e-9), quadratic,
          (case(520, n=30, d=5, max_iter=1), case(521, n=20, d=4, max_iter=3)), hidden=True),
)
### END HIDDEN TESTS
