"""Rubric for exercise 9: scaled dot-product attention by hand, multi-head self-attention, a one-layer attention model
of a key-value look-up and a heatmap of its weights."""

import math
import types
from dataclasses import replace
from functools import lru_cache

import torch
from torch import nn

from grader import data, figures, fresh, rebuild
from grader.checks import (MODE_HINTS, GradcheckConsistent, Holds, Match, Require, adam_loop_mistakes, at_least,
                           every_parameter_used, is_true, like, shape_of)
from grader.probes import (Numbers, SelfGradcheck, Spy, StudentError, describe_figure, memo, outputs_named,
                           unused_parameters)
from grader.rubric import Check, Exercise, case, randn
from grader.thresholds import Measure, Threshold, prediction

EXERCISE = Exercise("ex09_attention", "Attention as an nn.Module", time_limit=60)
SDPA = "scaled_dot_product_attention"
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")
D_MODEL, N_HEADS, EPOCHS = 32, 2, 4  # TokenSelector(), as fit_selector builds it; the epochs the check trains for
FLOAT32 = dict(rtol=1e-4, atol=1e-5)  # float32 attention by hand against torch's fused kernels


# --- inputs ----------------------------------------------------------------------------------------

def boolean_mask(g, shape, S):
    """A random mask of ``shape`` (its last dimension S) in which key 0 is always allowed, so that every query may
    attend somewhere (with a causal mask too: key 0 is never later than a query)."""
    mask = torch.rand(shape, generator=g) < 0.6
    mask[..., 0] = True
    return mask


def attention_inputs(g, lead=(2,), L=3, S=4, d=5, dv=6, dtype=torch.float64, scale=1.0, mask=None, causal=False):
    """Queries, keys and values with leading dimensions ``lead``; ``scale`` multiplies q and k (the scores grow with
    its square). ``mask``: None, ``"pairs"`` (one per query and key, (*lead, L, S)), ``"shared"`` ((L, S), the same
    for every leading index) or ``"keys"`` ((*lead, 1, S), the same for every query); ``causal`` is passed when
    true."""
    inputs = {"q": randn(g, *lead, L, d, dtype=dtype, scale=scale),
              "k": randn(g, *lead, S, d, dtype=dtype, scale=scale), "v": randn(g, *lead, S, dv, dtype=dtype)}
    shapes = {"pairs": (*lead, L, S), "shared": (L, S), "keys": (*lead, 1, S)}
    if mask:
        inputs["mask"] = boolean_mask(g, shapes[mask], S)
    if causal:
        inputs["causal"] = True
    return inputs


def module_inputs(g, B=2, L=5, d_model=8, n_heads=2, dtype=torch.float32, mask=None, causal=False):
    """x (B, L, d_model), weights and biases for the four projections, and the mask (``"pairs"``: (B, L, L),
    ``"shared"``: (L, L)) and causal flag passed to forward."""
    inputs = {"x": randn(g, B, L, d_model, dtype=dtype), "d_model": d_model, "n_heads": n_heads}
    for name in PROJECTIONS:
        inputs[f"{name}/weight"] = randn(g, d_model, d_model, dtype=dtype, scale=1 / math.sqrt(d_model))
        inputs[f"{name}/bias"] = randn(g, d_model, dtype=dtype, scale=0.1)
    if mask:
        inputs["mask"] = boolean_mask(g, {"pairs": (B, L, L), "shared": (L, L)}[mask], L)
    if causal:
        inputs["causal"] = True
    return inputs


def structure_inputs(g, refused=(6, 4), **sizes):
    """A SelfAttention's inputs, and a (d_model, n_heads) it must refuse."""
    return {**module_inputs(g, **sizes), "refused": refused}


def shuffling_inputs(g, **sizes):
    """A SelfAttention's inputs, and an order of the positions."""
    inputs = module_inputs(g, **sizes)
    return {**inputs, "perm": torch.randperm(inputs["x"].shape[1], generator=g)}


def selector_inputs(g, B=6, n_keys=16, n_values=10, d_model=8, n_heads=2, pairs=5):
    """Sequences of the look-up (keys distinct, the query last) and values for every parameter of a TokenSelector."""
    keys = torch.argsort(torch.rand(B, n_keys, generator=g), dim=1)[:, :pairs]
    values = torch.randint(0, n_values, (B, pairs), generator=g)
    query = torch.stack([keys[:, 0], torch.full((B,), n_values)], dim=1).unsqueeze(1)
    inputs = {"X": torch.cat([torch.stack([keys, values], dim=2), query], dim=1), "n_keys": n_keys,
              "n_values": n_values, "d_model": d_model, "n_heads": n_heads,
              "key_embed/weight": randn(g, n_keys, d_model, dtype=torch.float32),
              "value_embed/weight": randn(g, n_values + 1, d_model, dtype=torch.float32),
              "head/weight": randn(g, n_values, d_model, dtype=torch.float32, scale=0.5),
              "head/bias": randn(g, n_values, dtype=torch.float32, scale=0.1)}
    for name in PROJECTIONS:
        inputs[f"attention/{name}/weight"] = randn(g, d_model, d_model, dtype=torch.float32, scale=0.5)
        inputs[f"attention/{name}/bias"] = randn(g, d_model, dtype=torch.float32, scale=0.1)
    return inputs


def training_inputs(g, n=10, T=3, c=4, epochs=3, lr=0.05, batch_size=4, loader_seed=1):
    """Sequences and labels, the weights of a fixed linear classifier; what ``train_selector`` is given."""
    return {"X": torch.randint(0, 5, (n, T, 2), generator=g), "y": torch.randint(0, c, (n,), generator=g),
            "W": torch.randn(c, 2 * T, generator=g) * 0.3, "b": torch.randn(c, generator=g) * 0.1,
            "epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": loader_seed}


def plot_inputs(g, synthetic=False, T=6, grad=False):
    """The trained model's weights of one held-out sequence, or (``synthetic``) made-up weights of T positions,
    attached to a graph when ``grad``."""
    if not synthetic:
        return {"epochs": EPOCHS}
    weights = torch.softmax(randn(g, T, T, dtype=torch.float32, scale=2.0), dim=-1).requires_grad_(grad)
    return {"weights": weights, "labels": tuple(f"p{t}" for t in range(T))}


# --- what torch computes (the expected values) ----------------------------------------------------

