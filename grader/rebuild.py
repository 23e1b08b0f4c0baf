"""The asked model rebuilt in the grading process from the weights a child reports: predictions no student code makes.

A trained model's predictions could come from anything its ``forward`` (or a hook, or an
instance attribute) does, a lookup included. So the child reports the model's layers as plain
data (``report``: each layer's kind, its few settings, its tensors) and the grading process builds
the same layers from torch's own classes (``chain``, ``recurrent``) and makes the predictions it
measures. Only layers whose computation is fixed by their kind, settings and tensors are rebuilt;
anything else is reported as unknown, and the model is then not the one the exercise asks for.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .payload import Numbers

# kind code -> (class, its settings as numbers); code 0 is a layer the grader does not rebuild
LAYERS: dict[int, type[nn.Module]] = {
    1: nn.Linear, 2: nn.ReLU, 3: nn.Tanh, 4: nn.Sigmoid, 5: nn.GELU, 6: nn.SiLU, 7: nn.ELU, 8: nn.LeakyReLU,
    9: nn.Softplus, 10: nn.Identity, 11: nn.Dropout, 12: nn.Dropout1d, 13: nn.Dropout2d, 14: nn.Flatten,
    15: nn.Conv2d, 16: nn.MaxPool2d, 17: nn.AvgPool2d, 18: nn.BatchNorm1d, 19: nn.BatchNorm2d, 20: nn.Conv1d,
}
CODES = {cls: code for code, cls in LAYERS.items()}
RECURRENT = {1: nn.LSTM, 2: nn.GRU, 3: nn.RNN}
RECURRENT_CODES = {cls: code for code, cls in RECURRENT.items()}
MAX_LAYERS, MAX_SETTING = 64, 64


def names(codes: list[int]) -> str:
    return ", ".join(LAYERS[c].__name__ if c in LAYERS else "unknown" for c in codes)


def _pair(value) -> list[int]:
    return list(value) if isinstance(value, (tuple, list)) else [value, value]


def _settings(layer: nn.Module) -> list[float] | None:
    """A layer's settings beyond its tensors, as numbers; None when the grader cannot rebuild it exactly."""
    kind = type(layer)
    if kind in (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.SiLU, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d):
        return []  # dropout is the identity in evaluation mode
    if kind is nn.Linear:
        return []
    if kind is nn.GELU:
        return [float(layer.approximate == "tanh")]
    if kind is nn.ELU:
        return [float(layer.alpha)]
    if kind is nn.LeakyReLU:
        return [float(layer.negative_slope)]
    if kind is nn.Softplus:
        return [float(layer.beta), float(layer.threshold)]
    if kind is nn.Flatten:
        return [float(layer.start_dim), float(layer.end_dim)]
    if kind in (nn.Conv1d, nn.Conv2d):
        if layer.padding_mode != "zeros" or isinstance(layer.padding, str):
            return None
        return [*map(float, (*layer.stride, *layer.padding, *layer.dilation, layer.groups))]
    if kind in (nn.MaxPool2d, nn.AvgPool2d):
        settings = [*_pair(layer.kernel_size), *_pair(layer.stride or layer.kernel_size), *_pair(layer.padding)]
        if kind is nn.MaxPool2d:
            if layer.return_indices:
                return None
            return [*map(float, settings), *map(float, _pair(layer.dilation)), float(layer.ceil_mode)]
        if layer.divisor_override is not None:
            return None
        return [*map(float, settings), float(layer.ceil_mode), float(layer.count_include_pad)]
    if kind in (nn.BatchNorm1d, nn.BatchNorm2d):
        if not layer.track_running_stats:
            return None
        return [float(layer.eps), float(layer.affine)]
    return None


def leaves(module: nn.Module) -> list[nn.Module]:
    """The layers of a chain in the order it applies them: a Sequential's, nested ones flattened; else the module."""
    if type(module) is nn.Sequential:
        return [leaf for child in module for leaf in leaves(child)]
    return [module]


