"""Plain data between student code and verdicts: values, outcomes, and their two file formats.

Whatever a student's function returns is turned into a ``Value`` (a CPU tensor plus what kind of
object it was, its device and whether it tracked gradients) before anything judges it. Outcomes
cross from the child process to the grader as safetensors files, which hold tensors and a JSON
header and cannot run code when read; the expected values students receive are JSON.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save

MAX_MESSAGE = 4000
FIGURE_PNG = "figure/png"  # the output under which a probe returns a figure the student's code drew
STORABLE = {
    torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32,
    torch.int16, torch.int8, torch.uint8, torch.bool,
}


def _json_kind(value: Any) -> str:
    """What a JSON value is, in words: "a number", "a list"..."""
    return {dict: "an object", list: "a list", str: "a string", bool: "true or false", type(None): "null"}.get(
        type(value), "a number")


class PayloadError(ValueError):
    """A payload from a child process is malformed; the grader fails closed on it."""


@dataclass
class Value:
    """One output of student code as plain data.

    A tensor without data (on the ``meta`` device) keeps only its ``shape`` and ``dtype``, with
    ``tensor`` None: what a result computed from meta inputs can be judged on (device, shape, dtype).
    """

    kind: str
    tensor: torch.Tensor | None = None
    device: str | None = None
    requires_grad: bool = False
    shape: tuple[int, ...] | None = None
    dtype: torch.dtype | None = None

    @property
    def dataless(self) -> bool:
        """A tensor whose shape and dtype are known but not its values (a meta tensor)."""
        return self.tensor is None and self.shape is not None

    def describe(self) -> str:
        if self.dataless:
            shape = "x".join(str(s) for s in self.shape) or "scalar"
            return f"a {self.kind} ({str(self.dtype).replace('torch.', '')}, {shape} on {self.device})"
        if self.tensor is None:
            return f"a {self.kind}"
        t = self.tensor
        shape = "x".join(str(s) for s in t.shape) or "scalar"
        where = f" on {self.device}" if self.kind == "Tensor" else ""
        return f"a {self.kind} ({str(t.dtype).replace('torch.', '')}, {shape}{where})"


class Numbers:
    """Numbers a probe read off student code (batch sizes, shapes, layer codes, a list of losses).

    They are judged by value alone: unlike a tensor the student returned, they belong to no device.
    """

    __slots__ = ("tensor",)

    def __init__(self, data: Any, dtype: torch.dtype | None = None):
        self.tensor = torch.as_tensor(data, dtype=dtype)


def plain(obj: Any) -> Value:
    """Turn whatever student code returned into a ``Value`` without keeping a reference to it."""
    if isinstance(obj, Numbers):
        return Value("Tensor", obj.tensor.detach().to("cpu", copy=True).contiguous())
    if isinstance(obj, torch.Tensor):
        tensor = obj.detach().as_subclass(torch.Tensor)
        if tensor.dtype not in STORABLE:
            return Value(f"Tensor of dtype {tensor.dtype}", None, str(obj.device), obj.requires_grad)
        if tensor.is_meta:  # no data to copy: its device, shape and dtype are what can be judged
            return Value("Tensor", None, str(obj.device), obj.requires_grad, tuple(int(s) for s in tensor.shape),
                         tensor.dtype)
        return Value("Tensor", tensor.to("cpu", copy=True).contiguous(), str(obj.device), obj.requires_grad)
    if isinstance(obj, np.ndarray):
        try:
            return Value("ndarray", torch.from_numpy(np.array(obj, copy=True)))
        except TypeError:
            return Value(f"ndarray of dtype {obj.dtype}")
    if isinstance(obj, (bool, np.bool_)):
        return Value("bool", torch.tensor(bool(obj)))
    if isinstance(obj, (int, np.integer)):
        return Value("int", torch.tensor(int(obj), dtype=torch.int64))
    if isinstance(obj, (float, np.floating)):
        return Value("float", torch.tensor(float(obj), dtype=torch.float64))
    return Value(type(obj).__name__)


@dataclass
class Outcome:
    """What happened when student code ran on one case of one check.

    ``status`` is ``ok``, ``not_implemented`` (a stub's ``NotImplementedError``) or ``error``
    (an exception or an unusable return value, explained in ``message``).
    """

    status: str = "ok"
    values: dict[str, Value] = field(default_factory=dict)
    message: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# --- safetensors: child process -> grader -----------------------------------------------------


def write_outcomes(path: Path, outcomes: list[Outcome]) -> None:
    """Write one check's outcomes (one per case) atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(encode_outcomes(outcomes))
    os.replace(tmp, path)


def encode_outcomes(outcomes: list[Outcome]) -> bytes:
    """One check's outcomes (one per case) as the bytes of a safetensors file."""
    tensors: dict[str, torch.Tensor] = {}
    header = []
    for i, outcome in enumerate(outcomes):
        values = {}
        for name, value in outcome.values.items():
            if value.tensor is not None:
                tensors[f"{i}/{name}"] = value.tensor.clone().contiguous()
            values[name] = {"kind": value.kind, "device": value.device,
                            "requires_grad": value.requires_grad, "tensor": value.tensor is not None}
            if value.dataless:
                values[name].update(shape=list(value.shape), dtype=_dtype_name(value.dtype))
        header.append({"status": outcome.status, "message": outcome.message[:MAX_MESSAGE],
                       "seconds": outcome.seconds, "values": values})
    return save(tensors, metadata={"outcomes": json.dumps(header)})


def _text(obj: Any, what: str, limit: int = 200) -> str:
    if not isinstance(obj, str) or len(obj) > limit:
        raise PayloadError(f"{what} is not a string of at most {limit} characters")
    return obj


ENTRY_FIELDS = {"status", "message", "seconds", "values"}
VALUE_FIELDS = {"kind", "device", "requires_grad", "tensor", "shape", "dtype"}
DTYPES = {str(d).replace("torch.", ""): d for d in STORABLE}
MAX_DIMS, MAX_SIZE = 64, 2**62


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def _layout(info: dict, what: str) -> tuple[tuple[int, ...], torch.dtype]:
    """The shape and dtype of a tensor reported without data; anything else is refused."""
    shape, dtype = info.get("shape"), info.get("dtype")
    if not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(
            type(s) is int and 0 <= s <= MAX_SIZE for s in shape):
        raise PayloadError(f"{what} shape is not a list of at most {MAX_DIMS} sizes")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise PayloadError(f"{what} dtype is not one a probe returns")
    return tuple(shape), DTYPES[dtype]


def _device(obj: Any, what: str) -> str | None:
    """A device name as torch spells it (``cuda:1``), or None; anything torch cannot parse is refused."""
    if obj is None:
        return None
    text = _text(obj, what, 40)
    try:
        return str(torch.device(text))
    except (RuntimeError, ValueError, TypeError):
        raise PayloadError(f"{what} {text!r} is not a device") from None


def _flag(obj: Any, what: str) -> bool:
    if not isinstance(obj, bool):
        raise PayloadError(f"{what} is not true or false")
    return obj


def _seconds(obj: Any, what: str) -> float:
    if isinstance(obj, bool) or not isinstance(obj, (int, float)):
        raise PayloadError(f"{what}: not a number")
    try:
        seconds = float(obj)
    except OverflowError:
        raise PayloadError(f"{what}: too large") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise PayloadError(f"{what}: not a finite, non-negative number of seconds")
    return seconds


def _fields(obj: Any, allowed: set[str], what: str) -> dict:
    """``obj`` as a JSON object holding only ``allowed`` fields."""
    if not isinstance(obj, dict):
        raise PayloadError(f"{what} is {_json_kind(obj)}, not an object")
    unknown = set(obj) - allowed
    if unknown:
        raise PayloadError(f"{what} has unknown field(s) {sorted(unknown)[:5]}")
    return obj


def _value(name: str, info: Any, i: int, tensors: dict, where: str) -> Value:
    """Output ``name`` of case ``i``, its tensor (if any) taken from ``tensors``."""
    info = _fields(info, VALUE_FIELDS, f"{where} output {name!r}")
    kind = _text(info.get("kind"), f"{where} output {name!r} kind")
    device = _device(info.get("device"), f"{where} output {name!r} device")
    requires_grad = _flag(info.get("requires_grad", False), f"{where} output {name!r} requires_grad")
    tensor = None
    if "shape" in info or "dtype" in info:  # a tensor without data: only ever on the meta device
        if device != "meta" or info.get("tensor", False) is not False:
            raise PayloadError(f"{where}: output {name!r} has a shape without data but is not a meta tensor")
        shape, dtype = _layout(info, f"{where} output {name!r}")
        return Value(kind, None, device, requires_grad, shape, dtype)
    if _flag(info.get("tensor", False), f"{where} output {name!r} tensor"):
        tensor = tensors.get(f"{i}/{name}")
        if type(tensor) is not torch.Tensor:
            raise PayloadError(f"{where}: output {name!r} of case {i} is missing")
        if tensor.dtype not in STORABLE:
            raise PayloadError(f"{where}: output {name!r} has dtype {tensor.dtype}, which no probe returns")
    return Value(kind, tensor, device, requires_grad)


def _outcome(i: int, entry: Any, tensors: dict, used: set, where: str) -> Outcome:
    """Case ``i`` of the header, every field checked for its JSON type."""
    entry = _fields(entry, ENTRY_FIELDS, f"{where}: case {i}")
    status = entry.get("status")
    if not isinstance(status, str) or status not in ("ok", "not_implemented", "error"):
        raise PayloadError(f"{where}: case {i} has no valid status")
    seconds = _seconds(entry.get("seconds", 0.0), f"{where}: case {i} has an invalid time")
    message = entry.get("message", "")
    if not isinstance(message, str):
        raise PayloadError(f"{where}: case {i} message is not a string")
    values = entry.get("values", {})
    if not isinstance(values, dict):
        raise PayloadError(f"{where}: case {i} values is {_json_kind(values)}, not an object")
    outputs = {}
    for name, info in values.items():
        _text(name, "an output name", 100)
        outputs[name] = _value(name, info, i, tensors, where)
        if outputs[name].tensor is not None:
            used.add(f"{i}/{name}")
    return Outcome(status, outputs, message[:MAX_MESSAGE], seconds)


def read_outcomes(path: Path, n_cases: int, max_bytes: int) -> list[Outcome]:
    """Read and strictly validate one check's outcomes written by a child process.

    Whatever the file holds, this returns well-formed outcomes or raises ``PayloadError``: every
    field has its JSON type, every device parses, every tensor has a dtype from ``STORABLE``.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PayloadError(f"{path.name} cannot be read ({type(exc).__name__})") from None
    if size > max_bytes:
        raise PayloadError(f"{path.name} holds {size} bytes, more than the {max_bytes} allowed")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as exc:  # safetensors raises several types on corrupt files
        raise PayloadError(f"{path.name} is not a readable safetensors file "
                           f"({type(exc).__name__}: {str(exc)[:200]})") from None
    try:
        header = json.loads(meta.get("outcomes", ""))
    except (ValueError, RecursionError, TypeError, AttributeError):  # bad JSON, too deep, too many digits
        raise PayloadError(f"{path.name} has no readable header") from None
    if not isinstance(header, list) or len(header) != n_cases:
        raise PayloadError(f"{path.name} should describe {n_cases} case(s)")
    used: set[str] = set()
    outcomes = [_outcome(i, entry, tensors, used, path.name) for i, entry in enumerate(header)]
    if set(tensors) - used:
        raise PayloadError(f"{path.name} holds tensors nobody asked for: {sorted(set(tensors) - used)[:5]}")
    return outcomes


# --- JSON: expected values recorded from the reference ----------------------------------------


def value_to_json(value: Value) -> dict:
    out: dict[str, Any] = {"kind": value.kind}
    if value.requires_grad:
        out["requires_grad"] = True
    if value.dataless:
        out.update(device=value.device, dtype=_dtype_name(value.dtype), shape=list(value.shape))
    if value.tensor is not None:
        t = value.tensor
        out.update(dtype=str(t.dtype).replace("torch.", ""), shape=list(t.shape),
                   data=t.to(torch.float64 if t.dtype in (torch.float16, torch.bfloat16) else t.dtype)
                   .reshape(-1).tolist())
    return out


def value_from_json(obj: dict) -> Value:
    requires_grad = obj.get("requires_grad", False) is True
    if "data" not in obj:
        if "shape" in obj:
            return Value(obj["kind"], None, obj.get("device"), requires_grad, tuple(obj["shape"]),
                         DTYPES[obj["dtype"]])
        return Value(obj["kind"], requires_grad=requires_grad)
    dtype = getattr(torch, obj["dtype"])
    tensor = torch.tensor(obj["data"], dtype=dtype).reshape(obj["shape"])
    return Value(obj["kind"], tensor, requires_grad=requires_grad)


def read_document(path: Path, format: str, command: str) -> dict:
    """A JSON document this project wrote in ``format``; a clear error naming ``command`` to re-make it."""
    from . import GraderError

    try:
        document = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise GraderError(f"{path} is not readable JSON ({exc}): run `{command}`") from None
    if not isinstance(document, dict) or document.get("format") != format:
        raise GraderError(f"{path} is not in the format {format!r}: run `{command}`")
    return document
