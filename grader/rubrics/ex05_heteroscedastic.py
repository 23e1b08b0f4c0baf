"""Rubric for exercise 5: the heteroscedastic Gaussian NLL, a two-headed network, and what it learns."""

import math

import torch
from torch import nn

from grader import figures, fresh, rebuild
from grader.checks import (GradcheckConsistent, Holds, Match, Require, at_least, every_parameter_used, is_true, like,
                           scaled_by, shape_of)
from grader.thresholds import Threshold, prediction
from grader.probes import (Backward, Call, Numbers, SelfGradcheck, StudentError, describe_figure, memo,
                           outputs_named, unused_parameters)
from grader.rubric import Check, Exercise, case, randn

EXERCISE = Exercise("ex05_heteroscedastic", "Heteroscedastic regression", time_limit=120)
N_FRESH = fresh.N_FRESH
GRID = 200
TWO_SIGMA = math.erf(2 / math.sqrt(2))  # 0.9545: the probability of |z| <= 2 for a standard normal


# --- inputs ----------------------------------------------------------------------------------------

def nll_inputs(g, shape=(6,), dtype=torch.float64, logvar_shift=0.0):
    """``logvar_shift`` moves the log-variances: near 100, exp(logvar) overflows float32 (a variance computed
    first, then its log, is inf)."""
    return {"mu": randn(g, *shape, dtype=dtype),
            "logvar": randn(g, *shape, dtype=dtype, scale=0.8, shift=logvar_shift),
            "y": randn(g, *shape, dtype=dtype, scale=1.5), "grad_out": randn(g, dtype=dtype)}


def fit_inputs(g, n=64, epochs=1, lr=0.1):
    """Training data of the public kind, and the epochs and learning rate to train with."""
    x = torch.rand(n, 1, generator=g)
    return {"x": x, "y": torch.sin(6 * x) + (0.1 + x) * torch.randn(n, 1, generator=g), "epochs": epochs, "lr": lr}


def net_inputs(g, n=5, hidden=32):
    return {"x": torch.rand(n, 1, generator=g), "hidden": hidden}


# --- the loss by other means ----------------------------------------------------------------------

def gaussian_nll_loss(i):
    """nn.GaussianNLLLoss(full=True) computed in float64 (where exp(logvar) does not overflow), in the inputs'
    dtype; for inputs on the meta device, a tensor of that dtype there."""
    mu = i["mu"]
    if mu.device.type == "meta":
        return {"out": torch.empty((), dtype=mu.dtype, device=mu.device)}
    loss = nn.GaussianNLLLoss(full=True)(mu.double(), i["y"].double(), torch.exp(i["logvar"].double()))
    return {"out": loss.to(mu.dtype)}


def nll_without_constant(i):
    """The NLL without its constant, in float64 as ``gaussian_nll_loss`` computes it (exp(logvar) overflows float32 at
    large log-variances, where a formula without the constant stays finite)."""
    mu = i["mu"]
    loss = nn.GaussianNLLLoss(full=False)(mu.double(), i["y"].double(), torch.exp(i["logvar"].double()))
    return {"out": loss.to(mu.dtype)}


def nll_variance_as_logvar(i):
    var = i["logvar"]
    return {"out": (0.5 * (math.log(2 * math.pi) + torch.log(var) + (i["y"] - i["mu"]) ** 2 / var)).mean()}


def nll_precision_sign(i):
    return {"out": (0.5 * (math.log(2 * math.pi) + i["logvar"] + (i["y"] - i["mu"]) ** 2 * torch.exp(i["logvar"]))).mean()}


NLL_MISTAKES = [
    like("you used logvar as if it were the variance: the variance is exp(logvar), so divide by "
         "torch.exp(logvar) and add logvar itself (not its log)", nll_variance_as_logvar),
    like("the constant 0.5 * log(2 pi) is missing: GaussianNLLLoss(full=True) includes it", nll_without_constant),
    like("you multiplied by exp(logvar) instead of dividing: the squared error is scaled by the precision "
         "exp(-logvar)", nll_precision_sign),
    scaled_by(lambda i: i["mu"].numel(), "your NLL is the sum over elements: take the mean"),
]


