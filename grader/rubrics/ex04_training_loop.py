"""Rubric for exercise 4: Dataset, DataLoader, the training loop, evaluation, an MLP on Iris, SGD vs Adam."""

import math

import torch
from torch import nn

from grader import data, figures, fresh, rebuild
from grader.checks import MODE_HINTS, Holds, Match, Require, at_least, is_true, like
from grader.thresholds import Measure, Threshold, prediction
from grader.probes import Numbers, Spy, StudentError, describe_figure, memo, outputs_named
from grader.rubric import Check, Exercise, case

EXERCISE = Exercise("ex04_training_loop", "The training loop and an MLP", time_limit=120)
TRAINING = dict(rtol=1e-4, atol=1e-6)  # float32 training steps in the same order as the reference


# --- inputs ----------------------------------------------------------------------------------------

def classification(g, n=10, d=3, c=3, batch_size=4, loader_seed=3, loss="cross_entropy", optimizer="sgd"):
    """Seeded features, labels and the weights of a fixed linear classifier; the loader's batch size and seed,
    and the loss and optimizer the probes hand to the code (by name: ``LOSSES``, ``OPTIMIZERS``)."""
    return {"X": torch.randn(n, d, generator=g), "y": torch.randint(0, c, (n,), generator=g),
            "W": torch.randn(c, d, generator=g) * 0.5, "b": torch.randn(c, generator=g) * 0.1,
            "W2": torch.randn(c, c, generator=g) * 0.5, "b2": torch.randn(c, generator=g) * 0.1,
            "batch_size": batch_size, "seed": loader_seed, "loss": loss, "optimizer": optimizer}


LOSSES = {"cross_entropy": lambda: nn.CrossEntropyLoss(),
          "label_smoothing": lambda: nn.CrossEntropyLoss(label_smoothing=0.2)}
OPTIMIZERS = {"sgd": lambda params: torch.optim.SGD(params, lr=0.5),
              "adam": lambda params: torch.optim.Adam(params, lr=0.05)}


def mlp_inputs(g, n=5, d=4, h=8, c=3, p_drop=None):
    """An MLP's sizes (and its ``p_drop``, when given), inputs, and values for its parameters."""
    return {"X": torch.randn(n, d, generator=g), "n_in": d, "n_hidden": h, "n_out": c,
            "params": torch.randn(d * h + h + h * h + h + h * c + c, generator=g) * 0.5,
            **({"p_drop": p_drop} if p_drop is not None else {})}


def iris_inputs(g, epochs=60):
    return {"epochs": epochs}


def loss_curves(g, names=("sgd", "adam"), epochs=4):
    """Decreasing training losses, one curve per optimizer name."""
    steps = torch.rand(len(names), epochs, generator=g, dtype=torch.float64) * 0.2
    return {"names": tuple(names), "losses": 1.2 - steps.cumsum(dim=1) + steps[:, :1]}


# --- probes ----------------------------------------------------------------------------------------

def linear_model(i, dropout=False):
    first = nn.Linear(i["W"].shape[1], i["W"].shape[0])
    second = nn.Linear(i["W2"].shape[1], i["W2"].shape[0])
    with torch.no_grad():
        first.weight.copy_(i["W"]), first.bias.copy_(i["b"])
        second.weight.copy_(i["W2"]), second.bias.copy_(i["b2"])
    layers = [first, nn.ReLU(), nn.Dropout(0.5), second] if dropout else [first]
    return nn.Sequential(*layers).to(i["X"].device)


def batches(loader, owner):
    try:
        pairs = list(loader)
    except TypeError:
        raise StudentError(f"{owner} should give something to iterate over (a DataLoader); "
                           f"it gave a {type(loader).__name__}") from None
    return pairs


def probe_dataset(trial):
    i = trial.inputs
    ds = trial.target("TensorPairs")(i["X"], i["y"])
    x0, y0 = ds[0]
    x_last, y_last = ds[len(ds) - 1]
    try:
        trial.target("TensorPairs")(i["X"], i["y"][:-1])
        raises = False
    except ValueError:
        raises = True
    return {"len": len(ds), "x0": x0, "y0": y0, "x_last": x_last, "y_last": y_last, "raises_on_mismatch": raises}


