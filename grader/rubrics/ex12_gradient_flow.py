"""Rubric for exercise 12: a deep MLP whose activation is swapped, per-layer gradient norms (from ``.grad`` and with
tensor hooks), vanishing gradients of a sigmoid network, a figure of them; the Iris network 4 -> 2 -> 3 and its 2-d
latent space."""

import math

import torch
from torch import nn

from grader import data, figures, fresh, rebuild
from grader.checks import Holds, Match, Require, at_least, is_true, like
from grader.probes import Numbers, StudentError, describe_figure, memo, outputs_named
from grader.rubric import Check, Exercise, case, randn
from grader.rubrics.ex04_training_loop import fresh_accuracy, held_out_accuracy, majority_class, nearest_neighbour
from grader.thresholds import Measure, Threshold

EXERCISE = Exercise("ex12_gradient_flow", "Watching gradients", time_limit=60)
ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}
LAYER_CODES = {nn.Linear: 1, nn.Sigmoid: 2, nn.Tanh: 3, nn.ReLU: 4, nn.GELU: 5}
PROFILE = dict(rtol=1e-3, atol=1e-12)  # norms spanning ten orders of magnitude: relative agreement only
IRIS_LAYERS = [nn.Linear, nn.Tanh, nn.Linear]
CLASS_NAMES = ("setosa", "versicolor", "virginica")


# --- inputs ----------------------------------------------------------------------------------------

def mlp_inputs(g, d_in=5, width=6, depth=3, d_out=4, activation="tanh", init_seed=1, n=7, refused="softmax"):
    """deep_mlp's arguments, features x for its forward, and an activation name it must refuse."""
    return {"x": randn(g, n, d_in, dtype=torch.float32), "d_in": d_in, "width": width, "depth": depth,
            "d_out": d_out, "activation": activation, "seed": init_seed, "refused": refused}


def grad_inputs(g, sizes=(3, 4, 5, 2), dtype=torch.float32, nested=True):
    """A chain of Linear layers of ``sizes`` (with activations between them, some inside a nested Sequential when
    ``nested``) and the gradients to set on every weight and bias (the biases' large, so that counting them shows)."""
    inputs = {"sizes": tuple(sizes), "nested": nested}
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        inputs[f"grad/{k}/weight"] = randn(g, n_out, n_in, dtype=dtype, scale=10.0 ** -k)
        inputs[f"grad/{k}/bias"] = randn(g, n_out, dtype=dtype, scale=3.0)
    return inputs


def hook_inputs(g, n=6, sizes=(5, 7, 7, 3), acts=("tanh", "relu"), dtype=torch.float32, scale=0.6):
    """A batch x, labels y and the weights of a chain Linear, act, Linear, act, ..., Linear (``acts`` between the
    ``sizes``); stale gradients already in every ``.grad``."""
    inputs = {"x": randn(g, n, sizes[0], dtype=dtype), "y": torch.randint(0, sizes[-1], (n,), generator=g),
              "sizes": tuple(sizes), "acts": tuple(acts)}
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        inputs[f"layer/{k}/weight"] = randn(g, n_out, n_in, dtype=dtype, scale=scale * 2 / math.sqrt(n_in))
        inputs[f"layer/{k}/bias"] = randn(g, n_out, dtype=dtype, scale=0.1)
        inputs[f"stale/{k}"] = randn(g, n_out, n_in, dtype=dtype)
    return inputs


def batch_inputs(g, n=16, d_in=8, n_classes=4, depth=12, width=16, init_seed=0, activation="sigmoid",
                 names=("sigmoid", "tanh", "relu", "gelu")):
    """A batch of features and labels, and what gradient_profile and compare_activations are given."""
    return {"x": randn(g, n, d_in, dtype=torch.float32), "y": torch.randint(0, n_classes, (n,), generator=g),
            "n_classes": n_classes, "depth": depth, "width": width, "seed": init_seed, "activation": activation,
            "names": tuple(names)}


def profile_inputs(g, names=("sigmoid", "tanh", "relu", "gelu"), n_layers=6, real=False, grad=False):
    """Made-up profiles: positive norms spread over orders of magnitude, one per name; or (``real``) a batch whose
    profiles the probe computes with torch alone (12 hidden layers of 32), for a figure worth seeing. ``grad``: the
    made-up profiles are attached to a graph."""
    if real:
        return {"names": tuple(names), "x": randn(g, 64, 8, dtype=torch.float32),
                "y": torch.randint(0, 4, (64,), generator=g)}
    profiles = 10.0 ** (randn(g, len(names), n_layers, dtype=torch.float32, scale=2.0) - 1.0)
    return {"names": tuple(names), "profiles": profiles.requires_grad_(grad)}