# --- probes ----------------------------------------------------------------------------------------

def student_net(trial, hidden=None):
    cls = trial.target("HeteroscedasticNet")
    model = cls(hidden) if hidden else cls()
    if not isinstance(model, nn.Module):
        raise StudentError(f"HeteroscedasticNet(...) should be an nn.Module; it is a {type(model).__name__}")
    return model


def two_outputs(result, owner):
    return outputs_named(result, ("mu", "logvar"), owner).values()


BODY = ("Linear", "Tanh", "Linear", "Tanh")  # the docstring's self.body, layer by layer


def body_layers(model: nn.Module) -> str:
    """The classes of ``model.body``'s layers, in order ("" when it is not an ``nn.Sequential``)."""
    body = getattr(model, "body", None)
    return ", ".join(type(layer).__name__ for layer in body) if isinstance(body, nn.Sequential) else ""


def probe_structure(trial):
    model = student_net(trial, trial.inputs["hidden"]).to(trial.device)
    heads = {name: getattr(model, name, None) for name in ("mu_head", "logvar_head")}
    mu, logvar = two_outputs(model(trial.inputs["x"]), "forward")
    facts = {f"{name}_is_linear_to_1": isinstance(h, nn.Linear) and h.out_features == 1 for name, h in heads.items()}
    widths = [h.in_features if isinstance(h, nn.Linear) else -1 for h in heads.values()]
    return {**facts, "mu_shape": Numbers(list(mu.shape)), "logvar_shape": Numbers(list(logvar.shape)),
            "head_inputs": Numbers(widths), "unused_parameters": unused_parameters(model, [mu, logvar]),
            "body_layers": figures.text_tensor(body_layers(model))}


def heads_read_hidden(values, inputs):
    widths = values.get("head_inputs")
    hidden = inputs["hidden"]
    if widths is None or widths.tolist() != [hidden, hidden]:
        found = "unknown" if widths is None else widths.tolist()
        return (f"HeteroscedasticNet({hidden}) should have heads nn.Linear({hidden}, 1) on a body of width {hidden}; "
                f"the heads read {found} features: use the `hidden` argument")
    return None


def body_as_given(values, inputs):
    found = figures.text_of(values.get("body_layers"))
    if found == ", ".join(BODY):
        return None
    return ("self.body should be nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, hidden), "
            f"nn.Tanh()), in this order; {f'its layers are {found}' if found else 'it is not an nn.Sequential'}")


def shape_is(name, what):
    def test(values, inputs):
        n = inputs["x"].shape[0]
        shape = shape_of(values.get(name))  # None unless the probe reported sizes
        found = "no readable shape" if shape is None else shape
        return None if shape == (n, 1) else f"{what} should have shape ({n}, 1); it has {found}"
    return Require(test)


def grid():
    return torch.linspace(0, 1, GRID).unsqueeze(1)


def trained(trial):
    def fit():
        task = fresh.heteroscedastic()  # drawn for this run: its mean and noise functions are named nowhere
        model = trial.target("fit_heteroscedastic")(task["x_train"].to(trial.device), task["y_train"].to(trial.device))
        if not isinstance(model, nn.Module):
            raise StudentError(f"fit_heteroscedastic should return the trained model; it returned a "
                               f"{type(model).__name__}")
        return model
    return memo(trial, "fit_heteroscedastic", fit)


def probe_trained(trial):
    """The trained network's body and heads as plain data (the grader rebuilds them and predicts), and its own
    forward on a grid of x."""
    model = trained(trial)
    model.eval()
    with torch.no_grad():
        mu, logvar = two_outputs(model(grid().to(trial.device)), "the model")
    return {"mu_grid": mu, "logvar_grid": logvar, "is_net": isinstance(model, trial.target("HeteroscedasticNet")),
            **{k: v for name in ("body", "mu_head", "logvar_head")
               for k, v in rebuild.report(getattr(model, name, None), name).items()}}