def probe_loader(trial):
    i = trial.inputs
    make = trial.target("make_loader")
    ids = torch.arange(len(i["y"]), device=i["y"].device)  # distinct labels, so that any reordering shows
    size, seed = i["batch_size"], i["seed"]
    plain = batches(make(i["X"], i["y"], size), "make_loader")
    shuffled = batches(make(i["X"], ids, size, shuffle=True, seed=seed), "make_loader")
    again = batches(make(i["X"], ids, size, shuffle=True, seed=seed), "make_loader")
    return {"batch_sizes": Numbers([len(yb) for _, yb in plain]),
            "X_in_order": torch.cat([xb for xb, _ in plain]),
            "same_seed_same_order": bool(torch.equal(torch.cat([yb for _, yb in again]),
                                                     torch.cat([yb for _, yb in shuffled]))),
            "y_shuffled": torch.cat([yb for _, yb in shuffled])}


def fixed_loader(i, batch_size=4):
    return [(i["X"][k:k + batch_size], i["y"][k:k + batch_size]) for k in range(0, len(i["y"]), batch_size)]


def probe_train_epoch(trial):
    i = trial.inputs
    model = Spy(linear_model(i))
    model.eval()  # train_epoch must switch it to training mode itself
    optimizer = OPTIMIZERS[i["optimizer"]](model.parameters())
    loss = trial.target("train_epoch")(model, fixed_loader(i), LOSSES[i["loss"]](), optimizer)
    first = model.inner[0]
    return {"ran_in_training_mode": model.facts()["ran_in_training_mode"],
            "weight": first.weight, "bias": first.bias, "loss": loss}


def probe_evaluate(trial):
    i = trial.inputs
    model = Spy(linear_model(i, dropout=True))
    model.train()  # evaluate must switch dropout off itself
    result = outputs_named(trial.target("evaluate")(model, fixed_loader(i), LOSSES[i["loss"]]()),
                           ("mean_loss", "accuracy"), "evaluate")
    facts = model.facts()
    return {"ran_in_eval_mode": facts["ran_in_eval_mode"], "ran_without_autograd": facts["ran_without_autograd"],
            **result}


LAYER_CODES = {nn.Linear: 1, nn.ReLU: 2, nn.Dropout: 3}


def student_mlp(trial):
    i = trial.inputs
    model = trial.target("MLP")(i["n_in"], i["n_hidden"], i["n_out"], *([i["p_drop"]] if "p_drop" in i else []))
    if not isinstance(model, nn.Module):
        raise StudentError(f"MLP(...) should be an nn.Module; it is a {type(model).__name__}")
    return model


def probe_mlp_structure(trial):
    layers = getattr(student_mlp(trial), "layers", None)
    if not isinstance(layers, nn.Sequential):
        raise StudentError("MLP must keep its layers in `self.layers`, an nn.Sequential")
    return {"layers": Numbers([LAYER_CODES.get(type(m), 0) for m in layers]),
            "linear_shapes": Numbers([[m.in_features, m.out_features] for m in layers if isinstance(m, nn.Linear)]),
            "dropout": Numbers([m.p for m in layers if isinstance(m, nn.Dropout)], dtype=torch.float64)}


def probe_mlp_forward(trial):
    model = student_mlp(trial).to(trial.device)
    params = list(model.parameters())
    flat = trial.inputs["params"]
    if sum(p.numel() for p in params) != flat.numel():
        raise StudentError(f"MLP has {sum(p.numel() for p in params)} parameters; the layers in the docstring "
                           f"have {flat.numel()}")
    with torch.no_grad():
        offset = 0
        for p in params:
            p.copy_(flat[offset:offset + p.numel()].reshape(p.shape))
            offset += p.numel()
    model.eval()
    return {"logits": model(trial.inputs["X"])}


def trained_iris(trial):
    split = data.iris_split()
    return memo(trial, "fit_iris", lambda: trial.target("fit_iris")(split.X_train.to(trial.device),
                                                                    split.y_train.to(trial.device),
                                                                    trial.inputs["epochs"]))


MLP_LAYERS = [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear, nn.ReLU, nn.Linear]


