"""Rubric for exercise 11: checkpoints (the state of a model, its optimiser, its scheduler and the random state),
a resumed run that equals the uninterrupted one bit for bit, the modes of a model (BatchNorm, Dropout) and SGD's step
with momentum and weight decay by hand.

No training threshold: every training check is an exactness check. The runs are tiny (48 rows, a 5-12-3 network,
4 epochs of 3 batches), built from the rubric's own copy of ``Net`` with seeded weights, so that only the
student's functions differ from the reference's. A resumed run is made in the student's process the way a user
makes one: train ``stop`` epochs, save, build *fresh* objects from another seed (the global random state disturbed
on the way), load, train the rest. The grader then compares its parameters and buffers with the uninterrupted run's
by ``torch.equal``, outside the child. Each hint about a resume rebuilds its mistake here (the optimiser's state,
the scheduler, the random state or BatchNorm's statistics not restored, the epoch not used) and is given only when
that run reproduces the student's parameters.
"""

import copy
import io
import math
import os
import pickle
import tempfile
import types

import torch
from torch import nn

from grader import figures
from grader.checks import MODE_HINTS, Holds, Match, Require, at_least, like
from grader.probes import Numbers, Spy, StudentError, describe_figure, outputs_named
from grader.rubric import Check, Exercise, case, randn

EXERCISE = Exercise("ex11_checkpoints", "Checkpoints and the modes of a model", time_limit=60)
TRAINING = dict(rtol=1e-4, atol=1e-6)  # another correct loop may round otherwise; bit-for-bit is resume.exact's job
DISTURB = 1000  # the fresh objects of a resumed run are built from seed + DISTURB


class Net(nn.Module):
    """The exercise's given model (the rubric's own copy, so that a student's edit of it changes nothing here)."""

    def __init__(self, d_in, d_hidden, d_out, p=0.2):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(d_in, d_hidden), nn.BatchNorm1d(d_hidden), nn.ReLU(), nn.Dropout(p),
                                    nn.Linear(d_hidden, d_out))

    def forward(self, x):
        return self.layers(x)


# --- inputs ----------------------------------------------------------------------------------------

def run_inputs(g, n=48, d_in=5, d_hidden=12, d_out=3, p=0.3, lr=0.1, momentum=0.9, weight_decay=1e-3, epochs=4,
               batch_size=16, stop=2, model_seed=7, dtype=torch.float32, to_file=False):
    """Features X (n, d_in) of ``dtype`` whose labels y depend on them (a random linear rule), and the settings of a
    run: the network's sizes and dropout, SGD's hyperparameters, the epochs, the batch size, where a resumed run
    stops (``stop``), the seed of the network's weights, and whether the checkpoint goes to a file (else a BytesIO)."""
    X = randn(g, n, d_in, dtype=dtype)
    W = randn(g, d_in, d_out, dtype=dtype)
    y = (X @ W + 0.5 * randn(g, n, d_out, dtype=dtype)).argmax(dim=1)
    return {"X": X, "y": y, "d_in": d_in, "d_hidden": d_hidden, "d_out": d_out, "p": p, "lr": lr,
            "momentum": momentum, "weight_decay": weight_decay, "epochs": epochs, "batch_size": batch_size,
            "stop": stop, "model_seed": model_seed, "to_file": to_file}


def evaluate_inputs(g, handed="train", **settings):
    """A run's inputs, and the mode (``"train"`` or ``"eval"``) the model is in when ``evaluate`` gets it."""
    return {**run_inputs(g, **settings), "handed": handed}


def sgd_inputs(g, shapes=((3, 4), (4,)), lr=0.1, momentum=0.9, weight_decay=0.01, dtype=torch.float64):
    """Parameters of the given shapes and the gradients of two steps."""
    inputs = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "n": len(shapes)}
    for k, shape in enumerate(shapes):
        inputs[f"p{k}"] = randn(g, *shape, dtype=dtype)
        inputs[f"g{k}/1"] = randn(g, *shape, dtype=dtype)
        inputs[f"g{k}/2"] = randn(g, *shape, dtype=dtype)
    return inputs


def mode_inputs(g, kind="net", p=0.5, n=8, d=4, mode="train", dtype=torch.float32, model_seed=3):
    """A batch x (n, d) and the model ``mode_effects`` measures: ``kind`` ``"net"`` (Net(d, 6, 2, p)), ``"no_bn"``
    (Linear, Dropout), ``"bn_only"`` (Linear, BatchNorm1d), ``"untracked"`` (a BatchNorm1d without running
    statistics, then Dropout) or ``"frozen_bn"`` (a BatchNorm1d of momentum 0: only its batch count moves), in
    ``mode`` before the call."""
    return {"x": randn(g, n, d, dtype=dtype), "kind": kind, "p": p, "mode": mode, "model_seed": model_seed}


def plot_inputs(g, epochs=6, stop=2, tensors=False, dtype=torch.float32):
    """Losses of a made-up run of ``epochs`` epochs (falling, with noise) and of its resumption after ``stop``: the
    same values from there on; Python floats, or 1-D tensors (attached to a graph) when ``tensors``."""
    losses = torch.linspace(1.2, 0.3, epochs, dtype=torch.float64) + 0.05 * torch.rand(epochs, generator=g,
                                                                                      dtype=torch.float64)
    if tensors:
        values = losses.to(dtype).requires_grad_(True)
        return {"losses": values, "resumed": values[stop:] * 1.0, "stop": stop}
    return {"losses": tuple(losses.tolist()), "resumed": tuple(losses[stop:].tolist()), "stop": stop}


