"""Process-wide torch settings a student's function can leave behind: read, compared, put back, and named.

Checks run one after another in one process (the student's pytest, a grading child), so a function
that turns autograd off or changes the default dtype would change what every later check sees.
``take`` reads the settings before a check; ``restore`` puts back those that changed and says
how, so that the note lands on the check of the function that changed them. Torch's random
state is not among them: every case seeds it itself.

In the class grader's own process, threads run torch side by side: the reference's checks (the
preflight) and the judges of every student (a hint's model of a mistake, a baseline, an oracle) may
seed or draw from torch's global generators. ``exclusive`` gives one of them at a time the process,
its random state forked (put back afterwards).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch

UNKNOWN = object()  # a setting that could not be read
_SHARED = threading.RLock()  # torch's global state in the grading process: one user at a time (``exclusive``)


@contextlib.contextmanager
def exclusive(device: str | torch.device = "cpu") -> Iterator[None]:
    """This thread alone runs torch in this process's global state until the block ends; the random state of the
    CPU and of ``device`` (a GPU) is forked: what the block seeds or draws is undone afterwards."""
    device = torch.device(device)
    gpus = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    with _SHARED, torch.random.fork_rng(devices=gpus):
        yield


def _cudnn(name: str) -> Callable[[], Any]:
    return lambda: getattr(torch.backends.cudnn, name)


def _set_cudnn(name: str) -> Callable[[Any], None]:
    return lambda value: setattr(torch.backends.cudnn, name, value)


def _on_off(value: Any) -> str:
    return "on" if value else "off"


@dataclass(frozen=True)
class Setting:
    """One global setting: how to read it, how to put a value back, and how a changed value is told."""

    read: Callable[[], Any]
    write: Callable[[Any], None]
    told: Callable[[Any], str]


SETTINGS = (
    Setting(torch.is_grad_enabled, torch.set_grad_enabled,
            lambda v: f"autograd {'enabled' if v else 'disabled'} (torch.set_grad_enabled({bool(v)}))"),
    Setting(torch.get_default_dtype, torch.set_default_dtype,
            lambda v: f"the default dtype set to {str(v).replace('torch.', '')} (torch.set_default_dtype)"),
    Setting(torch.get_default_device, torch.set_default_device,
            lambda v: f"the default device set to {v} (torch.set_default_device)"),
    Setting(lambda: (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()),
            lambda v: torch.set_anomaly_enabled(v[0], v[1]),
            lambda v: f"anomaly detection {_on_off(v[0])} (torch.autograd.set_detect_anomaly({bool(v[0])}))"),
    Setting(lambda: (torch.are_deterministic_algorithms_enabled(),
                     torch.is_deterministic_algorithms_warn_only_enabled()),
            lambda v: torch.use_deterministic_algorithms(v[0], warn_only=v[1]),
            lambda v: f"deterministic algorithms {_on_off(v[0])} (torch.use_deterministic_algorithms({bool(v[0])}))"),
    Setting(torch.get_float32_matmul_precision, torch.set_float32_matmul_precision,
            lambda v: f"the float32 matmul precision set to {v!r} (torch.set_float32_matmul_precision)"),
    Setting(_cudnn("deterministic"), _set_cudnn("deterministic"),
            lambda v: f"torch.backends.cudnn.deterministic set to {bool(v)}"),
    Setting(_cudnn("benchmark"), _set_cudnn("benchmark"), lambda v: f"torch.backends.cudnn.benchmark set to {bool(v)}"),
)


def _read(setting: Setting) -> Any:
    try:
        return setting.read()
    except Exception:  # a setting this torch build lacks, or one a student's code broke
        return UNKNOWN


def take() -> tuple:
    """Every setting's value now."""
    return tuple(_read(s) for s in SETTINGS)


def restore(before: tuple) -> list[str]:
    """Put back each setting that differs from ``before``; what each changed one had become, in words."""
    changed = []
    for setting, old in zip(SETTINGS, before):
        new = _read(setting)
        if old is UNKNOWN or new == old:
            continue
        try:
            setting.write(old)
        except Exception:  # nothing to put back that torch accepts: the change is still told
            pass
        try:
            changed.append(setting.told(new))
        except Exception:
            changed.append("a global torch setting changed")
    return changed


def note(who: str, changed: list[str]) -> str:
    """The line that reports global settings a function left behind, e.g. "`fit_iris` left autograd disabled
    (torch.set_grad_enabled(False)); restored"."""
    return f"{who} left {'; '.join(changed)}; restored" if changed else ""


def noted(outcomes: list, text: str) -> list:
    """The outcomes of one check carrying ``text`` (``judge_check`` ends the check's message with it)."""
    if text:
        for outcome in outcomes:
            if outcome.status == "ok":
                outcome.message = text
            elif outcome.status == "error":
                outcome.message = f"{outcome.message}\n{text}".strip()
    return outcomes
