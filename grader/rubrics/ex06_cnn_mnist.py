"""Rubric for exercise 6: a CNN on MNIST, trained by the student's code, measured on held-out images here."""

import torch
from torch import nn

from grader import data, fresh, rebuild
from grader.checks import MODE_HINTS, Holds, Match, Require, at_least, is_true, like
from grader.thresholds import Measure, Threshold, prediction
from grader.probes import Numbers, Spy, StudentError, describe_figure, memo
from grader.rubric import Check, Exercise, case

EXERCISE = Exercise("ex06_cnn_mnist", "A CNN on MNIST", time_limit=180)
TRAINING = dict(rtol=1e-4, atol=1e-6)


# --- inputs ----------------------------------------------------------------------------------------

def tiny_images(g, n=12, side=4, c=3, hidden=6):
    """Small seeded 'images', labels, and the weights of a fixed small classifier."""
    d = side * side
    return {"images": torch.rand(n, 1, side, side, generator=g), "labels": torch.randint(0, c, (n,), generator=g),
            "W1": torch.randn(hidden, d, generator=g) * 0.5, "b1": torch.randn(hidden, generator=g) * 0.1,
            "W2": torch.randn(c, hidden, generator=g) * 0.5, "b2": torch.randn(c, generator=g) * 0.1}


def digits_inputs(g, n=3):
    return {"x": torch.rand(n, 1, 28, 28, generator=g)}


# --- probes ----------------------------------------------------------------------------------------

def small_classifier(i, dropout=False):
    first, second = nn.Linear(*i["W1"].shape[::-1]), nn.Linear(*i["W2"].shape[::-1])
    with torch.no_grad():
        first.weight.copy_(i["W1"]), first.bias.copy_(i["b1"]), second.weight.copy_(i["W2"]), second.bias.copy_(i["b2"])
    middle = [nn.ReLU(), nn.Dropout(0.5)] if dropout else [nn.ReLU()]
    return nn.Sequential(nn.Flatten(), first, *middle, second).to(i["images"].device)


def fixed_batches(i, size=4):
    return [(i["images"][k:k + size], i["labels"][k:k + size]) for k in range(0, len(i["labels"]), size)]


def student_cnn(trial):
    model = trial.target("CNN")()
    if not isinstance(model, nn.Module):
        raise StudentError(f"CNN() should be an nn.Module; it is a {type(model).__name__}")
    return model.to(trial.device)


def probe_structure(trial):
    model = student_cnn(trial)
    kinds = [type(m) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        logits = model(trial.inputs["x"])
    if not isinstance(logits, torch.Tensor):
        raise StudentError(f"CNN.forward should return a Tensor of logits; it returned a {type(logits).__name__}")
    return {"conv_layers": kinds.count(nn.Conv2d), "pooling_layers": kinds.count(nn.MaxPool2d),
            "linear_layers": kinds.count(nn.Linear), "logits": logits}


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
    loader = trial.target("mnist_loader")(i["images"], i["labels"], 5, 3)
    pairs = list(loader)
    return {"batch_sizes": Numbers([len(yb) for _, yb in pairs]), "labels_in_order": torch.cat([yb for _, yb in pairs])}


def probe_train(trial):
    i = trial.inputs
    model = Spy(small_classifier(i))
    model.eval()
    losses = trial.target("train_cnn")(model, fixed_batches(i), 2, 0.01)
    first = model.inner[1]
    return {"ran_in_training_mode": model.facts()["ran_in_training_mode"], "weight": first.weight,
            "bias": first.bias, "losses": Numbers(list(losses), dtype=torch.float64)}


def probe_predict(trial):
    i = trial.inputs
    model = Spy(small_classifier(i, dropout=True))
    model.train()
    predicted = trial.target("predict")(model, i["images"], 5)
    facts = model.facts()
    return {"ran_in_eval_mode": facts["ran_in_eval_mode"], "ran_without_autograd": facts["ran_without_autograd"],
            "predicted": predicted}


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
    images = data.mnist_split().X_test[:12].to(trial.device)
    predicted = torch.arange(12, device=trial.device) % 10
    return describe_figure(trial.target("plot_predictions")(images, predicted, 12), "plot_predictions")


# --- what wrong answers look like ------------------------------------------------------------------

def train_by_hand(i, softmax_first=False, zero_grad=True):
    model = small_classifier(i)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=2)
    for _ in range(2):
        for xb, yb in fixed_batches(i):
            if zero_grad:
                optimizer.zero_grad()
            out = model(xb)
            loss = nn.functional.cross_entropy(torch.softmax(out, dim=1) if softmax_first else out, yb)
            loss.backward()
            optimizer.step()
        scheduler.step()
    return {"weight": model[1].weight.detach(), "bias": model[1].bias.detach()}


# --- checks ----------------------------------------------------------------------------------------

EXERCISE.add(
    Check("CNN", "CNN", 2, "built from Conv2d, MaxPool2d and Linear layers; gives (N, 10) logits", probe_structure,
          Holds(at_least("conv_layers", 1, "nn.Conv2d layer(s)"), at_least("pooling_layers", 1, "nn.MaxPool2d layer(s)"),
                at_least("linear_layers", 1, "nn.Linear layer(s)"), Require(logits_are_logits)),
          digits_inputs, (case(0),)),
    Check("mnist_loader", "mnist_loader", 1, "shuffled mini-batches in the order of the seeded generator",
          probe_loader, Match(), tiny_images, (case(1, n=13),)),
    Check("train_cnn", "train_cnn", 3, "Adam on CrossEntropyLoss of the logits, zero_grad every batch, "
          "cosine learning-rate decay per epoch",
          probe_train,
          Match(**TRAINING, explain=MODE_HINTS, mistakes=[
              like("you applied a softmax before nn.CrossEntropyLoss, which applies log-softmax itself: pass the "
                   "logits", lambda i: train_by_hand(i, softmax_first=True), outputs=["weight", "bias"]),
              like("the gradients were never zeroed: call optimizer.zero_grad() before each backward()",
                   lambda i: train_by_hand(i, zero_grad=False), outputs=["weight", "bias"])]),
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
    Check("plot_predictions", "plot_predictions", 1, "a grid of images, each titled with its predicted digit",
          probe_plot, Holds(at_least("figure/images", 12, "images (ax.imshow)"),
                            at_least("figure/titled_axes", 12, "subplot titles giving the predicted digit")),
          None, (case(0),)),
)

### BEGIN HIDDEN TESTS
EXERCISE.add(
    EXERCISE.check("CNN").hidden_variant(1, case(601, n=1), case(602, n=7)),
    EXERCISE.check("train_cnn").hidden_variant(2, case(603, n=9, side=5, c=4, hidden=3)),
    EXERCISE.check("predict").hidden_variant(1, case(604, n=11, side=3, c=5), case(605, n=1)),
)
### END HIDDEN TESTS
