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


class PayloadError(ValueError):
    """A payload from a child process is malformed; the grader fails closed on it."""


@dataclass
class Value:
    """One output of student code as plain data."""

    kind: str
    tensor: torch.Tensor | None = None
    device: str | None = None
    requires_grad: bool = False

    def describe(self) -> str:
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
        header.append({"status": outcome.status, "message": outcome.message[:MAX_MESSAGE],
                       "seconds": outcome.seconds, "values": values})
    return save(tensors, metadata={"outcomes": json.dumps(header)})


def _text(obj: Any, what: str, limit: int = 200) -> str:
    if not isinstance(obj, str) or len(obj) > limit:
        raise PayloadError(f"{what} is not a string of at most {limit} characters")
    return obj


def read_outcomes(path: Path, n_cases: int, max_bytes: int) -> list[Outcome]:
    """Read and strictly validate one check's outcomes written by a child process."""
    size = path.stat().st_size
    if size > max_bytes:
        raise PayloadError(f"{path.name} holds {size} bytes, more than the {max_bytes} allowed")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except PayloadError:
        raise
    except Exception as exc:  # safetensors raises several types on corrupt files
        raise PayloadError(f"{path.name} is not a readable safetensors file ({exc})") from None
    try:
        header = json.loads(meta.get("outcomes", ""))
    except json.JSONDecodeError:
        raise PayloadError(f"{path.name} has no readable header") from None
    if not isinstance(header, list) or len(header) != n_cases:
        raise PayloadError(f"{path.name} should describe {n_cases} case(s)")
    outcomes, used = [], set()
    for i, entry in enumerate(header):
        if not isinstance(entry, dict) or entry.get("status") not in ("ok", "not_implemented", "error"):
            raise PayloadError(f"{path.name}: case {i} has no valid status")
        seconds = entry.get("seconds", 0.0)
        if not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
            raise PayloadError(f"{path.name}: case {i} has an invalid time")
        values = {}
        for name, info in dict(entry.get("values", {})).items():
            _text(name, "an output name", 100)
            if not isinstance(info, dict):
                raise PayloadError(f"{path.name}: output {name!r} is malformed")
            kind = _text(info.get("kind"), f"output {name!r} kind")
            device = info.get("device")
            if device is not None:
                _text(device, f"output {name!r} device", 40)
            tensor = None
            if info.get("tensor"):
                key = f"{i}/{name}"
                if key not in tensors or type(tensors[key]) is not torch.Tensor:
                    raise PayloadError(f"{path.name}: output {name!r} of case {i} is missing")
                tensor = tensors[key]
                used.add(key)
            values[name] = Value(kind, tensor, device, bool(info.get("requires_grad")))
        message = entry.get("message", "")
        outcomes.append(Outcome(entry["status"], values, str(message)[:MAX_MESSAGE], float(seconds)))
    if set(tensors) - used:
        raise PayloadError(f"{path.name} holds tensors nobody asked for: {sorted(set(tensors) - used)[:5]}")
    return outcomes


# --- JSON: expected values recorded from the reference ----------------------------------------


def value_to_json(value: Value) -> dict:
    out: dict[str, Any] = {"kind": value.kind}
    if value.tensor is not None:
        t = value.tensor
        out.update(dtype=str(t.dtype).replace("torch.", ""), shape=list(t.shape),
                   data=t.to(torch.float64 if t.dtype in (torch.float16, torch.bfloat16) else t.dtype)
                   .reshape(-1).tolist())
    return out


def value_from_json(obj: dict) -> Value:
    if "data" not in obj:
        return Value(obj["kind"])
    dtype = getattr(torch, obj["dtype"])
    tensor = torch.tensor(obj["data"], dtype=dtype).reshape(obj["shape"])
    return Value(obj["kind"], tensor)


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