def rebuilt_predictions(values, inputs):
    """mu and logvar of ``mu_head(body(x))``, ``logvar_head(body(x))`` rebuilt here, on the grid and at fresh x."""
    body, mu_head, logvar_head = (rebuild.chain(values, name) for name in ("body", "mu_head", "logvar_head"))
    out = {}
    for where, x in (("grid", grid()), ("fresh", fresh.heteroscedastic()["x_fresh"])):
        h = rebuild.predict(body, x)
        out[f"rebuilt/mu_{where}"], out[f"rebuilt/logvar_{where}"] = mu_head(h).detach(), logvar_head(h).detach()
    return out


def the_net_of_the_docstring(values, inputs):
    for head in ("mu_head", "logvar_head"):
        if rebuild.kinds(values, head) != [nn.Linear] or values[f"{head}/0/weight"].shape[0] != 1:
            return f"self.{head} should be one nn.Linear(hidden, 1)"
    for name in ("mu", "logvar"):
        own, rebuilt = values.get(f"{name}_grid"), values[f"rebuilt/{name}_grid"]
        if own is None or own.shape != rebuilt.shape or not torch.allclose(own.double(), rebuilt.double(),
                                                                           atol=1e-4, rtol=1e-4):
            return f"the model's forward(x) does not give {name}_head(body(x)) as its {name}"
    return None


def probe_fit_arguments(trial):
    """``fit_heteroscedastic`` with 0 epochs, then (same seed) 1 epoch at ``lr``: the largest change of a parameter
    is Adam's first step, ``lr`` (an ignored ``epochs`` or ``lr`` shows); on meta inputs, where the parameters live."""
    i, fit = trial.inputs, trial.target("fit_heteroscedastic")

    def parameters(epochs, **lr):
        torch.manual_seed(trial.seed)
        model = fit(i["x"], i["y"], epochs, **lr)
        if not isinstance(model, nn.Module):
            raise StudentError(f"fit_heteroscedastic should return the trained model; it returned a "
                               f"{type(model).__name__}")
        return [p.detach().clone() for p in model.parameters()]

    start = parameters(0)
    where = {"parameters": torch.cat([p.reshape(-1)[:0] for p in start]) if start else None}
    if trial.device.type == "meta":
        return where
    after = parameters(i["epochs"], lr=i["lr"])
    if len(after) != len(start) or any(a.shape != b.shape for a, b in zip(after, start)):
        raise StudentError("fit_heteroscedastic returned models of different shapes for the same seed")
    return {**where, "largest_step": max(float((a - b).abs().max()) for a, b in zip(after, start))}


def probe_plot(trial):
    """The figure, and the model's mean and sigma at the x where each line and band is drawn (to judge what they
    draw), and the data given."""
    task = fresh.heteroscedastic()
    x, y = trial.place(task["x_train"][:300]), trial.place(task["y_train"][:300])
    model = trained(trial)
    facts = describe_figure(trial.target("plot_band")(model, x, y), "plot_band")
    drawing = figures.Drawing.of({k: v.tensor if isinstance(v, Numbers) else v for k, v in facts.items()})
    model.eval()
    with torch.no_grad():
        for kind, artists in (("line", drawing.lines), ("band", drawing.bands)):
            for k, artist in enumerate(artists):
                at = artist.x.to(torch.float32).unsqueeze(1).to(trial.device)
                mu, logvar = two_outputs(model(at), "the model")
                facts[f"model/{kind}/{k}/mu"] = mu.reshape(-1)
                facts[f"model/{kind}/{k}/sigma"] = torch.exp(logvar.reshape(-1) / 2)
    return {**facts, "given/x": x[:, 0], "given/y": y[:, 0]}


BAND = dict(rtol=1e-3, atol=1e-4)


