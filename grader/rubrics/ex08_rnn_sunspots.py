"""Rubric for exercise 8: history windows, standardisation, an LSTM forecaster and its held-out RMSE on sunspots."""

import torch
from torch import nn

from grader import data, figures, fresh, rebuild
from grader.checks import (MODE_HINTS, Holds, Match, Mistake, Require, adam_loop_mistakes, at_least, every_parameter_used,
                           is_true, like)
from grader.thresholds import Measure, Threshold, prediction
from grader.probes import Numbers, Spy, StudentError, describe_figure, memo, outputs_named, unused_parameters
from grader.rubric import Check, Exercise, case, randn

EXERCISE = Exercise("ex08_rnn_sunspots", "An RNN on sunspots", time_limit=120)
HISTORY = 16


# --- inputs ----------------------------------------------------------------------------------------

def series_inputs(g, length=20, history=3, n_train=None):
    return {"series": randn(g, length, scale=10.0, shift=50.0), "history": history,
            "n_train": n_train or int(0.8 * length)}


def training_inputs(g, n=10, history=4, epochs=3, lr=0.05, batch_size=4, loader_seed=1, hidden=None):
    """Windows, targets and the weights of a fixed linear forecaster; what ``train_rnn`` is given; the ``hidden``
    size a ``SunspotRNN`` is built with (its default when None)."""
    return {"X": torch.randn(n, history, 1, generator=g), "y": torch.randn(n, generator=g),
            "W": torch.randn(1, history, generator=g) * 0.3, "b": torch.randn(1, generator=g) * 0.1,
            "epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": loader_seed,
            **({"hidden": hidden} if hidden is not None else {})}


def plot_inputs(g, synthetic=False, length=40, held_out=8):
    """The sunspots and the trained model's forecasts, or (``synthetic``) a made-up series and forecasts."""
    inputs = {"history": HISTORY, "epochs": 80}
    if synthetic:
        years = torch.arange(1900, 1900 + length, dtype=torch.float64)
        series = torch.rand(length, generator=g, dtype=torch.float64) * 150
        inputs.update(years=years, series=series, test_years=years[-held_out:],
                      predictions=(series[-held_out:] + randn(g, held_out, scale=10.0)).float())
    return inputs


# --- probes ----------------------------------------------------------------------------------------

def probe_windows(trial):
    i = trial.inputs
    return outputs_named(trial.target("make_windows")(i["series"], i["history"]), ("X", "y"), "make_windows")


def probe_standardize(trial):
    i = trial.inputs
    return outputs_named(trial.target("standardize")(i["series"], i["n_train"]), ("z", "mean", "std"), "standardize")


class FlatLinear(nn.Module):
    """A stand-in forecaster with given weights, so that the training loop is checked on its own."""

    def __init__(self, W, b):
        super().__init__()
        self.linear = nn.Linear(W.shape[1], 1)
        with torch.no_grad():
            self.linear.weight.copy_(W), self.linear.bias.copy_(b)

    def forward(self, X):
        return self.linear(X.flatten(1))[:, 0]


def probe_train(trial):
    i = trial.inputs
    model = Spy(FlatLinear(i["W"], i["b"]).to(trial.device))
    model.eval()
    losses = trial.target("train_rnn")(model, i["X"], i["y"], i["epochs"], i["lr"], i["batch_size"], i["seed"])
    linear = model.inner.linear
    return {"ran_in_training_mode": model.facts()["ran_in_training_mode"], "weight": linear.weight,
            "bias": linear.bias, "losses": Numbers(list(losses), dtype=torch.float64)}


def student_rnn(trial):
    hidden = trial.inputs.get("hidden")
    model = trial.target("SunspotRNN")(*([hidden] if hidden is not None else []))
    if not isinstance(model, nn.Module):
        raise StudentError(f"SunspotRNN() should be an nn.Module; it is a {type(model).__name__}")
    return model


