"""Rubric for exercise 6: a CNN on MNIST, trained by the student's code, measured on held-out images here."""

import re

import torch
from torch import nn

from grader import data, figures, fresh, rebuild
from grader.checks import MODE_HINTS, Holds, Match, Require, at_least, every_parameter_used, is_true, like
from grader.thresholds import Measure, Threshold, prediction
from grader.probes import Numbers, Spy, StudentError, describe_figure, memo, unused_parameters
from grader.rubric import Check, Exercise, case

EXERCISE = Exercise("ex06_cnn_mnist", "A CNN on MNIST", time_limit=180)
TRAINING = dict(rtol=1e-4, atol=1e-6)


# --- inputs ----------------------------------------------------------------------------------------

def tiny_images(g, n=12, side=4, c=3, hidden=6, batch_size=5, loader_seed=3, epochs=2, lr=0.01):
    """Small seeded 'images', labels, and the weights of a fixed small classifier; the batch size and seed the
    loader and ``predict`` are given, and the epochs and learning rate ``train_cnn`` is given."""
    d = side * side
    return {"images": torch.rand(n, 1, side, side, generator=g), "labels": torch.randint(0, c, (n,), generator=g),
            "W1": torch.randn(hidden, d, generator=g) * 0.5, "b1": torch.randn(hidden, generator=g) * 0.1,
            "W2": torch.randn(c, hidden, generator=g) * 0.5, "b2": torch.randn(c, generator=g) * 0.1,
            "batch_size": batch_size, "seed": loader_seed, "epochs": epochs, "lr": lr}


def grid_inputs(g, n=12, shown=12):
    """``plot_predictions`` is given the first ``shown`` held-out images with random predicted digits, and ``n``."""
    return {"n": n, "shown": shown, "predicted": torch.randint(0, 10, (shown,), generator=g)}


def digits_inputs(g, n=3):
    return {"x": torch.rand(n, 1, 28, 28, generator=g)}


# --- probes ----------------------------------------------------------------------------------------

def small_classifier(i, dropout=False):
    """The fixed small classifier, on the images' device (moved before its weights are set: meta ones included)."""
    first, second = nn.Linear(*i["W1"].shape[::-1]), nn.Linear(*i["W2"].shape[::-1])
    middle = [nn.ReLU(), nn.Dropout(0.5)] if dropout else [nn.ReLU()]
    model = nn.Sequential(nn.Flatten(), first, *middle, second).to(i["images"].device)
    with torch.no_grad():
        first.weight.copy_(i["W1"]), first.bias.copy_(i["b1"]), second.weight.copy_(i["W2"]), second.bias.copy_(i["b2"])
    return model


def fixed_batches(i, size=4):
    return [(i["images"][k:k + size], i["labels"][k:k + size]) for k in range(0, len(i["labels"]), size)]


def student_cnn(trial):
    model = trial.target("CNN")()
    if not isinstance(model, nn.Module):
        raise StudentError(f"CNN() should be an nn.Module; it is a {type(model).__name__}")
    return model.to(trial.device)


# The docstring's layers, in order; each pair in COMMUTING gives the same outputs in either order, so either is right.
LAYERS = ("Conv2d(1, 16, 5)", "ReLU", "MaxPool2d(2)", "Conv2d(16, 32, 5)", "ReLU", "MaxPool2d(2)",
          "Flatten", "Linear(512, 128)", "ReLU", "Dropout(0.5)", "Linear(128, 10)")
COMMUTING = {("MaxPool2d(2)", "ReLU"), ("Dropout(0.5)", "ReLU")}


def signature(layer: nn.Module) -> str:
    """A layer as the docstring writes it: its class and the settings that shape it."""
    def size(k):
        k = tuple(k) if isinstance(k, (tuple, list)) else (k, k)
        return str(k[0]) if len(set(k)) == 1 else str(k)

    if isinstance(layer, nn.Conv2d):
        return f"Conv2d({layer.in_channels}, {layer.out_channels}, {size(layer.kernel_size)})"
    if isinstance(layer, nn.Linear):
        return f"Linear({layer.in_features}, {layer.out_features})"
    if isinstance(layer, nn.MaxPool2d):
        return f"MaxPool2d({size(layer.kernel_size)})"
    if isinstance(layer, nn.Dropout):
        return f"Dropout({layer.p:g})"
    return type(layer).__name__


def layer_signatures(model: nn.Module) -> list[str]:
    """The leaf layers of ``self.features`` then ``self.classifier``, commuting neighbours in the docstring's order."""
    found = [signature(m) for part in ("features", "classifier") if isinstance(getattr(model, part, None), nn.Module)
             for m in getattr(model, part).modules() if not list(m.children())]
    for _ in found:
        for k in range(len(found) - 1):
            if (found[k], found[k + 1]) in COMMUTING:
                found[k], found[k + 1] = found[k + 1], found[k]
    return found