def allowed_of(i, L, S, device):
    """Where each of L queries may attend among S keys: the case's mask and the lower triangle of a causal case (made
    on ``device``), or None."""
    allowed = i.get("mask")
    if i.get("causal"):
        lower = torch.ones(L, S, dtype=torch.bool, device=device).tril()
        allowed = lower if allowed is None else allowed & lower
    return allowed


def mask_arguments(i):
    """The case's mask and causal flag, as keyword arguments (those it has)."""
    return {name: i[name] for name in ("mask", "causal") if name in i}


def torch_attention(i):
    """``torch.nn.functional.scaled_dot_product_attention``'s output, and its weights (its output for values that
    are the identity), in float64; of the inputs' dtype. On the meta device: tensors of the right shape there."""
    q, k, v = i["q"], i["k"], i["v"]
    if q.is_meta:
        return {"out": torch.empty(*q.shape[:-1], v.shape[-1], dtype=q.dtype, device="meta"),
                "weights": torch.empty(*q.shape[:-1], k.shape[-2], dtype=q.dtype, device="meta")}
    allowed = allowed_of(i, q.shape[-2], k.shape[-2], q.device)
    eye = torch.eye(k.shape[-2], dtype=torch.float64, device=q.device).expand(*v.shape[:-1], k.shape[-2])
    out, weights = (nn.functional.scaled_dot_product_attention(q.double(), k.double(), values, attn_mask=allowed)
                    for values in (v.double(), eye))
    return {"out": out.to(q.dtype), "weights": weights.to(q.dtype)}


def torch_self_attention(i):
    """``nn.MultiheadAttention(d_model, n_heads, batch_first=True)`` with the case's weights copied in
    (``in_proj_weight`` the q, k and v weights stacked), the mask inverted as its ``attn_mask`` wants it."""
    x = i["x"]
    if x.is_meta:
        return {"out": torch.empty(x.shape, dtype=x.dtype, device="meta")}
    B, L, d_model = x.shape
    mha = nn.MultiheadAttention(d_model, i["n_heads"], batch_first=True, device=x.device, dtype=x.dtype)
    allowed = allowed_of(i, L, L, x.device)
    blocked = None if allowed is None else ~allowed.expand(B, L, L).repeat_interleave(i["n_heads"], dim=0)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([i[f"{name}/weight"] for name in PROJECTIONS[:3]]))
        mha.in_proj_bias.copy_(torch.cat([i[f"{name}/bias"] for name in PROJECTIONS[:3]]))
        mha.out_proj.weight.copy_(i["out_proj/weight"]), mha.out_proj.bias.copy_(i["out_proj/bias"])
        return {"out": mha.eval()(x, x, x, attn_mask=blocked, need_weights=False)[0]}


class Selector(nn.Module):
    """A TokenSelector built from torch's own layers: embeddings, ``nn.MultiheadAttention`` and a linear read-out."""

    def __init__(self, tables: dict, n_heads: int):
        super().__init__()
        key, value = tables["key_embed/weight"], tables["value_embed/weight"]
        self.key_embed, self.value_embed = nn.Embedding.from_pretrained(key), nn.Embedding.from_pretrained(value)
        self.attention = nn.MultiheadAttention(key.shape[1], n_heads, batch_first=True, device=key.device,
                                               dtype=key.dtype)
        self.head = nn.Linear(key.shape[1], tables["head/weight"].shape[0], device=key.device, dtype=key.dtype)
        with torch.no_grad():
            self.attention.in_proj_weight.copy_(torch.cat([tables[f"attention/{n}/weight"] for n in PROJECTIONS[:3]]))
            self.attention.in_proj_bias.copy_(torch.cat([tables[f"attention/{n}/bias"] for n in PROJECTIONS[:3]]))
            self.attention.out_proj.weight.copy_(tables["attention/out_proj/weight"])
            self.attention.out_proj.bias.copy_(tables["attention/out_proj/bias"])
            self.head.weight.copy_(tables["head/weight"]), self.head.bias.copy_(tables["head/bias"])
        self.eval()

    def forward(self, X):
        h = self.key_embed(X[..., 0]) + self.value_embed(X[..., 1])
        return self.head(self.attention(h, h, h, need_weights=False)[0][:, -1])


def torch_selector(i):
    X = i["X"]
    if X.is_meta:
        return {"logits": torch.empty(X.shape[0], i["n_values"], device="meta")}
    with torch.no_grad():
        return {"logits": Selector(i, i["n_heads"])(X)}


# --- probes ----------------------------------------------------------------------------------------

def attend(trial, *tensors):
    """The student's attention on the case's q, k, v (or on ``tensors``) with its mask and causal flag, as
    (out, weights)."""
    i = trial.inputs
    result = trial.target(SDPA)(*(tensors or (i["q"], i["k"], i["v"])), **mask_arguments(i))
    return outputs_named(result, ("out", "weights"), SDPA)


def probe_attention(trial):
    return attend(trial)


def probe_masked(trial):
    """What the weights give to the keys a query may not attend to, and each query's total weight."""
    i = trial.inputs
    weights = attend(trial)["weights"]
    if not isinstance(weights, torch.Tensor):
        raise StudentError(f"{SDPA} should return (out, weights) as tensors; its weights are a "
                           f"{type(weights).__name__}")
    blocked = ~allowed_of(i, i["q"].shape[-2], i["k"].shape[-2], i["q"].device).expand(weights.shape)
    return {"blocked_weights": weights.detach()[blocked].abs(), "row_sums": weights.detach().sum(dim=-1).reshape(-1)}


def probe_gradcheck(trial):
    """gradcheck's two Jacobians of the attention's output (float64), through a stand-in module whose ``attention``
    is the student's function with the case's mask and causal flag, returning its output alone."""
    def attention(q, k, v):
        return attend(trial, q, k, v)["out"]

    stand_in = types.SimpleNamespace(__name__=trial.module.__name__, attention=attention)
    return SelfGradcheck("attention", ["q", "k", "v"])(replace(trial, module=stand_in))


def student_attention(trial, weights=True):
    """The student's SelfAttention for the case, on its device and dtype, with the case's weights copied into its four
    projections (``weights``)."""
    i = trial.inputs
    model = trial.target("SelfAttention")(i["d_model"], i["n_heads"])
    if not isinstance(model, nn.Module):
        raise StudentError(f"SelfAttention(...) should be an nn.Module; it is a {type(model).__name__}")
    model = model.to(device=trial.device, dtype=i["x"].dtype)
    if weights:
        for name in PROJECTIONS:
            layer = getattr(model, name, None)
            wanted = i[f"{name}/weight"].shape
            if not isinstance(layer, nn.Linear) or layer.bias is None or layer.weight.shape != wanted:
                raise StudentError(f"SelfAttention.{name} should be nn.Linear(d_model, d_model) with a bias "
                                   f"(d_model = {i['d_model']}); it is {layer!r}")
            with torch.no_grad():
                layer.weight.copy_(i[f"{name}/weight"]), layer.bias.copy_(i[f"{name}/bias"])
    return model