def probe_structure(trial):
    model = student_rnn(trial)
    kinds = [type(m) for m in model.modules()]
    model = model.to(trial.device).eval()
    with torch.no_grad():
        out = model(trial.inputs["X"])
    tracked = model(trial.inputs["X"])  # with autograd: does every parameter reach the forecasts?
    return {"recurrent_layers": sum(k in (nn.RNN, nn.LSTM) for k in kinds), "linear_layers": kinds.count(nn.Linear),
            "out": out, "hidden_sizes": Numbers([m.hidden_size for m in model.modules()
                                                 if isinstance(m, (nn.RNN, nn.LSTM, nn.GRU))], dtype=torch.int64),
            "unused_parameters": unused_parameters(model, [tracked] if isinstance(tracked, torch.Tensor) else [])}


def probe_forward(trial):
    model = student_rnn(trial).to(trial.device).eval()
    with torch.no_grad():
        return {"out": model(trial.inputs["X"])}


def hidden_size_used(values, inputs):
    sizes = values.get("hidden_sizes")
    if "hidden" not in inputs or sizes is None or not len(sizes):
        return None
    if int(sizes[0]) != inputs["hidden"]:
        return (f"SunspotRNN({inputs['hidden']}) should hold nn.LSTM(1, {inputs['hidden']}, ...); its recurrent layer "
                f"has {int(sizes[0])} units: use the `hidden` argument")
    return None


def output_shape(values, inputs):
    out, n = values.get("out"), inputs["X"].shape[0]
    if out is None or tuple(out.shape) != (n,):
        return f"forward should give one prediction per window, shape ({n},); got {None if out is None else tuple(out.shape)}"
    return None


def trained(trial):
    """The student's standardisation, windows, model and training, on the training years only; and what the
    training did to the model (whether its parameters moved, whether the loss fell)."""
    def fit():
        train = data.sunspots_split().train.to(trial.device)
        z, mean, std = trial.target("standardize")(train.float(), len(train))
        X, y = trial.target("make_windows")(z, trial.inputs["history"])
        model = trial.target("SunspotRNN")().to(trial.device)
        before = [p.detach().clone() for p in model.parameters()]
        losses = trial.target("train_rnn")(model, X, y, trial.inputs["epochs"], seed=trial.seed)
        moved = bool(before) and any(not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters()))
        losses = [float(x) for x in losses]
        return model, float(mean), float(std), moved, len(losses) >= 2 and losses[-1] < losses[0]
    return memo(trial, "train_rnn", fit)


def held_out_windows(history: int, mean: float, std: float) -> torch.Tensor:
    """The standardised window before each held-out year, (62, history, 1): the actual previous years."""
    split = data.sunspots_split()
    z = (torch.cat([split.train, split.test]).float() - mean) / std
    n_test = len(split.test)
    return torch.stack([z[t - history:t] for t in range(len(z) - n_test, len(z))]).unsqueeze(-1)


def forecasts(trial):
    """The trained model's layers as plain data (the grader rebuilds them and forecasts), the standardisation, and
    the model's own forecasts of the held-out years, each window on its own (no window sees its neighbours)."""
    return memo(trial, "forecasts", lambda: _forecast(trial))


def _forecast(trial):
    model, mean, std, moved, loss_fell = trained(trial)
    windows = held_out_windows(trial.inputs["history"], mean, std).to(trial.device)
    model.eval()
    with torch.no_grad():
        own = torch.cat([model(w.unsqueeze(0)).reshape(-1) for w in windows])
    return {"predictions": own * std + mean, "mean": mean, "std": std, "moved": moved, "loss_fell": loss_fell,
            **rebuild.report_recurrent(getattr(model, "rnn", None), "rnn"),
            **rebuild.report(getattr(model, "head", None), "head")}