def layers_as_given(values, inputs):
    found = figures.text_of(values.get("layers"))
    if found == ", ".join(LAYERS):
        return None
    return (f"the layers of self.features then self.classifier should be, in order, {', '.join(LAYERS)} (the "
            f"docstring's); they are {found or 'none'}")


def probe_structure(trial):
    model = student_cnn(trial)
    kinds = [type(m) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        logits = model(trial.inputs["x"])
    if not isinstance(logits, torch.Tensor):
        raise StudentError(f"CNN.forward should return a Tensor of logits; it returned a {type(logits).__name__}")
    tracked = model(trial.inputs["x"])  # with autograd: does every parameter reach the logits?
    return {"conv_layers": kinds.count(nn.Conv2d), "pooling_layers": kinds.count(nn.MaxPool2d),
            "linear_layers": kinds.count(nn.Linear), "logits": logits,
            "unused_parameters": unused_parameters(model, [tracked] if isinstance(tracked, torch.Tensor) else []),
            "layers": figures.text_tensor(", ".join(layer_signatures(model)))}


def logits_are_logits(values, inputs):
    logits = values.get("logits")
    n = inputs["x"].shape[0]
    if logits is None or tuple(logits.shape) != (n, 10):
        return f"forward should give logits of shape ({n}, 10); got {None if logits is None else tuple(logits.shape)}"
    sums = logits.double().sum(dim=1)
    if (logits >= 0).all() and torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
        return ("forward gives probabilities (each row sums to 1): remove the softmax, nn.CrossEntropyLoss "
                "expects logits and applies log-softmax itself")
    return None


def probe_loader(trial):
    i = trial.inputs
    loader = trial.target("mnist_loader")(i["images"], i["labels"], i["batch_size"], i["seed"])
    pairs = list(loader)
    return {"batch_sizes": Numbers([len(yb) for _, yb in pairs]), "labels_in_order": torch.cat([yb for _, yb in pairs])}


def probe_train(trial):
    i = trial.inputs
    model = Spy(small_classifier(i))
    model.eval()
    losses = trial.target("train_cnn")(model, fixed_batches(i), i["epochs"], i["lr"])
    first = model.inner[1]
    return {"ran_in_training_mode": model.facts()["ran_in_training_mode"], "weight": first.weight,
            "bias": first.bias, "losses": Numbers(list(losses), dtype=torch.float64)}


def probe_predict(trial):
    i = trial.inputs
    model = Spy(small_classifier(i, dropout=True))
    model.train()
    predicted = trial.target("predict")(model, i["images"], i["batch_size"])
    facts = model.facts()
    return {"ran_in_eval_mode": facts["ran_in_eval_mode"], "ran_without_autograd": facts["ran_without_autograd"],
            "predicted": predicted, "batch_sizes": Numbers(model.batch_sizes, dtype=torch.int64)}


def trained(trial):
    """The student's CNN trained by the student's code, and what training did to it."""
    def fit():
        split = data.mnist_split()  # the probe keeps only what training needs, and the held-out images
        images, labels = split.X_train.to(trial.device), split.y_train.to(trial.device)
        model = student_cnn(trial)
        before = [p.detach().clone() for p in model.parameters()]
        losses = trial.target("train_cnn")(model, trial.target("mnist_loader")(images, labels, 32, trial.seed),
                                           trial.inputs["epochs"])
        moved = bool(before) and any(not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters()))
        losses = [float(x) for x in losses]
        return model, moved, len(losses) >= 2 and losses[-1] < losses[0]
    return memo(trial, "train_cnn", fit)


def probe_trained(trial):
    """The trained CNN's layers as plain data (the grader rebuilds them and predicts), and its forward's logits for
    the held-out images (their labels stay with the grader)."""
    model, moved, loss_fell = trained(trial)
    images = data.mnist_split().X_test[:100].to(trial.device)
    model.eval()
    with torch.no_grad():
        logits = model(images)
    return {"logits": logits, "moved": moved, "loss_fell": loss_fell,
            **rebuild.report(getattr(model, "features", None), "features"),
            **rebuild.report(getattr(model, "classifier", None), "classifier")}


def rebuilt_logits(values, inputs):
    """``classifier(features(x))`` rebuilt here from the weights, on the held-out digits and the moved ones."""
    model = torch.nn.Sequential(rebuild.chain(values, "features"), rebuild.chain(values, "classifier"))
    return {"rebuilt/logits": rebuild.predict(model, data.mnist_split().X_test),
            "rebuilt/fresh_logits": rebuild.predict(model, fresh.mnist().inputs)}