def probe_fit_iris(trial):
    """The trained MLP's layers as plain data (the grader rebuilds them and predicts), and its forward's logits."""
    model, losses = outputs_named(trained_iris(trial), ("model", "losses"), "fit_iris").values()
    if not isinstance(model, nn.Module):
        raise StudentError(f"fit_iris should return (model, losses); its model is a {type(model).__name__}")
    model.eval()
    with torch.no_grad():  # held-out features only: their labels stay with the grader
        logits = model(data.iris_split().X_test.to(trial.device))
    losses = [float(x) for x in losses]
    return {"logits": logits, "is_mlp": isinstance(model, trial.target("MLP")),
            **rebuild.report(getattr(model, "layers", None), "layers"),
            "losses": Numbers(losses, dtype=torch.float64), "loss_fell": len(losses) >= 2 and losses[-1] < losses[0]}


def rebuilt_logits(values, inputs):
    """The logits of ``self.layers`` rebuilt here from its weights, for the held-out and the fresh flowers."""
    layers = rebuild.chain(values, "layers")
    return {"rebuilt/logits": rebuild.predict(layers, data.iris_split().X_test),
            "rebuilt/fresh_logits": rebuild.predict(layers, fresh.iris().inputs)}


def the_mlp_of_the_docstring(values, inputs):
    found = rebuild.kinds(values, "layers")
    if found != MLP_LAYERS:
        return (f"self.layers should be {', '.join(k.__name__ for k in MLP_LAYERS)}; the trained model's are "
                f"{', '.join(k.__name__ for k in found) or 'missing'}")
    forward, layers = values.get("logits"), values["rebuilt/logits"]
    if forward is None or forward.shape != layers.shape or not torch.allclose(forward.double(), layers.double(),
                                                                              atol=1e-4, rtol=1e-4):
        return "the model's forward(x) is not self.layers(x)"
    return None


def held_out_accuracy(values, inputs):
    labels = data.iris_split().y_test
    logits = prediction(values, "rebuilt/logits", (len(labels), 3))
    return float((logits.argmax(dim=1) == labels).double().mean())


def fresh_accuracy(values, inputs):
    labels = fresh.iris().needed_answers()
    logits = prediction(values, "rebuilt/fresh_logits", (len(labels), 3))
    return float((logits.argmax(dim=1) == labels).double().mean())


def one_hot(labels):
    return nn.functional.one_hot(labels, 3).double()


def majority_class(inputs):
    split = data.iris_split()
    most = split.y_train.mode().values
    return {"rebuilt/logits": one_hot(torch.full_like(split.y_test, most)),
            "rebuilt/fresh_logits": one_hot(torch.full((fresh.N_FLOWERS,), int(most)))}


def nearest_neighbour(inputs):
    split = data.iris_split()

    def label(X):
        return split.y_train[torch.cdist(X.double(), split.X_train.double()).argmin(dim=1)]

    return {"rebuilt/logits": one_hot(label(split.X_test)), "rebuilt/fresh_logits": one_hot(label(fresh.iris().inputs))}


def probe_compare(trial):
    split = data.iris_split()
    curves = trial.target("compare_optimizers")(split.X_train.to(trial.device), split.y_train.to(trial.device),
                                                trial.inputs["epochs"], trial.inputs["seed"])
    if not isinstance(curves, dict) or set(curves) != {"sgd", "adam"}:
        raise StudentError("compare_optimizers should return a dict with the keys 'sgd' and 'adam'")
    return {name: Numbers(list(curves[name]), dtype=torch.float64) for name in ("sgd", "adam")}


def probe_fit_iris_arguments(trial):
    """``fit_iris`` for ``epochs`` epochs on the inputs' device: how many losses it returns, and where its model's
    parameters live (as a tensor without values on their device, for the verdict's device check)."""
    split = data.iris_split()
    result = trial.target("fit_iris")(split.X_train.to(trial.device), split.y_train.to(trial.device),
                                      trial.inputs["epochs"])
    model, losses = outputs_named(result, ("model", "losses"), "fit_iris").values()
    if not isinstance(model, nn.Module):
        raise StudentError(f"fit_iris should return (model, losses); its model is a {type(model).__name__}")
    where = [p.detach().reshape(-1)[:0] for p in model.parameters()]
    return {"n_losses": Numbers(len(list(losses))), "parameters": torch.cat(where) if where else None}