def iris_net_inputs(g, n=9, dtype=torch.float32, trained=False):
    """Flowers (in cm), labels covering the three classes, the standardisation and values for IrisNet's layers; or
    (``trained``) none: the plot then shows the training flowers through the student's trained network."""
    if trained:
        return {"trained": True, **train_inputs(g)}
    X = randn(g, n, 4, dtype=dtype, scale=1.5, shift=4.0)
    return {"X": X, "y": torch.arange(n) % 3, "mean": randn(g, 4, dtype=dtype, scale=0.5, shift=4.0),
            "std": torch.rand(4, generator=g, dtype=dtype) + 0.5,
            "layers/0/weight": randn(g, 2, 4, dtype=dtype), "layers/0/bias": randn(g, 2, dtype=dtype, scale=0.3),
            "layers/2/weight": randn(g, 3, 2, dtype=dtype), "layers/2/bias": randn(g, 3, dtype=dtype, scale=0.3)}


def train_inputs(g, epochs=200):
    """train_iris's epochs, and its seed drawn from the case's (so that each calibration seed trains another
    network)."""
    return {"epochs": epochs, "seed": int(torch.randint(0, 10_000, (), generator=g))}


# --- what torch computes (expected values) --------------------------------------------------------

def chain_of(i, device=None, dtype=None):
    """The chain the hook inputs describe, with their weights, as an nn.Sequential."""
    sizes, acts = i["sizes"], i["acts"]
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(n_in, n_out)
        with torch.no_grad():
            linear.weight.copy_(i[f"layer/{k}/weight"].cpu()), linear.bias.copy_(i[f"layer/{k}/bias"].cpu())
        layers.append(linear)
        if k < len(acts):
            layers.append(ACTIVATIONS[acts[k]]())
    model = nn.Sequential(*layers).to(dtype=dtype or i["x"].dtype)
    return model.to(device if device is not None else i["x"].device)


def autograd_norms(i, where="output", reduction="mean", zero_grad=True):
    """``torch.autograd.grad`` of the cross-entropy with respect to every activation's output (or ``where="input"``,
    its input), their norms, and the first weight's gradient (plus the stale one when ``zero_grad`` is false)."""
    x = i["x"]
    if x.is_meta:
        first = i["layer/0/weight"]
        return {"norms": torch.empty(len(i["acts"]), dtype=x.dtype, device="meta"),
                "first_weight_grad": torch.empty(first.shape, dtype=x.dtype, device="meta"), "hooks_left": 0}
    model = chain_of(i)
    watched, h = [], x
    for layer in model:
        if isinstance(layer, tuple(ACTIVATIONS.values())):
            if where == "input":
                watched.append(h)
            h = layer(h)
            if where == "output":
                watched.append(h)
        else:
            h = layer(h)
    loss = nn.functional.cross_entropy(h, i["y"], reduction=reduction)
    grads = torch.autograd.grad(loss, [*watched, model[0].weight])
    first = grads[-1] + (0 if zero_grad else i["stale/0"])
    return {"norms": torch.stack([g.norm() for g in grads[:-1]]), "first_weight_grad": first, "hooks_left": 0}