# --- the run, done right or with one slip (the probes' helpers and the hints' models) -----------------------

def build(i, seed):
    """``Net`` from the case's sizes with the weights of ``seed`` (the global random state reseeded), on X's device
    and dtype."""
    X = i["X"]
    torch.manual_seed(seed)
    return Net(i["d_in"], i["d_hidden"], i["d_out"], i["p"]).to(device=X.device, dtype=X.dtype)


def make(i, model):
    """The docstring's optimiser and schedule."""
    optimizer = torch.optim.SGD(model.parameters(), lr=i["lr"], momentum=i["momentum"],
                                weight_decay=i["weight_decay"])
    return optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=i["epochs"])


def epoch_by_hand(model, optimizer, X, y, batch_size, shuffle=True, zero_grad=True, train=True):
    """The docstring's ``train_epoch``, or one with a slip; its mean batch loss."""
    model.train(train)
    perm = torch.randperm(len(X), device=X.device) if shuffle else torch.arange(len(X), device=X.device)
    losses = []
    for idx in perm.split(batch_size):
        if zero_grad:
            optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)


def fit_by_hand(i, model, optimizer, scheduler, start, end):
    """The docstring's ``fit`` from epoch ``start`` to ``end``."""
    for _ in range(start, end):
        epoch_by_hand(model, optimizer, i["X"], i["y"], i["batch_size"])
        scheduler.step()


def disturbed(i):
    """The fresh objects of a resumed run: another seed's weights, and the global random state moved on."""
    model = build(i, i["model_seed"] + DISTURB)
    torch.rand(5)
    return (model, *make(i, model))


def state_of(model, prefix):
    return {f"{prefix}/{name}": t.detach().clone() for name, t in model.state_dict().items()}


def with_grad(fn):
    """``fn(i)`` with autograd on. The grader runs it as a judge: torch's global state its own, what it seeds
    undone afterwards (``torchstate.exclusive``)."""
    def run(i):
        with torch.enable_grad():
            return fn(i)
    return run


def resume_by_hand(i, slip=None):
    """The resumed run, right or with ``slip``: ``"optimizer"``, ``"scheduler"``, ``"rng"`` (each not restored),
    ``"buffers"`` (the parameters restored without BatchNorm's statistics) or ``"epoch"`` (resumed from 0)."""
    model = build(i, i["model_seed"])
    optimizer, scheduler = make(i, model)
    fit_by_hand(i, model, optimizer, scheduler, 0, i["stop"])
    saved = {"model": copy.deepcopy(model.state_dict()), "optimizer": copy.deepcopy(optimizer.state_dict()),
             "scheduler": copy.deepcopy(scheduler.state_dict()), "rng": torch.get_rng_state(),
             "cuda_rng": torch.cuda.get_rng_state_all() if i["X"].is_cuda else None}
    model, optimizer, scheduler = disturbed(i)
    if slip == "buffers":
        model.load_state_dict({name: t for name, t in saved["model"].items() if "running" not in name
                               and "num_batches" not in name}, strict=False)
    else:
        model.load_state_dict(saved["model"])
    if slip != "optimizer":
        optimizer.load_state_dict(saved["optimizer"])
    if slip != "scheduler":
        scheduler.load_state_dict(saved["scheduler"])
    if slip != "rng":
        torch.set_rng_state(saved["rng"])
        if saved["cuda_rng"] is not None:
            torch.cuda.set_rng_state_all(saved["cuda_rng"])
    start = 0 if slip == "epoch" else i["stop"]
    fit_by_hand(i, model, optimizer, scheduler, start, i["epochs"])
    return {**state_of(model, "resumed"), "start_epoch": start}


# --- probes ----------------------------------------------------------------------------------------

def checkpoint_target(trial):
    """Where the probe lets the student's code write a checkpoint: a BytesIO, or a file in a fresh folder."""
    if trial.inputs["to_file"]:
        return os.path.join(tempfile.mkdtemp(prefix="ex11-"), "checkpoint.pt")
    return io.BytesIO()


def rewound(target):
    if isinstance(target, io.BytesIO):
        target.seek(0)
    return target


def probe_make_training(trial):
    """The optimiser's and the schedule's kinds and settings, and the learning rate of each of the run's epochs."""
    i = trial.inputs
    model = build(i, i["model_seed"])
    result = trial.target("make_training")(model, i["lr"], i["momentum"], i["weight_decay"], i["epochs"])
    optimizer, scheduler = outputs_named(result, ("optimizer", "scheduler"), "make_training").values()
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise StudentError(f"make_training should return (optimizer, scheduler); its optimizer is a "
                           f"{type(optimizer).__name__}")
    group = optimizer.param_groups[0]
    mine = {id(p) for g in optimizer.param_groups for p in g["params"]}
    lrs = []
    for _ in range(i["epochs"]):
        lrs.append(float(group["lr"]))
        optimizer.step()  # no gradients: nothing moves, but the scheduler expects a step before its own
        scheduler.step()
    lrs.append(float(group["lr"]))
    return {"is_sgd": type(optimizer) is torch.optim.SGD,
            "is_cosine": type(scheduler) is torch.optim.lr_scheduler.CosineAnnealingLR,
            "all_parameters": mine == {id(p) for p in model.parameters()},
            "momentum": float(group.get("momentum", 0.0)), "weight_decay": float(group.get("weight_decay", 0.0)),
            "dampening": float(group.get("dampening", 0.0)), "nesterov": bool(group.get("nesterov", False)),
            "lrs": Numbers(lrs, dtype=torch.float64)}