def probe_plot(trial):
    i = trial.inputs
    curves = {name: i["losses"][k].tolist() for k, name in enumerate(i["names"])}
    return describe_figure(trial.target("plot_loss_curves")(curves), "plot_loss_curves")


def draws_each_curve(values, inputs):
    """Each curve drawn as a line of its losses, and named in the legend."""
    drawing = figures.Drawing.of(values)
    for name, losses in zip(inputs["names"], inputs["losses"]):
        if drawing.line_through(None, losses) is None:
            return (f"no line draws the {name!r} losses {[round(x, 3) for x in losses.tolist()]}: plot each curve's "
                    "values (ax.plot(epochs, losses, label=name))")
    missing = [name for name in inputs["names"] if name not in drawing.legend_entries()]
    if missing:
        return f"the legend does not name {', '.join(map(repr, missing))}: label each line with its key (label=name)"
    return None


# --- what wrong answers look like ------------------------------------------------------------------

def epoch_by_hand(i, zero_grad=True, per_batch_mean=False, softmax_first=False, step=True):
    """What ``train_epoch`` gives the probe's model, loss and optimizer, done right or with one mistake."""
    model = linear_model(i)
    optimizer, loss_fn = OPTIMIZERS[i["optimizer"]](model.parameters()), LOSSES[i["loss"]]()
    losses, sizes = [], []
    for xb, yb in fixed_loader(i):
        if zero_grad:
            optimizer.zero_grad()
        out = model(xb)
        loss = loss_fn(torch.softmax(out, dim=1) if softmax_first else out, yb)
        loss.backward()
        if step:
            optimizer.step()
        losses.append(loss.item()), sizes.append(len(yb))
    mean = sum(losses) / len(losses) if per_batch_mean else sum(x * n for x, n in zip(losses, sizes)) / sum(sizes)
    return {"loss": mean, "weight": model[0].weight.detach(), "bias": model[0].bias.detach()}


WEIGHTS = ["weight", "bias"]
EPOCH_MISTAKES = [
    like("the gradients were never zeroed, so each step used the running sum of all earlier batches' gradients: "
         "call optimizer.zero_grad() before backward()", lambda i: epoch_by_hand(i, zero_grad=False), outputs=WEIGHTS),
    like("you applied a softmax before the loss: nn.CrossEntropyLoss applies log-softmax itself, so pass it the "
         "logits", lambda i: epoch_by_hand(i, softmax_first=True), outputs=WEIGHTS),
    like("the weights did not move: call optimizer.step() after loss.backward() (and optimizer.zero_grad() before "
         "backward, not between backward and step)", lambda i: epoch_by_hand(i, step=False), outputs=WEIGHTS),
    like("you averaged the batch losses, but the last batch is smaller: weight each batch's loss by its number of "
         "samples", lambda i: epoch_by_hand(i, per_batch_mean=True), outputs=["loss"]),
]
TRAINED_LINEAR = {"weight": "`inner.0.weight` (the weight of the model's nn.Linear layer) after one epoch",
                  "bias": "`inner.0.bias` (the bias of the model's nn.Linear layer) after one epoch"}


def initialise(model, generator):
    """Each nn.Linear's weights drawn as its ``reset_parameters`` draws them, from ``generator``."""
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                bound = 1 / math.sqrt(layer.in_features)
                layer.bias.uniform_(-bound, bound, generator=generator)