def the_cnn_of_the_docstring(values, inputs):
    if nn.Conv2d not in rebuild.kinds(values, "features"):
        return "self.features should hold nn.Conv2d layers (and nn.MaxPool2d), as the docstring describes"
    own, rebuilt = values.get("logits"), values["rebuilt/logits"][:100]
    if own is None or own.shape != rebuilt.shape or not torch.allclose(own.double(), rebuilt.double(), atol=1e-3,
                                                                       rtol=1e-3):
        return "the model's forward(x) is not self.classifier(self.features(x))"
    return None


def held_out_accuracy(values, inputs):
    labels = data.mnist_split().y_test
    logits = prediction(values, "rebuilt/logits", (len(labels), 10))
    return float((logits.argmax(dim=1) == labels).double().mean())


def fresh_accuracy(values, inputs):
    labels = fresh.mnist().needed_answers()
    logits = prediction(values, "rebuilt/fresh_logits", (len(labels), 10))
    return float((logits.argmax(dim=1) == labels).double().mean())


def as_logits(classify):
    """A classifier that needs no training, as the outputs the probe reports."""
    def outputs(inputs):
        return {name: nn.functional.one_hot(classify(images), 10).double()
                for name, images in (("rebuilt/logits", data.mnist_split().X_test),
                                     ("rebuilt/fresh_logits", fresh.mnist().inputs))}
    return outputs


def nearest_training_image(images):
    split = data.mnist_split()
    train = split.X_train.reshape(len(split.X_train), -1)
    return split.y_train[torch.cat([torch.cdist(chunk.reshape(len(chunk), -1), train).argmin(dim=1)
                                    for chunk in images.split(250)])]


BASELINES = {"majority class": as_logits(lambda images: torch.full((len(images),), int(data.mnist_split().y_train.mode().values))),
             "1-nearest neighbour on pixels": as_logits(nearest_training_image)}


def probe_plot(trial):
    i = trial.inputs
    images = trial.place(data.mnist_split().X_test[:i["shown"]])
    return describe_figure(trial.target("plot_predictions")(images, i["predicted"], i["n"]), "plot_predictions")


def each_image_with_its_digit(values, inputs):
    """The first n images, each in a subplot titled with its predicted digit, and no other image."""
    drawing = figures.Drawing.of(values)
    n, predicted = inputs["n"], inputs["predicted"].tolist()
    if len(drawing.images) != n:
        return f"plot_predictions(images, predicted, n={n}) should show the first {n} images; it shows " \
               f"{len(drawing.images)}"
    images = data.mnist_split().X_test[:n, 0].double()
    for k in range(n):
        shown = [im for im in drawing.images if im.data is not None and figures.close(im.data, images[k])]
        if not shown:
            return f"image {k} (the {k + 1}th given) is not shown as it is (ax.imshow(images[{k}, 0], cmap='gray'))"
        titles = [drawing.axes[im.axes].title for im in shown if im.axes in drawing.axes]
        if not any(str(predicted[k]) in re.findall(r"\d+", title) for title in titles):
            return f"image {k} is predicted {predicted[k]}, but its subplot's title says {titles[0]!r}" if titles \
                else f"image {k}'s subplot has no title giving its predicted digit"
    return None


# --- what wrong answers look like ------------------------------------------------------------------

def train_by_hand(i, softmax_first=False, zero_grad=True, schedule="epoch", optimizer="adam", step=True):
    """What ``train_cnn`` gives the probe's model (its epochs and learning rate), done right or with one mistake:
    the cosine schedule stepped per ``"epoch"``, per ``"batch"`` or never (None), ``"adam"`` or ``"sgd"``."""
    import warnings

    model = small_classifier(i)
    epochs = i.get("epochs", 2)
    optimizer = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[optimizer](model.parameters(), lr=i.get("lr", 0.01))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    with warnings.catch_warnings():  # without a step, torch warns that the schedule runs ahead of the optimizer
        warnings.simplefilter("ignore")
        for _ in range(epochs):
            for xb, yb in fixed_batches(i):
                if zero_grad:
                    optimizer.zero_grad()
                out = model(xb)
                loss = nn.functional.cross_entropy(torch.softmax(out, dim=1) if softmax_first else out, yb)
                loss.backward()
                if step:
                    optimizer.step()
                if schedule == "batch":
                    scheduler.step()
            if schedule == "epoch":
                scheduler.step()
    return {"weight": model[1].weight.detach(), "bias": model[1].bias.detach()}