def probe_train_epoch(trial):
    """One epoch of the student's ``train_epoch`` on a Net handed over in evaluation mode, with the docstring's SGD."""
    i = trial.inputs
    net = build(i, i["model_seed"])
    optimizer, _ = make(i, net)
    model = Spy(net).eval()
    loss = trial.target("train_epoch")(model, optimizer, i["X"], i["y"], i["batch_size"])
    return {**state_of(net, "trained"), "loss": loss,
            "ran_in_training_mode": model.facts()["ran_in_training_mode"]}


def probe_fit(trial):
    """The student's ``fit`` from ``stop`` (a start_epoch, 0 for a fresh run) to ``epochs`` with the docstring's
    optimiser and schedule: the network after it, how many losses it returned, the learning rate it left."""
    i = trial.inputs
    model = build(i, i["model_seed"])
    optimizer, scheduler = make(i, model)
    losses = trial.target("fit")(model, optimizer, scheduler, i["X"], i["y"], i["epochs"], i["batch_size"],
                                 i["stop"])
    return {"n_losses": Numbers(len(list(losses))), "lr": float(optimizer.param_groups[0]["lr"]),
            **state_of(model, "trained")}


def probe_save(trial):
    """A Net trained ``stop`` epochs (by the rubric), saved by the student's ``save_checkpoint``, then read back
    here with ``torch.load(..., weights_only=True)``: what it holds."""
    i = trial.inputs
    model = build(i, i["model_seed"])
    optimizer, scheduler = make(i, model)
    fit_by_hand(i, model, optimizer, scheduler, 0, i["stop"])
    rng = torch.get_rng_state()
    target = checkpoint_target(trial)
    trial.target("save_checkpoint")(target, model, optimizer, scheduler, i["stop"])
    drew = not torch.equal(torch.get_rng_state(), rng)
    checkpoint = torch.load(rewound(target), map_location=i["X"].device, weights_only=True)
    if not isinstance(checkpoint, dict):
        raise StudentError(f"the checkpoint should be a dict; torch.load gave a {type(checkpoint).__name__}")
    missing = [k for k in ("model", "optimizer", "scheduler", "rng", "epoch") if k not in checkpoint]
    if missing:
        raise StudentError(f"the checkpoint has no {', '.join(repr(k) for k in missing)}; it holds the keys "
                           f"{sorted(map(str, checkpoint))}")
    saved_model, saved_optimizer = checkpoint["model"], checkpoint["optimizer"]
    found = {f"model/{name}": saved_model.get(name) if isinstance(saved_model, dict) else None
             for name in model.state_dict()}
    state = saved_optimizer.get("state", {}) if isinstance(saved_optimizer, dict) else {}
    for k in range(len(list(model.parameters()))):
        entry = state.get(k, {}) if isinstance(state, dict) else {}
        found[f"momentum/{k}"] = entry.get("momentum_buffer") if isinstance(entry, dict) else None
    scheduler_state = checkpoint["scheduler"] if isinstance(checkpoint["scheduler"], dict) else {}
    saved_rng = checkpoint["rng"]
    return {**found, "scheduler_epoch": Numbers(int(scheduler_state.get("last_epoch", -1))),
            "rng_saved": isinstance(saved_rng, torch.Tensor) and torch.equal(saved_rng.cpu(), rng),
            "rng_untouched": not drew, "epoch": Numbers(int(checkpoint["epoch"]))}


def saved_by_rubric(i, model, optimizer, scheduler):
    """A checkpoint in the docstring's format, in a BytesIO (rewound)."""
    target = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "rng": torch.get_rng_state(), "cuda_rng": None, "epoch": i["stop"]}, target)
    target.seek(0)
    return target


def probe_load(trial):
    """A checkpoint in the docstring's format (a Net trained ``stop`` epochs), loaded by the student's
    ``load_checkpoint`` into fresh objects: what they hold after, and what it returned."""
    i = trial.inputs
    model = build(i, i["model_seed"])
    optimizer, scheduler = make(i, model)
    fit_by_hand(i, model, optimizer, scheduler, 0, i["stop"])
    rng = torch.get_rng_state()
    target = saved_by_rubric(i, model, optimizer, scheduler)
    model, optimizer, scheduler = disturbed(i)
    epoch = trial.target("load_checkpoint")(target, model, optimizer, scheduler)
    state = optimizer.state_dict()["state"]
    momentum = {f"momentum/{k}": state.get(k, {}).get("momentum_buffer") for k in range(len(list(model.parameters())))}
    return {**state_of(model, "model"), **momentum, "lr": float(optimizer.param_groups[0]["lr"]),
            "scheduler_epoch": Numbers(int(scheduler.last_epoch)),
            "rng_restored": torch.equal(torch.get_rng_state(), rng), "epoch": epoch}