def curves_by_hand(i, seed_each=True, fresh_model=True, swapped=False):
    """``compare_optimizers``' two curves, done right or with one mistake, on the CPU. The MLP's initial weights
    are drawn as ``torch.manual_seed(seed)`` then ``MLP(...)`` draw them, from a generator of its own (the
    grading process's random state is neither used nor changed)."""
    from torch.utils.data import DataLoader, TensorDataset

    split = data.iris_split()
    curves, model, generator = {}, None, torch.Generator()
    for k, (name, make) in enumerate((("sgd", torch.optim.SGD), ("adam", torch.optim.Adam))):
        if seed_each or k == 0:
            generator.manual_seed(i["seed"])
        if fresh_model or model is None:
            model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Dropout(0.0), nn.Linear(32, 32), nn.ReLU(),
                                  nn.Linear(32, 3))
            initialise(model, generator)
        loader = DataLoader(TensorDataset(split.X_train, split.y_train), batch_size=16, shuffle=True,
                            generator=torch.Generator().manual_seed(i["seed"]))
        optimizer, curve = make(model.parameters(), lr=0.01), []
        for _ in range(i["epochs"]):
            model.train()
            total, count = 0.0, 0
            for xb, yb in loader:
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(model(xb), yb)
                loss.backward()
                optimizer.step()
                total, count = total + loss.item() * len(yb), count + len(yb)
            curve.append(total / count)
        curves[name] = torch.tensor(curve, dtype=torch.float64)
    return {"sgd": curves["adam"], "adam": curves["sgd"]} if swapped else curves


CURVE_MISTAKES = [
    like("the curves are swapped: 'sgd' holds Adam's losses and 'adam' SGD's",
         lambda i: curves_by_hand(i, swapped=True)),
    like("Adam's model did not start from the weights SGD's started from: call torch.manual_seed(seed) again before "
         "building each optimizer's model", lambda i: curves_by_hand(i, seed_each=False), outputs=["adam"]),
    like("Adam went on training the model SGD had trained: build a fresh MLP for each optimizer",
         lambda i: curves_by_hand(i, fresh_model=False), outputs=["adam"]),
]


def softmax_logits(i):
    model = nn.Sequential(nn.Linear(i["n_in"], i["n_hidden"]), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(i["n_hidden"], i["n_hidden"]), nn.ReLU(), nn.Linear(i["n_hidden"], i["n_out"]))
    torch.nn.utils.vector_to_parameters(i["params"].cpu(), model.parameters())
    return torch.softmax(model.eval()(i["X"].cpu()), dim=1)


# --- checks ----------------------------------------------------------------------------------------

EXERCISE.add(
    Check("TensorPairs", "TensorPairs", 2, "len(ds) and ds[i] give the rows; lengths that differ raise ValueError",
          probe_dataset, Match(explain={"raises_on_mismatch": "TensorPairs(X, y) with len(X) != len(y) should "
                                                              "raise ValueError"}),
          classification, (case(0, n=7),)),
    Check("make_loader", "make_loader", 2, "batches of batch_size in order; shuffled by the seeded generator",
          probe_loader,
          Match(explain={"same_seed_same_order": "two loaders with the same seed gave different orders: pass "
                                                 "generator=torch.Generator().manual_seed(seed) to the DataLoader",
                         "batch_sizes": "the batches do not have batch_size rows (the last one may be smaller)"},
                mistakes=[like("the data were not shuffled: pass shuffle=shuffle to the DataLoader",
                               lambda i: {"y_shuffled": torch.arange(len(i["y"]))})]),
          classification, (case(1, n=10),)),
    Check("train_epoch", "train_epoch", 3, "zero_grad, forward, loss, backward, step for every batch; "
          "returns the mean loss per sample", probe_train_epoch,
          Match(**TRAINING, explain=MODE_HINTS, mistakes=EPOCH_MISTAKES, names=TRAINED_LINEAR),
          classification, (case(2, n=10),)),
    Check("evaluate", "evaluate", 3, "mean loss and accuracy in eval mode under torch.no_grad()",
          probe_evaluate,
          Match(**TRAINING, explain=MODE_HINTS),
          classification, (case(3, n=10),)),
    Check("MLP.__init__", "MLP.__init__", 2, "self.layers: Linear, ReLU, Dropout, Linear, ReLU, Linear",
          probe_mlp_structure,
          Match(explain={"layers": "self.layers should hold, in order: Linear, ReLU, Dropout, Linear, ReLU, Linear",
                         "linear_shapes": "the Linear layers should map n_in -> n_hidden -> n_hidden -> n_out",
                         "dropout": "the Dropout layer should drop with probability p_drop"}),
          mlp_inputs, (case(4),)),
    Check("MLP.forward", "MLP.forward", 2, "forward gives the (N, n_out) logits", probe_mlp_forward,
          Match(rtol=1e-5, atol=1e-6, mistakes=[like(
              "forward applied a softmax: return the logits, nn.CrossEntropyLoss applies log-softmax itself",
              lambda i: {"logits": softmax_logits(i)})]),
          mlp_inputs, (case(5),)),
    Check("fit_iris", "fit_iris", 3, "the trained MLP classifies the 50 held-out flowers and 150 fresh ones (labels "
          "kept by the grader)",
          probe_fit_iris,
          Threshold("held-out accuracy", held_out_accuracy, threshold=0.9, margin=0.04,
                    hint="check train_epoch and evaluate first; then the optimizer (Adam, lr=0.01) and the "
                         "number of epochs",
                    fresh=[Measure(f"accuracy on {fresh.N_FLOWERS} flowers drawn for this run", fresh_accuracy,
                                   threshold=0.88, margin=0.05)],
                    baselines={"majority class": majority_class, "1-nearest neighbour": nearest_neighbour},
                    derive=rebuilt_logits,
                    asked_model=[is_true("is_mlp", "fit_iris should return an MLP, the class of this exercise"),
                                 Require(the_mlp_of_the_docstring),
                                 is_true("loss_fell", "the training losses fit_iris returned did not fall")]),
          iris_inputs, (case(0),)),
    Check("compare_optimizers", "compare_optimizers", 2, "SGD and Adam loss curves from the same start",
          probe_compare, Match(rtol=1e-3, atol=1e-5, mistakes=CURVE_MISTAKES),
          lambda g, epochs=8, train_seed=0: {"epochs": epochs, "seed": train_seed}, (case(0),)),
    Check("plot_loss_curves", "plot_loss_curves", 1, "a line per optimizer drawing its losses, labelled axes and "
          "a legend naming them",
          probe_plot,
          Holds(at_least("figure/lines", 2, "lines (one per optimizer)"),
                is_true("figure/labelled", "label both axes (ax.set_xlabel('epoch'), ax.set_ylabel('loss'))"),
                is_true("figure/legend", "add a legend naming each optimizer (label=name, then ax.legend())"),
                Require(draws_each_curve)),
          loss_curves, (case(0),)),
)