def band_is_two_sigma(values, inputs):
    """A band drawn from mu - 2 sigma to mu + 2 sigma of the model, at the x where it is drawn."""
    drawing = figures.Drawing.of(values)
    for k, band in enumerate(drawing.bands):
        mu, sigma = values.get(f"model/band/{k}/mu"), values.get(f"model/band/{k}/sigma")
        if figures.close(band.lower, mu - 2 * sigma, **BAND) and figures.close(band.upper, mu + 2 * sigma, **BAND):
            return None
    for k, band in enumerate(drawing.bands):
        mu, sigma = values.get(f"model/band/{k}/mu"), values.get(f"model/band/{k}/sigma")
        if mu is not None and sigma is not None and len(mu) == len(band.x) and len(band.x):
            half, var = (band.upper - band.lower) / 2, sigma ** 2
            said = ("its half-width is sigma^2 (the variance), not 2 sigma" if figures.close(half, 2 * var, **BAND)
                    else "its half-width is sigma, not 2 sigma" if figures.close(half, sigma, **BAND)
                    else "its centre is not the predicted mean" if not figures.close((band.upper + band.lower) / 2, mu,
                                                                                     **BAND)
                    else f"its half-width is {float(half.mean()):.4g} on average where 2 sigma is "
                         f"{float(2 * sigma.mean()):.4g}")
            return f"the band is not mu +- 2 sigma with sigma = exp(logvar / 2): {said}"
    return "no band (ax.fill_between) draws mu - 2 sigma to mu + 2 sigma"


def line_is_the_mean(values, inputs):
    drawing = figures.Drawing.of(values)
    for k, line in enumerate(drawing.lines):
        if len(line.x) > 1 and figures.close(line.y, values.get(f"model/line/{k}/mu"), **BAND):
            return None if bool((line.x[1:] >= line.x[:-1]).all()) else \
                "the mean's line is drawn over unsorted x (it zigzags): sort x first (torch.argsort)"
    return "no line draws the predicted mean mu(x) (ax.plot over x sorted in increasing order)"


def points_are_the_data(values, inputs):
    given = values.get("given/x"), values.get("given/y")
    if given[0] is None or given[1] is None:
        return "the data given to plot_band were not reported"
    data = torch.stack([given[0].double(), given[1].double()], dim=1)
    for xy, _ in figures.Drawing.of(values).scatters:
        if figures.close(xy, data):
            return None
    return "no scatter draws the data (x, y) given to plot_band (ax.scatter(x, y))"


# --- measured here ------------------------------------------------------------------------------

def _ranks(t):
    return torch.argsort(torch.argsort(t)).double()


def sigma_rank_correlation(values, inputs):
    """Spearman's rank correlation between the learned and the true sigma(x) on a grid of x."""
    logvar = prediction(values, "rebuilt/logvar_grid", (GRID, 1))[:, 0]
    truth = fresh.task().sigma(grid()[:, 0]).double()
    learned = torch.exp(logvar / 2)
    if learned.max() - learned.min() <= 1e-6 * learned.abs().max():
        raise ValueError("the learned sigma(x) is the same for every x: is logvar computed from x?")
    a, b = _ranks(learned), _ranks(truth)
    return float(torch.corrcoef(torch.stack([a, b]))[0, 1])


def coverage_error(values, inputs):
    """How far the share of fresh points inside mu +- 2 sigma is from 95.45%."""
    y = fresh.heteroscedastic()["y_fresh"]
    mu = prediction(values, "rebuilt/mu_fresh", (N_FRESH, 1))
    sigma = torch.exp(prediction(values, "rebuilt/logvar_fresh", (N_FRESH, 1)) / 2)
    inside = ((y.double() - mu).abs() <= 2 * sigma).double().mean()
    return abs(float(inside) - TWO_SIGMA)


def sigma_relative_error(values, inputs):
    """Root mean squared error of the learned sigma(x) relative to the true one's size, on a grid of x."""
    learned = torch.exp(prediction(values, "rebuilt/logvar_grid", (GRID, 1))[:, 0] / 2)
    truth = fresh.task().sigma(grid()[:, 0]).double()
    return float(((learned - truth) ** 2).mean().sqrt() / (truth ** 2).mean().sqrt())


