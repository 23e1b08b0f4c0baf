"""How one value differs from the expected one, in ``torch.testing.assert_close``'s words: kind, device, dtype,
layout, graph, then the values (how many elements, the greatest differences and where).

Runs on plain values in the grading process (or the student's pytest); never raises on what a child
reports: what cannot be compared is said to be so.
"""

from __future__ import annotations

import math

import torch

from .payload import Value


def warm() -> None:
    """Make torch's first comparison now: ``torch.testing`` imports its distributed-tensor support on first use
    (half a second), which a run's first judge would otherwise wait for."""
    torch.testing.assert_close(torch.zeros(1), torch.zeros(1))


def unchecked(exc: BaseException) -> str:
    """What a verdict says when the results could not be checked: the kind of problem, not a traceback."""
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"the results could not be checked ({type(exc).__name__}{': ' + text if text else ''})"


def shape_of(t: torch.Tensor | None) -> tuple[int, ...] | None:
    """The shape a probe reported as a 1-D tensor of sizes; None unless every entry is a finite whole number >= 0."""
    try:
        if t is None or t.dim() != 1 or t.dtype == torch.bool or t.numel() > 64:
            return None
        sizes = t.double().tolist()
        if not all(math.isfinite(s) and s >= 0 and s == int(s) for s in sizes):
            return None
        return tuple(int(s) for s in sizes)
    except Exception:
        return None


def count_of(t: torch.Tensor | None) -> int | None:
    """The count a probe reported as one number; None unless it is a single finite whole number."""
    try:
        if t is None or t.numel() != 1 or t.dtype == torch.bool:
            return None
        if not t.is_floating_point():
            return int(t.reshape(()).item())
        value = float(t.reshape(()).double().item())
        return int(value) if math.isfinite(value) and value == int(value) else None
    except Exception:
        return None


# --- recognising mistakes: grader/hints.py ----------------------------------------------------

# --- comparing values --------------------------------------------------------------------------


def _scalar(t: torch.Tensor) -> str:
    if t.numel() != 1:
        return f"a tensor of shape {tuple(t.shape)}"
    value = t.reshape(()).item()
    return f"{value:.6g}" if t.is_floating_point() else str(value)


def _worst(a: torch.Tensor, e: torch.Tensor) -> str:
    """Where two tensors of one shape differ most; empty when that cannot be told."""
    try:
        diff = (a.double() - e.double()).abs()
        diff = torch.where(torch.isnan(diff), torch.full_like(diff, float("inf")), diff)
        idx = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
        return f"At index {idx}: got {_scalar(a[idx])}, expected {_scalar(e[idx])}."
    except Exception:
        return ""


def _device_type(name: str) -> str | None:
    try:
        return torch.device(name).type
    except Exception:
        return None


PYTHON_NUMBERS = ("float", "int", "bool")
TOLERANCES = {torch.float16: (1e-3, 1e-5), torch.bfloat16: (1.6e-2, 1e-5), torch.float32: (1.3e-6, 1e-5),
              torch.float64: (1e-7, 1e-7)}  # assert_close's defaults, by the expected dtype (exact otherwise)


def _dtype(t: torch.Tensor) -> str:
    return str(t.dtype).replace("torch.", "")


def _kinds_differ(shown: str, actual: Value, expected: Value) -> str:
    """A value of another type than the one asked: a type mismatch, told as one."""
    if actual.kind == "Tensor" and expected.kind in PYTHON_NUMBERS:
        one = actual.tensor is not None and actual.tensor.numel() == 1
        return (f"{shown} is {actual.describe()} where a Python {expected.kind} was asked (a type mismatch"
                + (": return the number, e.g. `loss.item()`)" if one else ")"))
    if actual.kind in PYTHON_NUMBERS and expected.kind == "Tensor":
        return f"{shown} is a Python {actual.kind} where {expected.describe()} was asked (a type mismatch)"
    return f"{shown} is {actual.describe()}, expected {expected.describe()}"