def probe_weights_only(trial):
    """A checkpoint in the docstring's format that also holds a pickled object (a ``types.SimpleNamespace``, which
    only unpickling code can rebuild), handed to the student's ``load_checkpoint``: whether torch refused it."""
    i = trial.inputs
    model = build(i, i["model_seed"])
    optimizer, scheduler = make(i, model)
    target = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "rng": torch.get_rng_state(), "cuda_rng": None, "epoch": 0,
                "note": types.SimpleNamespace(text="a pickled object")}, target)
    target.seek(0)
    try:
        trial.target("load_checkpoint")(target, model, optimizer, scheduler)
    except pickle.UnpicklingError:
        return {"refused": True}
    return {"refused": False}


def probe_resume(trial):
    """The run without interruption and the resumed one, both by the student's functions (the docstring's model,
    optimiser and schedule built by ``make_training``): their parameters and buffers, and the epoch resumed from."""
    i = trial.inputs
    make_training, fit = trial.target("make_training"), trial.target("fit")

    def fresh(seed):
        model = build(i, seed)
        if seed != i["model_seed"]:
            torch.rand(5)
        return (model, *outputs_named(make_training(model, i["lr"], i["momentum"], i["weight_decay"], i["epochs"]),
                                      ("optimizer", "scheduler"), "make_training").values())

    model, optimizer, scheduler = fresh(i["model_seed"])
    fit(model, optimizer, scheduler, i["X"], i["y"], i["epochs"], i["batch_size"])
    uninterrupted = state_of(model, "uninterrupted")
    model, optimizer, scheduler = fresh(i["model_seed"])
    fit(model, optimizer, scheduler, i["X"], i["y"], i["stop"], i["batch_size"])
    target = checkpoint_target(trial)
    trial.target("save_checkpoint")(target, model, optimizer, scheduler, i["stop"])
    model, optimizer, scheduler = fresh(i["model_seed"] + DISTURB)
    start = trial.target("load_checkpoint")(rewound(target), model, optimizer, scheduler)
    if not isinstance(start, int):
        raise StudentError(f"load_checkpoint should return the epoch, an int; it returned a {type(start).__name__}")
    fit(model, optimizer, scheduler, i["X"], i["y"], i["epochs"], i["batch_size"], start)
    return {**state_of(model, "resumed"), "start_epoch": start, **uninterrupted}


def prepared(i):
    """A Net trained one epoch (its running statistics moved), in the case's mode; X and y to evaluate it on."""
    model = build(i, i["model_seed"])
    optimizer, _ = make(i, model)
    epoch_by_hand(model, optimizer, i["X"], i["y"], i["batch_size"])
    model.train(i["handed"] == "train")  # the mode the model is in when evaluate gets it
    return model


def probe_evaluate(trial):
    """``evaluate`` twice on a Net trained one epoch: both losses, BatchNorm's statistics after, the mode it left."""
    i = trial.inputs
    net = prepared(i)
    model = Spy(net)
    before = [b.clone() for b in net.buffers()]
    was = net.training
    evaluate = trial.target("evaluate")
    loss = evaluate(model, i["X"], i["y"])
    again = evaluate(model, i["X"], i["y"])
    facts = model.facts()
    return {"loss": loss, "loss_again": again,
            "buffers_unchanged": all(torch.equal(b, a) for b, a in zip(before, net.buffers())),
            "mode_kept": net.training == was and all(m.training == was for m in net.modules()),
            "ran_in_eval_mode": facts["ran_in_eval_mode"], "ran_without_autograd": facts["ran_without_autograd"]}


def measured_model(i):
    """The model of a ``mode_effects`` case, seeded, on x's device and dtype, in the case's mode."""
    x, p, d = i["x"], i["p"], i["x"].shape[1]
    torch.manual_seed(i["model_seed"])
    layers = {"net": lambda: Net(d, 6, 2, p),
              "no_bn": lambda: nn.Sequential(nn.Linear(d, 6), nn.Dropout(p)),
              "bn_only": lambda: nn.Sequential(nn.Linear(d, 6), nn.BatchNorm1d(6)),
              "untracked": lambda: nn.Sequential(nn.Linear(d, 6), nn.BatchNorm1d(6, track_running_stats=False),
                                                 nn.Dropout(p)),
              "frozen_bn": lambda: nn.Sequential(nn.Linear(d, 6), nn.BatchNorm1d(6, momentum=0.0))}[i["kind"]]()
    return layers.to(device=x.device, dtype=x.dtype).train(i["mode"] == "train")


def probe_mode_effects(trial):
    """The student's four answers, and whether the model handed over kept its buffers, parameters and mode."""
    i = trial.inputs
    model = measured_model(i)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    was = [m.training for m in model.modules()]
    effects = trial.target("mode_effects")(model, i["x"])
    if not isinstance(effects, dict):
        raise StudentError(f"mode_effects should return a dict of four bools; it returned a {type(effects).__name__}")
    found = {key: effects.get(key) for key in KEYS}
    unchanged = all(torch.equal(v, model.state_dict()[k]) for k, v in before.items()) \
        and was == [m.training for m in model.modules()]
    return {**found, "model_unchanged": unchanged}