def report(module: nn.Module, prefix: str) -> dict:
    """What a child sends about a chain of layers (an ``nn.Sequential``, or one layer): plain numbers and tensors."""
    layers = leaves(module) if isinstance(module, nn.Module) else []
    codes, out = [], {}
    for i, layer in enumerate(layers[:MAX_LAYERS]):
        settings = _settings(layer) if type(layer) in CODES else None
        codes.append(CODES[type(layer)] if settings is not None else 0)
        out[f"{prefix}/{i}/settings"] = Numbers(settings or [], dtype=torch.float64)
        for name, tensor in layer.state_dict().items():
            if name != "num_batches_tracked":
                out[f"{prefix}/{i}/{name}"] = tensor
    out[f"{prefix}/kinds"] = Numbers(codes, dtype=torch.int64)
    return out


def report_recurrent(module: nn.Module, prefix: str) -> dict:
    """What a child sends about a recurrent layer (``nn.LSTM``, ``nn.GRU``, ``nn.RNN``)."""
    kind = type(module)
    if kind not in RECURRENT_CODES or getattr(module, "proj_size", 0) or not module.bias:
        return {f"{prefix}/kind": Numbers([0])}
    settings = [module.num_layers, int(module.bidirectional), int(module.batch_first),
                int(getattr(module, "nonlinearity", "tanh") == "relu")]
    return {f"{prefix}/kind": Numbers([RECURRENT_CODES[kind]]), f"{prefix}/settings": Numbers(settings),
            **{f"{prefix}/{name}": t for name, t in module.state_dict().items()}}


# --- in the grading process ------------------------------------------------------------------------


def _numbers(values: dict, key: str, length: int | None = None) -> list[float]:
    t = values.get(key)
    if t is None or t.dim() > 1 or t.numel() > 64 or (length is not None and t.numel() != length):
        raise ValueError(f"`{key}` is missing or malformed")
    numbers = [float(v) for v in t.reshape(-1).double().tolist()]
    if not all(math.isfinite(v) and abs(v) <= 1e6 for v in numbers):
        raise ValueError(f"`{key}` holds a setting that is not a finite number")
    return numbers


def _whole(numbers: list[float], low: int, high: int, what: str) -> list[int]:
    if not all(v == int(v) and low <= v <= high for v in numbers):
        raise ValueError(f"{what}: settings outside {low}..{high}")
    return [int(v) for v in numbers]


def _tensors(values: dict, prefix: str) -> dict[str, torch.Tensor]:
    found = {k[len(prefix) + 1:]: v for k, v in values.items() if k.startswith(prefix + "/") and v is not None}
    return {k: v.to(torch.float32) if v.is_floating_point() else v for k, v in found.items()}


def _build(code: int, settings: list[float], state: dict[str, torch.Tensor], where: str) -> nn.Module:
    cls = LAYERS.get(code)
    if cls is None:
        raise ValueError(f"{where} is not a layer the grader can rebuild ({names(list(LAYERS))})")
    weight = state.get("weight")
    if cls in (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.SiLU, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d):
        return nn.Identity() if cls in (nn.Dropout, nn.Dropout1d, nn.Dropout2d) else cls()
    if cls is nn.GELU:
        return nn.GELU(approximate="tanh" if _whole(settings, 0, 1, where) == [1] else "none")
    if cls in (nn.ELU, nn.LeakyReLU):
        return cls(settings[0])
    if cls is nn.Softplus:
        return nn.Softplus(beta=settings[0], threshold=settings[1])
    if cls is nn.Flatten:
        start, end = (int(v) for v in settings)
        return nn.Flatten(start, end)
    if cls is nn.Linear:
        if weight is None or weight.dim() != 2:
            raise ValueError(f"{where}: a Linear layer needs a 2-d weight")
        layer = nn.Linear(weight.shape[1], weight.shape[0], bias="bias" in state)
    elif cls in (nn.Conv1d, nn.Conv2d):
        dims = 1 if cls is nn.Conv1d else 2
        if weight is None or weight.dim() != dims + 2:
            raise ValueError(f"{where}: a convolution needs a {dims + 2}-d weight")
        numbers = _whole(settings, 0, MAX_SETTING, where)
        stride, padding, dilation, groups = numbers[:dims], numbers[dims:2 * dims], numbers[2 * dims:3 * dims], \
            numbers[3 * dims]
        if min(stride + dilation + [groups]) < 1:
            raise ValueError(f"{where}: a stride, dilation or group count below 1")
        layer = cls(weight.shape[1] * groups, weight.shape[0], tuple(weight.shape[2:]), stride=tuple(stride),
                    padding=tuple(padding), dilation=tuple(dilation), groups=groups, bias="bias" in state)
    elif cls is nn.MaxPool2d:
        k, s, p, d, ceil = (_whole(settings, 0, MAX_SETTING, where)[i:j] for i, j in ((0, 2), (2, 4), (4, 6), (6, 8),
                                                                                        (8, 9)))
        return nn.MaxPool2d(tuple(k), tuple(s), tuple(p), tuple(d), ceil_mode=bool(ceil[0]))
    elif cls is nn.AvgPool2d:
        k, s, p, flags = (_whole(settings, 0, MAX_SETTING, where)[i:j] for i, j in ((0, 2), (2, 4), (4, 6), (6, 8)))
        return nn.AvgPool2d(tuple(k), tuple(s), tuple(p), ceil_mode=bool(flags[0]), count_include_pad=bool(flags[1]))
    else:  # batch norm, in evaluation mode with its running statistics
        mean = state.get("running_mean")
        if mean is None or mean.dim() != 1:
            raise ValueError(f"{where}: a batch norm needs its running statistics")
        layer = cls(mean.shape[0], eps=settings[0], affine=bool(settings[1]))
    try:
        layer.load_state_dict({k: v for k, v in state.items()}, strict=False)
        missing = set(layer.state_dict()) - set(state) - {"num_batches_tracked"}
        if missing:
            raise ValueError(f"{where}: missing {', '.join(sorted(missing))}")
    except RuntimeError as exc:
        raise ValueError(f"{where}: its tensors do not fit ({str(exc).splitlines()[-1].strip()[:200]})") from None
    return layer