WEIGHTS = ["weight", "bias"]
TRAINING_MISTAKES = [
    like("you applied a softmax before nn.CrossEntropyLoss, which applies log-softmax itself: pass the logits",
         lambda i: train_by_hand(i, softmax_first=True), outputs=WEIGHTS),
    like("the gradients were never zeroed: call optimizer.zero_grad() before each backward()",
         lambda i: train_by_hand(i, zero_grad=False), outputs=WEIGHTS),
    like("the learning-rate schedule was stepped after every batch: call scheduler.step() once per epoch, after "
         "the epoch's batches", lambda i: train_by_hand(i, schedule="batch"), outputs=WEIGHTS),
    like("the learning rate never decayed: call scheduler.step() once at the end of each epoch",
         lambda i: train_by_hand(i, schedule=None), outputs=WEIGHTS),
    like("these are the weights plain SGD gives: the docstring asks for torch.optim.Adam(model.parameters(), lr=lr)",
         lambda i: train_by_hand(i, optimizer="sgd"), outputs=WEIGHTS),
    like("the weights did not move: call optimizer.step() after each loss.backward()",
         lambda i: train_by_hand(i, step=False), outputs=WEIGHTS),
]
TRAINED_LINEAR = {"weight": "`inner.1.weight` (the weight of the model's first nn.Linear) after training",
                  "bias": "`inner.1.bias` (the bias of the model's first nn.Linear) after training"}


# --- checks ----------------------------------------------------------------------------------------

EXERCISE.add(
    Check("CNN", "CNN", 2, "the docstring's Conv2d, MaxPool2d and Linear layers, in order; gives (N, 10) logits",
          probe_structure,
          Holds(at_least("conv_layers", 1, "nn.Conv2d layer(s)"), at_least("pooling_layers", 1, "nn.MaxPool2d layer(s)"),
                at_least("linear_layers", 1, "nn.Linear layer(s)"), Require(logits_are_logits),
                Require(layers_as_given),
                every_parameter_used("the logits", "a layer that forward skips, or whose result it discards")),
          digits_inputs, (case(0),)),
    Check("mnist_loader", "mnist_loader", 1, "shuffled mini-batches in the order of the seeded generator",
          probe_loader, Match(), tiny_images, (case(1, n=13),)),
    Check("train_cnn", "train_cnn", 3, "Adam on CrossEntropyLoss of the logits, zero_grad every batch, "
          "cosine learning-rate decay per epoch",
          probe_train,
          Match(**TRAINING, explain=MODE_HINTS, mistakes=TRAINING_MISTAKES, names=TRAINED_LINEAR),
          tiny_images, (case(2),)),
    Check("predict", "predict", 2, "argmax of the logits in eval mode, under torch.no_grad()", probe_predict,
          Match(explain=MODE_HINTS), tiny_images, (case(3),)),
    Check("trained_accuracy", "train_cnn", 5,
          "your CNN, trained by your code with a fixed seed, classifies the 1,000 held-out images, and the same "
          "digits moved and speckled", probe_trained,
          Threshold("held-out accuracy", held_out_accuracy, threshold=0.95, margin=0.015,
                    hint="check train_cnn and predict first; then the architecture (two conv blocks of 5x5 "
                         "kernels) and the learning rate",
                    fresh=[Measure("accuracy on the held-out digits moved and speckled for this run", fresh_accuracy,
                                   threshold=0.93, margin=0.015)],
                    baselines=BASELINES, baseline_margin=0.005, derive=rebuilt_logits,
                    asked_model=[Require(the_cnn_of_the_docstring),
                                 is_true("moved", "training did not change the CNN's parameters"),
                                 is_true("loss_fell", "the training losses train_cnn returned did not fall")]),
          lambda g, epochs=10: {"epochs": epochs}, (case(0),)),
    Check("plot_predictions", "plot_predictions", 1, "a grid of the first n images, each titled with its predicted "
          "digit (judged on the images and titles drawn)",
          probe_plot, Holds(Require(each_image_with_its_digit)), grid_inputs, (case(0),)),
)

### BEGIN HIDDEN TESTS
# Every argument varies (the loader's batch size and seed, train_cnn's epochs and learning rate, predict's batch
# size, the n images plotted); predict also runs on the meta device (shapes and dtypes, no data), where its result
# must stay.
EXERCISE.add(
    EXERCISE.check("CNN").hidden_variant(1, case(601, n=1), case(602, n=7)),
    EXERCISE.check("mnist_loader").hidden_variant(1, case(606, n=10, batch_size=4, loader_seed=8)),
    EXERCISE.check("train_cnn").hidden_variant(2, case(603, n=9, side=5, c=4, hidden=3),
                                               case(607, n=8, epochs=3, lr=0.003)),
    EXERCISE.check("predict").hidden_variant(1, case(604, n=11, side=3, c=5), case(605, n=1),
                                             case(608, n=10, batch_size=3), case(609, n=7, device="meta")),
    EXERCISE.check("plot_predictions").hidden_variant(1, case(610, n=5, shown=8), case(611, n=3, device="offhost")),
)
### END HIDDEN TESTS