def probe_plot(trial):
    """The figure, and what it was given (as float64 tensors on the CPU, for the judge)."""
    i = trial.inputs
    losses, resumed = i["losses"], i["resumed"]
    fig = trial.target("plot_resume")(trial.place(losses) if isinstance(losses, torch.Tensor) else list(losses),
                                      trial.place(resumed) if isinstance(resumed, torch.Tensor) else list(resumed),
                                      i["stop"])
    given = {name: torch.as_tensor(v).detach().cpu().double() for name, v in (("losses", losses),
                                                                           ("resumed", resumed))}
    return {**describe_figure(fig, "plot_resume"), **{f"given/{k}": v for k, v in given.items()},
            "given/stop": Numbers(i["stop"])}


KEYS = ("train/updates_buffers", "train/random", "eval/updates_buffers", "eval/random")


def probe_sgd(trial):
    """Two steps of the student's ``sgd_step`` (buffers None, then the first step's), and whether the inputs kept
    their values."""
    i = trial.inputs
    n = i["n"]
    params = [i[f"p{k}"] for k in range(n)]
    kept = [p.clone() for p in params]
    step = trial.target("sgd_step")
    result = step(params, [i[f"g{k}/1"] for k in range(n)], None, i["lr"], i["momentum"], i["weight_decay"])
    first, buffers = outputs_named(result, ("params", "buffers"), "sgd_step").values()
    result = step(list(first), [i[f"g{k}/2"] for k in range(n)], list(buffers), i["lr"], i["momentum"],
                  i["weight_decay"])
    second, _ = outputs_named(result, ("params", "buffers"), "sgd_step").values()
    found = {**{f"step1/p{k}": first[k] for k in range(n)}, **{f"step2/p{k}": second[k] for k in range(n)}}
    if not params[0].is_meta:
        found["inputs_unchanged"] = all(torch.equal(p, q) for p, q in zip(params, kept))
    return found


# --- expected values from torch itself ---------------------------------------------------------------

def torch_sgd(i, decoupled=False, dampened=False, flipped=False):
    """``torch.optim.SGD``'s two steps on the case's parameters, or one of the mistakes by hand: the decay
    ``decoupled`` (p shrunk by lr * wd * p beside the momentum step, not through it: the same as adding wd * p after
    the momentum), the momentum ``dampened`` (b = momentum b + (1 - momentum) d) or the decay's sign ``flipped``."""
    n = i["n"]
    params = [i[f"p{k}"] for k in range(n)]
    if params[0].is_meta:
        return {f"step{s}/p{k}": torch.empty_like(params[k]) for s in (1, 2) for k in range(n)}
    lr, m, wd = i["lr"], i["momentum"], i["weight_decay"]
    if not (decoupled or dampened or flipped):
        leaves = [p.detach().clone().requires_grad_(True) for p in params]
        optimizer = torch.optim.SGD(leaves, lr=lr, momentum=m, weight_decay=wd)
        found = {}
        for s in (1, 2):
            for k, leaf in enumerate(leaves):
                leaf.grad = i[f"g{k}/{s}"].clone()
            optimizer.step()
            found.update({f"step{s}/p{k}": leaf.detach().clone() for k, leaf in enumerate(leaves)})
        return found
    found, buffers = {}, [None] * n
    for s in (1, 2):
        for k in range(n):
            p, g = params[k], i[f"g{k}/{s}"]
            sign = -1.0 if flipped else 1.0
            d = g if decoupled else g + sign * wd * p
            b = d if buffers[k] is None else m * buffers[k] + ((1 - m) * d if dampened else d)
            buffers[k] = b
            params[k] = p * (1 - lr * wd) - lr * b if decoupled else p - lr * b
            found[f"step{s}/p{k}"] = params[k]
    return found


def expected_effects(i):
    """The truth about a ``mode_effects`` case, measured here on the rubric's copy of its model. The grader computes
    it as an expected value: torch's global state its own, what it seeds undone afterwards
    (``torchstate.exclusive``)."""
    model = measured_model(i)
    found = {}
    for mode in ("train", "eval"):
        clone = copy.deepcopy(model).train(mode == "train")
        with torch.no_grad():
            before = [b.clone() for b in clone.buffers()]
            first = clone(i["x"])
            changed = any(not torch.equal(b, a) for b, a in zip(before, clone.buffers()))
            found[f"{mode}/updates_buffers"] = changed
            found[f"{mode}/random"] = not torch.equal(first, clone(i["x"]))
    return {**found, "model_unchanged": True}


def effects_without_clones(i):
    """What ``mode_effects`` answers when it keeps the buffers themselves (no clone) before the pass: no change."""
    return {**expected_effects(i), "train/updates_buffers": False, "eval/updates_buffers": False}


# --- judged here ------------------------------------------------------------------------------------