def mean_rmse(values, inputs):
    """Root mean squared error of the learned mean against the true mean on a grid of x."""
    mu = prediction(values, "rebuilt/mu_grid", (GRID, 1))[:, 0]
    return float(((mu - fresh.task().mean(grid()[:, 0]).double()) ** 2).mean().sqrt())


def as_model(mean, sigma):
    """A model that needs no training, as the outputs the probe reports: ``mean(x)``, ``sigma(x)``."""
    def outputs(inputs):
        x = {"grid": grid(), "fresh": fresh.heteroscedastic()["x_fresh"]}
        return {**{f"rebuilt/mu_{k}": mean(v).double() for k, v in x.items()},
                **{f"rebuilt/logvar_{k}": (2 * torch.log(sigma(v))).double() for k, v in x.items()}}
    return outputs


def constant(inputs):
    y = fresh.heteroscedastic()["y_train"]
    return as_model(lambda x: torch.full_like(x, float(y.mean())), lambda x: torch.full_like(x, float(y.std())))(inputs)


BASELINES = {"the public task's mean and noise (grader.data.true_mean, true_sigma)": as_model(fresh.Task().mean,
                                                                                             fresh.Task().sigma),
             "the training data's mean and standard deviation": constant}
ASKED = [is_true("is_net", "fit_heteroscedastic should return a HeteroscedasticNet, the class of this exercise"),
         Require(the_net_of_the_docstring)]


def trained_to(*args, **kwargs):
    """A threshold on the trained network rebuilt here, against the no-training baselines, for the asked model only."""
    return Threshold(*args, baselines=BASELINES, asked_model=ASKED, derive=rebuilt_predictions, **kwargs)


# --- checks ----------------------------------------------------------------------------------------

NLL = "heteroscedastic_gaussian_nll"
EXERCISE.add(
    Check(NLL, NLL, 3, "equals nn.GaussianNLLLoss(full=True) with var = exp(logvar)",
          Call(NLL, ["mu", "logvar", "y"]), Match(oracle=gaussian_nll_loss, mistakes=NLL_MISTAKES),
          nll_inputs, (case(0), case(1, shape=(3, 4)))),
    Check(f"{NLL}.grad", NLL, 2, "its gradients with respect to mu, logvar and y equal the reference's",
          Backward(NLL, ["mu", "logvar", "y"]), Match(), nll_inputs, (case(2, shape=(5,)),)),
    Check(f"{NLL}.gradcheck", NLL, 1, "gradcheck: autograd through your formula agrees with finite differences",
          SelfGradcheck(NLL, ["mu", "logvar", "y"]), GradcheckConsistent(["mu", "logvar", "y"]),
          lambda g, shape=(4,): nll_inputs(g, shape), (case(3),)),
    Check("HeteroscedasticNet", "HeteroscedasticNet", 2, "mu_head and logvar_head are nn.Linear(hidden, 1); "
          "forward gives (mu, logvar), each (N, 1)", probe_structure,
          Holds(is_true("mu_head_is_linear_to_1", "self.mu_head should be nn.Linear(hidden, 1)"),
                is_true("logvar_head_is_linear_to_1", "self.logvar_head should be nn.Linear(hidden, 1)"),
                shape_is("mu_shape", "mu"), shape_is("logvar_shape", "logvar"), Require(heads_read_hidden),
                Require(body_as_given), every_parameter_used("mu or logvar")),
          net_inputs, (case(4),)),
    Check("fit_heteroscedastic.sigma", "fit_heteroscedastic", 2,
          "the learned sigma(x) rises with the true sigma(x) (rank correlation on a grid of x)", probe_trained,
          trained_to("rank correlation of learned and true sigma(x)", sigma_rank_correlation, threshold=0.9,
                    margin=0.05, hint="train on heteroscedastic_gaussian_nll so that logvar_head learns the noise"),
          None, (case(0),)),
    Check("fit_heteroscedastic.sigma_error", "fit_heteroscedastic", 2,
          "the learned sigma(x) is close to the true sigma(x) (relative RMSE on a grid of x)", probe_trained,
          trained_to("relative RMSE of the learned sigma(x)", sigma_relative_error, threshold=0.2,
                    higher_is_better=False, margin=0.05,
                    hint="a constant or untrained logvar cannot follow noise that grows with x"),
          None, (case(0),)),
    Check("fit_heteroscedastic.coverage", "fit_heteroscedastic", 2,
          "about 95% of fresh points fall inside mu +- 2 sigma (their y stay with the grader)", probe_trained,
          trained_to("distance of the +-2 sigma coverage from 95.45%", coverage_error, threshold=0.03,
                    higher_is_better=False, margin=0.01,
                    hint="a band that is too wide or too narrow: is sigma = exp(logvar / 2)?"),
          None, (case(0),)),
    Check("fit_heteroscedastic.mean", "fit_heteroscedastic", 1, "the learned mean follows the true mean",
          probe_trained, trained_to("RMSE of the learned mean against the true mean", mean_rmse, threshold=0.1,
                                   higher_is_better=False, margin=0.03),
          None, (case(0),)),
    Check("plot_band", "plot_band", 1, "the data as points, the mean as a line, the +-2 sigma band, labelled axes "
          "(judged on the data drawn)",
          probe_plot,
          Holds(at_least("figure/points", 1, "scatter of the data (ax.scatter)"),
                at_least("figure/lines", 1, "line for the predicted mean (ax.plot)"),
                at_least("figure/bands", 1, "band for mu +- 2 sigma (ax.fill_between)"),
                is_true("figure/labelled", "label both axes (ax.set_xlabel, ax.set_ylabel)"),
                Require(points_are_the_data), Require(line_is_the_mean), Require(band_is_two_sigma)),
          None, (case(0),)),
)

