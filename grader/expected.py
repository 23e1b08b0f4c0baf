"""Expected values: the reference's, computed live for the grader, or recorded from it for students.

Students never receive the reference, so ``grader release`` records the reference's outputs at the
visible inputs into ``exercises/expected/<exercise>.json``. Checks whose expectation comes from
elsewhere (statsmodels, a gradient check against the student's own forward) compute it live.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Callable

import torch

from . import GraderError
from .payload import Value, read_document, value_from_json, value_to_json
from .probes import run_check
from .rubric import Check, Exercise
from .torchstate import exclusive

FORMAT = "course-pack expected values v1"


def reference_values(exercise: Exercise, check: Check, reference: ModuleType, device) -> list[dict[str, Value]]:
    """Run the reference on every case of a check; the reference failing is the grader's failure."""
    outcomes = run_check(check, reference, device)
    for case, outcome in zip(check.cases, outcomes):
        if not outcome.ok:
            raise GraderError(f"the reference fails to run {exercise.name} check {check.id!r} "
                              f"({case.describe()}): {outcome.message}")
    return [o.values for o in outcomes]


def record(exercise: Exercise, reference: ModuleType) -> dict:
    """The JSON document of the reference's outputs for every visible check that needs them."""
    checks = {}
    for check in exercise.selected(hidden=False):
        if check.judge.needs_reference:
            cases = reference_values(exercise, check, reference, "cpu")
            checks[check.id] = [{name: value_to_json(v) for name, v in values.items()} for values in cases]
    return {"format": FORMAT, "exercise": exercise.name, "checks": checks}


def dumps(document: dict) -> str:
    return json.dumps(document, indent=1, sort_keys=False) + "\n"


def same_document(a: str, b: str) -> bool:
    """Whether two recorded documents agree: same checks, kinds, dtypes and shapes, values close."""
    try:
        first, second = json.loads(a), json.loads(b)
        if first.get("format") != second.get("format") or first["checks"].keys() != second["checks"].keys():
            return False
        for check, cases in first["checks"].items():
            other = second["checks"][check]
            if len(cases) != len(other):
                return False
            for x, y in zip(cases, other):
                if list(x) != list(y):  # the order matters: outputs are judged in it
                    return False
                for name in x:
                    u, v = value_from_json(x[name]), value_from_json(y[name])
                    if u.kind != v.kind or (u.tensor is None) != (v.tensor is None) \
                            or (u.requires_grad, u.shape, u.dtype) != (v.requires_grad, v.shape, v.dtype):
                        return False
                    if u.tensor is not None:
                        torch.testing.assert_close(u.tensor, v.tensor, equal_nan=True)
    except (AssertionError, KeyError, TypeError, ValueError, AttributeError):
        return False
    return True


class Expectations:
    """Expected values for each case of each check of one exercise, on one device.

    With ``reference`` (the module, or a function importing it when first needed) they come from running
    it (the grader; cached, or ``preset`` from a stored record); otherwise from the recorded file at
    ``recorded`` (students), which covers only the visible checks.
    """

    def __init__(self, exercise: Exercise, device, reference: ModuleType | Callable[[], ModuleType] | None = None,
                 recorded: Path | None = None):
        self.exercise, self.device, self.reference, self.recorded = exercise, torch.device(device), reference, recorded
        self._cache: dict[str, list] = {}
        self._document: dict | None = None
        self.anchors: dict[str, list] = {}  # check id -> the reference's values, for self-consistency checks

    def _load(self) -> dict:
        if self._document is None:
            path = self.recorded
            if path is None or not path.is_file():
                raise GraderError(f"no recorded expected values for {self.exercise.name} at {path}: "
                                  "run `grader release` to record them")
            self._document = read_document(path, FORMAT, "grader release")
        return self._document

    def for_check(self, check: Check) -> list[dict[str, Value] | None]:
        if check.id not in self._cache:
            with exclusive(self.device):  # computed in the class grader's process, beside its other threads
                self._cache[check.id] = self._compute(check)
        return self._cache[check.id]

    def preset(self, check_id: str, values: list[dict[str, Value] | None]) -> None:
        """Values computed earlier from the same reference, rubric and inputs (``grader.preflight.Store``)."""
        self._cache[check_id] = values

    def computed(self, check_id: str) -> list[dict[str, Value] | None] | None:
        """What ``for_check`` has computed for a check so far, or None."""
        return self._cache.get(check_id)

    def _compute(self, check: Check) -> list[dict[str, Value] | None]:
        if not check.judge.needs_reference:
            return [check.judge.expected(check.make_inputs(c, self.device)) for c in check.cases]
        if self.reference is not None:
            if not isinstance(self.reference, ModuleType):
                self.reference = self.reference()  # a stored record lacked this check: import the reference now
            return reference_values(self.exercise, check, self.reference, self.device)
        recorded = self._load()["checks"].get(check.id)
        if recorded is None or len(recorded) != len(check.cases):
            raise GraderError(f"{self.recorded} has no values for check {check.id!r}: run `grader release`")
        return [{name: value_from_json(v) for name, v in case.items()} for case in recorded]