### BEGIN HIDDEN TESTS
# Every argument varies: the loader's batch size and seed, the loss and the optimizer a loop is handed, p_drop, the
# epochs of fit_iris (whose model must also live on the inputs' device: a case on the meta device, no data), and
# the curves plotted.
EXERCISE.add(
    EXERCISE.check("TensorPairs").hidden_variant(1, case(401, n=1, d=5), case(402, n=12, d=1)),
    EXERCISE.check("make_loader").hidden_variant(1, case(403, n=9, d=2), case(404, n=3, d=1),
                                                 case(413, n=11, d=2, batch_size=3, loader_seed=11)),
    EXERCISE.check("train_epoch").hidden_variant(2, case(405, n=13, d=5, c=4), case(406, n=3, d=2, c=2),
                                                 case(414, n=9, d=3, c=3, loss="label_smoothing", optimizer="adam")),
    EXERCISE.check("evaluate").hidden_variant(2, case(407, n=11, d=4, c=5), case(408, n=1, d=2, c=2),
                                              case(415, n=9, d=3, c=4, loss="label_smoothing")),
    EXERCISE.check("MLP.__init__").hidden_variant(1, case(409, d=2, h=5, c=7),
                                                  case(416, d=3, h=4, c=2, p_drop=0.35)),
    EXERCISE.check("MLP.forward").hidden_variant(1, case(410, n=1, d=2, h=3, c=2), case(411, n=20, d=6, h=16, c=4)),
    EXERCISE.check("compare_optimizers").hidden_variant(1, case(412, epochs=5, train_seed=7)),
    EXERCISE.check("plot_loss_curves").hidden_variant(1, case(417, names=("sgd", "adam", "rmsprop"), epochs=7)),
    Check("fit_iris.arguments", "fit_iris", 1, "trains for `epochs` epochs (one loss each) a model on the device of "
          "X_train", probe_fit_iris_arguments,
          Match(names={"n_losses": "the number of losses fit_iris returned",
                       "parameters": "the model's parameters"}),
          iris_inputs, (case(418, epochs=2), case(419, epochs=0, device="meta")), hidden=True),
)
### END HIDDEN TESTS