### BEGIN HIDDEN TESTS
# Large log-variances in float32, where exp(logvar) overflows (a variance computed first, then its log, is inf; a
# division by exp(logvar), which the docstring warns against, has a NaN gradient there), cases on
# the meta device (shapes and dtypes, no data: results on the inputs' device), other hidden sizes, and the epochs
# and learning rate of the fit.
EXERCISE.add(
    EXERCISE.check(NLL).hidden_variant(2, case(501, shape=()), case(502, shape=(2, 3, 4)),
                                       case(503, shape=(5,), dtype=torch.float32),
                                       case(508, shape=(4, 3), dtype=torch.float32, logvar_shift=100.0),
                                       case(509, shape=(3,), device="meta")),
    EXERCISE.check(f"{NLL}.grad").hidden_variant(1, case(504, shape=(3, 3)), case(505, shape=()),
                                                 case(510, shape=(4, 3), dtype=torch.float32, logvar_shift=100.0),
                                                 case(511, shape=(2, 2), device="meta")),
    EXERCISE.check("HeteroscedasticNet").hidden_variant(1, case(506, n=1, hidden=3), case(507, n=17, hidden=16)),
    Check("fit_heteroscedastic.arguments", "fit_heteroscedastic", 1, "trains for `epochs` Adam steps at `lr` a model "
          "on the device of x", probe_fit_arguments,
          Match(rtol=1e-3, atol=1e-7, names={"largest_step": "the largest change of a parameter in one epoch "
                                                             "(Adam's first step is lr)",
                                             "parameters": "the model's parameters"}),
          fit_inputs, (case(512, epochs=1, lr=0.1), case(513, epochs=1, lr=0.004), case(514, epochs=0, device="meta")),
          hidden=True),
    # x and y on a stand-in for a GPU (grader/offhost.py): what is plotted must be copied to the host first.
    EXERCISE.check("plot_band").hidden_variant(1, case(599, device="offhost")),
)
### END HIDDEN TESTS