def grad_chain(i):
    """The chain of the grad inputs on their device and dtype, every weight's and bias's ``.grad`` set."""
    sizes, first = i["sizes"], i["grad/0/weight"]
    linears = [nn.Linear(a, b, dtype=first.dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    if i["nested"] and len(linears) >= 3:
        model = nn.Sequential(linears[0], nn.Tanh(), nn.Sequential(linears[1], nn.ReLU()), *linears[2:])
    else:
        model = nn.Sequential(*[m for layer in linears for m in (layer, nn.GELU())][:-1])
    model = model.to(first.device)
    for k, layer in enumerate(m for m in model.modules() if isinstance(m, nn.Linear)):
        layer.weight.grad, layer.bias.grad = i[f"grad/{k}/weight"].clone(), i[f"grad/{k}/bias"].clone()
    return model


def norms_by_hand(i, biases=False, squared=False, reverse=False):
    """What weight_grad_norms gives, done right or with one mistake."""
    n = len(i["sizes"]) - 1
    if i["grad/0/weight"].is_meta:
        return torch.empty(n, dtype=i["grad/0/weight"].dtype, device="meta")
    norms = []
    for k in range(n):
        g = i[f"grad/{k}/weight"].reshape(-1)
        if biases:
            g = torch.cat([g, i[f"grad/{k}/bias"]])
        norms.append(g.pow(2).sum() if squared else g.norm())
    norms = torch.stack(norms)
    return norms.flip(0) if reverse else norms


class IrisStandIn(nn.Module):
    """A model with IrisNet's attributes (``mean``, ``std``, ``layers``) and the case's values, whatever the student's
    IrisNet does: what ``latent`` and ``plot_latent`` are handed."""

    def __init__(self, i):
        super().__init__()
        self.register_buffer("mean", i["mean"])
        self.register_buffer("std", i["std"])
        X = i["X"]
        self.layers = nn.Sequential(nn.Linear(4, 2), nn.Tanh(), nn.Linear(2, 3)).to(device=X.device, dtype=X.dtype)
        with torch.no_grad():
            for k in (0, 2):
                self.layers[k].weight.copy_(i[f"layers/{k}/weight"]), self.layers[k].bias.copy_(i[f"layers/{k}/bias"])

    def forward(self, x):
        return self.layers((x - self.mean) / self.std)


def latent_by_hand(i, activated=True, standardised=True):
    """The latent points of the case's flowers, done right or with one mistake, on the CPU in float64."""
    X = i["X"].double().cpu()
    if standardised:
        X = (X - i["mean"].double().cpu()) / i["std"].double().cpu()
    Z = X @ i["layers/0/weight"].double().cpu().T + i["layers/0/bias"].double().cpu()
    return torch.tanh(Z) if activated else Z


# --- probes ----------------------------------------------------------------------------------------

def student_mlp(trial):
    i = trial.inputs
    model = trial.target("deep_mlp")(i["d_in"], i["width"], i["depth"], i["d_out"], i["activation"], i["seed"])
    if not isinstance(model, nn.Module):
        raise StudentError(f"deep_mlp(...) should return an nn.Sequential; it returned a {type(model).__name__}")
    return model


def probe_mlp_structure(trial):
    i = trial.inputs
    model = student_mlp(trial)
    layers = list(model) if isinstance(model, nn.Sequential) else list(model.children())
    try:
        trial.target("deep_mlp")(i["d_in"], i["width"], i["depth"], i["d_out"], i["refused"], i["seed"])
        refuses = False
    except ValueError:
        refuses = True
    return {"is_sequential": isinstance(model, nn.Sequential),
            "layers": Numbers([LAYER_CODES.get(type(m), 0) for m in layers]),
            "linear_shapes": Numbers([[m.in_features, m.out_features] for m in layers if isinstance(m, nn.Linear)]),
            "distinct": len({id(m) for m in layers}) == len(layers), "refuses": refuses}


def probe_mlp_init(trial):
    """The network's weights and biases, and its logits for x (its own initial weights, on the case's device)."""
    model = student_mlp(trial).to(trial.device)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise StudentError("deep_mlp(...) holds no nn.Linear layer")
    with torch.no_grad():
        logits = model(trial.inputs["x"])
    return {"first_weight": linears[0].weight, "last_weight": linears[-1].weight,
            "biases": torch.cat([m.bias.reshape(-1) for m in linears if m.bias is not None]), "logits": logits}


def probe_weight_norms(trial):
    return {"norms": trial.target("weight_grad_norms")(grad_chain(trial.inputs))}


def probe_hooks(trial):
    """The student's norms for the case's chain (its .grad holding stale values), the first weight's .grad after,
    and how many forward hooks are left on the model's modules."""
    i = trial.inputs
    model = chain_of(i, trial.device)
    for k, layer in enumerate(m for m in model if isinstance(m, nn.Linear)):
        layer.weight.grad = i[f"stale/{k}"].clone()
    norms = trial.target("activation_grad_norms")(model, i["x"], i["y"])
    return {"norms": norms, "first_weight_grad": model[0].weight.grad,
            "hooks_left": sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())}


def probe_profile(trial):
    i = trial.inputs
    return {"profile": trial.target("gradient_profile")(i["activation"], i["x"], i["y"], i["n_classes"], i["depth"],
                                                        i["width"], i["seed"])}


def probe_compare(trial):
    i = trial.inputs
    profiles = trial.target("compare_activations")(i["x"], i["y"], i["n_classes"], i["depth"], i["width"],
                                                   i["seed"], i["names"])
    if not isinstance(profiles, dict) or list(profiles) != list(i["names"]):
        found = list(profiles) if isinstance(profiles, dict) else type(profiles).__name__
        raise StudentError(f"compare_activations should return a dict keyed by {list(i['names'])}, in that order; "
                           f"it returned {found}")
    return {f"profile/{name}": profiles[name] for name in i["names"]}


def torch_profile(activation, x, y, depth=12, width=32, seed=0):
    """A deep MLP's weight-gradient norms at He initialisation, computed here with torch alone (no student code)."""
    generator, sizes = torch.Generator().manual_seed(seed), [x.shape[1]] + [width] * depth + [int(y.max()) + 1]
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(n_in, n_out)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu", generator=generator)
        nn.init.zeros_(linear.bias)
        layers += [linear, ACTIVATIONS[activation]()] if k < depth else [linear]
    model = nn.Sequential(*layers).to(x.device)
    with torch.enable_grad():
        nn.functional.cross_entropy(model(x), y).backward()
    return torch.stack([m.weight.grad.norm() for m in model if isinstance(m, nn.Linear)])


def probe_plot_profiles(trial):
    """The figure, and the profiles it was given: made-up ones, or those of real deep MLPs on the case's batch."""
    i = trial.inputs
    given = i["profiles"] if "profiles" in i else torch.stack([torch_profile(n, i["x"], i["y"]) for n in i["names"]])
    profiles = {name: trial.place(given[k]) for k, name in enumerate(i["names"])}
    fig = trial.target("plot_gradient_flow")(profiles)
    scales = "\n".join(ax.get_yscale() for ax in getattr(fig, "axes", []) if ax.get_lines())
    return {**describe_figure(fig, "plot_gradient_flow"), "yscales": figures.text_tensor(scales),
            "given/profiles": given.detach()}


def student_iris_net(trial, weights=True):
    i = trial.inputs
    model = trial.target("IrisNet")(i["mean"], i["std"])
    if not isinstance(model, nn.Module):
        raise StudentError(f"IrisNet(...) should be an nn.Module; it is a {type(model).__name__}")
    model = model.to(device=trial.device, dtype=i["X"].dtype)
    if weights:
        layers = getattr(model, "layers", None)
        for k in (0, 2):
            layer = layers[k] if isinstance(layers, nn.Sequential) and len(layers) > k else None
            want = i[f"layers/{k}/weight"].shape
            if not isinstance(layer, nn.Linear) or layer.bias is None or layer.weight.shape != want:
                raise StudentError(f"IrisNet.layers[{k}] should be nn.Linear({want[1]}, {want[0]}); it is {layer!r}")
            with torch.no_grad():
                layer.weight.copy_(i[f"layers/{k}/weight"]), layer.bias.copy_(i[f"layers/{k}/bias"])
    return model


def probe_iris_structure(trial):
    model = student_iris_net(trial, weights=False)
    layers = getattr(model, "layers", None)
    buffers = dict(model.named_buffers())
    return {"layers": Numbers([LAYER_CODES.get(type(m), 0) for m in layers]) if isinstance(layers, nn.Sequential)
            else None,
            "linear_shapes": Numbers([[m.in_features, m.out_features] for m in layers if isinstance(m, nn.Linear)])
            if isinstance(layers, nn.Sequential) else None,
            "buffers": figures.text_tensor(", ".join(sorted(name for name in buffers if name in ("mean", "std")))),
            "parameters": Numbers(sum(p.numel() for p in model.parameters()))}


def probe_iris_forward(trial):
    model = student_iris_net(trial).eval()
    with torch.no_grad():
        return {"logits": model(trial.inputs["X"])}


def stand_in(trial):
    return IrisStandIn(trial.inputs).to(trial.device)


def probe_latent(trial):
    Z = trial.target("latent")(stand_in(trial), trial.inputs["X"])
    return {"Z": Z, "tracks_graph": bool(getattr(Z, "requires_grad", False))}


def fit(trial, raw=False):
    split = data.iris_split()
    result = trial.target("train_iris")(split.X_train.to(trial.device), split.y_train.to(trial.device),
                                        trial.inputs["epochs"], trial.inputs["seed"])
    model, losses = outputs_named(result, ("model", "losses"), "train_iris").values()
    if not isinstance(model, nn.Module):
        raise StudentError(f"train_iris should return (model, losses); its model is a {type(model).__name__}")
    losses = list(losses)
    return (model, [float(x) for x in losses], losses) if raw else (model, [float(x) for x in losses])


def probe_train(trial):
    """The trained network's layers and standardisation as plain data (the grader rebuilds it and predicts), and its
    own logits for the held-out and the fresh flowers."""
    model, losses = memo(trial, "train_iris", lambda: fit(trial))
    model.eval()
    with torch.no_grad():  # held-out features only: their labels stay with the grader
        logits = model(data.iris_split().X_test.to(trial.device))
        fresh_logits = model(fresh.iris().inputs.to(trial.device))
    buffers = {name: getattr(model, name, None) for name in ("mean", "std")}
    return {"logits": logits, "fresh_logits": fresh_logits, "is_iris_net": isinstance(model, trial.target("IrisNet")),
            **{name: b if isinstance(b, torch.Tensor) else None for name, b in buffers.items()},
            **rebuild.report(getattr(model, "layers", None), "layers"),
            "losses": Numbers(losses, dtype=torch.float64), "loss_fell": len(losses) >= 2 and losses[-1] < losses[0]}


def probe_train_arguments(trial):
    """``train_iris`` for ``epochs`` epochs on the inputs' device: its losses (the reference's, step for step, from the
    same seed), how many, and where the model lives."""
    model, losses, raw = fit(trial, raw=True)
    where = [t.detach().reshape(-1)[:0] for t in (*model.parameters(), *model.buffers())]
    return {"n_losses": Numbers(len(losses)), "losses": Numbers(losses, dtype=torch.float64),
            "losses_are_floats": all(isinstance(x, float) for x in raw),
            "parameters": torch.cat(where) if where else None}


LATENT_KEYS = ("X", "y", "mean", "std", "layers/0/weight", "layers/0/bias", "layers/2/weight", "layers/2/bias")


def probe_plot_latent(trial):
    """The figure of the case's flowers through a stand-in with the case's weights; or, for a ``trained`` case, of the
    training flowers through a stand-in with the weights of the student's trained network (reported beside it)."""
    i = trial.inputs
    if i.get("trained"):
        model = memo(trial, "train_iris", lambda: fit(trial))[0]
        split = data.iris_split()
        i = {"X": split.X_train.to(trial.device), "y": split.y_train.to(trial.device),
             "mean": model.mean.detach(), "std": model.std.detach(),
             **{f"layers/{k}/{name}": getattr(model.layers[k], name).detach() for k in (0, 2)
                for name in ("weight", "bias")}}
    model = IrisStandIn(i).to(trial.device)
    fig = trial.target("plot_latent")(model, trial.place(i["X"]), trial.place(i["y"]))
    return {**describe_figure(fig, "plot_latent"), **({f"given/{k}": i[k] for k in LATENT_KEYS}
                                                      if trial.inputs.get("trained") else {})}


# --- judged here ------------------------------------------------------------------------------------

def vanishing(values, inputs):
    """The sigmoid network's first-layer gradient is orders of magnitude below its last; the others' are not."""
    problems = []
    for name in inputs["names"]:
        profile = values.get(f"profile/{name}")
        if profile is None or profile.dim() != 1 or len(profile) < 2 or not bool((profile > 0).all()):
            return f"the {name} profile should be positive norms, one per layer"
        ratio = float(profile[0] / profile[-1])
        if name == "sigmoid" and ratio > 1e-3:
            problems.append(f"the sigmoid network's first-layer gradient is {ratio:.2g} times its last: it should "
                            "vanish (below 1e-3 at this depth)")
        if name != "sigmoid" and ratio < 1e-2:
            problems.append(f"the {name} network's first-layer gradient is only {ratio:.2g} times its last: with He "
                            "initialisation it should not vanish")
    return "; ".join(problems) or None


def draws_each_profile(values, inputs):
    drawing, given = figures.Drawing.of(values), values.get("given/profiles")
    if given is None or given.dim() != 2 or len(given) != len(inputs["names"]):
        return "the profiles the figure was given were not reported"
    for name, norms in zip(inputs["names"], given):
        line = drawing.line_through(None, norms.double().cpu(), rtol=1e-5, atol=0.0)
        if line is None:
            return f"no line draws the {name!r} norms: ax.plot(layers, norms, label=name) for each profile"
        layers = torch.arange(1, len(norms) + 1, dtype=torch.float64)
        if not figures.close(line.x, layers):
            return f"the {name!r} line's x should be the layers 1 to {len(norms)}"
    missing = [name for name in inputs["names"] if name not in drawing.legend_entries()]
    if missing:
        return f"the legend does not name {', '.join(map(repr, missing))}: label each line with its activation"
    return None


def log_scale(values, inputs):
    scales = figures.text_of(values.get("yscales")).split("\n")
    if not scales or any(s != "log" for s in scales):
        return "the norms span many orders of magnitude: use a logarithmic y axis (ax.set_yscale('log'))"
    return None


def draws_each_class(values, inputs):
    """One scatter per class, drawing that class's latent points (the grader's own computation), named in the
    legend."""
    drawing = figures.Drawing.of(values)
    if inputs.get("trained"):
        inputs = {k: values.get(f"given/{k}") for k in LATENT_KEYS}
        if any(v is None for v in inputs.values()):
            return "the trained network the figure was drawn from was not reported"
    Z, y = latent_by_hand(inputs), inputs["y"].cpu()
    for c, name in enumerate(CLASS_NAMES):
        want = Z[y == c]
        if not any(figures.close(xy, want, rtol=1e-4, atol=1e-5) for xy, _ in drawing.scatters):
            if any(figures.close(xy, latent_by_hand(inputs, activated=False)[y == c], 1e-4, 1e-5)
                   for xy, _ in drawing.scatters):
                return "the points are the first layer's outputs before the tanh: draw latent(model, X)"
            return (f"no scatter draws the {name} flowers' latent points: ax.scatter(Z[y == c, 0], Z[y == c, 1], "
                    "label=names[c]) for each class c, with Z = latent(model, X)")
    missing = [name for name in CLASS_NAMES if name not in drawing.legend_entries()]
    if missing:
        return f"the legend does not name {', '.join(map(repr, missing))}: label each class's scatter with its name"
    return None


def rebuilt_logits(values, inputs):
    """The logits of ``self.layers`` rebuilt here from its weights, on features standardised with the reported mean
    and std, for the held-out and the fresh flowers."""
    layers = rebuild.chain(values, "layers")
    scale = {}
    for name in ("mean", "std"):
        t = values.get(name)
        if t is None or tuple(t.shape) != (4,) or not t.is_floating_point() or not torch.isfinite(t).all():
            raise ValueError(f"self.{name} should be a buffer of 4 finite numbers")
        scale[name] = t.float().cpu()
    if not bool((scale["std"] > 0).all()):
        raise ValueError("self.std should hold positive standard deviations")

    def predict(X):
        return rebuild.predict(layers, (X.float() - scale["mean"]) / scale["std"])

    return {"rebuilt/logits": predict(data.iris_split().X_test), "rebuilt/fresh_logits": predict(fresh.iris().inputs)}


def the_network_of_the_notes(values, inputs):
    found = rebuild.kinds(values, "layers")
    if found != IRIS_LAYERS:
        return (f"self.layers should be {', '.join(k.__name__ for k in IRIS_LAYERS)}; the trained model's are "
                f"{', '.join(k.__name__ for k in found) or 'missing'}")
    shapes = [tuple(values[f"layers/{k}/weight"].shape) for k in (0, 2)]
    if shapes != [(2, 4), (3, 2)]:
        return f"the Linear layers should map 4 -> 2 -> 3; their weights have shapes {shapes}"
    for name in ("logits", "fresh_logits"):
        own, rebuilt = values.get(name), values[f"rebuilt/{name}"]
        if own is None or own.shape != rebuilt.shape or not torch.allclose(own.double(), rebuilt.double(), atol=1e-4,
                                                                           rtol=1e-4):
            return "the model's forward(x) is not self.layers((x - self.mean) / self.std)"
    return None


def iris_baselines():
    return {"majority class": majority_class, "1-nearest neighbour": nearest_neighbour}


# --- what wrong answers look like ------------------------------------------------------------------

NORM_MISTAKES = [
    like("the biases' gradients were counted too: take the norm of each Linear's weight.grad alone",
         lambda i: norms_by_hand(i, biases=True)),
    like("these are the squared norms: take the square root of the sum of squares (weight.grad.norm())",
         lambda i: norms_by_hand(i, squared=True)),
    like("the norms are in reverse order: the first Linear layer's norm comes first",
         lambda i: norms_by_hand(i, reverse=True)),
]
HOOK_MISTAKES = [
    like("the norms are in reverse order: tensor hooks fire during backward, from the last activation to the first, "
         "so store each norm at its activation's index instead of appending it",
         lambda i: {"norms": autograd_norms(i)["norms"].flip(0)}, outputs=["norms"]),
    like("these are the gradients with respect to each activation's input (the Linear layer's output): hook the "
         "activation's output, output.register_hook(...)", lambda i: autograd_norms(i, where="input"),
         outputs=["norms"]),
    like("the gradients that were in .grad before the call were added to: call model.zero_grad() before backward",
         lambda i: autograd_norms(i, zero_grad=False), outputs=["first_weight_grad"]),
    like("the loss was summed over the batch: use nn.functional.cross_entropy's default mean",
         lambda i: autograd_norms(i, reduction="sum")),
]
HOOK_EXPLAIN = {"hooks_left": "forward hooks were left on the model: keep each handle register_forward_hook returns "
                              "and call handle.remove() (in a finally block, so that an error cannot leave them)"}
STRUCTURE_EXPLAIN = {
    "layers": "the layers should be Linear, act, then depth - 1 times Linear, act, and a last Linear (depth + 1 "
              "Linear layers, an activation after every Linear but the last)",
    "linear_shapes": "the Linear layers should map d_in -> width -> ... -> width -> d_out",
    "distinct": "one activation module is used in several places: make a new one per block "
                "(ACTIVATIONS[activation]() inside the loop)",
    "refuses": "deep_mlp should raise ValueError for an activation it does not know",
    "is_sequential": "deep_mlp should return an nn.Sequential",
}
INIT_EXPLAIN = {"biases": "every bias should start at 0 (nn.init.zeros_(layer.bias))",
                "first_weight": "draw the weights with nn.init.kaiming_normal_(layer.weight, nonlinearity='relu', "
                                "generator=g), one generator g = torch.Generator().manual_seed(seed) for all the "
                                "layers, in order"}
LATENT_MISTAKES = [
    like("these are the first layer's outputs before the activation: the latent points are model.layers[:2] of the "
         "standardised features (tanh included)", lambda i: latent_by_hand(i, activated=False), outputs=["Z"]),
    like("the features were not standardised: subtract model.mean and divide by model.std first",
         lambda i: latent_by_hand(i, standardised=False), outputs=["Z"]),
]


# --- checks ----------------------------------------------------------------------------------------

EXERCISE.add(
    Check("deep_mlp", "deep_mlp", 2, "an nn.Sequential of depth blocks Linear + a new activation module, then a "
          "Linear read-out; an unknown activation raises ValueError", probe_mlp_structure,
          Match(explain=STRUCTURE_EXPLAIN), mlp_inputs, (case(0), case(1, activation="relu", depth=2))),
    Check("deep_mlp.init", "deep_mlp", 2, "He-normal weights from one seeded generator, zero biases: the same "
          "weights and logits as the reference", probe_mlp_init, Match(rtol=1e-5, atol=1e-6, explain=INIT_EXPLAIN),
          mlp_inputs, (case(2, activation="sigmoid", init_seed=3),)),
    Check("weight_grad_norms", "weight_grad_norms", 2, "the L2 norm of every Linear weight's .grad, nested layers "
          "included, input to output", probe_weight_norms, Match(mistakes=NORM_MISTAKES), grad_inputs, (case(3),)),
    Check("activation_grad_norms", "activation_grad_norms", 3, "tensor hooks give |dLoss/dh| of every activation's "
          "output, in order (equal to torch.autograd.grad's); .grad holds this batch's gradient; no hook left",
          probe_hooks, Match(rtol=1e-4, atol=1e-7, oracle=autograd_norms, mistakes=HOOK_MISTAKES, explain=HOOK_EXPLAIN,
                             names={"first_weight_grad": "the first Linear's weight.grad after the call"}),
          hook_inputs, (case(4), case(5, sizes=(4, 6, 6, 6, 2), acts=("sigmoid", "gelu", "tanh")))),
    Check("gradient_profile", "gradient_profile", 2, "the weight-gradient norm of every layer of a fresh deep_mlp "
          "after one backward pass", probe_profile, Match(**PROFILE), batch_inputs,
          (case(6, activation="sigmoid"), case(7, activation="relu", depth=4))),
    Check("compare_activations", "compare_activations", 2, "a profile per activation, from the same seed and batch",
          probe_compare, Match(**PROFILE), batch_inputs, (case(8),)),
    Check("compare_activations.vanishing", "compare_activations", 1, "the sigmoid network's first-layer gradient is "
          "orders of magnitude below its last; Tanh's, ReLU's and GELU's are not", probe_compare,
          Holds(Require(vanishing)), batch_inputs, (case(8),)),
    Check("plot_gradient_flow", "plot_gradient_flow", 1, "a line per activation drawing its norms against layers "
          "1..n, a log y axis, labelled axes and a legend naming them", probe_plot_profiles,
          Holds(at_least("figure/lines", 2, "lines (one per activation)"),
                is_true("figure/labelled", "label both axes (ax.set_xlabel('layer'), ax.set_ylabel('gradient "
                                           "norm'))"),
                Require(draws_each_profile), Require(log_scale)),
          profile_inputs, (case(9, real=True),)),
    Check("IrisNet", "IrisNet", 2, "self.layers = Linear(4, 2), Tanh, Linear(2, 3); mean and std kept as buffers",
          probe_iris_structure,
          Match(explain={"layers": "self.layers should be nn.Sequential(nn.Linear(4, 2), nn.Tanh(), nn.Linear(2, 3))",
                         "buffers": "keep mean and std as buffers: self.register_buffer('mean', mean), and std alike",
                         "parameters": "IrisNet's only parameters are its two Linear layers' (4*2 + 2 + 2*3 + 3 = "
                                       "19): mean and std are buffers, not parameters"}),
          iris_net_inputs, (case(10),)),
    Check("IrisNet.forward", "IrisNet.forward", 1, "the logits of the standardised features", probe_iris_forward,
          Match(rtol=1e-5, atol=1e-6), iris_net_inputs, (case(11),)),
    Check("latent", "latent", 2, "the first layer's tanh outputs of the standardised features, without a graph",
          probe_latent,
          Match(rtol=1e-5, atol=1e-6, mistakes=LATENT_MISTAKES,
                explain={"tracks_graph": "compute the latent points under torch.no_grad(): they are for drawing"}),
          iris_net_inputs, (case(12),)),
    Check("train_iris", "train_iris", 3, "the 4 -> 2 -> 3 network, trained by your code, classifies the 50 held-out "
          "flowers and 150 fresh ones (labels kept by the grader)", probe_train,
          Threshold("held-out accuracy", held_out_accuracy, threshold=0.92, margin=0.04,
                    hint="check IrisNet first; then the standardisation (training features only), Adam with lr=0.02 "
                         "and the number of epochs",
                    fresh=[Measure(f"accuracy on {fresh.N_FLOWERS} flowers drawn for this run", fresh_accuracy,
                                   threshold=0.9, margin=0.04)],
                    baselines=iris_baselines(), derive=rebuilt_logits,
                    asked_model=[is_true("is_iris_net", "train_iris should return an IrisNet, the class of this "
                                                        "exercise"),
                                 Require(the_network_of_the_notes),
                                 is_true("loss_fell", "the training losses train_iris returned did not fall")]),
          train_inputs, (case(0),)),
    Check("plot_latent", "plot_latent", 1, "a scatter per class drawing its latent points (computed by the grader), "
          "labelled axes and a legend naming the classes", probe_plot_latent,
          Holds(is_true("figure/labelled", "label both axes (ax.set_xlabel('latent 1'), ax.set_ylabel('latent 2'))"),
                Require(draws_each_class)),
          iris_net_inputs, (case(0, trained=True),)),
)

### BEGIN HIDDEN TESTS
# Other sizes (one hidden block, a wide read-out), every activation, float64, nested layers and plain chains, other
# seeds and depths, the meta device (results on the inputs' device), a stand-in for a GPU's tensors in both figures,
# and train_iris's arguments.
EXERCISE.add(
    EXERCISE.check("deep_mlp").hidden_variant(1, case(101, depth=1, activation="gelu", d_in=3, d_out=7),
                                              case(102, activation="sigmoid", refused="Tanh")),
    EXERCISE.check("deep_mlp.init").hidden_variant(1, case(103, activation="relu", depth=1, init_seed=11),
                                                   case(104, activation="gelu", width=9, depth=4, init_seed=0),
                                                   case(105, activation="tanh", device="meta")),
    EXERCISE.check("weight_grad_norms").hidden_variant(1, case(106, sizes=(2, 3, 4, 5, 3), dtype=torch.float64),
                                                       case(107, sizes=(4, 2), nested=False),
                                                       case(108, sizes=(3, 5, 2), nested=False),
                                                       case(109, device="meta")),
    EXERCISE.check("activation_grad_norms").hidden_variant(1, case(110, sizes=(3, 4, 2), acts=("relu",)),
                                                           case(111, dtype=torch.float64, n=11,
                                                                acts=("gelu", "sigmoid")),
                                                           case(112, sizes=(6, 5, 4, 3, 4, 2),
                                                                acts=("tanh", "tanh", "relu", "sigmoid"))),
    EXERCISE.check("gradient_profile").hidden_variant(1, case(113, activation="gelu", init_seed=5, depth=6, width=8),
                                                      case(114, activation="tanh", n=5, d_in=3, n_classes=2),
                                                      case(115, activation="relu", depth=3, device="meta")),
    EXERCISE.check("compare_activations").hidden_variant(1, case(116, names=("relu", "sigmoid"), init_seed=4, depth=5)),
    EXERCISE.check("plot_gradient_flow").hidden_variant(1, case(117, names=("gelu", "tanh", "relu"), n_layers=9,
                                                             grad=True),
                                                        case(118, device="offhost")),
    EXERCISE.check("IrisNet.forward").hidden_variant(1, case(119, n=4, dtype=torch.float64), case(120, device="meta")),
    EXERCISE.check("latent").hidden_variant(1, case(121, n=5, dtype=torch.float64), case(122, device="meta")),
    Check("train_iris.arguments", "train_iris", 1, "trains for `epochs` epochs (one loss each, the reference's from "
          "the same seed) a network on the device of X_train", probe_train_arguments,
          Match(rtol=1e-4, atol=1e-6, names={"n_losses": "the number of losses train_iris returned",
                                             "losses": "the losses train_iris returned (from the same seed)",
                                             "parameters": "the network's parameters and buffers"},
                explain={"losses_are_floats": "return the losses as Python floats (loss.item()): a tensor keeps "
                                              "the autograd graph of its step alive"}),
          train_inputs,
          (case(123, epochs=3), case(124, epochs=0, device="meta")), hidden=True),
    EXERCISE.check("plot_latent").hidden_variant(1, case(125, n=7), case(126, device="offhost")),
)
### END HIDDEN TESTS