def bit_for_bit(values, inputs):
    """Every tensor of the resumed run equals the uninterrupted run's exactly (``torch.equal``)."""
    names = sorted(k[len("resumed/"):] for k in values if k.startswith("resumed/"))
    if not names:
        return "the resumed run reported no parameters"
    differ = []
    for name in names:
        a, b = values.get(f"resumed/{name}"), values.get(f"uninterrupted/{name}")
        if a is None or b is None or a.shape != b.shape or a.dtype != b.dtype or not torch.equal(a, b):
            gap = float((a.double() - b.double()).abs().max()) if a is not None and b is not None \
                and a.shape == b.shape and a.numel() else float("nan")
            differ.append(f"`{name}` (greatest difference {gap:.3g})")
    if differ:
        return (f"the resumed run's tensors are not those of the run without interruption, bit for bit: "
                f"{', '.join(differ)}. Something the next epochs depend on was not saved or not restored: the model's "
                "state_dict (with BatchNorm's buffers), the optimiser's state_dict (SGD's momentum), the scheduler's, "
                "the random state (torch.get_rng_state / set_rng_state), the epoch to resume from; and train_epoch "
                "must draw no random numbers but torch.randperm's")
    return None


def draws_both_runs(values, inputs):
    drawing = figures.Drawing.of(values)
    losses, resumed, stop = values.get("given/losses"), values.get("given/resumed"), int(values["given/stop"])
    E = len(losses)
    epochs = torch.arange(1, E + 1, dtype=torch.float64)
    if drawing.line_through(epochs, losses) is None:
        return "no line draws the uninterrupted run's losses at epochs 1 to E (ax.plot(range(1, E + 1), losses))"
    if drawing.line_through(epochs[stop:], resumed) is None:
        return ("nothing draws the resumed run's losses at epochs stop + 1 to E (ax.plot(range(stop + 1, E + 1), "
                "resumed, 'o'))")
    if not any(len(line.x) == 2 and bool((line.x == stop).all()) for line in drawing.lines):
        return "mark the checkpoint with a vertical line at x = stop (ax.axvline(stop))"
    if not any(ax.xlabel.strip() and ax.ylabel.strip() for ax in drawing.axes.values()):
        return "label the axes (ax.set_xlabel('epoch'), ax.set_ylabel('training loss'))"
    if len(drawing.legend_entries()) < 3:
        return ("name the three in a legend: label= the uninterrupted run, the resumed run and the checkpoint, then "
                "ax.legend()")
    return None


# --- what wrong answers look like ------------------------------------------------------------------

RESUME_MISTAKES = [
    like("the optimiser's state was not restored: SGD's momentum buffers (and its learning rate) start afresh after "
         "loading. Save optimizer.state_dict() and load it with optimizer.load_state_dict",
         with_grad(lambda i: resume_by_hand(i, "optimizer"))),
    like("the scheduler was not restored: a fresh CosineAnnealingLR starts its cosine again from epoch 0. Save "
         "scheduler.state_dict() and load it with scheduler.load_state_dict",
         with_grad(lambda i: resume_by_hand(i, "scheduler"))),
    like("the random state was not restored, so the resumed run drew other dropout masks and another order of the "
         "batches: save torch.get_rng_state() and put it back with torch.set_rng_state",
         with_grad(lambda i: resume_by_hand(i, "rng"))),
    like("the run resumed from epoch 0, not from the checkpoint's epoch: load_checkpoint must return "
         "checkpoint['epoch'] and fit must start there (range(start_epoch, epochs))",
         with_grad(lambda i: resume_by_hand(i, "epoch"))),
    like("BatchNorm's running statistics were not restored: save model.state_dict(), which holds the buffers "
         "(running_mean, running_var, num_batches_tracked) as well as the parameters",
         with_grad(lambda i: resume_by_hand(i, "buffers"))),
]


def epoch_slip(**slip):
    def model(i):
        net = build(i, i["model_seed"])
        optimizer, _ = make(i, net)
        loss = epoch_by_hand(net, optimizer, i["X"], i["y"], i["batch_size"], **slip)
        return {**state_of(net, "trained"), "loss": loss}
    return with_grad(model)


EPOCH_MISTAKES = [
    like("the gradients were never zeroed: call optimizer.zero_grad() before each backward()",
         epoch_slip(zero_grad=False)),
    like("the batches came in order: take them from perm = torch.randperm(len(X), device=X.device)",
         epoch_slip(shuffle=False)),
    like("the model trained in evaluation mode (BatchNorm's running statistics, no dropout): call model.train() "
         "first", epoch_slip(train=False)),
]


def evaluated_in_training_mode(i):
    """``evaluate``'s loss with the model left in training mode: dropout on, BatchNorm on the batch's statistics."""
    model = prepared(i).train()
    with torch.no_grad():
        return {"loss": nn.functional.cross_entropy(model(i["X"]), i["y"]).item()}


EVALUATE_MISTAKES = [
    like("the model was evaluated in training mode (dropout on, BatchNorm normalising by the batch and updating its "
         "running statistics): call model.eval() before evaluating", with_grad(evaluated_in_training_mode),
         outputs=["loss"]),
]

SGD_MISTAKES = [
    like("the weight decay was decoupled from the momentum (p shrunk by lr * weight_decay * p beside the momentum "
         "step, as AdamW does): torch.optim.SGD adds weight_decay * p to the gradient, d = g + weight_decay * p, "
         "before the momentum, b = momentum * b + d", lambda i: torch_sgd(i, decoupled=True)),
    like("the momentum was dampened (b = momentum * b + (1 - momentum) * d): torch.optim.SGD's default dampening is "
         "0, b = momentum * b + d", lambda i: torch_sgd(i, dampened=True)),
    like("the weight decay has the wrong sign: the penalty weight_decay / 2 * |p|^2 adds + weight_decay * p to the "
         "gradient", lambda i: torch_sgd(i, flipped=True)),
]