def probe_module(trial):
    model = student_attention(trial).eval()
    with torch.no_grad():
        return {"out": model(trial.inputs["x"], **mask_arguments(trial.inputs))}


def unused_but_the_key_bias(model, out):
    """``unused_parameters`` of ``out``, less k_proj's bias: it adds the same q . b to a query's every score, which the
    softmax never sees (its gradient is zero but for rounding)."""
    unused = figures.text_of(unused_parameters(model, [out] if isinstance(out, torch.Tensor) else []).tensor)
    kept = [name for name in unused.split(", ") if name and not name.endswith("k_proj.bias")]
    return figures.text_tensor(", ".join(kept))


def probe_module_structure(trial):
    i = trial.inputs
    model = student_attention(trial, weights=False)
    projections = [getattr(model, name, None) for name in PROJECTIONS]
    out = model(i["x"])
    try:
        trial.target("SelfAttention")(*i["refused"])
        refused = False
    except ValueError:
        refused = True
    return {"projections": all(isinstance(p, nn.Linear) and p.bias is not None
                               and (p.in_features, p.out_features) == (i["d_model"],) * 2 for p in projections),
            "out_shape": Numbers(list(out.shape)) if isinstance(out, torch.Tensor) else None,
            "unused_parameters": unused_but_the_key_bias(model, out),
            "refuses": refused}


def probe_equivariance(trial):
    """The output for the positions shuffled, and the output shuffled (the model's own initial weights)."""
    i = trial.inputs
    model = student_attention(trial, weights=False).eval()
    with torch.no_grad():
        return {"shuffled_out": model(i["x"])[:, i["perm"]], "out_of_shuffled": model(i["x"][:, i["perm"]])}


def student_selector(trial, weights=True):
    """The student's TokenSelector for the case (its sizes), with the case's values in every parameter."""
    i = trial.inputs
    model = trial.target("TokenSelector")(i["n_keys"], i["n_values"], i["d_model"], i["n_heads"])
    if not isinstance(model, nn.Module):
        raise StudentError(f"TokenSelector(...) should be an nn.Module; it is a {type(model).__name__}")
    model = model.to(trial.device)
    if weights:
        with torch.no_grad():
            for name, value in i.items():
                if "/" not in name:
                    continue
                *path, kind = name.split("/")
                layer = model
                for part in path:
                    layer = getattr(layer, part, None)
                tensor = getattr(layer, kind, None)
                if not isinstance(tensor, torch.Tensor) or tensor.shape != value.shape:
                    raise StudentError(f"TokenSelector.{'.'.join(path)} should have a {kind} of shape "
                                       f"{tuple(value.shape)}; it has {getattr(tensor, 'shape', None)}")
                tensor.copy_(value)
    return model


def probe_selector(trial):
    model = student_selector(trial).eval()
    with torch.no_grad():
        return {"logits": model(trial.inputs["X"])}


def probe_selector_structure(trial):
    """Its layers' kinds and sizes against the docstring's; the logits' shape and the parameters that never influence
    them, or what its forward raised (a table too small for the query's id, say)."""
    i = trial.inputs
    model = student_selector(trial, weights=False)
    d, n_values = i["d_model"], i["n_values"]
    wanted = {"key_embed": (nn.Embedding, (i["n_keys"], d)), "value_embed": (nn.Embedding, (n_values + 1, d)),
              "head": (nn.Linear, (n_values, d))}
    facts = {name: isinstance(getattr(model, name, None), kind) and tuple(getattr(model, name).weight.shape) == shape
             for name, (kind, shape) in wanted.items()}
    facts["attention"] = isinstance(getattr(model, "attention", None), trial.target("SelfAttention"))
    try:
        logits = model.eval()(i["X"])
    except Exception as exc:  # the facts above say which layer does not fit
        return {**facts, "forward_error": figures.text_tensor(f"{type(exc).__name__}: {exc}")}
    return {**facts, "logits_shape": Numbers(list(logits.shape)) if isinstance(logits, torch.Tensor) else None,
            "unused_parameters": unused_but_the_key_bias(model, logits)}


class FlatLinear(nn.Module):
    """A stand-in classifier with given weights, so that the training loop is checked on its own."""

    def __init__(self, W, b):
        super().__init__()
        self.linear = nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(W), self.linear.bias.copy_(b)

    def forward(self, X):
        return self.linear(X.flatten(1).to(self.linear.weight.dtype))


def probe_train(trial):
    i = trial.inputs
    model = Spy(FlatLinear(i["W"], i["b"]).to(trial.device))
    model.eval()
    losses = list(trial.target("train_selector")(model, i["X"], i["y"], i["epochs"], i["lr"], i["batch_size"],
                                                 i["seed"]))
    linear = model.inner.linear
    return {"ran_in_training_mode": model.facts()["ran_in_training_mode"], "weight": linear.weight,
            "bias": linear.bias, "losses": Numbers([float(x) for x in losses], dtype=torch.float64),
            "losses_are_floats": all(isinstance(x, float) for x in losses)}


def fit(trial):
    """The student's fit_selector on the training sequences (on the case's device), for the case's epochs: the model
    and its losses."""
    split = data.token_selection_split()
    result = trial.target("fit_selector")(split.X_train.to(trial.device), split.y_train.to(trial.device),
                                          trial.inputs["epochs"])
    model, losses = outputs_named(result, ("model", "losses"), "fit_selector").values()
    if not isinstance(model, nn.Module):
        raise StudentError(f"fit_selector should return (model, losses); its model is a {type(model).__name__}")
    return model, [float(x) for x in losses]


def trained(trial):
    """``fit``, once for the checks of one trained model."""
    return memo(trial, "fit_selector", lambda: fit(trial))


