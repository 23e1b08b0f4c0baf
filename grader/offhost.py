"""Inputs that stand in for a GPU's on a machine without one: NumPy (and so matplotlib) only after ``.cpu()``.

A case with ``device="offhost"`` builds its inputs on the CPU as ``OffHost`` tensors. Every result
computed from one is an ``OffHost`` tensor too, and like a tensor on a GPU it refuses to become a
NumPy array (``.numpy()``, ``np.asarray``, matplotlib's plotting) until ``.cpu()`` or ``.to("cpu")``
copies it to the host, which gives a plain tensor. So a function that forgets ``.cpu()`` before
NumPy or a plot fails on every machine, as it would for a student grading on a GPU.
"""

from __future__ import annotations

from typing import Any

import torch

DEVICE = "offhost"  # a case's device for these inputs (``grader.rubric.Case``)
REFUSAL = ("can't convert a tensor on the accelerator to NumPy: call .cpu() first (this case's inputs stand in for "
           "tensors on a GPU, where NumPy and matplotlib need host memory)")


def _to_host(args: tuple, kwargs: dict) -> bool:
    """Whether a ``Tensor.to`` call moves to the CPU: a device (or a plain tensor) on the CPU is asked for."""
    for target in (*args[1:], kwargs.get("device"), kwargs.get("other")):
        if isinstance(target, OffHost):
            continue
        if isinstance(target, torch.Tensor):
            return target.device.type == "cpu"
        if isinstance(target, (str, torch.device)):
            try:
                return torch.device(target).type == "cpu"
            except (RuntimeError, TypeError):
                return False
    return False


class OffHost(torch.Tensor):
    """A CPU tensor that NumPy will not read until it is copied to the host, as a GPU's tensors (see the module)."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.Tensor.__array__ or (func is torch.Tensor.numpy and not kwargs.get("force")):
            raise TypeError(REFUSAL)
        out = super().__torch_function__(func, types, args, kwargs)
        if func is torch.Tensor.cpu or (func is torch.Tensor.to and _to_host(args, kwargs)) or \
                (func is torch.Tensor.numpy):
            return plain(out)
        return out


def place(value: Any) -> Any:
    """``value`` as an ``OffHost`` tensor when it is a tensor; anything else unchanged."""
    return value.as_subclass(OffHost) if isinstance(value, torch.Tensor) and not isinstance(value, OffHost) else value


def plain(value: Any) -> Any:
    """``value`` as a plain tensor when it is an ``OffHost`` one: what a probe reports."""
    return value.as_subclass(torch.Tensor) if isinstance(value, OffHost) else value