MODE_MISTAKES = [
    like("no buffer seemed to change: the buffers were kept without .clone(), so 'before' and 'after' are the same "
         "tensors, changed in place by the pass. Keep [b.clone() for b in model.buffers()]",
         with_grad(effects_without_clones)),
]

STATE_NAMES = {"lrs": "the learning rate at each epoch (0 to epochs) under your scheduler",
               "n_losses": "the number of losses fit returned", "lr": "the optimiser's learning rate after fit"}
LOADED_NAMES = {"lr": "the optimiser's learning rate after loading", "epoch": "the epoch load_checkpoint returned"}

# --- checks ----------------------------------------------------------------------------------------

EXERCISE.add(
    Check("make_training", "make_training", 2, "SGD over all the parameters with the given lr, momentum and "
          "weight_decay; CosineAnnealingLR(T_max=epochs): the learning rate of every epoch", probe_make_training,
          Match(names=STATE_NAMES, explain={
              "is_sgd": "the optimiser should be torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, "
                        "weight_decay=weight_decay)",
              "is_cosine": "the scheduler should be torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, "
                           "T_max=epochs)",
              "all_parameters": "the optimiser should hold every parameter of the model: model.parameters()",
              "lrs": "the learning rate should follow lr * (1 + cos(pi * t / epochs)) / 2: CosineAnnealingLR with "
                     "T_max=epochs (eta_min 0)",
              "weight_decay": "pass weight_decay=weight_decay to torch.optim.SGD",
              "momentum": "pass momentum=momentum to torch.optim.SGD"}),
          run_inputs, (case(0),)),
    Check("train_epoch", "train_epoch", 2, "training mode, batches in the order of torch.randperm, zero_grad, "
          "cross-entropy, backward, step; the mean batch loss", probe_train_epoch,
          Match(**TRAINING, mistakes=EPOCH_MISTAKES, explain=MODE_HINTS), run_inputs, (case(1),)),
    Check("fit", "fit", 2, "train_epoch then scheduler.step() for each epoch from start_epoch to epochs; one loss "
          "each", probe_fit,
          Match(**TRAINING, names=STATE_NAMES, explain={
              "n_losses": "fit should run the epochs start_epoch, ..., epochs - 1 and return one loss each",
              "lr": "step the scheduler once per epoch, after train_epoch (scheduler.step())"}),
          run_inputs, (case(2, stop=0), case(3, stop=2))),
    Check("save_checkpoint", "save_checkpoint", 2, "one torch.save of the model's, the optimiser's and the "
          "scheduler's state_dict, the random state and the epoch, readable with weights_only=True", probe_save,
          Match(explain={
              "rng_saved": "save the random state as it is when save_checkpoint is called: torch.get_rng_state()",
              "rng_untouched": "save_checkpoint should draw no random numbers: the run goes on after it",
              "momentum/0": "the optimiser's momentum buffers are not in the checkpoint: save optimizer.state_dict()",
              "model/layers.1.running_mean": "BatchNorm's running statistics are not in the checkpoint: save "
                                             "model.state_dict(), which holds the buffers too",
              "scheduler_epoch": "save scheduler.state_dict(): it holds the scheduler's epoch count",
              "epoch": "save the epoch you are given under 'epoch'"}),
          run_inputs, (case(4),)),
    Check("load_checkpoint", "load_checkpoint", 3, "restores the model (parameters and buffers), the optimiser "
          "(momentum, learning rate), the scheduler and the random state into fresh objects; returns the epoch",
          probe_load,
          Match(names=LOADED_NAMES, explain={
              "rng_restored": "the random state was not put back: torch.set_rng_state(checkpoint['rng'].cpu())",
              "momentum/0": "the optimiser's momentum buffers were not restored: "
                            "optimizer.load_state_dict(checkpoint['optimizer'])",
              "lr": "the optimiser's learning rate was not restored: "
                    "optimizer.load_state_dict(checkpoint['optimizer'])",
              "scheduler_epoch": "the scheduler was not restored: scheduler.load_state_dict(checkpoint['scheduler'])",
              "epoch": "return the checkpoint's epoch, an int"}),
          run_inputs, (case(5, stop=1), case(6, stop=3))),
    Check("load_checkpoint.weights_only", "load_checkpoint", 1, "a checkpoint that holds a pickled object is refused: "
          "torch.load(..., weights_only=True) unpickles tensors and plain values, never code", probe_weights_only,
          Match(explain={"refused": "load_checkpoint loaded a file holding a pickled object: torch.load(path, "
                                    "map_location=device, weights_only=True) refuses what could run code"}),
          run_inputs, (case(13),)),
    Check("resume", "load_checkpoint", 4, "train 2 epochs, save, build fresh objects (other weights, the random "
          "state disturbed), load, train the rest: the same parameters and buffers as the run's without the "
          "interruption", probe_resume,
          Match(**TRAINING, mistakes=RESUME_MISTAKES,
                names={"start_epoch": "the epoch load_checkpoint returned"}),
          run_inputs, (case(7),)),
    Check("resume.exact", "load_checkpoint", 3, "the resumed run's parameters and buffers equal the uninterrupted "
          "run's bit for bit (torch.equal, compared by the grader)", probe_resume,
          Holds(Require(bit_for_bit)), run_inputs, (case(7), case(8, stop=3, p=0.5))),
    Check("evaluate", "evaluate", 3, "eval() and no_grad(): the same loss at every call, BatchNorm's statistics "
          "untouched, the model's mode put back", probe_evaluate,
          Match(**TRAINING, mistakes=EVALUATE_MISTAKES, explain={
              **MODE_HINTS,
              "buffers_unchanged": "evaluating changed BatchNorm's running statistics: in training mode every "
                                   "forward pass updates them; call model.eval() first",
              "mode_kept": "put the model back in the mode it was in: was_training = model.training first, "
                           "model.train(was_training) after"}),
          evaluate_inputs, (case(9),)),
    Check("mode_effects", "mode_effects", 3, "measured, for train() and eval(): whether a forward pass changes a "
          "buffer, and whether two passes differ; the model handed over left as it was", probe_mode_effects,
          Match(oracle=expected_effects, mistakes=MODE_MISTAKES, explain={
              "model_unchanged": "measure on copies (copy.deepcopy(model)): the model handed over must keep its "
                                 "buffers and its mode"}),
          mode_inputs, (case(10), case(11, mode="eval"))),
    Check("sgd_step", "sgd_step", 3, "two steps equal torch.optim.SGD(lr, momentum, weight_decay)'s, and the inputs "
          "keep their values", probe_sgd,
          Match(oracle=lambda i: {**torch_sgd(i), **({} if i["p0"].is_meta else {"inputs_unchanged": True})},
                mistakes=SGD_MISTAKES, explain={
                    "inputs_unchanged": "sgd_step changed the tensors it was given: compute new ones (p - lr * b, "
                                        "not p.sub_(...))"}),
          sgd_inputs, (case(12),)),
    Check("plot_resume", "plot_resume", 1, "both runs' losses against the epoch, the checkpoint as a vertical line, "
          "labelled axes and a legend (judged on the data drawn)", probe_plot,
          Holds(at_least("figure/axes", 1, "axes"), Require(draws_both_runs)), plot_inputs, (case(14),)),
)