def probe_fit(trial):
    """The trained model's tables and layers as plain data (the grader rebuilds the model from torch's layers and
    predicts), and its own logits for the held-out and the fresh sequences."""
    model, losses = trained(trial)
    model.eval()
    with torch.no_grad():  # held-out inputs only: their targets stay with the grader
        logits = model(data.token_selection_split().X_test.to(trial.device))
        fresh_logits = model(fresh.token_selection().inputs.to(trial.device))
    attention = getattr(model, "attention", None)
    found = {}
    for name in ("key_embed", "value_embed"):
        table = getattr(model, name, None)
        found[f"{name}/weight"] = table.weight if isinstance(table, nn.Embedding) and table.max_norm is None else None
    for name in PROJECTIONS:
        found.update(rebuild.report(getattr(attention, name, None), f"attention/{name}"))
    found.update(rebuild.report(getattr(model, "head", None), "head"))
    return {"logits": logits, "fresh_logits": fresh_logits, **found,
            "is_selector": isinstance(model, trial.target("TokenSelector")),
            "is_self_attention": isinstance(attention, trial.target("SelfAttention")),
            "losses": Numbers(losses, dtype=torch.float64), "loss_fell": len(losses) >= 2 and losses[-1] < losses[0]}


def probe_fit_arguments(trial):
    """``fit_selector`` for ``epochs`` epochs on the inputs' device: how many losses it returns, and where its model's
    parameters live (as a tensor without values on their device, for the verdict's device check)."""
    model, losses = fit(trial)
    where = [p.detach().reshape(-1)[:0] for p in model.parameters()]
    return {"n_losses": Numbers(len(losses)), "parameters": torch.cat(where) if where else None}


def position_labels(X):
    return [f"{k}:{v}" for k, v in X[:-1].tolist()] + [f"{int(X[-1, 0])}:?"]


def query_weights(model, X):
    """The trained model's attention weights for one sequence X (T, 2), averaged over its heads, (T, T): computed here
    from its embeddings and the q and k projections of ``model.attention``."""
    attention = model.attention
    with torch.no_grad():
        h = model.key_embed(X[None, :, 0]) + model.value_embed(X[None, :, 1])
        d_head = h.shape[-1] // N_HEADS
        q, k = (layer(h).reshape(len(X), N_HEADS, d_head).transpose(0, 1)
                for layer in (attention.q_proj, attention.k_proj))
        return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d_head), dim=-1).mean(dim=0)


def probe_plot(trial):
    """The figure, and what it was given: the trained model's weights for the first held-out sequence, or made-up
    ones."""
    i = trial.inputs
    if "weights" in i:
        weights, labels = i["weights"], list(i["labels"])
    else:
        X = data.token_selection_split().X_test[0].to(trial.device)
        weights, labels = query_weights(trained(trial)[0], X), position_labels(X.cpu())
    fig = trial.target("plot_attention")(trial.place(weights), labels)
    heatmaps = [ax for ax in getattr(fig, "axes", []) if ax.get_images()]
    ticks = {f"ticks/{axis}": figures.text_tensor("\n".join(label.get_text() for ax in heatmaps
                                                            for label in getattr(ax, f"get_{axis}ticklabels")()))
             for axis in "xy"}
    return {**describe_figure(fig, "plot_attention"), **ticks, "given/weights": weights.detach(),
            "given/labels": figures.text_tensor("\n".join(labels))}


def draws_the_weights(values, inputs):
    drawing, given = figures.Drawing.of(values), values.get("given/weights")
    for image in drawing.images:
        if image.data is not None and figures.close(image.data, given) and image.shape == tuple(given.shape):
            axes = drawing.axes.get(image.axes)
            if axes is None or not (axes.xlabel.strip() and axes.ylabel.strip()):
                return "label the heatmap's axes (ax.set_xlabel('key'), ax.set_ylabel('query'))"
            return None
    for image in drawing.images:
        if image.data is not None and image.shape == tuple(given.shape)[::-1] and figures.close(image.data, given.T):
            return "the image is the transpose of the weights: rows are the queries (ax.imshow(weights))"
    return "no image draws the weights given (ax.imshow(weights))"


def ticks_name_the_positions(values, inputs):
    labels = figures.text_of(values.get("given/labels"))
    if any(figures.text_of(values.get(f"ticks/{axis}")) != labels for axis in "xy"):
        return ("name each row and column by its position's label: ax.set_xticks(range(len(labels)), labels) and "
                "ax.set_yticks(range(len(labels)), labels)")
    return None


# --- judged here ------------------------------------------------------------------------------------

def blocked_get_nothing(values, inputs):
    blocked = values.get("blocked_weights")
    if blocked is None:
        return "the weights of the masked keys were not reported"
    if blocked.numel() and float(blocked.max()) != 0.0:
        return (f"masked keys should get a weight of exactly 0; {int((blocked != 0).sum())} of {blocked.numel()} get "
                f"up to {float(blocked.max()):.3g}: give their scores -inf before the softmax "
                "(scores.masked_fill(~mask, float('-inf')))")
    return None


def rows_sum_to_one(values, inputs):
    sums = values.get("row_sums")
    if sums is None or not sums.numel() or not torch.allclose(sums.double(), torch.ones_like(sums.double()), atol=1e-5):
        found = "none" if sums is None or not sums.numel() else f"{float(sums.min()):.4g} to {float(sums.max()):.4g}"
        return (f"each query's weights should sum to 1 over the keys it may attend to (found sums from {found}): mask "
                "the scores before the softmax, not the weights after it")
    return None


def equivariant(values, inputs):
    a, b = values.get("shuffled_out"), values.get("out_of_shuffled")
    if a is None or b is None or a.shape != b.shape or not torch.allclose(a.double(), b.double(), rtol=1e-4, atol=1e-5):
        return ("shuffling the positions of x should shuffle the output the same way (attention without a mask does "
                "not see the order): your forward mixes positions. Split the heads with reshape(B, L, n_heads, "
                "d_head).transpose(1, 2) and merge them back with transpose(1, 2).reshape(B, L, d_model)")
    return None


def shape_is(name, shape_of_inputs, what):
    """Output ``name`` is the shape ``shape_of_inputs(inputs)``; or what the forward that makes it raised."""
    def test(values, inputs):
        if values.get("forward_error") is not None:
            return f"{what} raised {figures.text_of(values['forward_error'])}"
        want, found = shape_of_inputs(inputs), shape_of(values.get(name))
        return None if found == want else f"{what} should have shape {want}; it has {found or 'none'}"
    return Require(test)