def rebuilt_forecasts(values, inputs):
    """Forecasts of ``head(rnn(window)[:, -1])`` rebuilt here from the weights, one window at a time, for the
    held-out years and the simulated windows."""
    rnn, head = rebuild.recurrent(values, "rnn"), rebuild.chain(values, "head")
    mean, std = (float(prediction(values, name, ())) for name in ("mean", "std"))
    if std <= 0:
        raise ValueError("the standard deviation of the training years is not positive")
    simulated = ((fresh.sunspots().inputs[:, -HISTORY:].float() - mean) / std).unsqueeze(-1)

    def one_by_one(windows):
        with torch.no_grad():
            out = [rnn(w.unsqueeze(0) if rnn.batch_first else w.unsqueeze(1))[0] for w in windows]
            last = torch.cat([o[:, -1] if rnn.batch_first else o[-1] for o in out])
            return head(last).reshape(-1) * std + mean

    return {"rebuilt/predictions": one_by_one(held_out_windows(HISTORY, mean, std)),
            "rebuilt/fresh_predictions": one_by_one(simulated)}


def the_model_of_the_docstring(values, inputs):
    if rebuild.kinds(values, "head") != [nn.Linear]:
        return "self.head should be one nn.Linear(hidden, 1)"
    own, rebuilt = values.get("predictions"), values["rebuilt/predictions"]
    if own is None or own.shape != rebuilt.shape or not torch.allclose(own.double(), rebuilt.double(), atol=1e-3,
                                                                       rtol=1e-4):
        return "the model's forward(X) is not self.head applied to self.rnn's output at the last time step"
    return None


def probe_plot(trial):
    """The figure, and what it was given (the sunspots and the trained model's forecasts, or a made-up series)."""
    i = trial.inputs
    if "series" in i:
        given = {k: i[k].cpu() for k in ("years", "series", "test_years", "predictions")}
    else:
        split = data.sunspots_split()
        years, series = data.sunspots()
        given = {"years": years, "series": series, "test_years": split.years_test,
                 "predictions": forecasts(trial)["predictions"].cpu()}
    fig = trial.target("plot_forecast")(*(trial.place(v) for v in given.values()))
    return {**describe_figure(fig, "plot_forecast"), **{f"given/{k}": v for k, v in given.items()}}


def draws_series_and_forecasts(values, inputs):
    drawing = figures.Drawing.of(values)
    given = {k: values.get(f"given/{k}") for k in ("years", "series", "test_years", "predictions")}
    if drawing.line_through(given["years"], given["series"]) is None:
        return "no line draws the observed series against the years (ax.plot(years, series, label=...))"
    if drawing.line_through(given["test_years"], given["predictions"]) is None:
        return "no line draws the forecasts against the held-out years (ax.plot(test_years, predictions, label=...))"
    return None


# --- measured here ------------------------------------------------------------------------------

def test_rmse(values, inputs):
    truth = data.sunspots_split().test
    predicted = prediction(values, "rebuilt/predictions", tuple(truth.shape))
    return float(((predicted - truth) ** 2).mean().sqrt())


def fresh_skill(values, inputs):
    """RMSE on the simulated windows, relative to persistence's (next year = this year) on the same windows."""
    draw = fresh.sunspots()
    truth = draw.needed_answers()
    predicted = prediction(values, "rebuilt/fresh_predictions", tuple(truth.shape))
    persistence = ((draw.inputs[:, -1] - truth) ** 2).mean().sqrt()
    return float(((predicted - truth) ** 2).mean().sqrt() / persistence)


def baseline(predict):
    """A forecaster that needs no training, as the outputs the grader derives: ``predict(windows)`` from raw windows."""
    def outputs(inputs):
        split = data.sunspots_split()
        series, h, n_test = torch.cat([split.train, split.test]), HISTORY, len(split.test)
        held_out = torch.stack([series[t - h:t] for t in range(len(series) - n_test, len(series))])
        return {"rebuilt/predictions": predict(held_out),
                "rebuilt/fresh_predictions": predict(fresh.sunspots().inputs[:, -h:])}
    return outputs