def chain(values: dict, prefix: str) -> nn.Sequential:
    """The chain a child reported under ``prefix``, rebuilt from torch's classes, in evaluation mode."""
    codes = _whole(_numbers(values, f"{prefix}/kinds"), 0, max(LAYERS), f"`{prefix}`")
    layers = []
    for i, code in enumerate(codes):
        state = {k: v for k, v in _tensors(values, f"{prefix}/{i}").items() if k != "settings"}
        layers.append(_build(code, _numbers(values, f"{prefix}/{i}/settings"), state,
                             f"layer {i} of `{prefix}`"))
    return nn.Sequential(*layers).eval()


def kinds(values: dict, prefix: str) -> list[type[nn.Module]]:
    """The kinds of the layers reported under ``prefix`` (``nn.Module`` for one the grader does not rebuild)."""
    codes = _whole(_numbers(values, f"{prefix}/kinds"), 0, max(LAYERS), f"`{prefix}`")
    return [LAYERS.get(c, nn.Module) for c in codes]


def recurrent(values: dict, prefix: str) -> nn.Module:
    """The recurrent layer a child reported under ``prefix``, rebuilt (``batch_first`` as reported), in eval mode."""
    code = _whole(_numbers(values, f"{prefix}/kind", 1), 0, len(RECURRENT), f"`{prefix}`")[0]
    if code not in RECURRENT:
        raise ValueError(f"`{prefix}` is not an nn.LSTM, nn.GRU or nn.RNN the grader can rebuild (with biases, no "
                         "projection)")
    layers, bidirectional, batch_first, relu = _whole(_numbers(values, f"{prefix}/settings", 4), 0, MAX_SETTING,
                                                      f"`{prefix}`")
    state = {k: v for k, v in _tensors(values, prefix).items() if k not in ("kind", "settings")}
    first = state.get("weight_hh_l0")
    if first is None or first.dim() != 2 or "weight_ih_l0" not in state or layers < 1:
        raise ValueError(f"`{prefix}` lacks its weights")
    hidden, inputs = first.shape[1], state["weight_ih_l0"].shape[1]
    kwargs = {"nonlinearity": "relu" if relu else "tanh"} if RECURRENT[code] is nn.RNN else {}
    module = RECURRENT[code](inputs, hidden, num_layers=layers, bidirectional=bool(bidirectional),
                             batch_first=bool(batch_first), **kwargs)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"`{prefix}`: its tensors do not fit ({str(exc).splitlines()[-1].strip()[:200]})") from None
    return module.eval()


def predict(module: nn.Module, inputs: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """``module`` on ``inputs`` in batches, without autograd, in float32 on the CPU."""
    with torch.no_grad():
        return torch.cat([module(inputs[k:k + batch].float().cpu()) for k in range(0, len(inputs), batch)])