def rebuilt_logits(values, inputs):
    """The logits of the model rebuilt here from its tables and layers with torch's own classes (an
    ``nn.MultiheadAttention`` of the docstring's 2 heads), for the held-out and the fresh sequences."""
    tables = {}
    for name, rows in (("key_embed", data.N_KEYS), ("value_embed", data.N_VALUES + 1)):
        table = values.get(f"{name}/weight")
        if table is None or tuple(table.shape) != (rows, D_MODEL) or not table.is_floating_point():
            raise ValueError(f"self.{name} should be an nn.Embedding({rows}, {D_MODEL})")
        tables[f"{name}/weight"] = table.float()
    linear = {f"attention/{name}": (D_MODEL, D_MODEL) for name in PROJECTIONS} | {"head": (data.N_VALUES, D_MODEL)}
    for prefix, shape in linear.items():
        layers = rebuild.chain(values, prefix)
        if [type(layer) for layer in layers] != [nn.Linear] or tuple(layers[0].weight.shape) != shape \
                or layers[0].bias is None:
            raise ValueError(f"self.{prefix.replace('/', '.')} should be an nn.Linear({shape[1]}, {shape[0]}) with a "
                             "bias")
        tables[f"{prefix}/weight"], tables[f"{prefix}/bias"] = layers[0].weight.detach(), layers[0].bias.detach()
    model = Selector(tables, N_HEADS)
    with torch.no_grad():
        return {"rebuilt/logits": model(data.token_selection_split().X_test),
                "rebuilt/fresh_logits": model(fresh.token_selection().inputs)}


def the_model_of_the_docstring(values, inputs):
    for name in ("logits", "fresh_logits"):
        own, rebuilt = values.get(name), values[f"rebuilt/{name}"]
        if own is None or own.shape != rebuilt.shape or not torch.allclose(own.double(), rebuilt.double(), atol=1e-4,
                                                                           rtol=1e-4):
            return ("the model's forward(X) is not head(attention(key_embed(X[..., 0]) + value_embed(X[..., 1]))"
                    f"[:, -1]) with nn.MultiheadAttention({D_MODEL}, {N_HEADS}) built from self.attention's q_proj, "
                    "k_proj, v_proj and out_proj: check SelfAttention and TokenSelector first")
    return None


def accuracy(name, truth):
    def measure(values, inputs):
        labels = truth()
        logits = prediction(values, name, (len(labels), data.N_VALUES))
        return float((logits.argmax(dim=1) == labels).double().mean())
    return measure


held_out_accuracy = accuracy("rebuilt/logits", lambda: data.token_selection_split().y_test)
fresh_accuracy = accuracy("rebuilt/fresh_logits", lambda: fresh.token_selection().needed_answers())


def one_hot(labels):
    return nn.functional.one_hot(labels, data.N_VALUES).double()


def predicting(predict):
    """A baseline as the outputs the grader derives: ``predict(X)``, the values it predicts for sequences X."""
    def outputs(inputs):
        return {"rebuilt/logits": one_hot(predict(data.token_selection_split().X_test)),
                "rebuilt/fresh_logits": one_hot(predict(fresh.token_selection().inputs))}
    return outputs


def majority(X):
    return torch.full((len(X),), int(data.token_selection_split().y_train.mode().values))


def flattened(X):
    return torch.cat([nn.functional.one_hot(X[..., 0], data.N_KEYS),
                      nn.functional.one_hot(X[..., 1], data.N_VALUES + 1)], dim=-1).flatten(1).float()