def least_squares_ar(windows, order=16):
    coef, _ = fresh.ar_fit(data.sunspots_split().train, order)
    return coef[0] + windows[:, -order:].double().flip(1) @ coef[1:]


BASELINES = {"persistence": baseline(lambda w: w[:, -1].double()),
             "the training years' mean": baseline(lambda w: torch.full((len(w),), float(data.sunspots_split().train.mean()))),
             "least-squares AR(16)": baseline(least_squares_ar)}


# --- what wrong answers look like ------------------------------------------------------------------

def targets_inside_windows(i):
    s, h = i["series"], i["history"]
    return {"y": s[h - 1:-1]}


def one_window_short(actual, expected, inputs, name):
    return actual.dim() >= 1 and actual.shape[0] == expected.shape[0] - 1


def standardized_with(i, stats_from, unbiased=True):
    s = i["series"]
    part = s if stats_from == "all" else s[:i["n_train"]]
    mean, std = part.mean(), part.std(correction=1 if unbiased else 0)
    return {"z": (s - mean) / std, "mean": mean.item(), "std": std.item()}


def train_by_hand(i, zero_grad=True, optimizer="adam", shuffle=True, step=True):
    """What ``train_rnn`` gives the probe's model (3 epochs, lr 0.05, batches of 4, seed 1), done right or with one
    mistake: ``"adam"`` or ``"sgd"``, batches shuffled by the seeded generator or in order."""
    from torch.utils.data import DataLoader, TensorDataset

    model = FlatLinear(i["W"], i["b"]).to(i["X"].device)
    optimizer = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[optimizer](model.parameters(), lr=0.05)
    loader = DataLoader(TensorDataset(i["X"], i["y"]), batch_size=4, shuffle=shuffle,
                        generator=torch.Generator().manual_seed(1) if shuffle else None)
    for _ in range(3):
        for xb, yb in loader:
            if zero_grad:
                optimizer.zero_grad()
            nn.functional.mse_loss(model(xb), yb).backward()
            if step:
                optimizer.step()
    return {"weight": model.linear.weight.detach(), "bias": model.linear.bias.detach()}


WEIGHTS = ["weight", "bias"]
TRAINING_MISTAKES = adam_loop_mistakes(train_by_hand, WEIGHTS)
TRAINED_LINEAR = {"weight": "`inner.linear.weight` (the weight of the model's nn.Linear) after three epochs",
                  "bias": "`inner.linear.bias` (the bias of the model's nn.Linear) after three epochs"}


# --- checks ----------------------------------------------------------------------------------------

