"""Whether a mutant's outputs equal the reference's at every probe input: the audit's "likely equivalent" test.

A mutant that keeps full marks is run again here, outside the sandbox (it is the instructor's own code,
changed by one operator, and it just ran within the grader's limits), through every check of its
exercise, visible and hidden, at every case, with the grading run's fresh inputs. Each value its probes
return is compared with the reference's: the kind of object, device, ``requires_grad``, dtype, shape and
every element (within a few units in the last place of the dtype, scaled to the largest reference
value), figures by the data they draw and the axis labels the docstrings ask for (not by their pixels, title,
legend, colours or size: presentation no check grades), errors by their message. Equal everywhere makes the mutant *likely*
equivalent: no input the rubric tries tells it apart from the reference, which proves nothing about
other inputs. The reference runs twice, imported twice; when the two runs disagree, no mutant of that
exercise is called equivalent.

Run as ``python -m grader.equivalence``; it writes one JSON line per mutant as soon as it is decided, so
a run stopped at its time limit keeps what it decided.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Sequence

import torch

from .payload import Outcome, Value
from .rubric import Check

ULPS = 8  # how many units in the last place (of the largest reference value) two equal outputs may differ by
# A figure's presentation: its pixels, titles, legend and line labels (``grader.probes.describe_figure``).
PRESENTATION = re.compile(r"(^|/)figure/(png|titled_axes|legend|axes/\d+/(title|legend)|line/\d+/label)$")


def value_difference(name: str, reference: Value, other: Value) -> str | None:
    """How ``other`` differs from the reference's value of output ``name``; None when they are equal."""
    for what, a, b in (("a", reference.kind, other.kind), ("on device", reference.device, other.device),
                       ("requires_grad", reference.requires_grad, other.requires_grad)):
        if a != b:
            return f"output `{name}`: {what} {b} where the reference's is {a}"
    r, o = reference.tensor, other.tensor
    if r is None or o is None:
        return None if r is None and o is None else f"output `{name}`: no value where the reference has one"
    if r.dtype != o.dtype or r.shape != o.shape:
        return (f"output `{name}`: {str(o.dtype).replace('torch.', '')} {tuple(o.shape)} where the reference's is "
                f"{str(r.dtype).replace('torch.', '')} {tuple(r.shape)}")
    if not r.is_floating_point():
        return None if torch.equal(r, o) else f"output `{name}`: {int((r != o).sum())} of {r.numel()} entries differ"
    nan, infinite = r.isnan(), r.isinf() | o.isinf()
    if not torch.equal(nan, o.isnan()) or not torch.equal(r[infinite], o[infinite]):
        return f"output `{name}`: NaN or infinite entries differ from the reference's"
    finite = ~(nan | infinite)
    if not bool(finite.any()):
        return None
    scale = float(r[finite].double().abs().max())
    gap = float((r[finite].double() - o[finite].double()).abs().max())
    allowed = ULPS * torch.finfo(r.dtype).eps * max(scale, torch.finfo(r.dtype).tiny)
    return None if gap <= allowed else f"output `{name}`: differs from the reference's by up to {gap:.3g}"


def outcome_difference(reference: Outcome, other: Outcome) -> str | None:
    """How one case's outcome differs from the reference's; None when every output is equal."""
    if reference.status != other.status:
        said = f": {other.message.splitlines()[0][:200]}" if other.message else ""
        return f"{other.status} where the reference's is {reference.status}{said}"
    if not reference.ok:
        return None if reference.message == other.message else "another error message than the reference's"
    if list(reference.values) != list(other.values):
        return f"outputs {sorted(other.values)} where the reference's are {sorted(reference.values)}"
    for name, value in reference.values.items():
        if PRESENTATION.search(name):
            continue
        found = value_difference(name, value, other.values[name])
        if found:
            return found
    return None


def where(check: Check, index: int) -> str:
    hidden = " (hidden)" if check.hidden else ""
    return f"check `{check.id}`{hidden}, case {index + 1} ({check.cases[index].describe()})"


class Prober:
    """Runs one exercise's checks (visible and hidden) on modules imported from files, in this process."""

    def __init__(self, exercise: str, device: str):
        from . import rubric

        self.exercise = rubric.load(exercise)
        self.checks = self.exercise.selected(hidden=True)
        self.device = device

    def load(self, path: Path, alias: str):
        from .course import import_file

        torch.set_grad_enabled(True)  # whatever an earlier module left behind
        torch.set_default_dtype(torch.float32)
        return import_file(path, alias)

    def outcomes(self, module, check: Check) -> list[Outcome]:
        from .probes import run_check

        return run_check(check, module, self.device)

    def forget(self, module) -> None:
        """Drop what the probes remembered of ``module`` (its trained models) and its figures."""
        from . import probes

        for key in [k for k in probes._MEMO if k[0] is module]:
            del probes._MEMO[key]
        sys.modules.pop(module.__name__, None)
        import matplotlib.pyplot as plt

        plt.close("all")

    def reference(self, path: Path) -> tuple[list[list[Outcome]], str | None]:
        """The reference's outcomes, and where two runs of it disagree (None when they agree)."""
        runs = []
        for attempt in (1, 2):
            module = self.load(path, f"_audit_reference_{attempt}")
            runs.append([self.outcomes(module, check) for check in self.checks])
            self.forget(module)
        for check, first, second in zip(self.checks, *runs):
            for index, (a, b) in enumerate(zip(first, second)):
                found = outcome_difference(a, b)
                if found:
                    return runs[0], f"two runs of the reference differ at {where(check, index)}: {found}"
        return runs[0], None

    def difference(self, path: Path, alias: str, reference: list[list[Outcome]]) -> str | None:
        """Where a mutant's outputs first differ from the reference's; None when they never do."""
        try:
            module = self.load(path, alias)
        except BaseException as exc:  # a mutant may fail to import; that is a difference, not an error here
            return f"does not import ({type(exc).__name__}: {str(exc)[:200]})"
        try:
            for check, expected in zip(self.checks, reference):
                for index, (a, b) in enumerate(zip(expected, self.outcomes(module, check))):
                    found = outcome_difference(a, b)
                    if found:
                        return f"{where(check, index)}: {found}"
            return None
        finally:
            self.forget(module)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader.equivalence", description=__doc__.splitlines()[0])
    parser.add_argument("--exercise", required=True)
    parser.add_argument("--reference", required=True, type=Path)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fresh-seed", type=int, default=None, help="the grading run's seed of fresh inputs")
    parser.add_argument("--results", required=True, type=Path, help="where the JSON lines go")
    parser.add_argument("mutants", nargs="*", metavar="ID=FILE")
    args = parser.parse_args(argv)
    from . import fresh

    fresh.set_seed(args.fresh_seed)
    prober = Prober(args.exercise, args.device)
    with open(args.results, "a", encoding="utf-8") as results:
        def write(entry: dict) -> None:
            results.write(json.dumps(entry) + "\n")
            results.flush()

        reference, unstable = prober.reference(args.reference)
        write({"reference": "unstable" if unstable else "stable", "difference": unstable})
        for item in args.mutants:
            mutant_id, _, file = item.partition("=")
            found = prober.difference(Path(file), f"_audit_mutant_{mutant_id.replace('-', '_')}", reference)
            write({"id": mutant_id, "equal": found is None, "difference": found})
    return 0


if __name__ == "__main__":
    sys.exit(main())