@lru_cache(maxsize=1)
def trained_mlp() -> nn.Module:
    """An MLP on the one-hot encoded, flattened sequences, trained on the 2,000 training sequences until it fits them
    (40 epochs of Adam): what a network that does not attend learns from the same data."""
    split = data.token_selection_split()
    inputs = flattened(split.X_train)
    with torch.random.fork_rng(), torch.enable_grad():  # seeded here, whatever the caller's random state and autograd
        torch.manual_seed(0)
        mlp = nn.Sequential(nn.Linear(inputs.shape[1], 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                            nn.Linear(256, data.N_VALUES))
        optimizer = torch.optim.Adam(mlp.parameters(), lr=1e-3)
        for _ in range(40):
            for batch in torch.randperm(len(inputs)).split(64):
                optimizer.zero_grad()
                nn.functional.cross_entropy(mlp(inputs[batch]), split.y_train[batch]).backward()
                optimizer.step()
    return mlp.eval()


def mlp_predictions(X):
    with torch.no_grad():
        return trained_mlp()(flattened(X)).argmax(dim=1)


def the_rule(X):
    """The value paired with the query's key: what generated the targets, no learning."""
    return X[:, :-1, 1][X[:, :-1, 0] == X[:, -1:, 0]]


BASELINES = {"majority class": predicting(majority),
             "an MLP on the flattened one-hot sequence (trained on the same 2,000)": predicting(mlp_predictions),
             "the rule that made the targets (the query key's value, looked up)": predicting(the_rule)}


# --- what wrong answers look like ------------------------------------------------------------------

def attention_by_hand(i, scale="sqrt", dim=-1, mask="right", naive=False):
    """The attention of the case's q, k, v in their dtype, done right or with one mistake: ``scale`` ("sqrt", "none",
    "d"), the softmax over ``dim``, the mask ``"right"``, ``"inverted"``, ``"after"`` the softmax (weights zeroed, not
    renormalised), ``"zero"`` (masked scores set to 0), ``"causal_only"``/``"mask_only"`` (with both, one ignored),
    ``"upper"`` (a causal mask that keeps the later keys) or ``"strict"`` (one that hides the diagonal); ``naive``:
    exp of the raw scores."""
    q, k, v = i["q"], i["k"], i["v"]
    L, S, d = q.shape[-2], k.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / {"sqrt": math.sqrt(d), "none": 1.0, "d": d}[scale]
    case_ = dict(i)
    if mask == "causal_only":
        case_.pop("mask", None)
    if mask == "mask_only":
        case_.pop("causal", None)
    allowed = allowed_of(case_, L, S, q.device)
    if mask in ("upper", "strict"):
        ones = torch.ones(L, S, dtype=torch.bool, device=q.device)
        triangle = ones.triu() if mask == "upper" else ones.tril(-1)
        allowed = triangle if i.get("mask") is None else triangle & i["mask"]
    if allowed is not None and mask == "inverted":
        allowed = ~allowed
    if allowed is not None and mask == "zero":
        scores = scores * allowed
    elif allowed is not None and mask != "after":
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = (scores.exp() / scores.exp().sum(dim=dim, keepdim=True)) if naive else torch.softmax(scores, dim=dim)
    if allowed is not None and mask == "after":
        weights = weights * allowed
    return {"out": weights @ v, "weights": weights}


SCALE = ("the scores were not divided by sqrt(d): use q @ k^T / math.sqrt(d) with d = q.shape[-1], or large d makes "
         "the softmax too peaked")
WRONG_AXIS = like("the softmax ran over the queries (dim=-2): each query's weights are a softmax over the keys, the "
                  "last dimension (dim=-1)", lambda i: attention_by_hand(i, dim=-2))
ATTENTION_MISTAKES = [  # the scale shows at moderate scores, an overflow at large ones (LARGE_SCORE_MISTAKES)
    like(SCALE, lambda i: attention_by_hand(i, scale="none")),
    like("the scores were divided by d: divide by sqrt(d) (math.sqrt(q.shape[-1]))",
         lambda i: attention_by_hand(i, scale="d")),
    WRONG_AXIS,
]
LARGE_SCORE_MISTAKES = [
    like("exp of the raw scores overflowed: subtract each row's maximum before exp (softmax(s) = softmax(s - max s)), "
         "or use torch.softmax", lambda i: attention_by_hand(i, naive=True)),
    WRONG_AXIS,
]
MASK_MISTAKES = [
    like("the mask is inverted: True means the query may attend to the key (as in "
         "torch.nn.functional.scaled_dot_product_attention), so fill the scores where the mask is False: "
         "masked_fill(~mask, float('-inf'))", lambda i: attention_by_hand(i, mask="inverted")),
    like("the weights were masked after the softmax, so a query's weights no longer sum to 1: give the masked scores "
         "-inf before the softmax", lambda i: attention_by_hand(i, mask="after")),
    like("masked scores were set to 0 (scores * mask), which still gets weight exp(0): give them -inf before the "
         "softmax", lambda i: attention_by_hand(i, mask="zero")),
]
CAUSAL_MISTAKES = [
    like("the causal mask keeps the later keys: query i may attend to key j only if j <= i, the lower triangle "
         "(torch.ones(L, S).tril())", lambda i: attention_by_hand(i, mask="upper")),
    like("the causal mask hides the diagonal: query i may attend to key i itself (tril() with its default diagonal 0)",
         lambda i: attention_by_hand(i, mask="strict")),
    like("with causal=True the mask was ignored: a key must be allowed by both (the causal triangle & mask)",
         lambda i: attention_by_hand(i, mask="causal_only")),
    like("causal=True was ignored: query i may attend to key j only if j <= i (and, with a mask, only to keys both "
         "allow)", lambda i: attention_by_hand(i, mask="mask_only")),
]


def heads_by_hand(i, split=True, merge=True, scale="head", project=True, one_head=False, inverted=False):
    """SelfAttention's forward at the case's weights, done right or with one mistake: heads split or merged by a
    reshape without the transpose, scores scaled by sqrt(d_model), no out_proj, one head of d_model features, or the
    mask inverted."""
    x = i["x"]
    B, L, d_model = x.shape
    H = 1 if one_head else i["n_heads"]
    d_head = d_model // H
    q, k, v = (nn.functional.linear(x, i[f"{name}/weight"], i[f"{name}/bias"]) for name in PROJECTIONS[:3])

    def heads(t):
        return t.reshape(B, L, H, d_head).transpose(1, 2) if split else t.reshape(B, H, L, d_head)

    scores = heads(q) @ heads(k).transpose(-2, -1) / math.sqrt(d_head if scale == "head" else d_model)
    allowed = allowed_of({**i, "mask": ~i["mask"]} if inverted and "mask" in i else i, L, L, x.device)
    if allowed is not None:
        scores = scores.masked_fill(~allowed.unsqueeze(-3), float("-inf"))
    out = torch.softmax(scores, dim=-1) @ heads(v)
    merged = out.transpose(1, 2).reshape(B, L, d_model) if merge else out.reshape(B, L, d_model)
    return nn.functional.linear(merged, i["out_proj/weight"], i["out_proj/bias"]) if project else merged


HEAD_MISTAKES = [
    like("the scores were divided by sqrt(d_model): each head compares d_head = d_model / n_heads features, so scale "
         "by sqrt(d_head) (what scaled_dot_product_attention does on the split heads)",
         lambda i: heads_by_hand(i, scale="model")),
    like("this is one head over all d_model features: split q, k and v into n_heads heads of d_model / n_heads "
         "features, (B, n_heads, L, d_head)", lambda i: heads_by_hand(i, one_head=True)),
    like("the heads were split by reshaping (B, L, d_model) straight to (B, n_heads, L, d_head), which mixes "
         "positions: reshape to (B, L, n_heads, d_head), then transpose(1, 2)",
         lambda i: heads_by_hand(i, split=False)),
    like("the heads were merged by reshaping (B, n_heads, L, d_head) straight to (B, L, d_model), which mixes "
         "positions: transpose(1, 2) first, then reshape", lambda i: heads_by_hand(i, merge=False)),
    like("out_proj was not applied: return self.out_proj of the merged heads",
         lambda i: heads_by_hand(i, project=False)),
]
MODULE_MASK_MISTAKES = [
    like("the mask is inverted: True means the position may attend (F.scaled_dot_product_attention's convention), the "
         "opposite of nn.MultiheadAttention's attn_mask", lambda i: heads_by_hand(i, inverted=True)),
]


def read_out(i, where):
    """TokenSelector's logits at the case's weights, read at the first position or averaged over all (not the last)."""
    tables = {name: value for name, value in i.items() if "/" in name}
    model = Selector(tables, i["n_heads"])
    X = i["X"]
    with torch.no_grad():
        h = model.key_embed(X[..., 0]) + model.value_embed(X[..., 1])
        out = model.attention(h, h, h, need_weights=False)[0]
        return model.head(out[:, 0] if where == "first" else out.mean(dim=1))


SELECTOR_MISTAKES = [
    like("the read-out is at the first position: the query is the last one, read attention(h)[:, -1]",
         lambda i: read_out(i, "first")),
    like("the read-out averaged every position: read the query's position alone, attention(h)[:, -1]",
         lambda i: read_out(i, "mean")),
]


def train_by_hand(i, zero_grad=True, optimizer="adam", shuffle=True, step=True):
    """What ``train_selector`` gives the probe's model, done right or with one mistake: ``"adam"`` or ``"sgd"``,
    batches shuffled by the seeded generator or in order."""
    from torch.utils.data import DataLoader, TensorDataset

    model = FlatLinear(i["W"], i["b"]).to(i["X"].device)
    optimizer = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[optimizer](model.parameters(), lr=i["lr"])
    loader = DataLoader(TensorDataset(i["X"], i["y"]), batch_size=i["batch_size"], shuffle=shuffle,
                        generator=torch.Generator().manual_seed(i["seed"]) if shuffle else None)
    for _ in range(i["epochs"]):
        for xb, yb in loader:
            if zero_grad:
                optimizer.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            if step:
                optimizer.step()
    return {"weight": model.linear.weight.detach(), "bias": model.linear.bias.detach()}


WEIGHTS = ["weight", "bias"]
TRAINING_MISTAKES = adam_loop_mistakes(train_by_hand, WEIGHTS)
TRAINED_LINEAR = {"weight": "`inner.linear.weight` (the weight of the model's nn.Linear) after training",
                  "bias": "`inner.linear.bias` (the bias of the model's nn.Linear) after training"}


# --- checks ----------------------------------------------------------------------------------------

EXERCISE.add(
    Check(SDPA, SDPA, 3, "out and weights equal torch.nn.functional.scaled_dot_product_attention's (no mask), "
          "for any leading dimensions, L != S and dv != d", probe_attention,
          Match(oracle=torch_attention, mistakes=ATTENTION_MISTAKES),
          attention_inputs, (case(0), case(1, lead=(2, 3), L=4, S=2, d=3, dv=2))),
    Check(f"{SDPA}.mask", SDPA, 2, "a boolean mask (True: may attend), per query and key or broadcast, as "
          "F.scaled_dot_product_attention's attn_mask", probe_attention,
          Match(oracle=torch_attention, mistakes=MASK_MISTAKES + ATTENTION_MISTAKES),
          attention_inputs, (case(2, mask="pairs", L=4, S=5), case(3, lead=(3,), mask="shared"))),
    Check(f"{SDPA}.causal", SDPA, 2, "causal=True: query i attends to keys j <= i; with a mask, to keys both allow",
          probe_attention, Match(oracle=torch_attention, mistakes=CAUSAL_MISTAKES + ATTENTION_MISTAKES),
          attention_inputs, (case(4, L=4, S=4, causal=True), case(5, L=3, S=5, mask="keys", causal=True))),
    Check(f"{SDPA}.masked_weights", SDPA, 1, "masked keys get a weight of exactly 0, and each query's weights sum to 1",
          probe_masked, Holds(Require(blocked_get_nothing), Require(rows_sum_to_one)),
          attention_inputs, (case(6, L=4, S=5, mask="pairs"), case(7, L=5, S=3, causal=True))),
    Check(f"{SDPA}.large_scores", SDPA, 1, "scores in the thousands (float32) give finite, right weights: the softmax "
          "subtracts each row's maximum", probe_attention,
          Match(**FLOAT32, oracle=torch_attention, mistakes=LARGE_SCORE_MISTAKES),
          attention_inputs, (case(8, dtype=torch.float32, scale=30.0, mask="shared"),)),
    Check(f"{SDPA}.gradcheck", SDPA, 1, "gradcheck in float64: autograd through your attention agrees with finite "
          "differences (a .detach() or torch.no_grad() inside breaks it)", probe_gradcheck,
          GradcheckConsistent(["q", "k", "v"]), attention_inputs,
          (case(9, lead=(1,), L=2, S=3, d=2, dv=2, mask="pairs"),)),
    Check("SelfAttention", "SelfAttention", 2, "q_proj, k_proj, v_proj, out_proj are nn.Linear(d_model, d_model) with "
          "biases, all used; forward keeps x's shape; d_model not a multiple of n_heads raises ValueError",
          probe_module_structure,
          Holds(is_true("projections", "q_proj, k_proj, v_proj and out_proj should each be nn.Linear(d_model, "
                                       "d_model) with a bias"),
                shape_is("out_shape", lambda i: tuple(i["x"].shape), "forward(x)"),
                is_true("refuses", "SelfAttention(d_model, n_heads) should raise ValueError when d_model is not a "
                                   "multiple of n_heads"),
                every_parameter_used("the output", "a projection computed but never used, e.g. v used where "
                                                   "v_proj(x) is meant")),
          structure_inputs, (case(10),)),
    Check("SelfAttention.forward", "SelfAttention.forward", 3, "equals nn.MultiheadAttention(d_model, n_heads, "
          "batch_first=True) with the same weights", probe_module,
          Match(**FLOAT32, oracle=torch_self_attention, mistakes=HEAD_MISTAKES),
          module_inputs, (case(11), case(12, B=3, L=4, d_model=12, n_heads=3))),
    Check("SelfAttention.mask", "SelfAttention.forward", 2, "a mask (True: may attend) and causal=True, for every "
          "head, as nn.MultiheadAttention with the opposite attn_mask", probe_module,
          Match(**FLOAT32, oracle=torch_self_attention, mistakes=MODULE_MASK_MISTAKES + HEAD_MISTAKES),
          module_inputs, (case(13, B=3, mask="pairs"), case(14, causal=True), case(15, mask="shared", causal=True))),
    Check("SelfAttention.equivariant", "SelfAttention.forward", 1, "without a mask, shuffling the positions of x "
          "shuffles the output the same way", probe_equivariance, Holds(Require(equivariant)),
          shuffling_inputs, (case(16, B=2, L=6, d_model=8, n_heads=4),)),
    Check("TokenSelector", "TokenSelector", 2, "key_embed, value_embed (n_values + 1 ids), a SelfAttention and a "
          "linear head, all used; (B, n_values) logits", probe_selector_structure,
          Holds(is_true("key_embed", "self.key_embed should be nn.Embedding(n_keys, d_model)"),
                is_true("value_embed", "self.value_embed should be nn.Embedding(n_values + 1, d_model): the last id "
                                       "is the query's unknown value"),
                is_true("attention", "self.attention should be SelfAttention(d_model, n_heads), the class of this "
                                     "exercise"),
                is_true("head", "self.head should be nn.Linear(d_model, n_values)"),
                shape_is("logits_shape", lambda i: (i["X"].shape[0], i["n_values"]), "forward(X)"),
                every_parameter_used("the logits")),
          selector_inputs, (case(17),)),
    Check("TokenSelector.forward", "TokenSelector.forward", 2, "the logits are head(attention(key_embed + "
          "value_embed)) at the query's (last) position", probe_selector,
          Match(**FLOAT32, oracle=torch_selector, mistakes=SELECTOR_MISTAKES),
          selector_inputs, (case(18),)),
    Check("train_selector", "train_selector", 2, "Adam on the cross-entropy over seeded shuffled mini-batches: "
          "zero_grad, forward, loss, backward, step", probe_train,
          Match(rtol=1e-4, atol=1e-6, mistakes=TRAINING_MISTAKES, names=TRAINED_LINEAR,
                explain={**MODE_HINTS, "losses_are_floats": "return the losses as Python floats (loss.item()): a "
                                                            "tensor keeps its batch's autograd graph alive"}),
          training_inputs, (case(19),)),
    Check("fit_selector", "fit_selector", 5, "your model, trained by your code, finds the value of the query's key in "
          "the 1,000 held-out sequences and 1,000 new ones (targets kept by the grader)", probe_fit,
          Threshold("held-out accuracy", held_out_accuracy, threshold=0.95, margin=0.04,
                    hint="an MLP on the flattened sequence reaches about 0.23; check SelfAttention, TokenSelector and "
                         "train_selector first",
                    fresh=[Measure(f"accuracy on {fresh.N_SEQUENCES} sequences drawn for this run", fresh_accuracy,
                                   threshold=0.95, margin=0.04)],
                    baselines=BASELINES, derive=rebuilt_logits,
                    asked_model=[is_true("is_selector", "fit_selector should return a TokenSelector, the class of this "
                                                        "exercise"),
                                 is_true("is_self_attention", "its self.attention should be a SelfAttention"),
                                 Require(the_model_of_the_docstring),
                                 is_true("loss_fell", "the training losses fit_selector returned did not fall")]),
          lambda g, epochs=EPOCHS: {"epochs": epochs}, (case(0),)),
    Check("plot_attention", "plot_attention", 1, "a heatmap of the weights (rows: queries), labelled axes, ticks named "
          "by the positions and a colour bar (judged on the data drawn)", probe_plot,
          Holds(at_least("figure/images", 1, "image of the weights (ax.imshow)"),
                at_least("figure/axes", 2, "axes: the heatmap's and its colour bar's (fig.colorbar(image, ax=ax))"),
                Require(draws_the_weights), Require(ticks_name_the_positions)),
          plot_inputs, (case(0),)),
)

### BEGIN HIDDEN TESTS
# Every shape the docstrings allow (no leading dimension, several, one query or one key, d = 1, L > S and L < S),
# float32, scores large enough to overflow exp in float64, other masks (per key, broadcast), other head counts and
# sizes, the meta device (results on the inputs' device, causal triangles included), and the training loop's
# arguments.
EXERCISE.add(
    EXERCISE.check(SDPA).hidden_variant(2, case(901, lead=(), L=3, S=4, d=2, dv=3), case(902, lead=(2, 1, 2)),
                                        case(903, L=1, S=1, d=1, dv=1), case(904, dtype=torch.float32),
                                        case(905, L=6, S=2, d=4, dv=1), case(906, device="meta")),
    EXERCISE.check(f"{SDPA}.mask").hidden_variant(1, case(907, mask="keys", L=5, S=3), case(908, lead=(), mask="pairs"),
                                                  case(909, lead=(2, 3), mask="shared", dtype=torch.float32),
                                                  case(910, mask="pairs", device="meta")),
    EXERCISE.check(f"{SDPA}.causal").hidden_variant(1, case(911, L=5, S=3, causal=True),
                                                    case(912, lead=(), L=2, S=6, causal=True),
                                                    case(913, L=4, S=4, mask="pairs", causal=True),
                                                    case(914, L=3, S=3, causal=True, device="meta"),
                                                    case(915, L=4, S=3, mask="shared", causal=True, device="meta")),
    EXERCISE.check(f"{SDPA}.large_scores").hidden_variant(1, case(916, scale=40.0),
                                                          case(917, dtype=torch.float32, scale=30.0, L=5, S=5,
                                                               causal=True)),
    EXERCISE.check(f"{SDPA}.gradcheck").hidden_variant(1, case(918, lead=(), L=3, S=3, d=2, dv=1, causal=True)),
    EXERCISE.check("SelfAttention").hidden_variant(1, case(919, B=1, L=2, d_model=6, n_heads=3, refused=(8, 3)),
                                                   case(920, B=3, L=2, d_model=4, n_heads=1, refused=(5, 2))),
    EXERCISE.check("SelfAttention.forward").hidden_variant(2, case(921, B=1, L=1), case(922, d_model=8, n_heads=1),
                                                           case(923, B=2, L=3, d_model=8, n_heads=4,
                                                                dtype=torch.float64),
                                                           case(924, device="meta")),
    EXERCISE.check("SelfAttention.mask").hidden_variant(1, case(925, B=3, L=4, d_model=6, n_heads=2, mask="pairs",
                                                                 causal=True),
                                                        case(926, B=1, mask="pairs", dtype=torch.float64),
                                                        case(927, B=2, mask="shared", device="meta"),
                                                        case(928, causal=True, device="meta")),
    EXERCISE.check("TokenSelector").hidden_variant(1, case(929, B=1, n_keys=5, n_values=3, d_model=4, n_heads=1,
                                                            pairs=3)),
    EXERCISE.check("TokenSelector.forward").hidden_variant(1, case(930, B=4, n_keys=12, n_values=7, d_model=12,
                                                                    n_heads=3, pairs=6),
                                                           case(931, B=2, device="meta")),
    EXERCISE.check("train_selector").hidden_variant(1, case(932, n=25, T=2, c=3),
                                                    case(933, n=13, T=3, c=5, epochs=2, lr=0.02, batch_size=5,
                                                         loader_seed=9)),
    Check("fit_selector.arguments", "fit_selector", 1, "trains for `epochs` epochs (one loss each) a model on the "
          "device of X_train", probe_fit_arguments,
          Match(names={"n_losses": "the number of losses fit_selector returned",
                       "parameters": "the model's parameters"}),
          lambda g, epochs=EPOCHS: {"epochs": epochs}, (case(934, epochs=1), case(935, epochs=0, device="meta")),
          hidden=True),
    EXERCISE.check("plot_attention").hidden_variant(1, case(936, synthetic=True, T=4, grad=True),
                                                    case(999, synthetic=True, device="offhost")),
)
### END HIDDEN TESTS