EXERCISE.add(
    Check("make_windows", "make_windows", 3, "X[j] = s[j:j+history] (with a feature dimension), y[j] = s[j+history]; "
          "the first window starts at s_0, the last target is the last value", probe_windows,
          Match(mistakes=[
              like("each target is the last value inside its window: the target is the value right after it, "
                   "s[j + history]", targets_inside_windows, outputs=["y"]),
              Mistake("one window too few: the last window's target is the series' last value, so there are "
                      "T - history windows", one_window_short)]),
          series_inputs, (case(0), case(1, length=5, history=4))),
    Check("standardize", "standardize", 2, "mean and unbiased std of the training values only", probe_standardize,
          Match(mistakes=[
              like("the statistics include the held-out values: compute mean and std on series[:n_train] only, "
                   "or the test years leak into training", lambda i: standardized_with(i, "all")),
              like("use the unbiased standard deviation (torch.std's default, dividing by n - 1)",
                   lambda i: standardized_with(i, "train", unbiased=False))]),
          series_inputs, (case(2),)),
    Check("SunspotRNN", "SunspotRNN", 2, "an nn.LSTM or nn.RNN with an nn.Linear read-out; one prediction per window",
          probe_structure,
          Holds(at_least("recurrent_layers", 1, "nn.LSTM or nn.RNN layer(s)"),
                at_least("linear_layers", 1, "nn.Linear read-out(s)"), Require(output_shape),
                Require(hidden_size_used),
                every_parameter_used("the forecasts", "a layer whose output the read-out never uses, e.g. the first "
                                                      "layer's state read instead of the last's")),
          training_inputs, (case(3, n=4, history=HISTORY),)),
    Check("train_rnn", "train_rnn", 2, "Adam on the MSE over seeded shuffled mini-batches: zero_grad, forward, "
          "loss, backward, step",
          probe_train,
          Match(rtol=1e-4, atol=1e-6, explain=MODE_HINTS, mistakes=TRAINING_MISTAKES, names=TRAINED_LINEAR),
          training_inputs, (case(4),)),
    Check("test_rmse", "train_rnn", 5,
          "your model, trained by your code on the training years, forecasts the 62 held-out years one step ahead, "
          "and simulated years",
          forecasts,
          Threshold("held-out RMSE", test_rmse, threshold=25.0, higher_is_better=False, margin=3.0, digits=2,
                    hint="persistence (next year = this year) scores 33.3; check standardize, make_windows and "
                         "train_rnn first",
                    fresh=[Measure(f"RMSE on {fresh.N_WINDOWS} simulated windows, relative to persistence's",
                                   fresh_skill, threshold=1.1, higher_is_better=False, margin=0.1)],
                    baselines=BASELINES, derive=rebuilt_forecasts,
                    asked_model=[Require(the_model_of_the_docstring),
                                 is_true("moved", "training did not change the model's parameters"),
                                 is_true("loss_fell", "the training losses train_rnn returned did not fall")]),
          lambda g, epochs=80: {"history": HISTORY, "epochs": epochs}, (case(0),)),
    Check("plot_forecast", "plot_forecast", 1, "the series and the forecasts as labelled lines with a legend "
          "(judged on the data drawn)",
          probe_plot,
          Holds(at_least("figure/lines", 2, "lines (the observed series and the forecasts)"),
                is_true("figure/labelled", "label both axes (ax.set_xlabel('year'), ax.set_ylabel(...))"),
                is_true("figure/legend", "add a legend (label=... on each line, then ax.legend())"),
                Require(draws_series_and_forecasts)),
          plot_inputs, (case(0),)),
)

### BEGIN HIDDEN TESTS
# Every argument varies (the hidden size, train_rnn's epochs, lr, batch size and seed, what plot_forecast is given);
# the windows and the forward also run on the meta device (shapes and dtypes, no data), where results must stay.
EXERCISE.add(
    EXERCISE.check("make_windows").hidden_variant(2, case(801, length=2, history=1), case(802, length=40, history=12),
                                                  case(808, length=9, history=4, device="meta")),
    EXERCISE.check("standardize").hidden_variant(1, case(803, length=50, n_train=7)),
    EXERCISE.check("SunspotRNN").hidden_variant(1, case(804, n=1, history=3), case(805, n=9, history=20),
                                                case(809, n=3, history=5, hidden=7)),
    EXERCISE.check("train_rnn").hidden_variant(1, case(806, n=25, history=2),
                                               case(810, n=13, history=3, epochs=2, lr=0.02, batch_size=5,
                                                    loader_seed=9)),
    EXERCISE.check("plot_forecast").hidden_variant(1, case(811, synthetic=True),
                                                   case(899, synthetic=True, device="offhost")),
    Check("SunspotRNN.device", "SunspotRNN", 1, "forward keeps its forecasts (and any state it creates) on the "
          "device of the windows", probe_forward, Match(), training_inputs,
          (case(812, n=3, history=6, device="meta"), case(813, n=2, history=4, hidden=5, device="meta")), hidden=True),
)
### END HIDDEN TESTS