### BEGIN HIDDEN TESTS
# Other sizes, float64 networks, a checkpoint written to a file, other stops and hyperparameters (no momentum, no
# weight decay), models where the answers of mode_effects differ (no BatchNorm, BatchNorm without statistics or of
# momentum 0, dropout p = 0), the model handed to evaluate in evaluation mode, SGD on the meta device, and a figure
# of other runs drawn from tensors (attached to a graph, on a stand-in for a GPU).
EXERCISE.add(
    EXERCISE.check("make_training").hidden_variant(1, case(901, lr=0.05, momentum=0.5, weight_decay=0.1, epochs=6),
                                                   case(902, momentum=0.0, weight_decay=0.0, epochs=1)),
    EXERCISE.check("train_epoch").hidden_variant(1, case(903, n=30, batch_size=7, dtype=torch.float64),
                                                 case(904, n=20, d_in=3, d_hidden=5, d_out=4, batch_size=32)),
    EXERCISE.check("fit").hidden_variant(1, case(905, epochs=3, stop=3), case(906, epochs=5, stop=1,
                                                                              dtype=torch.float64)),
    EXERCISE.check("save_checkpoint").hidden_variant(1, case(907, to_file=True, stop=3),
                                                     case(908, dtype=torch.float64, stop=1, momentum=0.5)),
    EXERCISE.check("load_checkpoint").hidden_variant(1, case(909, dtype=torch.float64, stop=2, epochs=5)),
    EXERCISE.check("resume").hidden_variant(2, case(910, to_file=True, stop=1, epochs=3),
                                            case(911, dtype=torch.float64, stop=3, epochs=5, batch_size=10,
                                                 momentum=0.5, weight_decay=0.01)),
    EXERCISE.check("resume.exact").hidden_variant(1, case(912, to_file=True, stop=1, epochs=3, p=0.0),
                                                  case(913, dtype=torch.float64, stop=2, epochs=3, n=40,
                                                       batch_size=12)),
    EXERCISE.check("evaluate").hidden_variant(1, case(914, handed="eval"), case(915, dtype=torch.float64, p=0.6)),
    EXERCISE.check("mode_effects").hidden_variant(2, case(916, kind="no_bn"), case(917, kind="bn_only"),
                                                  case(918, kind="untracked", mode="eval"),
                                                  case(919, kind="frozen_bn"), case(920, kind="net", p=0.0),
                                                  case(921, dtype=torch.float64, n=5)),
    EXERCISE.check("sgd_step").hidden_variant(1, case(922, shapes=((2, 3, 2), (1,), (5,)), dtype=torch.float32),
                                              case(923, momentum=0.0, weight_decay=0.5, lr=0.3),
                                              case(924, weight_decay=0.0), case(925, device="meta")),
    EXERCISE.check("plot_resume").hidden_variant(1, case(926, epochs=9, stop=5, tensors=True),
                                                 case(927, epochs=4, stop=1, tensors=True, device="offhost")),
)
### END HIDDEN TESTS