def _dtypes_differ(shown: str, a: torch.Tensor, e: torch.Tensor, rtol: float | None, atol: float | None) -> str:
    """A tensor of another dtype than the expected one: the dtype mismatch first, then whether the values agree."""
    head = f"{shown} has dtype {_dtype(a)} where {_dtype(e)} was expected"
    if a.shape != e.shape:
        return f"{head}, and shape {tuple(a.shape)} where {tuple(e.shape)} was expected"
    if rtol is None or atol is None:
        rtol, atol = TOLERANCES.get(e.dtype, (0.0, 0.0))
    try:
        torch.testing.assert_close(a.double(), e.double(), rtol=rtol, atol=atol, check_device=False)
        return f"{head} (the values themselves are right)"
    except AssertionError as exc:
        worst = _worst(a, e) if a.numel() else ""
        return f"{head}, and the values differ too: {str(exc).strip()}" + (f"\n{worst}" if worst else "")


META = (" (this case put the inputs on the meta device, where tensors have a shape and a dtype but no data: "
        "it shows, without a GPU, what a GPU run would)")


def _layouts_differ(shown: str, actual: Value, expected: Value) -> str:
    """Tensors without data (computed from meta inputs): only their dtype and shape can differ."""
    def layout(v: Value) -> tuple:
        return (v.dtype, v.shape) if v.dataless else (v.tensor.dtype, tuple(v.tensor.shape))

    (a_dtype, a_shape), (e_dtype, e_shape) = layout(actual), layout(expected)
    if a_dtype != e_dtype:
        return f"{shown} has dtype {str(a_dtype).replace('torch.', '')} where {str(e_dtype).replace('torch.', '')} " \
               "was expected"
    if a_shape != e_shape:
        return f"{shown} has shape {a_shape} where {e_shape} was expected"
    return ""


def _graphs_differ(shown: str, actual: Value, expected: Value) -> str:
    """A tensor with the right values that is attached to the autograd graph where the expected one is not, or the
    other way round."""
    if actual.kind != "Tensor" or actual.requires_grad == expected.requires_grad:
        return ""
    if actual.requires_grad:
        return (f"{shown} has the right values but is still attached to the autograd graph (requires_grad=True): "
                "return it detached (`.detach()`, or compute it under `torch.no_grad()`)")
    return (f"{shown} has the right values but does not track gradients (requires_grad=False): it must stay "
            "differentiable (was it detached, computed under torch.no_grad(), or rebuilt with torch.tensor()?)")


def compare(name: str, actual: Value | None, expected: Value, device: torch.device | None,
            rtol: float | None = None, atol: float | None = None, label: str | None = None) -> str:
    """Why ``actual`` is not ``expected`` (empty when it is), in assert_close's words.

    A tensor must be on ``device`` (the device of the inputs) unless ``device`` is None. ``label``
    is how the message names the output (default: its name in backquotes).
    """
    shown = label or f"`{name}`"
    if actual is None:
        return f"{shown} was not produced"
    if actual.kind != expected.kind:
        return _kinds_differ(shown, actual, expected)
    if expected.tensor is None and not expected.dataless:
        return ""
    if actual.tensor is None and not actual.dataless:
        return f"{shown} is {actual.describe()}, which cannot be compared"
    if device is not None and actual.kind == "Tensor" and actual.device \
            and _device_type(actual.device) != device.type:
        meta = META if device.type == "meta" else ""
        return (f"{shown} is on {actual.device} but the inputs were on {device}: create new tensors on the "
                f"inputs' device (e.g. torch.zeros_like(x) or device=x.device){meta}")
    if expected.dataless or actual.dataless:
        return _layouts_differ(shown, actual, expected) or _graphs_differ(shown, actual, expected)
    a, e = actual.tensor, expected.tensor
    try:
        if a.dtype != e.dtype:
            return _dtypes_differ(shown, a, e, rtol, atol)
        if a.dim() == 0 and e.dim() == 0:
            try:
                torch.testing.assert_close(a, e, rtol=rtol, atol=atol, equal_nan=False)
                return _graphs_differ(shown, actual, expected)
            except AssertionError:
                return f"{shown} is {_scalar(a)}, expected {_scalar(e)}"
        try:
            torch.testing.assert_close(a, e, rtol=rtol, atol=atol, check_device=False)
            return _graphs_differ(shown, actual, expected)
        except AssertionError as exc:
            text = str(exc).strip()
    except Exception as exc:  # a value torch cannot compare is not the expected one
        return f"{shown} is {actual.describe()}, expected {expected.describe()}: {unchecked(exc)}"
    worst = _worst(a, e) if a.shape == e.shape and a.numel() else ""
    return f"{shown}: {text}" + (f"\n{worst}" if worst else "")


# --- judges ------------------------------------------------------------------------------------
